"""Audit events as admins read them."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.schema.enums import AuditOutcome
from api.schema.node import Node, encode_global_id
from db import models


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
