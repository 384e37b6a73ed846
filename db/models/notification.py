"""The notification outbox: rows written in the writer's transaction for the worker to send.

The writer queues the row's job with it (api/events/queue.py: a procrastinate job due at
`deliver_at`); the worker (api/events/notifications.py) renders the medspa's template, sends it
and stamps `sent_at`, at most once per row. Reminders of an appointment that was moved or
cancelled are stamped `superseded_at` in the same transaction, so the worker never reminds
about a stale time. A row the worker gave up on (retries spent) is stamped `failed_at`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class NotificationKind(StrEnum):
    APPOINTMENT_CONFIRMATION = "APPOINTMENT_CONFIRMATION"
    APPOINTMENT_RESCHEDULED = "APPOINTMENT_RESCHEDULED"
    APPOINTMENT_CANCELLED = "APPOINTMENT_CANCELLED"
    APPOINTMENT_REMINDER = "APPOINTMENT_REMINDER"
    # payload: to, fullName, medspaName, roles, acceptUrl, expiresAt. `acceptUrl` carries
    # the invitation's token (the invitation keeps only its hash): the sender blanks it once
    # the email is sent.
    STAFF_INVITATION = "STAFF_INVITATION"
    # Migration 0011: messages that are not about one appointment (`subject_id` names the row).
    REGISTRATION_LINK = "REGISTRATION_LINK"
    CLEARANCE_EXPIRING = "CLEARANCE_EXPIRING"
    # To the medspa, at each step of an inventory order (issue 18).
    INVENTORY_ORDER_PLACED = "INVENTORY_ORDER_PLACED"
    INVENTORY_ORDER_MODIFIED = "INVENTORY_ORDER_MODIFIED"
    INVENTORY_ORDER_APPROVED = "INVENTORY_ORDER_APPROVED"
    INVENTORY_ORDER_REJECTED = "INVENTORY_ORDER_REJECTED"


class NotificationChannel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"


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
        ForeignKeyConstraint(
            ["medspa_id", "invitation_id"],
            ["invitation.medspa_id", "invitation.id"],
            ondelete="CASCADE",
            name="fk_notification_outbox_invitation",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "inventory_order_id"],
            ["inventory_order.medspa_id", "inventory_order.id"],
            ondelete="CASCADE",
            name="fk_notification_outbox_inventory_order",
        ),
        # One recipient per row: a patient (an appointment's, a registration link's, an
        # expiring clearance's), an invited person, or the medspa's admins (an inventory
        # order); migration 0015.
        CheckConstraint(
            "num_nonnulls(appointment_id, inventory_order_id, invitation_id) <= 1"
            " AND (appointment_id IS NULL OR patient_id IS NOT NULL)"
            " AND num_nonnulls(appointment_id, subject_id, inventory_order_id, invitation_id) >= 1",
            name="one_subject",
        ),
        Index(
            "ix_notification_outbox_pending",
            "deliver_at",
            postgresql_where=text("sent_at IS NULL AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # A row names an appointment (and its patient), an invitation (migration 0015), or
    # another subject through `subject_id` (a registration link, an expiring clearance).
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), nullable=True, index=True
    )
    patient_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    inventory_order_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), nullable=True, index=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, name="notification_kind"), nullable=False
    )
    deliver_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # What the sender needs, frozen at write time (times, names, location), no clinical data.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()
    # Migration 0011: the row a non-appointment message is about (one message per subject and
    # kind), and the worker's record of its attempts.
    subject_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NotificationTemplate(TenantMixin, Base):
    """A medspa's own wording of one kind of message on one channel. Without a row the
    built-in template (api/events/templates.py) is used. Placeholders are `{name}` fields of
    the outbox payload plus `{medspa}`, `{date}` and `{time}` (in the medspa's time zone)."""

    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("medspa_id", "kind", "channel"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, name="notification_kind"), nullable=False
    )
    channel: Mapped[NotificationChannel] = mapped_column(
        Enum(NotificationChannel, name="notification_channel"), nullable=False
    )
    subject: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at()
