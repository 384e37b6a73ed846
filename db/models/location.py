"""A medspa's physical location; its booking slug is the public booking link."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class Location(TenantMixin, Base):
    __tablename__ = "location"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_location_medspa_id_id"),
        UniqueConstraint("medspa_id", "name"),
        UniqueConstraint("medspa_id", "booking_slug"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address_line1: Mapped[str] = mapped_column(String(200), nullable=False)
    address_line2: Mapped[str | None] = mapped_column(String(200), nullable=True)
    city: Mapped[str] = mapped_column(String(100), nullable=False)
    region: Mapped[str] = mapped_column(String(100), nullable=False)
    postal_code: Mapped[str] = mapped_column(String(20), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False, default="US")
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    active_for_scheduling: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Unique platform-wide: it is the public booking URL.
    # Unique platform-wide through the global `booking_slug` look-up (db/models/lookup.py).
    booking_slug: Mapped[str | None] = mapped_column(String(63), nullable=True)
    created_at: Mapped[datetime] = created_at()
