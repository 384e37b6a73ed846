"""Scheduling settings of the Medspa Admin dashboard: locations, provider configuration,
availability, and the medspa's deposit, fee and notification settings."""

from __future__ import annotations

from datetime import datetime, time
from enum import Enum

import strawberry
from strawberry import Private

from api.context import Context
from api.schema.node import encode_global_id
from api.schema.payload import UserError
from api.schema.types import Location, Provider
from db import models

Info = strawberry.Info[Context, None]

AvailabilityExceptionKind = strawberry.enum(models.AvailabilityExceptionKind)


@strawberry.enum
class Weekday(Enum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


@strawberry.type(description="Deposits, cancellation fees and patient notifications.")
class SchedulingSettings:
    deposits_enabled: bool
    cancellation_fees_enabled: bool
    cancellation_window_hours: int
    send_confirmation: bool
    reminder_lead_hours: list[int]
    send_cancellation_notice: bool

    @classmethod
    def from_row(cls, row: models.SchedulingSettings) -> SchedulingSettings:
        return cls(
            deposits_enabled=row.deposits_enabled,
            cancellation_fees_enabled=row.cancellation_fees_enabled,
            cancellation_window_hours=row.cancellation_window_hours,
            send_confirmation=row.send_confirmation,
            reminder_lead_hours=list(row.reminder_lead_hours),
            send_cancellation_notice=row.send_cancellation_notice,
        )


@strawberry.input
class SchedulingSettingsInput:
    deposits_enabled: bool | None = None
    cancellation_fees_enabled: bool | None = None
    cancellation_window_hours: int | None = None
    send_confirmation: bool | None = None
    reminder_lead_hours: list[int] | None = None
    send_cancellation_notice: bool | None = None


@strawberry.type
class SchedulingSettingsPayload:
    settings: SchedulingSettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Working hours on one weekday at one location, local wall time.")
class WeeklyHours:
    weekday: Weekday
    start_time: time
    end_time: time
    row: Private[models.WeeklyHours]

    @classmethod
    def from_row(cls, row: models.WeeklyHours) -> WeeklyHours:
        return cls(
            weekday=Weekday(row.weekday),
            start_time=row.start_time,
            end_time=row.end_time,
            row=row,
        )

    @strawberry.field
    async def location(self, info: Info) -> Location | None:
        found = await info.context.loaders.location_by_id.load(self.row.location_id)
        return Location.from_row(found) if found else None


@strawberry.input
class WeeklyHoursInput:
    weekday: Weekday
    start_time: time
    end_time: time


@strawberry.type
class WeeklyHoursPayload:
    hours: list[WeeklyHours] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="A block-off (time off) or an override (extra hours).")
class AvailabilityException:
    id: strawberry.ID
    kind: AvailabilityExceptionKind  # type: ignore[valid-type]
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    row: Private[models.AvailabilityException]

    @classmethod
    def from_row(cls, row: models.AvailabilityException) -> AvailabilityException:
        return cls(
            id=encode_global_id("AvailabilityException", row.id),
            kind=row.kind,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            reason=row.reason,
            row=row,
        )

    @strawberry.field(description="Null for a block-off that applies at every location.")
    async def location(self, info: Info) -> Location | None:
        if self.row.location_id is None:
            return None
        found = await info.context.loaders.location_by_id.load(self.row.location_id)
        return Location.from_row(found) if found else None


@strawberry.input
class AvailabilityExceptionInput:
    provider_id: strawberry.ID
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for an override; a block-off without one is global."
    )
    starts_at: datetime = strawberry.field(
        description="An instant, or a wall-clock time (no offset) in the location's zone."
    )
    ends_at: datetime
    reason: str | None = None


@strawberry.type
class AvailabilityExceptionPayload:
    exception: AvailabilityException | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class LocationInput:
    """Create: name and the address lines are required. Update: omit a field to keep it."""

    name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    time_zone: str | None = strawberry.field(
        default=None, description="IANA zone; defaults to the medspa's on create."
    )
    booking_slug: str | None = None
    clear_booking_slug: bool = False
    active_for_scheduling: bool | None = None


@strawberry.type
class LocationPayload:
    location: Location | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProviderPayload:
    provider: Provider | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
