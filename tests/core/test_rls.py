"""Row-level security as the second wall (DESIGN §6.3), proven at the SQL level."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.base import TENANT_TABLES
from db.seed.demo import DemoIds
from db.session import PreludeConnection, set_tenant_settings, uuid_array_literal
from tests.conftest import Gql, Principals
from tests.matrix import ALL_CALLERS, PARTNER_SCOPES, expect


async def test_app_role_without_tenant_setting_sees_no_tenant_rows(
    app_engine: AsyncEngine, demo: DemoIds
) -> None:
    async with app_engine.connect() as conn:
        assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "medspa_app"
        for table in TENANT_TABLES:
            count = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608
            assert count == 0, table


async def test_query_that_forgets_its_filter_returns_only_the_principals_tenant(
    app_engine: AsyncEngine, demo: DemoIds
) -> None:
    async with app_engine.connect() as conn, conn.begin():
        await conn.execute(
            text("SELECT set_config('app.medspa_ids', :ids, true)"),
            {"ids": uuid_array_literal([demo.medspas["glow"]])},
        )
        # No WHERE clause at all: RLS alone keeps the other tenants out.
        medspas = (await conn.execute(text("SELECT slug FROM medspa"))).scalars().all()
        locations = (await conn.execute(text("SELECT booking_slug FROM location"))).scalars().all()
        providers = (await conn.execute(text("SELECT medspa_id FROM provider"))).scalars().all()
    assert medspas == ["glow"]
    assert set(locations) == {"glow-downtown", "glow-brooklyn"}
    assert set(providers) == {demo.medspas["glow"]}


async def test_settings_do_not_leak_to_the_next_transaction(
    app_engine: AsyncEngine, demo: DemoIds
) -> None:
    async with app_engine.connect() as conn:
        async with conn.begin():
            await conn.execute(text("SELECT set_config('app.platform', 'on', true)"))
            assert (await conn.execute(text("SELECT count(*) FROM medspa"))).scalar_one() == 3
        async with conn.begin():
            assert (await conn.execute(text("SELECT count(*) FROM medspa"))).scalar_one() == 0


async def test_app_role_cannot_write_into_another_tenant(
    app_engine: AsyncEngine, demo: DemoIds
) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(app_engine) as session, session.begin():
        await set_tenant_settings(session, medspa_ids=[demo.medspas["glow"]], platform=False)
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(
                text(
                    "INSERT INTO location (id, medspa_id, name, address_line1, city, region,"
                    " postal_code, country, time_zone, active_for_scheduling, created_at)"
                    " VALUES (:id, :m, 'x', 'x', 'x', 'x', 'x', 'US', 'UTC', true, now())"
                ),
                {"id": uuid.uuid4(), "m": demo.medspas["radiance"]},
            )


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"]
)
async def test_app_role_cannot_update_or_delete_audit_events(
    app_engine: AsyncEngine, demo: DemoIds, statement: str
) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(app_engine) as session:
        async with session.begin():
            await set_tenant_settings(session, medspa_ids=[demo.medspas["glow"]], platform=True)
            await session.execute(
                text(
                    "INSERT INTO audit_event (id, medspa_id, action, outcome, detail)"
                    " VALUES (:id, :m, 'test.event', 'ALLOWED', '{}')"
                ),
                {"id": uuid.uuid4(), "m": demo.medspas["glow"]},
            )
        async with session.begin():
            await set_tenant_settings(session, medspa_ids=[demo.medspas["glow"]], platform=True)
            with pytest.raises(DBAPIError, match="permission denied"):
                await session.execute(text(statement))


async def test_every_tenant_table_forces_row_level_security(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                )
            )
        ).all()
        with_medspa = set(
            (
                await conn.execute(
                    text(
                        "SELECT table_name FROM information_schema.columns"
                        " WHERE table_schema = 'public' AND column_name = 'medspa_id'"
                    )
                )
            ).scalars()
        )
    forced = {name for name, enabled, force in rows if enabled and force}
    assert set(TENANT_TABLES) <= forced
    # Every table that names a medspa is protected (no tenant table forgotten).
    assert with_medspa <= forced


# --- per caller kind: the settings a real request leaves, and what they alone let through ---

# The medspas each caller's transaction may reach at all (DESIGN §5: ANY for platform staff,
# the assigned or covered providers' medspas for PCCs, the active medspa for everyone bound
# to one, nothing for a PCC with no reach or a visitor without a booking slug).
RLS_REACH: dict[str, set[str]] = expect(
    {
        "ops@portrait.example": {"glow", "radiance", "legacy"},
        "maria@portrait.example": {"glow", "radiance", "legacy"},
        "vera@portrait.example": {"glow"},
        "dean@portrait.example": {"radiance"},
        "cody@portrait.example": {"legacy"},
        # No assignment and no window open now, but Sam holds the channel grants of his
        # upcoming coverage of Vera's (Glow's) providers: the database admits Glow so that he
        # can see whose lines he will hold; his scopes still reach none of its rows.
        "sam@portrait.example": {"glow"},
        "covering": {"glow"},  # Sam inside a window covering Vera (Glow's providers)
        "dana@glow.example": {"glow"},
        "dana@glow.example:PROVIDER": {"glow"},
        "nina@glow.example": {"glow"},
        "omar@glow.example": {"glow"},
        "ruth@radiance.example": {"radiance"},
        "lee@radiance.example": {"radiance"},
        "lena@legacy.example": {"legacy"},
        "kim@legacy.example": {"legacy"},
        "masquerade": {"glow"},
        "api_key": {"glow"},  # a partner key is bound to one medspa, whatever its scopes
        **{f"api_key:{scope}": {"glow"} for scope in PARTNER_SCOPES},
        "anonymous": set(),
    }
)


@dataclass
class _SettingsCapture:
    """The `SET LOCAL app.*` lines a request queued (db.session sends them with the
    transaction's next statement, or drops them when none follows), to replay them outside
    it."""

    lines: list[str] = field(default_factory=list)

    def install(self, patch: pytest.MonkeyPatch) -> None:
        take_prefix = PreludeConnection.take_prefix
        end_transaction = PreludeConnection.end_transaction

        def spied_take_prefix(connection: PreludeConnection) -> str:
            prefix = take_prefix(connection)
            self.lines.extend(
                line for line in prefix.split("; ") if line.startswith("SET LOCAL app.")
            )
            return prefix

        def spied_end_transaction(connection: PreludeConnection) -> None:
            self.lines.extend(
                line for line in connection.queued if line.startswith("SET LOCAL app.")
            )
            end_transaction(connection)

        patch.setattr(PreludeConnection, "take_prefix", spied_take_prefix)
        patch.setattr(PreludeConnection, "end_transaction", spied_end_transaction)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_a_request_leaves_exactly_its_callers_tenants_visible(
    gql: Gql,
    principals: Principals,
    app_engine: AsyncEngine,
    demo: DemoIds,
    who: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Replay the row-level-security settings a real request of `who` wrote, then read tenant
    tables with no application filter at all: the database alone lets through exactly the
    tenants that caller reaches, never a wider setting (e.g. platform-wide for a key)."""
    bearer = await principals.bearer(who)
    capture = _SettingsCapture()
    with monkeypatch.context() as patch:
        capture.install(patch)
        answer = await gql("{ viewer { roles } }", bearer=bearer)
    assert answer.status == 200, answer.body
    assert capture.lines, "the request set no row-level-security setting"
    async with app_engine.connect() as conn, conn.begin():
        for line in capture.lines:
            await conn.exec_driver_sql(line)
        platform = (await conn.execute(text("SELECT current_setting('app.platform', true)"))).one()
        medspas = set((await conn.execute(text("SELECT slug FROM medspa"))).scalars())
        provider_medspas = set(
            (await conn.execute(text("SELECT DISTINCT medspa_id FROM provider"))).scalars()
        )
        appointment_medspas = set(
            (await conn.execute(text("SELECT DISTINCT medspa_id FROM appointment"))).scalars()
        )
    slugs = demo.medspas
    expected = RLS_REACH[who]
    assert medspas == expected, (who, platform)
    assert provider_medspas == {slugs[s] for s in expected}
    assert appointment_medspas == {slugs[s] for s in expected}
