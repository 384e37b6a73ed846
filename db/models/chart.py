"""Charting minimum: a provider's service visits and the services performed in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class ServiceVisitStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class ServiceVisit(TenantMixin, Base):
    __tablename__ = "service_visit"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_service_visit_medspa_id_id"),
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="RESTRICT",
            name="fk_service_visit_provider",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="RESTRICT",
            name="fk_service_visit_patient",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "appointment_id"],
            ["appointment.medspa_id", "appointment.id"],
            ondelete="RESTRICT",
            name="fk_service_visit_appointment",
        ),
        CheckConstraint(
            "(status = 'CLOSED') = (closed_at IS NOT NULL)", name="closed_has_closed_at"
        ),
        Index("ix_service_visit_provider_opened", "provider_id", "opened_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[ServiceVisitStatus] = mapped_column(
        Enum(ServiceVisitStatus, name="service_visit_status"),
        nullable=False,
        default=ServiceVisitStatus.OPEN,
    )
    notes: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The real actor (an admin masquerading as the provider charts under their own name here).
    charted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()


class ServiceVisitService(TenantMixin, Base):
    __tablename__ = "service_visit_service"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "service_visit_id"],
            ["service_visit.medspa_id", "service_visit.id"],
            ondelete="CASCADE",
            name="fk_service_visit_service_visit",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            ondelete="RESTRICT",
            name="fk_service_visit_service_service",
        ),
    )

    service_visit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
