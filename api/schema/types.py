"""Object types of the tenancy core. Each wraps its ORM row and lists every exposed field.

Scalars are plain attributes copied from the row; relations are async resolvers that go
through the request's scoped DataLoaders.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.schema.connection import Connection
from api.schema.enums import BusinessModel, GfeRouting
from api.schema.node import Node, encode_global_id, node_type
from db import models

if TYPE_CHECKING:
    from api.schema.appointment import Appointment
    from api.schema.appointment_type import AppointmentType
    from api.schema.patient import Patient
    from api.schema.pcc import FeeLine, MedspaIntegration, ProviderPcc
    from api.schema.scheduling import AvailabilityException, SchedulingSettings, WeeklyHours

# Scheduling types live in their own modules and point back here, hence lazy references.
LazyAppointment = Annotated["Appointment", strawberry.lazy("api.schema.appointment")]
LazyAppointmentType = Annotated["AppointmentType", strawberry.lazy("api.schema.appointment_type")]
LazyPatient = Annotated["Patient", strawberry.lazy("api.schema.patient")]
LazyProviderPcc = Annotated["ProviderPcc", strawberry.lazy("api.schema.pcc")]
LazyMedspaIntegration = Annotated["MedspaIntegration", strawberry.lazy("api.schema.pcc")]
LazyFeeLine = Annotated["FeeLine", strawberry.lazy("api.schema.pcc")]
LazyWeeklyHours = Annotated["WeeklyHours", strawberry.lazy("api.schema.scheduling")]
LazyAvailabilityException = Annotated[
    "AvailabilityException", strawberry.lazy("api.schema.scheduling")
]
LazySchedulingSettings = Annotated["SchedulingSettings", strawberry.lazy("api.schema.scheduling")]
FromArgument = Annotated[datetime | None, strawberry.argument(name="from")]

Info = strawberry.Info[Context, None]


@strawberry.type
class User(Node):
    email: str
    full_name: str

    @classmethod
    def from_row(cls, row: models.User) -> User:
        return cls(id=encode_global_id("User", row.id), email=row.email, full_name=row.full_name)


@strawberry.type
class Medspa(Node):
    name: str
    slug: str
    business_model: BusinessModel
    time_zone: str
    gfe_routing: GfeRouting
    pcc_service: bool
    uses_portrait_ehr: bool
    row: Private[models.Medspa]

    @classmethod
    def from_row(cls, row: models.Medspa) -> Medspa:
        return cls(
            id=encode_global_id("Medspa", row.id),
            name=row.name,
            slug=row.slug,
            business_model=row.business_model,
            time_zone=row.time_zone,
            gfe_routing=row.gfe_routing,
            pcc_service=row.pcc_service,
            uses_portrait_ehr=row.uses_portrait_ehr,
            row=row,
        )

    @strawberry.field(
        description="Phone line, chat channel and Acuity calendar states (contract view:"
        " the medspa's admins and platform admins; empty for others)."
    )
    async def integrations(self, info: Info) -> list[LazyMedspaIntegration]:
        from api.schema.pcc import MedspaIntegration

        if not _sees_contract(info):
            return []
        rows = await info.context.loaders.integrations_by_medspa.load(self.row.id)
        return [
            MedspaIntegration(kind=r.kind, status=r.status, status_changed_on=r.status_changed_on)
            for r in rows
        ]

    @strawberry.field(description="Recurring fee lines (contract view, as `integrations`).")
    async def fee_lines(self, info: Info) -> list[LazyFeeLine]:
        from api.schema.pcc import FeeLine

        if not _sees_contract(info):
            return []
        rows = await info.context.loaders.fee_lines_by_medspa.load(self.row.id)
        return [
            FeeLine(
                kind=r.kind,
                amount_cents=r.amount_cents,
                currency=r.currency,
                period=r.period,
                starts_on=r.starts_on,
            )
            for r in rows
        ]

    @strawberry.field
    async def locations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Location]:
        page = await info.context.loaders.locations_by_medspa.load((self.row.id, first, after))
        return Connection.from_page(page, Location.from_row)

    @strawberry.field
    async def providers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Provider]:
        page = await info.context.loaders.providers_by_medspa.load((self.row.id, first, after))
        return Connection.from_page(page, Provider.from_row)

    @strawberry.field
    async def appointment_types(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[LazyAppointmentType]:
        from api.schema.appointment_type import AppointmentType

        page = await info.context.loaders.appointment_types_by_medspa.load(
            (self.row.id, first, after)
        )
        return Connection.from_page(page, AppointmentType.from_row)

    @strawberry.field(description="Patients in the viewer's scope.")
    async def patients(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[LazyPatient]:
        from api.schema.patient import Patient

        page = await info.context.loaders.patients_by_medspa.load((self.row.id, first, after))
        return Connection.from_page(page, Patient.from_row)

    @strawberry.field(description="Appointments in the viewer's scope, by start time.")
    async def appointments(
        self,
        info: Info,
        from_: FromArgument = None,
        to: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[LazyAppointment]:
        from api.schema.appointment import Appointment

        page = await info.context.loaders.appointments_by_medspa.load(
            (self.row.id, first, after, from_, to)
        )
        return Connection.from_page(page, Appointment.from_row)

    @strawberry.field(description="Deposits, cancellation fees and patient notifications.")
    async def scheduling_settings(self, info: Info) -> LazySchedulingSettings:
        from api.schema.scheduling import SchedulingSettings

        row = await info.context.loaders.scheduling_settings_by_medspa.load(self.row.id)
        return SchedulingSettings.from_row(row)


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
    async def providers(self, info: Info) -> list[Provider]:
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
    ) -> Connection[LazyAppointment]:
        from api.schema.appointment import Appointment

        page = await info.context.loaders.appointments_by_location.load(
            (self.row.id, first, after, from_, to)
        )
        return Connection.from_page(page, Appointment.from_row)

    @strawberry.field
    async def medspa(self, info: Info) -> Medspa | None:
        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None


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
    async def medspa(self, info: Info) -> Medspa | None:
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
        from api.schema.scheduling import WeeklyHours

        rows = await info.context.loaders.weekly_hours_by_provider.load(self.row.id)
        return [WeeklyHours.from_row(r) for r in rows]

    @strawberry.field(description="Block-offs and overrides overlapping the range (62 days max).")
    async def availability_exceptions(
        self, info: Info, from_: Annotated[datetime, strawberry.argument(name="from")], to: datetime
    ) -> list[LazyAvailabilityException]:
        from api.resolvers.availability import list_exceptions
        from api.resolvers.scheduling import check_range
        from api.schema.scheduling import AvailabilityException

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
    ) -> Connection[LazyAppointment]:
        from api.schema.appointment import Appointment

        page = await info.context.loaders.appointments_by_provider.load(
            (self.row.id, first, after, from_, to)
        )
        return Connection.from_page(page, Appointment.from_row)


async def _fetch_medspa(ctx: Context, id_: uuid.UUID) -> Medspa | None:
    row = await ctx.loaders.medspa_by_id.load(id_)
    return Medspa.from_row(row) if row else None


async def _fetch_location(ctx: Context, id_: uuid.UUID) -> Location | None:
    row = await ctx.loaders.location_by_id.load(id_)
    return Location.from_row(row) if row else None


async def _fetch_provider(ctx: Context, id_: uuid.UUID) -> Provider | None:
    row = await ctx.loaders.provider_by_id.load(id_)
    return Provider.from_row(row) if row else None


node_type("Medspa", _fetch_medspa)
node_type("Location", _fetch_location)
node_type("Provider", _fetch_provider)


def _sees_contract(info: Info) -> bool:
    permissions = info.context.principal.permissions
    return permissions.allows(Action.MEDSPA_UPDATE_SETTINGS) or permissions.allows(
        Action.MEDSPA_TRANSITION_MODEL
    )
