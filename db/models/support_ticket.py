"""Support tickets a medspa opens with Portrait, and their comments."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class SupportTicketKind(StrEnum):
    QUESTION = "QUESTION"
    PCC_UPGRADE = "PCC_UPGRADE"  # a virtual PCC becomes the medspa's designated (in-office) PCC
    AUTOPILOT_PROGRAM = "AUTOPILOT_PROGRAM"
    MEDICAL_DIRECTOR_PHYSICIAN_USER = "MEDICAL_DIRECTOR_PHYSICIAN_USER"
    PRICING_CORRECTION = "PRICING_CORRECTION"
    INTEGRATION_RELEASE_CONFIRMATION = "INTEGRATION_RELEASE_CONFIRMATION"


class SupportTicketStatus(StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"  # assigned to a Portrait staff member
    RESOLVED = "RESOLVED"


class SupportTicket(TenantMixin, Base):
    __tablename__ = "support_ticket"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_support_ticket_medspa_id_id"),
        Index("ix_support_ticket_status_created", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[SupportTicketKind] = mapped_column(
        Enum(
            SupportTicketKind,
            name="support_ticket_kind",
            values_callable=lambda e: [m.value for m in e],
        ),
        nullable=False,
    )
    status: Mapped[SupportTicketStatus] = mapped_column(
        Enum(
            SupportTicketStatus,
            name="support_ticket_status",
            values_callable=lambda e: [m.value for m in e],
        ),
        nullable=False,
        default=SupportTicketStatus.OPEN,
    )
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    opened_by_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    # The admin behind a masquerade session, when a ticket was opened as a provider.
    opened_by_actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=True
    )
    # PCC_UPGRADE: the PCC the medspa asks to have in office (Portrait may pick another).
    pcc_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("pcc.id", ondelete="SET NULL"), nullable=True
    )
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=True
    )
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=True
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()


class SupportTicketComment(TenantMixin, Base):
    __tablename__ = "support_ticket_comment"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "ticket_id"],
            ["support_ticket.medspa_id", "support_ticket.id"],
            name="fk_support_ticket_comment_ticket",
            ondelete="CASCADE",
        ),
        Index("ix_support_ticket_comment_ticket_created", "ticket_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    author_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    author_actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at()
