"""Through PgBouncer in transaction mode (DESIGN §6.3, issue 14): every transaction runs as
the non-owner role with row-level security and its own timeout and tenant settings, no
server-side prepared statement breaks under concurrency, and policy changes still arrive,
through the listener's direct connection.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.app import build_services
from api.authz.policy_store import PolicyWatcher
from db.models import PolicyRule
from db.seed.demo import DemoIds
from db.session import create_app_engine, libpq_url, session_factory, set_tenant_settings
from tests.conftest import TEST_SETTINGS
from tests.scale.conftest import SERVER_POOL_SIZE, Bouncer

CLIENT_POOL_SIZE = 10  # per engine, twice over: many more clients than server connections
TIMEOUT_MS = 4321


@pytest.fixture
async def pooled_engine(pgbouncer: Bouncer) -> AsyncIterator[AsyncEngine]:
    engine = create_app_engine(
        pgbouncer.url(), statement_timeout_ms=TIMEOUT_MS, pool_size=CLIENT_POOL_SIZE
    )
    yield engine
    await engine.dispose()


async def _one_transaction(engine: AsyncEngine, medspa_id: uuid.UUID) -> tuple[object, ...]:
    async with session_factory(engine)() as session, session.begin():
        await set_tenant_settings(session, medspa_ids=[medspa_id], platform=False)
        row = (
            await session.execute(
                text(
                    "SELECT current_user, row_security_active('provider'),"
                    " current_setting('statement_timeout'), current_setting('app.medspa_ids'),"
                    " current_setting('app.platform'), pg_backend_pid(),"
                    " (SELECT count(*) FROM provider WHERE medspa_id <> :m)"
                ),
                {"m": medspa_id},
            )
        ).one()
        await asyncio.sleep(random.random() / 100)  # hold the server connection a moment
        # A second statement of the same transaction keeps the same settings.
        again = (
            await session.execute(text("SELECT current_user, current_setting('app.medspa_ids')"))
        ).one()
        assert tuple(again) == (row[0], row[3])
        return tuple(row)


async def test_every_transaction_runs_as_the_app_role_with_its_own_settings(
    pooled_engine: AsyncEngine, demo: DemoIds
) -> None:
    medspas = list(demo.medspas.values())
    chosen = [random.choice(medspas) for _ in range(200)]
    rows = await asyncio.gather(*(_one_transaction(pooled_engine, m) for m in chosen))
    backends = set()
    for medspa_id, (user, rls, timeout, ids, platform, pid, others) in zip(
        chosen, rows, strict=True
    ):
        assert user == "medspa_app"
        assert rls is True
        assert timeout == f"{TIMEOUT_MS}ms"
        assert ids == "{" + str(medspa_id) + "}"
        assert platform == "off"
        assert others == 0  # RLS hides every other medspa's providers
        backends.add(pid)
    # The point of the exercise: many client connections shared few server connections.
    assert len(backends) <= SERVER_POOL_SIZE


async def test_a_session_level_change_on_a_shared_server_connection_does_not_leak(
    pgbouncer: Bouncer, pooled_engine: AsyncEngine, demo: DemoIds
) -> None:
    """A hostile neighbour (another client of the same PgBouncer pool, as the owner) leaves
    session-level state on the server connections: our transactions set their own."""
    import psycopg

    owner = libpq_url(pgbouncer.url())
    for _ in range(SERVER_POOL_SIZE * 2):
        async with await psycopg.AsyncConnection.connect(
            owner, autocommit=True, prepare_threshold=None
        ) as conn:
            await conn.execute("SET statement_timeout = 0")
            await conn.execute("SET app.platform = 'on'")
            await conn.execute("SET app.medspa_ids = '{}'")
    rows = await asyncio.gather(
        *(_one_transaction(pooled_engine, demo.medspas["glow"]) for _ in range(30))
    )
    assert {(r[0], r[2], r[4], r[6]) for r in rows} == {("medspa_app", f"{TIMEOUT_MS}ms", "off", 0)}


async def test_no_prepared_statement_errors_under_concurrency(
    pooled_engine: AsyncEngine, demo: DemoIds
) -> None:
    """psycopg prepares a statement after 5 runs by default; through a transaction pooler the
    next run may land on a server connection that never saw it. None may fail."""
    query = text("SELECT count(*) FROM location WHERE medspa_id = :m AND name <> :n")

    # As many at once as the engine's pool holds (size + overflow): the property is about
    # the pooler's server connections, not about waiting for the client-side pool, whose
    # 3-second checkout timeout a loaded CI machine may pass with 200 waiting at once.
    at_once = asyncio.Semaphore(pooled_engine.pool.size() + 10)  # type: ignore[attr-defined]

    async def run(i: int) -> int:
        async with (
            at_once,
            session_factory(pooled_engine)() as session,
            session.begin(),
        ):
            await set_tenant_settings(session, medspa_ids=[demo.medspas["glow"]], platform=False)
            total = 0
            for _ in range(8):
                total += (
                    await session.execute(query, {"m": demo.medspas["glow"], "n": str(i)})
                ).scalar_one()
            return total

    totals = await asyncio.gather(*(run(i) for i in range(200)))
    assert len(set(totals)) == 1 and totals[0] > 0


async def test_the_whole_app_answers_through_pgbouncer(
    pooled_engine: AsyncEngine, demo: DemoIds
) -> None:
    """GraphQL requests of two tenants, interleaved, each sees only its own medspa."""
    import httpx

    from api.app import create_app
    from tests.conftest import token_for

    services = build_services(TEST_SETTINGS, engine=pooled_engine)
    app = create_app(TEST_SETTINGS, services=services)
    query = "{ viewer { activeMedspa { name } } medspas { edges { node { name } } } }"
    callers = {
        "dana@glow.example": "Glow Aesthetics",
        "ruth@radiance.example": "Radiance MedSpa",
        "lena@legacy.example": "Legacy Skin Studio",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:

        async def ask(email: str) -> tuple[str, list[str]]:
            response = await http.post(
                "/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {token_for(demo, email)}"},
            )
            body = response.json()
            assert response.status_code == 200, body
            names = [e["node"]["name"] for e in body["data"]["medspas"]["edges"]]
            return email, names

        answers = await asyncio.gather(*(ask(e) for e in list(callers) * 20))
    for email, names in answers:
        assert names == [callers[email]]


async def test_policy_changes_arrive_through_the_direct_listener(
    pooled_engine: AsyncEngine, owner_session: AsyncSession, database_url: str, demo: DemoIds
) -> None:
    services = build_services(TEST_SETTINGS, engine=pooled_engine)
    watcher = PolicyWatcher(
        services.policy, services.sessions, libpq_url(database_url), poll_seconds=60
    )
    await watcher.start()
    try:
        await watcher.listening.wait()
        version = services.policy.version
        owner_session.add(
            PolicyRule(
                id=uuid.uuid4(),
                medspa_id=demo.medspas["radiance"],
                subject="provider",
                obj="service",
                act="manage",
                scope="TENANT",
                eft="allow",
            )
        )
        await owner_session.commit()
        for _ in range(50):  # 50 x 20 ms: one second
            if services.policy.version > version:
                break
            await asyncio.sleep(0.02)
        assert services.policy.version > version, "no reload within a second"
    finally:
        await watcher.stop()
