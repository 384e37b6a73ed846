"""Provider: who delivers services, where they work, and `configureProvider`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of, decode_ids_of
from api.resolvers import provider as provider_resolvers
from api.schema.connection import Connection, FromArgument
from api.schema.location import Location
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models

if TYPE_CHECKING:
    from api.schema.appointment import Appointment
    from api.schema.appointment_type import AppointmentType
    from api.schema.availability import AvailabilityException, WeeklyHours
    from api.schema.medspa import Medspa
    from api.schema.pcc import ProviderPcc

# Medspa, the PCC and the scheduling types point back here, hence lazy references.
LazyAppointment = Annotated["Appointment", strawberry.lazy("api.schema.appointment")]
LazyAppointmentType = Annotated["AppointmentType", strawberry.lazy("api.schema.appointment_type")]
LazyAvailabilityException = Annotated[
    "AvailabilityException", strawberry.lazy("api.schema.availability")
]
LazyMedspa = Annotated["Medspa", strawberry.lazy("api.schema.medspa")]
LazyProviderPcc = Annotated["ProviderPcc", strawberry.lazy("api.schema.pcc")]
LazyWeeklyHours = Annotated["WeeklyHours", strawberry.lazy("api.schema.availability")]

Info = strawberry.Info[Context, None]


@strawberry.type
class Provider(Node):
    display_name: str
    credentials: str
    licensed_to_self_clear: bool
    active: bool
    row: Private[models.Provider]

    @classmethod
    def from_row(cls, row: models.Provider) -> Provider:
        return cls(
            id=encode_global_id("Provider", row.id),
            display_name=row.display_name,
            credentials=row.credentials,
            licensed_to_self_clear=row.licensed_to_self_clear,
            active=row.active,
            row=row,
        )

    @strawberry.field
    async def medspa(self, info: Info) -> LazyMedspa | None:
        from api.schema.medspa import Medspa

        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None

    @strawberry.field(description="Locations the provider works at.")
    async def locations(self, info: Info) -> list[Location]:
        rows = await info.context.loaders.locations_by_provider.load(self.row.id)
        return [Location.from_row(r) for r in rows]

    @strawberry.field(description="Appointment types the provider offers.")
    async def appointment_types(self, info: Info) -> list[LazyAppointmentType]:
        from api.schema.appointment_type import AppointmentType

        rows = await info.context.loaders.appointment_types_by_provider.load(self.row.id)
        return [AppointmentType.from_row(r) for r in rows]

    @strawberry.field(
        description="The PCCs working for this provider now (assigned, designated or covering),"
        " each with their working hours; empty outside pcc.read scope."
    )
    async def pccs(self, info: Info) -> list[LazyProviderPcc]:
        from api.schema.pcc import Pcc, ProviderPcc

        rows = await info.context.loaders.pccs_by_provider.load(self.row.id)
        return [
            ProviderPcc(relation=r.relation, until=r.until, pcc=Pcc.from_row(r.pcc)) for r in rows
        ]

    @strawberry.field(description="Weekly working hours (empty outside availability.read scope).")
    async def weekly_hours(self, info: Info) -> list[LazyWeeklyHours]:
        from api.schema.availability import WeeklyHours

        rows = await info.context.loaders.weekly_hours_by_provider.load(self.row.id)
        return [WeeklyHours.from_row(r) for r in rows]

    @strawberry.field(description="Block-offs and overrides overlapping the range (62 days max).")
    async def availability_exceptions(
        self, info: Info, from_: Annotated[datetime, strawberry.argument(name="from")], to: datetime
    ) -> list[LazyAvailabilityException]:
        from api.resolvers.availability import list_exceptions
        from api.resolvers.scheduling import check_range
        from api.schema.availability import AvailabilityException

        check_range(from_, to)
        rows = await list_exceptions(info.context, provider_id=self.row.id, start=from_, end=to)
        return [AvailabilityException.from_row(r) for r in rows]

    @strawberry.field(description="The provider's appointments in the viewer's scope.")
    async def appointments(
        self,
        info: Info,
        from_: FromArgument = None,
        to: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[LazyAppointment] | None:  # None only with a range error
        from api.schema.appointment import Appointment

        page = await info.context.loaders.appointments_by_provider.load(
            (self.row.id, first, after, from_, to)
        )
        return Connection.from_page(page, Appointment.from_row)


async def _fetch_provider(ctx: Context, id_: uuid.UUID) -> Provider | None:
    row = await ctx.loaders.provider_by_id.load(id_)
    return Provider.from_row(row) if row else None


node_type("Provider", _fetch_provider)


@strawberry.type
class ProviderPayload(Payload):
    provider: Provider | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(provider=Provider.from_row(result))


@strawberry.type
class ProviderMutation:
    @strawberry.mutation(description="Set where a provider works and which types they offer.")
    async def configure_provider(
        self,
        info: Info,
        provider_id: strawberry.ID,
        location_ids: list[strawberry.ID] | None = None,
        appointment_type_ids: list[strawberry.ID] | None = None,
    ) -> ProviderPayload:
        return await ProviderPayload.run(
            info,
            Action.PROVIDER_CONFIGURE,
            lambda: provider_resolvers.configure_provider(
                info.context,
                provider_id=decode_id_of(provider_id, "Provider"),
                location_ids=decode_ids_of(location_ids, "Location"),
                appointment_type_ids=decode_ids_of(appointment_type_ids, "AppointmentType"),
            ),
        )
