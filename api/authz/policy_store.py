"""Per-medspa policy rows in the database, and reloading every process when they change.

Statement-level triggers on `policy_rule` (INSERT, UPDATE, DELETE and TRUNCATE; migration
0006) bump `policy_version` and send `NOTIFY policy_changed` with a JSON payload naming the
new version and the medspas whose rows changed: `{"version": 8, "medspas": ["<uuid>", ...]}`,
or `"medspas": "*"` after a TRUNCATE or when too many changed to list.

Each server process LISTENs on a direct connection of its own (`MEDSPA_LISTEN_DATABASE_URL`:
a LISTEN through a transaction pooler hears nothing) and rebuilds the policy of the named
medspas only; their permission sets are computed in a worker thread, so the event loop never
waits for Casbin. Every `poll_seconds` (and after a reconnect, or a gap in the versions it
has seen) it compares the stored version and, when it moved, reloads the rows of every medspa
and rebuilds those that differ: the safety net for a lost notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import psycopg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.authz import principal_cache
from api.authz.enforcer import (
    DomainPolicy,
    PolicyEngine,
    PolicyRow,
    build_domain_policy,
    rows_by_domain,
)
from db.models import PolicyRule, PolicyVersion
from db.session import set_tenant_settings

log = logging.getLogger(__name__)

CHANNEL = "policy_changed"
EVERY_MEDSPA = "*"


async def load_policy_rows(
    session: AsyncSession, *, medspa_ids: Collection[uuid.UUID] | None = None
) -> tuple[int, list[PolicyRow]]:
    """The rows of the given medspas (every medspa when None; a platform-level read) and the
    version they belong to, read in the caller's transaction."""
    await set_tenant_settings(session, medspa_ids=(), platform=True)
    version = (await session.execute(select(PolicyVersion.version))).scalar_one()
    query = select(PolicyRule).order_by(PolicyRule.created_at, PolicyRule.id)
    if medspa_ids is not None:
        query = query.where(PolicyRule.medspa_id.in_(list(medspa_ids)))
    rows = []
    for rule in (await session.execute(query)).scalars():
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


def parse_notice(payload: str) -> tuple[int, frozenset[str] | None]:
    """`(version, medspas)` from a NOTIFY payload; medspas None means every medspa.

    Raises ValueError for a payload this build does not understand (the caller then falls
    back to a full comparison).
    """
    data = json.loads(payload)
    version = data["version"]
    medspas = data["medspas"]
    if not isinstance(version, int):
        raise ValueError(f"version is not an integer: {payload!r}")
    if medspas == EVERY_MEDSPA:
        return version, None
    if not isinstance(medspas, list):
        raise ValueError(f"medspas is neither a list nor '*': {payload!r}")
    return version, frozenset(str(uuid.UUID(str(m))) for m in medspas)


def _build(grouped: Mapping[str, Iterable[PolicyRow]]) -> dict[str, DomainPolicy | None]:
    """Every named medspa's new policy (None: no rows left). Runs in a worker thread."""
    return {
        domain: build_domain_policy(domain, rows) if rows else None
        for domain, rows in grouped.items()
    }


class PolicyWatcher:
    """Keeps one process's `PolicyEngine` in step with the database."""

    def __init__(
        self,
        engine: PolicyEngine,
        sessions: async_sessionmaker[AsyncSession],
        listen_url: str,
        *,
        poll_seconds: float = 5.0,
        channels: Mapping[str, Callable[[str], None]] | None = None,
    ) -> None:
        self.engine = engine
        # Other channels this process listens to on the same connection (one listener per
        # process): each notice's payload goes to its channel's handler.
        self.channels = dict(channels or {})
        self.sessions = sessions
        self.listen_url = listen_url
        self.poll_seconds = poll_seconds
        self.db_version: int | None = None
        # Set while the LISTEN connection is up (tests wait on it before changing rows).
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._stopping = False
        # One reload at a time: a notification and the poll must not interleave installs.
        self._lock = asyncio.Lock()

    async def refresh(self) -> bool:
        """Reload every medspa whose rows differ if the stored version moved; True when it
        had moved."""
        async with self._lock:
            async with self.sessions() as session, session.begin():
                version = (
                    await session.execute(text("SELECT version FROM policy_version WHERE id = 1"))
                ).scalar_one()
                if version == self.db_version:
                    return False
                version, rows = await load_policy_rows(session)
            grouped: dict[str, list[PolicyRow]] = {
                domain: [] for domain in self.engine.tailored_domains
            }
            grouped.update(rows_by_domain(rows))
            changed = {
                domain: domain_rows
                for domain, domain_rows in grouped.items()
                if tuple(domain_rows) != self.engine.rows_of(domain)
            }
            await self._install(changed)
            self.db_version = version
            log.info("policy at database version %s (%d medspas rebuilt)", version, len(changed))
            return True

    async def apply_notice(self, payload: str) -> None:
        """Rebuild the medspas a notification names; a full comparison when it names every
        medspa, cannot be read, or shows that an earlier notification was missed."""
        try:
            version, medspas = parse_notice(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable policy notification; comparing everything")
            await self.refresh()
            return
        if medspas is None or self.db_version is None or version > self.db_version + 1:
            await self.refresh()
            return
        if version <= self.db_version:
            return  # already seen by a full comparison
        async with self._lock:
            ids = [uuid.UUID(m) for m in medspas]
            async with self.sessions() as session, session.begin():
                _, rows = await load_policy_rows(session, medspa_ids=ids)
            grouped: dict[str, list[PolicyRow]] = {m: [] for m in medspas}
            grouped.update(rows_by_domain(rows))
            await self._install(grouped)
            self.db_version = max(self.db_version, version)
        log.info("policy at version %s: rebuilt %d medspas", version, len(medspas))

    async def _install(self, grouped: Mapping[str, list[PolicyRow]]) -> None:
        # Casbin is pure Python and slow with many rows: build off the event loop, swap on it.
        built = await asyncio.to_thread(_build, grouped)
        self.engine.install(built)

    async def start(self) -> None:
        await self.refresh()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="policy-watcher")

    async def stop(self) -> None:
        """Stop listening, within a bounded time: a cancellation that lands inside psycopg's
        `notifies()` can be absorbed by it, so the loop also checks a flag, and the listening
        connection is closed under it if the task has not ended after a moment."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done and self._conn is not None and not self._conn.closed:
            await self._conn.close()
            done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:
            log.warning("policy watcher did not stop within its bound; abandoned")
            return
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.listen_url, autocommit=True
                ) as conn:
                    self._conn = conn
                    await conn.execute(f"LISTEN {CHANNEL}")
                    for channel in self.channels:
                        await conn.execute(f"LISTEN {channel}")
                    self.listening.set()
                    await self.refresh()  # anything missed while (re)connecting
                    while not self._stopping:
                        async for notice in conn.notifies(timeout=self.poll_seconds):
                            handler = self.channels.get(notice.channel)
                            if handler is not None:
                                handler(notice.payload)
                                continue
                            if notice.payload == principal_cache.IDENTITY_NOTICE:
                                # Identity rows changed somewhere: forget the principals
                                # built from them (sent by the writing transaction).
                                principal_cache.clear_all()
                                continue
                            await self.apply_notice(notice.payload)
                        await self.refresh()  # the periodic safety net
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                log.exception("policy watcher lost its connection; retrying")
                self.listening.clear()
                await asyncio.sleep(min(self.poll_seconds, 5.0))
