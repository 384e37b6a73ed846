"""The append-only audit trail. The application role may only INSERT and SELECT it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, Index, String, TypeDecorator, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, uuid_pk
from db.models.enums import AuditOutcome

PLATFORM_MEDSPA_ID = uuid.UUID(int=0)
"""The medspa id of platform-level audit events: the nil UUID, never a medspa row."""


class MedspaOrPlatform(TypeDecorator[uuid.UUID | None]):
    """A medspa id where Python's None (a platform event) is stored as `PLATFORM_MEDSPA_ID`."""

    impl = UUID(as_uuid=True)
    cache_ok = True

    def process_bind_param(self, value: uuid.UUID | None, dialect: Dialect) -> uuid.UUID:
        return PLATFORM_MEDSPA_ID if value is None else value

    def process_result_value(self, value: uuid.UUID | None, dialect: Dialect) -> uuid.UUID | None:
        return None if value is None or value == PLATFORM_MEDSPA_ID else value


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_medspa_occurred", "medspa_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    # Set by the application: an INSERT ... RETURNING would need the row to be readable,
    # and a denial by an anonymous caller writes a row nobody but platform staff may read.
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        default=lambda: datetime.now(UTC),
        server_default=func.clock_timestamp(),
        nullable=False,
    )
    # None for platform-level events (no tenant involved), stored as PLATFORM_MEDSPA_ID so the
    # column is never null and the trail distributes by medspa (migration 0006).
    # Not a foreign key: the trail outlives the rows it mentions.
    medspa_id: Mapped[uuid.UUID | None] = mapped_column(MedspaOrPlatform(), nullable=False)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    effective_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    masquerade_session_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), nullable=True
    )
    api_client_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    action: Mapped[str] = mapped_column(String(80), nullable=False)
    resource_type: Mapped[str | None] = mapped_column(String(60), nullable=True)
    resource_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    outcome: Mapped[AuditOutcome] = mapped_column(
        Enum(AuditOutcome, name="audit_outcome"), nullable=False
    )
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
