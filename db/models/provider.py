"""A practitioner's profile inside one medspa."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class Provider(TenantMixin, Base):
    __tablename__ = "provider"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_provider_medspa_id_id"),
        UniqueConstraint("medspa_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("app_user.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    )
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    credentials: Mapped[str] = mapped_column(String(40), nullable=False)
    licensed_to_self_clear: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at()
    # The practising licence (migration 0015): US state, number, expiry. Self-clearance
    # follows it (api/resolvers/staff.py).
    license_state: Mapped[str | None] = mapped_column(String(2), nullable=True)
    license_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    license_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    is_medical_director: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )


Index(
    "uq_provider_medical_director",
    Provider.medspa_id,
    unique=True,
    postgresql_where=Provider.is_medical_director,
)
