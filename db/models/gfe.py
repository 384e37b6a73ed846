"""Good-faith exams: a medspa's routing details, requests, and clearances per service."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class GfeDestination(StrEnum):
    MANUAL = "MANUAL"  # DO_NOT_ROUTE: the medspa's own licensed providers handle it
    THIRD_PARTY = "THIRD_PARTY"  # OWN_CLEARING_PROVIDER
    PORTRAIT = "PORTRAIT"  # PORTRAIT_CLEARING


class GfeRequestStatus(StrEnum):
    PENDING = "PENDING"
    CLEARED = "CLEARED"
    DECLINED = "DECLINED"  # the clearing clinician declined (with a reason)
    CANCELLED = "CANCELLED"  # the medspa withdrew it while pending


class ClearanceSource(StrEnum):
    SELF = "SELF"
    THIRD_PARTY = "THIRD_PARTY"
    PORTRAIT = "PORTRAIT"


class GfeSettings(TenantMixin, Base):
    """The named third-party clearing provider (OWN_CLEARING_PROVIDER routing)."""

    __tablename__ = "gfe_settings"
    __table_args__ = (UniqueConstraint("medspa_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    clearing_provider_name: Mapped[str | None] = mapped_column(String(200))
    clearing_provider_email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = created_at()


class GfeRequest(TenantMixin, Base):
    __tablename__ = "gfe_request"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_gfe_request_medspa_id_id"),
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="RESTRICT",
            name="fk_gfe_request_patient",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="RESTRICT",
            name="fk_gfe_request_provider",
        ),
        Index("ix_gfe_request_patient", "patient_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    destination: Mapped[GfeDestination] = mapped_column(
        Enum(GfeDestination, name="gfe_destination"), nullable=False
    )
    # The third party's name when routed to one (copied: later setting changes keep history).
    routed_to_name: Mapped[str | None] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Urgent requests carry the urgent-exam fee (billed by the clearing side).
    urgent_fee_applies: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[GfeRequestStatus] = mapped_column(
        Enum(GfeRequestStatus, name="gfe_request_status"),
        nullable=False,
        default=GfeRequestStatus.PENDING,
    )
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    # The outcome (issue 17): who decided it and when; a decline carries its reason.
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_name: Mapped[str | None] = mapped_column(String(200))
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_by_api_client_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decline_reason: Mapped[str | None] = mapped_column(Text)


class GfeRequestService(TenantMixin, Base):
    __tablename__ = "gfe_request_service"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "gfe_request_id"],
            ["gfe_request.medspa_id", "gfe_request.id"],
            ondelete="CASCADE",
            name="fk_gfe_request_service_request",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            ondelete="RESTRICT",
            name="fk_gfe_request_service_service",
        ),
    )

    gfe_request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)


class Clearance(TenantMixin, Base):
    """A patient is cleared for one service until `expires_at` (one row per signing)."""

    __tablename__ = "clearance"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="RESTRICT",
            name="fk_clearance_patient",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            ondelete="RESTRICT",
            name="fk_clearance_service",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "signed_by_provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="RESTRICT",
            name="fk_clearance_provider",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "gfe_request_id"],
            ["gfe_request.medspa_id", "gfe_request.id"],
            ondelete="RESTRICT",
            name="fk_clearance_request",
        ),
        CheckConstraint("expires_at > signed_at", name="expires_after_signing"),
        CheckConstraint(
            "(source = 'SELF') = (signed_by_provider_id IS NOT NULL)", name="self_has_signer"
        ),
        Index("ix_clearance_patient_service", "patient_id", "service_id", "expires_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    source: Mapped[ClearanceSource] = mapped_column(
        Enum(ClearanceSource, name="clearance_source"), nullable=False
    )
    signed_by_provider_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The clinician's name as signed (a third party's or Portrait's clinician has no row here).
    signer_name: Mapped[str] = mapped_column(String(200), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    diagnoses: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, default=list)
    gfe_request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
