"""The per-transaction prelude of db.session (issue 14), on one pooled connection: settings
reach the server with the next statement, never outlive their transaction, and hostile
names or values are refused or quoted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.seed.demo import DemoIds
from db.session import (
    create_app_engine,
    queue_settings,
    session_factory,
    set_tenant_settings,
)


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An app engine with a single connection, so consecutive transactions share it."""
    engine = create_app_engine(database_url, statement_timeout_ms=1234, pool_size=1)
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # exactly one connection
    yield engine
    await engine.dispose()


async def _settings(session: AsyncSession) -> tuple[str, str, str, str]:
    row = (
        await session.execute(
            text(
                "SELECT current_user, current_setting('statement_timeout'),"
                " coalesce(current_setting('app.medspa_ids', true), ''),"
                " coalesce(current_setting('app.platform', true), '')"
            )
        )
    ).one()
    return (row[0], row[1], row[2], row[3])


async def test_settings_do_not_outlive_their_transaction(
    one_connection: AsyncEngine, demo: DemoIds
) -> None:
    sessions = session_factory(one_connection)
    glow = demo.medspas["glow"]
    async with sessions() as session, session.begin():
        await set_tenant_settings(session, medspa_ids=[glow], platform=True)
        assert await _settings(session) == ("medspa_app", "1234ms", "{" + str(glow) + "}", "on")
    async with sessions() as session, session.begin():
        # Same connection, new transaction: the role and timeout again, no tenant settings.
        assert await _settings(session) == ("medspa_app", "1234ms", "", "")
    async with sessions() as session:
        async with session.begin():
            await set_tenant_settings(session, medspa_ids=[glow], platform=True)
            # Queued but never sent: the transaction ends without a statement.
        async with session.begin():
            assert (await _settings(session))[2:] == ("", "")


async def test_a_rolled_back_transaction_leaves_nothing_behind(
    one_connection: AsyncEngine, demo: DemoIds
) -> None:
    sessions = session_factory(one_connection)
    async with sessions() as session:
        await session.begin()
        await set_tenant_settings(session, medspa_ids=[demo.medspas["glow"]], platform=True)
        with pytest.raises(Exception, match="division by zero"):
            await session.execute(text("SELECT 1 / 0"))
        await session.rollback()
    async with sessions() as session, session.begin():
        assert await _settings(session) == ("medspa_app", "1234ms", "", "")


@pytest.mark.parametrize(
    "name",
    ["statement_timeout", "app.x; RESET ROLE", "app.", "role", "app.medspa ids", "APP.x-y"],
)
async def test_only_application_settings_may_be_queued(
    one_connection: AsyncEngine, demo: DemoIds, name: str
) -> None:
    async with session_factory(one_connection)() as session, session.begin():
        with pytest.raises(ValueError, match="not an application setting"):
            await queue_settings(session, {name: "0"})
        assert (await _settings(session))[:2] == ("medspa_app", "1234ms")


async def test_a_hostile_value_is_quoted_not_run(
    one_connection: AsyncEngine, demo: DemoIds
) -> None:
    hostile = "x'; RESET ROLE; SELECT '%s %(p)s"
    async with session_factory(one_connection)() as session, session.begin():
        await queue_settings(session, {"app.api_key_hash": hostile})
        row = (
            await session.execute(
                text("SELECT current_user, current_setting('app.api_key_hash'), :p"),
                {"p": "bound"},
            )
        ).one()
        assert tuple(row) == ("medspa_app", hostile, "bound")


async def test_a_transaction_that_starts_with_a_batch_still_runs_as_the_app_role(
    one_connection: AsyncEngine, demo: DemoIds, owner_session: AsyncSession
) -> None:
    glow = demo.medspas["glow"]
    names = [f"batch {uuid.uuid4().hex[:8]}" for _ in range(3)]
    async with session_factory(one_connection)() as session, session.begin():
        await set_tenant_settings(session, medspa_ids=[glow], platform=False)
        # executemany as the transaction's first statement (the prelude goes out alone).
        await session.execute(
            text(
                "INSERT INTO audit_event (id, medspa_id, action, outcome, detail)"
                " VALUES (:id, :m, :a, 'ALLOWED', '{}')"
            ),
            [{"id": uuid.uuid4(), "m": glow, "a": name} for name in names],
        )
        assert (await _settings(session))[0] == "medspa_app"
    stored = (
        await owner_session.execute(
            text("SELECT count(*) FROM audit_event WHERE action = ANY (:a)"), {"a": names}
        )
    ).scalar_one()
    assert stored == 3
