"""Appointments: a patient with a provider, at a location, for a type, over a time range.

The database decides double booking: an exclusion constraint forbids two live (not cancelled,
not no-show) appointments of one provider whose *blocked* ranges overlap. The blocked range is
the appointment plus the type's buffers before and after, so buffers are guaranteed by the
same constraint; it always contains `[starts_at, ends_at)`.

An appointment lasts at most `MAX_APPOINTMENT_LENGTH` (a type lasts at most 12 hours): a
check constraint says so, and it is what lets a range query bound `starts_at` on both ends
(`starts_at > from - MAX_APPOINTMENT_LENGTH`), so the (…, starts_at) indexes serve a week at
the same cost after ten years of history.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class AppointmentStatus(StrEnum):
    BOOKED = "BOOKED"
    CONFIRMED = "CONFIRMED"
    CHECKED_IN = "CHECKED_IN"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"
    CANCELLED = "CANCELLED"


# Statuses that no longer hold the provider's time.
RELEASED_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


class BookingSource(StrEnum):
    STAFF = "STAFF"
    PARTNER = "PARTNER"
    PUBLIC = "PUBLIC"


# Kept in step with the check constraint `at_most_a_day` (migration 0007).
MAX_APPOINTMENT_LENGTH = timedelta(hours=24)


class Appointment(TenantMixin, Base):
    __tablename__ = "appointment"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_appointment_medspa_id_id"),
        UniqueConstraint("medspa_id", "idempotency_key"),
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="RESTRICT",
            name="fk_appointment_provider",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            ondelete="RESTRICT",
            name="fk_appointment_location",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="RESTRICT",
            name="fk_appointment_patient",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            ondelete="RESTRICT",
            name="fk_appointment_type",
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("ends_at <= starts_at + interval '24 hours'", name="at_most_a_day"),
        CheckConstraint(
            "blocked_from <= starts_at AND blocked_until >= ends_at", name="blocked_covers_visit"
        ),
        ExcludeConstraint(
            ("medspa_id", "="),
            ("provider_id", "="),
            (func.tstzrange(text("blocked_from"), text("blocked_until"), "[)"), "&&"),
            using="gist",
            where=text("status NOT IN ('CANCELLED', 'NO_SHOW')"),
            name="ex_appointment_provider_no_overlap",
        ),
        Index("ix_appointment_medspa_starts", "medspa_id", "starts_at"),
        Index("ix_appointment_provider_starts", "provider_id", "starts_at"),
        Index("ix_appointment_location_starts", "location_id", "starts_at"),
        Index("ix_appointment_patient_starts", "patient_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    appointment_type_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    blocked_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    blocked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(AppointmentStatus, name="appointment_status"),
        nullable=False,
        default=AppointmentStatus.BOOKED,
    )
    # Prices are copied from the type when booked: later catalogue edits do not rewrite them.
    price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    deposit_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancellation_fee_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[BookingSource] = mapped_column(
        Enum(BookingSource, name="booking_source"), nullable=False
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    booked_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    booked_by_api_client_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), nullable=True
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancellation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancellation_fee_applies: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
