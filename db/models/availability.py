"""When providers work: the locations they work at, weekly hours and dated exceptions.

Weekly hours are wall-clock times in the location's time zone (so 09:00 stays 09:00 across
daylight-saving changes); exceptions are absolute instants (timestamptz).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class AvailabilityExceptionKind(StrEnum):
    BLOCK_OFF = "BLOCK_OFF"  # time off: removes availability
    OVERRIDE = "OVERRIDE"  # extra hours: adds availability at one location


class ProviderLocation(TenantMixin, Base):
    """A provider works at a location."""

    __tablename__ = "provider_location"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="CASCADE",
            name="fk_provider_location_provider",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            ondelete="CASCADE",
            name="fk_provider_location_location",
        ),
        # The target of weekly hours' composite foreign key.
        UniqueConstraint("medspa_id", "provider_id", "location_id"),
    )

    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, index=True)


class WeeklyHours(TenantMixin, Base):
    """One working interval on one weekday (0 = Monday) at one location, in local time."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "provider_id", "location_id"],
            [
                "provider_location.medspa_id",
                "provider_location.provider_id",
                "provider_location.location_id",
            ],
            ondelete="CASCADE",
            name="fk_weekly_hours_provider_location",
        ),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        Index("ix_weekly_hours_provider_location", "provider_id", "location_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    weekday: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    start_time: Mapped[time] = mapped_column(Time, nullable=False)
    end_time: Mapped[time] = mapped_column(Time, nullable=False)
    created_at: Mapped[datetime] = created_at()


class AvailabilityException(TenantMixin, Base):
    """A block-off (no location: every location) or an override (extra hours at a location)."""

    __tablename__ = "availability_exception"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="CASCADE",
            name="fk_availability_exception_provider",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            ondelete="CASCADE",
            name="fk_availability_exception_location",
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "kind = 'BLOCK_OFF' OR location_id IS NOT NULL", name="override_has_location"
        ),
        Index("ix_availability_exception_provider_starts", "provider_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    location_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    kind: Mapped[AvailabilityExceptionKind] = mapped_column(
        Enum(AvailabilityExceptionKind, name="availability_exception_kind"), nullable=False
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    created_at: Mapped[datetime] = created_at()
