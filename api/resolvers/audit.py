"""Writing and reading the audit trail (DESIGN §6.7)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, scope_clause
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import AuditEvent, AuditOutcome

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=AuditEvent.medspa_id)
SORT = SortKey((AuditEvent.occurred_at, AuditEvent.id), ("occurred_at", "id"), descending=True)


def record(
    principal: Principal,
    *,
    action: str,
    outcome: AuditOutcome,
    resource_type: str | None = None,
    resource_id: uuid.UUID | str | None = None,
    medspa_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """An audit row carrying both the real actor and the effective user; a PCC acting
    under an active coverage window has the window on the row too."""
    detail = dict(detail or {})
    if principal.coverage:
        detail["coverage"] = [
            {"providerId": str(c.provider_id), "until": c.until.isoformat()}
            for c in principal.coverage
        ]
    return AuditEvent(
        id=uuid.uuid4(),
        medspa_id=medspa_id if medspa_id is not None else principal.medspa_id,
        actor_user_id=principal.actor_user_id,
        effective_user_id=principal.user_id,
        masquerade_session_id=principal.masquerade_session_id,
        api_client_id=principal.api_client_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        outcome=outcome,
        request_id=principal.request_id,
        detail=detail,
    )


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
