"""Appointment types (what can be booked), where each is offered and who offers it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class AppointmentType(TenantMixin, Base):
    __tablename__ = "appointment_type"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_appointment_type_medspa_id_id"),
        UniqueConstraint("medspa_id", "name"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 720", name="duration_range"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint(
            "buffer_before_minutes BETWEEN 0 AND 240 AND buffer_after_minutes BETWEEN 0 AND 240",
            name="buffer_range",
        ),
        CheckConstraint(
            "(deposit_cents IS NULL OR deposit_cents >= 0)"
            " AND (cancellation_fee_cents IS NULL OR cancellation_fee_cents >= 0)",
            name="fees_not_negative",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    buffer_before_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Only honoured when the medspa's scheduling settings enable deposits / fees.
    deposit_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancellation_fee_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()

    @property
    def bookable(self) -> bool:
        return self.active and self.archived_at is None


class AppointmentTypeLocation(TenantMixin, Base):
    """An appointment type is offered at a location."""

    __tablename__ = "appointment_type_location"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            ondelete="CASCADE",
            name="fk_appointment_type_location_type",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            ondelete="CASCADE",
            name="fk_appointment_type_location_location",
        ),
    )

    appointment_type_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)


class ProviderAppointmentType(TenantMixin, Base):
    """A provider offers an appointment type."""

    __tablename__ = "provider_appointment_type"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="CASCADE",
            name="fk_provider_appointment_type_provider",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            ondelete="CASCADE",
            name="fk_provider_appointment_type_type",
        ),
    )

    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    appointment_type_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, index=True
    )
