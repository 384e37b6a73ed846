"""Location: where a medspa works, its public booking link, and the location mutations.

`LocationMutation` holds one-liners: decode ids, call the use case, wrap rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import location
from api.schema.connection import Connection, FromArgument
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models

if TYPE_CHECKING:
    from api.schema.appointment import Appointment
    from api.schema.appointment_type import AppointmentType
    from api.schema.medspa import Medspa
    from api.schema.provider import Provider

# Medspa, Provider and the scheduling types point back here, hence lazy references.
LazyAppointment = Annotated["Appointment", strawberry.lazy("api.schema.appointment")]
LazyAppointmentType = Annotated["AppointmentType", strawberry.lazy("api.schema.appointment_type")]
LazyMedspa = Annotated["Medspa", strawberry.lazy("api.schema.medspa")]
LazyProvider = Annotated["Provider", strawberry.lazy("api.schema.provider")]

Info = strawberry.Info[Context, None]


@strawberry.type
class Location(Node):
    name: str
    address_line1: str
    address_line2: str | None
    city: str
    region: str
    postal_code: str
    country: str
    time_zone: str
    active_for_scheduling: bool
    booking_slug: str | None
    row: Private[models.Location]

    @classmethod
    def from_row(cls, row: models.Location) -> Location:
        return cls(
            id=encode_global_id("Location", row.id),
            name=row.name,
            address_line1=row.address_line1,
            address_line2=row.address_line2,
            city=row.city,
            region=row.region,
            postal_code=row.postal_code,
            country=row.country,
            time_zone=row.time_zone,
            active_for_scheduling=row.active_for_scheduling,
            booking_slug=row.booking_slug,
            row=row,
        )

    @strawberry.field(description="The shareable public booking URL, when the slug is set.")
    def booking_path(self) -> str | None:
        return f"/book/{self.booking_slug}" if self.booking_slug else None

    @strawberry.field(description="The shareable public booking link, when the slug is set.")
    def booking_url(self, info: Info) -> str | None:
        if not self.booking_slug:
            return None
        return f"{info.context.settings.public_booking_base_url.rstrip('/')}/{self.booking_slug}"

    @strawberry.field(description="Appointment types offered here.")
    async def appointment_types(self, info: Info) -> list[LazyAppointmentType]:
        from api.schema.appointment_type import AppointmentType

        rows = await info.context.loaders.appointment_types_by_location.load(self.row.id)
        return [AppointmentType.from_row(r) for r in rows]

    @strawberry.field(description="Providers who work here.")
    async def providers(self, info: Info) -> list[LazyProvider]:
        from api.schema.provider import Provider

        rows = await info.context.loaders.providers_by_location.load(self.row.id)
        return [Provider.from_row(r) for r in rows]

    @strawberry.field(description="Appointments here in the viewer's scope, by start time.")
    async def appointments(
        self,
        info: Info,
        from_: FromArgument = None,
        to: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[LazyAppointment] | None:  # None only with a range error
        from api.schema.appointment import Appointment

        page = await info.context.loaders.appointments_by_location.load(
            (self.row.id, first, after, from_, to)
        )
        return Connection.from_page(page, Appointment.from_row)

    @strawberry.field
    async def medspa(self, info: Info) -> LazyMedspa | None:
        from api.schema.medspa import Medspa

        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None


async def _fetch_location(ctx: Context, id_: uuid.UUID) -> Location | None:
    row = await ctx.loaders.location_by_id.load(id_)
    return Location.from_row(row) if row else None


node_type("Location", _fetch_location)


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
class LocationPayload(Payload):
    location: Location | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(location=Location.from_row(result))


def _location_changes(data: LocationInput) -> location.LocationChanges:
    return location.LocationChanges(
        name=data.name,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        region=data.region,
        postal_code=data.postal_code,
        country=data.country,
        time_zone=data.time_zone,
        booking_slug=data.booking_slug,
        clear_booking_slug=data.clear_booking_slug,
        active_for_scheduling=data.active_for_scheduling,
    )


@strawberry.type
class LocationMutation:
    @strawberry.mutation
    async def create_location(self, info: Info, input: LocationInput) -> LocationPayload:
        return await LocationPayload.run(
            info,
            Action.LOCATION_MANAGE,
            lambda: location.create_location(info.context, changes=_location_changes(input)),
        )

    @strawberry.mutation
    async def update_location(
        self, info: Info, id: strawberry.ID, input: LocationInput
    ) -> LocationPayload:
        return await LocationPayload.run(
            info,
            Action.LOCATION_MANAGE,
            lambda: location.update_location(
                info.context,
                location_id=decode_id_of(id, "Location"),
                changes=_location_changes(input),
            ),
        )

    @strawberry.mutation(description="Open or close a location for scheduling and booking.")
    async def set_location_active(
        self, info: Info, id: strawberry.ID, active: bool
    ) -> LocationPayload:
        return await LocationPayload.run(
            info,
            Action.LOCATION_MANAGE,
            lambda: location.update_location(
                info.context,
                location_id=decode_id_of(id, "Location"),
                changes=location.LocationChanges(active_for_scheduling=active),
            ),
        )
