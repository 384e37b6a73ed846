"""Reading the audit trail (DESIGN §6.7); the writer is `api.authz.audit`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.authz.scopes import Anchor, scope_clause
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import AuditEvent, AuditOutcome

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=AuditEvent.medspa_id)
SORT = SortKey((AuditEvent.occurred_at, AuditEvent.id), ("occurred_at", "id"), descending=True)


@dataclass(frozen=True)
class AuditFilter:
    actor_user_id: uuid.UUID | None = None
    effective_user_id: uuid.UUID | None = None
    action: str | None = None
    outcome: AuditOutcome | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def list_audit_events(
    ctx: Context, *, filters: AuditFilter, first: int | None, after: str | None
) -> Page[AuditEvent]:
    ctx.authorize(Action.AUDIT_EVENT_READ)
    stmt = select(AuditEvent).where(scope_clause(ctx.principal, Action.AUDIT_EVENT_READ, ANCHOR))
    if filters.actor_user_id:
        stmt = stmt.where(AuditEvent.actor_user_id == filters.actor_user_id)
    if filters.effective_user_id:
        stmt = stmt.where(AuditEvent.effective_user_id == filters.effective_user_id)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.outcome:
        stmt = stmt.where(AuditEvent.outcome == filters.outcome)
    if filters.occurred_from:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.occurred_from)
    if filters.occurred_to:
        stmt = stmt.where(AuditEvent.occurred_at < filters.occurred_to)
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)
