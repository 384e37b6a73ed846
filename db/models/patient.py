"""Patients of a medspa: contact details and registration status (minimal, for booking)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, Enum, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class RegistrationStatus(StrEnum):
    NOT_SENT = "NOT_SENT"  # no registration link sent yet
    SENT = "SENT"  # link sent, forms not completed
    REGISTERED = "REGISTERED"  # intake forms completed


class PatientSource(StrEnum):
    STAFF = "STAFF"
    PUBLIC_BOOKING = "PUBLIC_BOOKING"


class Patient(TenantMixin, Base):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_patient_medspa_id_id"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_contact"),
        # One patient per email / phone inside a medspa: public booking finds them by either.
        Index(
            "uq_patient_medspa_email",
            "medspa_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("email IS NOT NULL"),
        ),
        Index(
            "uq_patient_medspa_phone",
            "medspa_id",
            "phone",
            unique=True,
            postgresql_where=text("phone IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # E.164 (+15551234567), normalised on the way in.
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    registration_status: Mapped[RegistrationStatus] = mapped_column(
        Enum(RegistrationStatus, name="registration_status"),
        nullable=False,
        default=RegistrationStatus.NOT_SENT,
    )
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    source: Mapped[PatientSource] = mapped_column(
        Enum(PatientSource, name="patient_source"), nullable=False, default=PatientSource.STAFF
    )
    created_at: Mapped[datetime] = created_at()
