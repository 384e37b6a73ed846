"""Portrait's patient care coordinators and their assignments to providers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk
from db.models.enums import Channel, CoverageSource, OooKind, OooReason, PccKind


class Pcc(Base):
    """A PCC's profile. DESIGNATED PCCs sit in exactly one medspa; VIRTUAL ones in none."""

    __tablename__ = "pcc"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'DESIGNATED') = (designated_medspa_id IS NOT NULL)",
            name="designated_has_medspa",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("app_user.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    )
    kind: Mapped[PccKind] = mapped_column(Enum(PccKind, name="pcc_kind"), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    # {"MON": [["09:00", "17:00"]], ...} in the PCC's own time zone.
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    designated_medspa_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("medspa.id", ondelete="RESTRICT"), nullable=True
    )
    created_at: Mapped[datetime] = created_at()


class PccAssignment(TenantMixin, Base):
    """A PCC works for a provider from `starts_at` until `ends_at` (open-ended when null)."""

    __tablename__ = "pcc_assignment"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="CASCADE",
            name="fk_pcc_assignment_provider",
        ),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    pcc_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("pcc.id", ondelete="CASCADE"), nullable=False, index=True
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()


class OutOfOffice(Base):
    """A PCC's absence. Not a tenant row: a virtual PCC's absence spans the medspas it serves;
    the providers it affects are listed in `ooo_affected_provider` (tenant rows)."""

    __tablename__ = "out_of_office"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    pcc_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("pcc.id", ondelete="CASCADE"), nullable=False, index=True
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    kind: Mapped[OooKind] = mapped_column(Enum(OooKind, name="ooo_kind"), nullable=False)
    reason: Mapped[OooReason] = mapped_column(Enum(OooReason, name="ooo_reason"), nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reported_by_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    created_at: Mapped[datetime] = created_at()


class OooAffectedProvider(TenantMixin, Base):
    """A provider affected by an absence; `covers_own_lines` takes them out of coverage."""

    __tablename__ = "ooo_affected_provider"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="CASCADE",
            name="fk_ooo_affected_provider_provider",
        ),
        UniqueConstraint("medspa_id", "ooo_id", "provider_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ooo_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("out_of_office.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    covers_own_lines: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    covers_own_lines_set_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="SET NULL"), nullable=True
    )


class Coverage(Base):
    """The one PCC covering an absence; the database refuses a second (unique `ooo_id`)."""

    __tablename__ = "coverage"
    __table_args__ = (
        UniqueConstraint("ooo_id", name="uq_coverage_one_per_absence"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ooo_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("out_of_office.id", ondelete="CASCADE"), nullable=False
    )
    covering_pcc_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("pcc.id", ondelete="CASCADE"), nullable=False, index=True
    )
    source: Mapped[CoverageSource] = mapped_column(
        Enum(CoverageSource, name="coverage_source"), nullable=False
    )
    arranged_by_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    # The window in which the covering PCC holds the absent PCC's scope: the absence itself.
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = created_at()


class ChannelAccessGrant(TenantMixin, Base):
    """The covering PCC's access to a provider's OpenPhone line / TigerConnect chat."""

    __tablename__ = "channel_access_grant"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="CASCADE",
            name="fk_channel_access_grant_provider",
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    coverage_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("coverage.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    pcc_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("pcc.id", ondelete="CASCADE"), nullable=False
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    channel: Mapped[Channel] = mapped_column(Enum(Channel, name="channel"), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PlatformHoliday(Base):
    """Portrait is closed: no PCC works, and no coverage is arranged."""

    __tablename__ = "platform_holiday"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = created_at()
