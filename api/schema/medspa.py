"""Medspa: the tenant, its locations, providers and catalogue, its contract view, and the
`medspa` / `medspas` root fields.

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
from api.ids import decode_id_of
from api.resolvers.medspa import list_medspas
from api.schema.connection import Connection, FromArgument
from api.schema.enums import BusinessModel, GfeRouting
from api.schema.location import Location
from api.schema.node import Node, encode_global_id, node_type
from api.schema.provider import Provider
from db import models

if TYPE_CHECKING:
    from api.schema.appointment import Appointment
    from api.schema.appointment_type import AppointmentType
    from api.schema.patient import Patient
    from api.schema.pcc import FeeLine, MedspaIntegration
    from api.schema.scheduling_settings import SchedulingSettings

# The scheduling, patient and PCC types point back here, hence lazy references.
LazyAppointment = Annotated["Appointment", strawberry.lazy("api.schema.appointment")]
LazyAppointmentType = Annotated["AppointmentType", strawberry.lazy("api.schema.appointment_type")]
LazyPatient = Annotated["Patient", strawberry.lazy("api.schema.patient")]
LazyMedspaIntegration = Annotated["MedspaIntegration", strawberry.lazy("api.schema.pcc")]
LazyFeeLine = Annotated["FeeLine", strawberry.lazy("api.schema.pcc")]
LazySchedulingSettings = Annotated[
    "SchedulingSettings", strawberry.lazy("api.schema.scheduling_settings")
]

Info = strawberry.Info[Context, None]


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
                ends_on=r.ends_on,
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
    ) -> Connection[LazyAppointment] | None:  # None only with a range error
        from api.schema.appointment import Appointment

        page = await info.context.loaders.appointments_by_medspa.load(
            (self.row.id, first, after, from_, to)
        )
        return Connection.from_page(page, Appointment.from_row)

    @strawberry.field(description="Deposits, cancellation fees and patient notifications.")
    async def scheduling_settings(self, info: Info) -> LazySchedulingSettings:
        from api.schema.scheduling_settings import SchedulingSettings

        row = await info.context.loaders.scheduling_settings_by_medspa.load(self.row.id)
        return SchedulingSettings.from_row(row)


async def _fetch_medspa(ctx: Context, id_: uuid.UUID) -> Medspa | None:
    row = await ctx.loaders.medspa_by_id.load(id_)
    return Medspa.from_row(row) if row else None


node_type("Medspa", _fetch_medspa)


def _sees_contract(info: Info) -> bool:
    return info.context.principal.permissions.allows(Action.MEDSPA_READ_CONTRACT)


@strawberry.type
class MedspaQuery:
    @strawberry.field
    async def medspa(self, info: Info, id: strawberry.ID) -> Medspa | None:
        medspa_id = decode_id_of(id, "Medspa")
        row = await info.context.loaders.medspa_by_id.load(medspa_id) if medspa_id else None
        return Medspa.from_row(row) if row else None

    @strawberry.field
    async def medspas(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Medspa]:
        page = await list_medspas(info.context, first=first, after=after)
        return Connection.from_page(page, Medspa.from_row)
