"""Per-medspa policy rows in the database, and reloading every process when they change.

The `policy_rule` table's trigger bumps `policy_version` and sends `NOTIFY policy_changed`.
Each server process LISTENs and reloads its `PolicyEngine`; as a fallback against a missed
notification (a dropped connection) it also compares the version row periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.authz.enforcer import PolicyEngine, PolicyRow
from db.models import PolicyRule, PolicyVersion
from db.session import set_tenant_settings

log = logging.getLogger(__name__)

CHANNEL = "policy_changed"


async def load_policy_rows(session: AsyncSession) -> tuple[int, list[PolicyRow]]:
    """Every medspa's rows (a platform-level read) and the version they belong to."""
    await set_tenant_settings(session, medspa_ids=(), platform=True)
    version = (await session.execute(select(PolicyVersion.version))).scalar_one()
    rules = (await session.execute(select(PolicyRule).order_by(PolicyRule.created_at))).scalars()
    rows = []
    for rule in rules:
        try:
            rows.append(
                PolicyRow(
                    "p",
                    (rule.subject, str(rule.medspa_id), rule.obj, rule.act, rule.scope, rule.eft),
                )
            )
        except ValueError:
            # A row naming an action this build does not know is skipped, not fatal: the
            # baseline still applies, and the log says which row.
            log.warning("skipping invalid policy rule %s", rule.id)
    return version, rows


class PolicyWatcher:
    """Keeps one process's `PolicyEngine` in step with the database."""

    def __init__(
        self,
        engine: PolicyEngine,
        sessions: async_sessionmaker[AsyncSession],
        listen_url: str,
        *,
        poll_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.listen_url = listen_url
        self.poll_seconds = poll_seconds
        self.db_version: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> bool:
        """Reload if the stored version moved; True when a reload happened."""
        async with self.sessions() as session, session.begin():
            version = (
                await session.execute(text("SELECT version FROM policy_version WHERE id = 1"))
            ).scalar_one()
            if version == self.db_version:
                return False
            version, rows = await load_policy_rows(session)
        self.engine.reload(rows)
        self.db_version = version
        log.info("policy reloaded at database version %s", version)
        return True

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="policy-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.listen_url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await self.refresh()  # anything missed while (re)connecting
                    gen = conn.notifies(timeout=self.poll_seconds)
                    while True:
                        async for _notice in gen:
                            await self.refresh()
                        await self.refresh()  # periodic fallback
                        gen = conn.notifies(timeout=self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("policy watcher lost its connection; retrying")
                await asyncio.sleep(min(self.poll_seconds, 5.0))
