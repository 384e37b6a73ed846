"""Services: Portrait's library (platform rows) and each medspa's catalogue (tenant rows).

A medspa service is either imported from the library (`library_service_id` set: only its
price is the medspa's; name, description, standing orders and documents follow the library)
or custom (LAUNCH/FLEX only). Consents and care messages are versioned documents owned by the
medspa: a new version is a new row of the same lineage, and a service points at the exact
versions it requires.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class ServiceDocumentKind(StrEnum):
    CONSENT = "CONSENT"
    CARE_MESSAGE = "CARE_MESSAGE"


class LibraryServiceGroup(Base):
    """A group of Portrait's library (e.g. Neuromodulators). Platform-owned."""

    __tablename__ = "library_service_group"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at()


class LibraryService(Base):
    """A service of Portrait's library, with its documents as {title, body} lists."""

    __tablename__ = "library_service"
    __table_args__ = (CheckConstraint("default_price_cents >= 0", name="price_not_negative"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    group_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("library_service_group.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    )
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    default_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    standing_orders: Mapped[str | None] = mapped_column(Text, nullable=True)
    consents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    care_messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    # Bumped by every library edit; imported services record the version they follow.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ServiceGroup(TenantMixin, Base):
    __tablename__ = "service_group"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_service_group_medspa_id_id"),
        UniqueConstraint("medspa_id", "name"),
        Index(
            "uq_service_group_medspa_library",
            "medspa_id",
            "library_group_id",
            unique=True,
            postgresql_where=text("library_group_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    library_group_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("library_service_group.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = created_at()


class Service(TenantMixin, Base):
    __tablename__ = "service"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_service_medspa_id_id"),
        UniqueConstraint("medspa_id", "name"),
        ForeignKeyConstraint(
            ["medspa_id", "group_id"],
            ["service_group.medspa_id", "service_group.id"],
            ondelete="RESTRICT",
            name="fk_service_group",
        ),
        Index(
            "uq_service_medspa_library",
            "medspa_id",
            "library_service_id",
            unique=True,
            postgresql_where=text("library_service_id IS NOT NULL"),
        ),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    library_service_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("library_service.id", ondelete="RESTRICT"), index=True
    )
    library_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    standing_orders: Mapped[str | None] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    @property
    def imported(self) -> bool:
        return self.library_service_id is not None


class ServiceDocument(TenantMixin, Base):
    """One version of a consent or care message. Versions are rows; none is ever edited."""

    __tablename__ = "service_document"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_service_document_medspa_id_id"),
        UniqueConstraint("medspa_id", "lineage_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # The id shared by every version of one document (the first version's id).
    lineage_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[ServiceDocumentKind] = mapped_column(
        Enum(ServiceDocumentKind, name="service_document_kind"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # Set on the medspa's copies of a library service's documents: locked for the medspa.
    library_service_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("library_service.id", ondelete="RESTRICT")
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()


class ServiceDocumentRequirement(TenantMixin, Base):
    """A service requires this exact document version."""

    __tablename__ = "service_document_requirement"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            ondelete="CASCADE",
            name="fk_service_document_requirement_service",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "document_id"],
            ["service_document.medspa_id", "service_document.id"],
            ondelete="RESTRICT",
            name="fk_service_document_requirement_document",
        ),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)


class AppointmentTypeService(TenantMixin, Base):
    """The services an appointment type delivers (what a patient must be cleared for)."""

    __tablename__ = "appointment_type_service"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            ondelete="CASCADE",
            name="fk_appointment_type_service_type",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            ondelete="CASCADE",
            name="fk_appointment_type_service_service",
        ),
    )

    appointment_type_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)
