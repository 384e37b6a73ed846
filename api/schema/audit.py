"""Audit events as admins read them."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import audit
from api.resolvers.audit import AuditFilter
from api.schema.connection import Connection
from api.schema.enums import AuditOutcome
from api.schema.node import Node, encode_global_id
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type
class AuditEvent(Node):
    occurred_at: datetime
    action: str
    outcome: AuditOutcome
    resource_type: str | None
    resource_id: str | None
    request_id: str | None
    medspa_id: strawberry.ID | None
    actor_user_id: strawberry.ID | None
    effective_user_id: strawberry.ID | None
    masquerade_session_id: strawberry.ID | None
    api_client_id: strawberry.ID | None
    detail: JSON

    @classmethod
    def from_row(cls, row: models.AuditEvent) -> AuditEvent:
        def gid(type_name: str, value: object) -> strawberry.ID | None:
            return encode_global_id(type_name, value) if value else None  # type: ignore[arg-type]

        return cls(
            id=encode_global_id("AuditEvent", row.id),
            occurred_at=row.occurred_at,
            action=row.action,
            outcome=row.outcome,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            request_id=row.request_id,
            medspa_id=gid("Medspa", row.medspa_id),
            actor_user_id=gid("User", row.actor_user_id),
            effective_user_id=gid("User", row.effective_user_id),
            masquerade_session_id=gid("MasqueradeSession", row.masquerade_session_id),
            api_client_id=gid("ApiClient", row.api_client_id),
            detail=cast(JSON, row.detail),
        )


@strawberry.input
class AuditEventFilter:
    actor_user_id: strawberry.ID | None = None
    effective_user_id: strawberry.ID | None = None
    action: str | None = None
    outcome: AuditOutcome | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@strawberry.type
class AuditQuery:
    @strawberry.field
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        f = filter or AuditEventFilter()
        filters = AuditFilter(
            actor_user_id=decode_id_of(f.actor_user_id, "User") if f.actor_user_id else None,
            effective_user_id=(
                decode_id_of(f.effective_user_id, "User") if f.effective_user_id else None
            ),
            action=f.action,
            outcome=f.outcome,
            occurred_from=f.occurred_from,
            occurred_to=f.occurred_to,
        )
        page = await audit.list_audit_events(
            info.context, filters=filters, first=first, after=after
        )
        return Connection.from_page(page, AuditEvent.from_row)
