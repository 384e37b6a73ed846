"""Patients of a medspa: contact details, date of birth, registration status, and the
registration links sent to them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class RegistrationStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"  # no registration link sent yet
    LINK_SENT = "LINK_SENT"  # link sent, registration not completed
    COMPLETED = "COMPLETED"  # the patient completed registration through a link


class PatientSource(StrEnum):
    STAFF = "STAFF"
    PUBLIC_BOOKING = "PUBLIC_BOOKING"


class Patient(TenantMixin, Base):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_patient_medspa_id_id"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_contact"),
        # Deleting the provider clears only this column (migration 0006: ON DELETE SET NULL
        # (created_for_provider_id)); medspa_id belongs to the row's key.
        ForeignKeyConstraint(
            ["medspa_id", "created_for_provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_patient_created_for_provider",
        ),
        Index(
            "ix_patient_created_for_provider",
            "created_for_provider_id",
            postgresql_where=text("created_for_provider_id IS NOT NULL"),
        ),
        CheckConstraint(
            "date_of_birth IS NULL OR date_of_birth >= DATE '1900-01-01'",
            name="date_of_birth_plausible",
        ),
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
        # A retried createPatient with the same key finds the patient it created.
        Index(
            "uq_patient_medspa_idempotency_key",
            "medspa_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
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
        default=RegistrationStatus.NOT_STARTED,
    )
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    source: Mapped[PatientSource] = mapped_column(
        Enum(PatientSource, name="patient_source"), nullable=False, default=PatientSource.STAFF
    )
    # Who created the patient (the effective user) and for which provider: a PCC reaches the
    # patients it created for a provider it reaches (DESIGN §5).
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("app_user.id", ondelete="SET NULL", name="fk_patient_created_by_user"),
        nullable=True,
    )
    created_for_provider_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), nullable=True
    )
    created_at: Mapped[datetime] = created_at()
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)


class RegistrationLink(TenantMixin, Base):
    """One registration link sent to a patient. The token itself is never stored: only its
    SHA-256, so a link can be checked but not read back. Using or superseding a link is an
    update; rows are never deleted (the record of the send stays)."""

    __tablename__ = "registration_link"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_registration_link_patient",
            ondelete="CASCADE",
        ),
        CheckConstraint("expires_at > sent_at", name="expires_after_sent"),
        CheckConstraint("used_at IS NULL OR superseded_at IS NULL", name="used_or_superseded"),
        Index("ix_registration_link_patient_sent", "patient_id", "sent_at"),
        # At most one outstanding link per patient: sending again supersedes the last one.
        Index(
            "uq_registration_link_outstanding",
            "medspa_id",
            "patient_id",
            unique=True,
            postgresql_where=text("used_at IS NULL AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    # Unique platform-wide through the global `registration_token` look-up.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # The email address or phone number the link went to.
    sent_to: Mapped[str] = mapped_column(String(254), nullable=False)
    # The effective user, and the real actor when they differ (a masquerading admin).
    sent_by_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    sent_by_actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=True
    )
    sent_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
