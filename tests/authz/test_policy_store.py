"""Per-medspa policy rows in the database, and every process reloading when they change."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.app import Services
from api.authz.actions import Action
from api.authz.policy_store import CHANNEL, PolicyWatcher
from db.models import PolicyRule
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import Gql

CAN = "query($a: Action!) { viewer { can(action: $a) { allowed reason } } }"


def _listen_url(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _listening(engine: AsyncEngine) -> bool:
    """Whether a connection of this database has run `LISTEN` on the policy channel (the
    server's activity view says so): waited for, instead of sleeping a guessed while. Asked
    as the owner: the app role may not read other sessions' statements."""
    async with engine.connect() as conn:
        listening = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query = :q"
                ),
                {"q": f"LISTEN {CHANNEL}"},
            )
        ).scalar_one()
    return bool(listening)


async def _add_rule(session: AsyncSession, medspa_id: uuid.UUID, **values: str) -> None:
    session.add(PolicyRule(id=uuid.uuid4(), medspa_id=medspa_id, **values))
    await session.commit()


async def test_a_medspa_row_changes_that_medspa_only(
    gql: Gql,
    services: Services,
    app_engine: AsyncEngine,
    owner_session: AsyncSession,
    demo: DemoIds,
) -> None:
    watcher = PolicyWatcher(services.policy, session_factory(app_engine), _listen_url(app_engine))
    await watcher.refresh()
    before = await gql(CAN, {"a": "EARNINGS_READ"}, as_="dana@glow.example")
    assert before.data["viewer"]["can"]["allowed"] is True

    await _add_rule(
        owner_session,
        demo.medspas["glow"],
        subject="medspa_admin",
        obj="earnings",
        act="read",
        scope="TENANT",
        eft="deny",
    )
    assert await watcher.refresh() is True
    glow = await gql(CAN, {"a": "EARNINGS_READ"}, as_="dana@glow.example")
    radiance = await gql(CAN, {"a": "EARNINGS_READ"}, as_="ruth@radiance.example")
    assert glow.data["viewer"]["can"]["allowed"] is False
    assert "denied by" in glow.data["viewer"]["can"]["reason"]
    assert radiance.data["viewer"]["can"]["allowed"] is True
    assert await watcher.refresh() is False  # nothing new


async def test_notify_reloads_a_running_watcher(
    services: Services,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    owner_session: AsyncSession,
    demo: DemoIds,
) -> None:
    watcher = PolicyWatcher(
        services.policy, session_factory(app_engine), _listen_url(app_engine), poll_seconds=60
    )
    await watcher.start()
    try:
        version = services.policy.version
        async with asyncio.timeout(30):  # generous: a loaded CI machine
            while not await _listening(owner_engine):  # noqa: ASYNC110 - polls the server
                await asyncio.sleep(0.05)
        await _add_rule(
            owner_session,
            demo.medspas["radiance"],
            subject="provider",
            obj="service",
            act="manage",
            scope="TENANT",
            eft="allow",
        )
        async with asyncio.timeout(30):  # NOTIFY must reach the watcher, even on a slow run
            while services.policy.version <= version:  # noqa: ASYNC110 - a plain attribute
                await asyncio.sleep(0.05)
        permissions = services.policy.permissions("provider", str(demo.medspas["radiance"]))
        assert permissions.allows(Action.SERVICE_MANAGE)
        assert not services.policy.permissions("provider", str(demo.medspas["glow"])).allows(
            Action.SERVICE_MANAGE
        )
    finally:
        await watcher.stop()
