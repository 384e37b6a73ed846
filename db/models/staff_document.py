"""Documents of a medspa's staff (headshot, photo ID, signature, licence): uploaded through a
short-lived signed URL into the configured storage, served only through signed URLs."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class StaffDocumentKind(StrEnum):
    HEADSHOT = "HEADSHOT"
    PHOTO_ID = "PHOTO_ID"
    SIGNATURE = "SIGNATURE"
    LICENSE = "LICENSE"


class StaffDocumentStatus(StrEnum):
    PENDING = "PENDING"  # an upload URL was issued; nothing stored yet
    READY = "READY"  # stored; the current document of its kind unless superseded


class StaffDocument(TenantMixin, Base):
    __tablename__ = "staff_document"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_staff_document_medspa_id_id"),
        UniqueConstraint("medspa_id", "storage_key", name="uq_staff_document_storage_key"),
        CheckConstraint("byte_size > 0", name="byte_size_positive"),
        CheckConstraint(
            "(status = 'READY') = (uploaded_at IS NOT NULL)", name="ready_when_uploaded"
        ),
        # One current document per person, medspa and kind: a new upload supersedes the old.
        Index(
            "uq_staff_document_current",
            "medspa_id",
            "user_id",
            "kind",
            unique=True,
            postgresql_where=text("status = 'READY' AND superseded_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    kind: Mapped[StaffDocumentKind] = mapped_column(
        Enum(
            StaffDocumentKind,
            name="staff_document_kind",
            values_callable=lambda e: [m.value for m in e],
        ),
        nullable=False,
    )
    status: Mapped[StaffDocumentStatus] = mapped_column(
        Enum(
            StaffDocumentStatus,
            name="staff_document_status",
            values_callable=lambda e: [m.value for m in e],
        ),
        nullable=False,
        default=StaffDocumentStatus.PENDING,
    )
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    # Declared when the upload URL is issued (the upload may not exceed it); the stored size
    # once uploaded.
    byte_size: Mapped[int] = mapped_column(Integer, nullable=False)
    storage_key: Mapped[str] = mapped_column(String(300), nullable=False)
    uploaded_by_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    created_at: Mapped[datetime] = created_at()
    uploaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
