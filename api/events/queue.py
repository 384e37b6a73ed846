"""Queueing jobs in the writer's transaction: `defer_jobs` calls `app_defer_jobs` (migration
0011), which runs as the owner and inserts procrastinate jobs, so a job exists exactly when
its row was committed. The worker's tasks (api/events/worker.py) have these names."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

NOTIFICATION_TASK = "send_notification"
WEBHOOK_TASK = "deliver_webhook"


async def defer_jobs(
    session: AsyncSession,
    task: str,
    ids: Sequence[uuid.UUID],
    due: Sequence[datetime | None] | None = None,
) -> None:
    """One job of `task` per row id, due at `due` (now when None or past)."""
    if not ids:
        return
    await session.execute(
        text("SELECT app_defer_jobs(:task, CAST(:ids AS uuid[]), CAST(:due AS timestamptz[]))"),
        {"task": task, "ids": list(ids), "due": list(due or [None] * len(ids))},
    )
