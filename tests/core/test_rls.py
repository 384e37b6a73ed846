"""Row-level security as the second wall (DESIGN §6.3), proven at the SQL level."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.base import TENANT_TABLES
from db.seed.demo import DemoIds
from db.session import set_tenant_settings, uuid_array_literal


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
