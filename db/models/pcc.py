"""Portrait's patient care coordinators and their assignments to providers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk
from db.models.enums import PccKind


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
