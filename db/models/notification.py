"""The notification outbox: rows written in the booking's transaction for a sender to consume.

Sending is out of scope here. A sender polls unsent rows whose `deliver_at` has passed, sends
them and stamps `sent_at`. Reminders of an appointment that was moved or cancelled are
stamped `superseded_at` in the same transaction, so a sender never reminds about a stale time.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Enum, ForeignKeyConstraint, Index, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class NotificationKind(StrEnum):
    APPOINTMENT_CONFIRMATION = "APPOINTMENT_CONFIRMATION"
    APPOINTMENT_RESCHEDULED = "APPOINTMENT_RESCHEDULED"
    APPOINTMENT_CANCELLED = "APPOINTMENT_CANCELLED"
    APPOINTMENT_REMINDER = "APPOINTMENT_REMINDER"


class NotificationOutbox(TenantMixin, Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "appointment_id"],
            ["appointment.medspa_id", "appointment.id"],
            ondelete="CASCADE",
            name="fk_notification_outbox_appointment",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="CASCADE",
            name="fk_notification_outbox_patient",
        ),
        Index(
            "ix_notification_outbox_pending",
            "deliver_at",
            postgresql_where=text("sent_at IS NULL AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), nullable=False, index=True
    )
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, name="notification_kind"), nullable=False
    )
    deliver_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # What the sender needs, frozen at write time (times, names, location), no clinical data.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()
