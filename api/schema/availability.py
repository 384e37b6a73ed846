"""Availability: providers' weekly hours and their exceptions (block-offs, overrides), and
the mutations that set them."""

from __future__ import annotations

from datetime import datetime, time
from enum import Enum
from typing import Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import availability
from api.schema.location import Location
from api.schema.node import encode_global_id
from api.schema.payload import Payload
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
class WeeklyHoursPayload(Payload):
    hours: list[WeeklyHours] | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(hours=[WeeklyHours.from_row(r) for r in result])


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
class AvailabilityExceptionPayload(Payload):
    exception: AvailabilityException | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(exception=AvailabilityException.from_row(result))


@strawberry.type
class AvailabilityMutation:
    @strawberry.mutation(description="Replace a provider's weekly hours at one location.")
    async def set_weekly_hours(
        self,
        info: Info,
        provider_id: strawberry.ID,
        location_id: strawberry.ID,
        hours: list[WeeklyHoursInput],
    ) -> WeeklyHoursPayload:
        return await WeeklyHoursPayload.run(
            info,
            Action.AVAILABILITY_MANAGE,
            lambda: availability.set_weekly_hours(
                info.context,
                provider_id=decode_id_of(provider_id, "Provider"),
                location_id=decode_id_of(location_id, "Location"),
                hours=[
                    availability.HoursInput(h.weekday.value, h.start_time, h.end_time)
                    for h in hours
                ],
            ),
        )

    @strawberry.mutation(description="Time off for a provider (everywhere, or one location).")
    async def add_block_off(
        self, info: Info, input: AvailabilityExceptionInput
    ) -> AvailabilityExceptionPayload:
        return await _add_exception(info, models.AvailabilityExceptionKind.BLOCK_OFF, input)

    @strawberry.mutation(description="Extra hours for a provider at one location.")
    async def add_availability_override(
        self, info: Info, input: AvailabilityExceptionInput
    ) -> AvailabilityExceptionPayload:
        return await _add_exception(info, models.AvailabilityExceptionKind.OVERRIDE, input)

    @strawberry.mutation
    async def remove_availability_exception(
        self, info: Info, id: strawberry.ID
    ) -> AvailabilityExceptionPayload:
        return await AvailabilityExceptionPayload.run(
            info,
            # Every remover holds block_off; removing an override also needs
            # availability.manage, which the use case checks against the row's kind.
            Action.AVAILABILITY_BLOCK_OFF,
            lambda: availability.remove_exception(
                info.context, exception_id=decode_id_of(id, "AvailabilityException")
            ),
        )


async def _add_exception(
    info: Info, kind: models.AvailabilityExceptionKind, data: AvailabilityExceptionInput
) -> AvailabilityExceptionPayload:
    action = (
        Action.AVAILABILITY_BLOCK_OFF
        if kind is models.AvailabilityExceptionKind.BLOCK_OFF
        else Action.AVAILABILITY_MANAGE
    )
    return await AvailabilityExceptionPayload.run(
        info,
        action,
        lambda: availability.add_exception(
            info.context,
            kind=kind,
            provider_id=decode_id_of(data.provider_id, "Provider"),
            location_id=decode_id_of(data.location_id, "Location") if data.location_id else None,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason,
        ),
    )
