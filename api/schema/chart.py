"""Charting minimum: service visits (types and root fields)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import chart
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from api.schema.service import Service, _ids
from db import models

if TYPE_CHECKING:
    from api.schema.appointment import Appointment
    from api.schema.patient import Patient
    from api.schema.provider import Provider

Info = strawberry.Info[Context, None]
LazyAppointment = Annotated["Appointment", strawberry.lazy("api.schema.appointment")]
LazyPatient = Annotated["Patient", strawberry.lazy("api.schema.patient")]
LazyProvider = Annotated["Provider", strawberry.lazy("api.schema.provider")]

ServiceVisitStatus = strawberry.enum(models.ServiceVisitStatus)


@strawberry.type(description="A provider's charted visit and the services performed.")
class ServiceVisit(Node):
    status: ServiceVisitStatus  # type: ignore[valid-type]
    notes: str | None
    opened_at: datetime
    closed_at: datetime | None
    row: Private[models.ServiceVisit]

    @classmethod
    def from_row(cls, row: models.ServiceVisit) -> ServiceVisit:
        return cls(
            id=encode_global_id("ServiceVisit", row.id),
            status=row.status,
            notes=row.notes,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            row=row,
        )

    @strawberry.field
    async def services(self, info: Info) -> list[Service]:
        rows = await info.context.loaders.services.services_by_visit.load(self.row.id)
        return [Service.from_row(r) for r in rows]

    @strawberry.field
    async def patient(self, info: Info) -> LazyPatient | None:
        from api.schema.patient import Patient

        row = await info.context.loaders.patient_by_id.load(self.row.patient_id)
        return Patient.from_row(row) if row else None

    @strawberry.field
    async def provider(self, info: Info) -> LazyProvider | None:
        from api.schema.provider import Provider

        row = await info.context.loaders.provider_by_id.load(self.row.provider_id)
        return Provider.from_row(row) if row else None

    @strawberry.field
    async def appointment(self, info: Info) -> LazyAppointment | None:
        from api.schema.appointment import Appointment

        if self.row.appointment_id is None:
            return None
        row = await info.context.loaders.appointment_by_id.load(self.row.appointment_id)
        return Appointment.from_row(row) if row else None


@strawberry.type
class ServiceVisitPayload(Payload):
    service_visit: ServiceVisit | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(service_visit=ServiceVisit.from_row(result))


@strawberry.type
class ChartQuery:
    @strawberry.field(description="Your service visits (provider dashboard).")
    async def service_visits(
        self,
        info: Info,
        patient_id: strawberry.ID | None = None,
        status: ServiceVisitStatus | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ServiceVisit]:
        page = await chart.list_visits(
            info.context,
            patient_id=decode_id_of(patient_id, "Patient") if patient_id else None,
            status=status,
            first=first,
            after=after,
        )
        return Connection.from_page(page, ServiceVisit.from_row)


@strawberry.type
class ChartMutation:
    @strawberry.mutation(description="Open a service visit for your patient.")
    async def open_service_visit(
        self,
        info: Info,
        patient_id: strawberry.ID,
        service_ids: list[strawberry.ID],
        appointment_id: strawberry.ID | None = None,
        notes: str | None = None,
    ) -> ServiceVisitPayload:
        return await ServiceVisitPayload.run(
            info,
            Action.CHART_WRITE,
            lambda: chart.open_visit(
                info.context,
                patient_id=decode_id_of(patient_id, "Patient"),
                appointment_id=decode_id_of(appointment_id, "Appointment")
                if appointment_id
                else None,
                service_ids=_ids(service_ids, "Service"),
                notes=notes,
            ),
        )

    @strawberry.mutation(description="Change an open visit's services performed or notes.")
    async def update_service_visit(
        self,
        info: Info,
        id: strawberry.ID,
        service_ids: list[strawberry.ID] | None = None,
        notes: str | None = None,
    ) -> ServiceVisitPayload:
        return await ServiceVisitPayload.run(
            info,
            Action.CHART_WRITE,
            lambda: chart.update_visit(
                info.context,
                visit_id=decode_id_of(id, "ServiceVisit"),
                service_ids=_ids(service_ids, "Service") if service_ids is not None else None,
                notes=notes,
            ),
        )

    @strawberry.mutation(description="Close a visit (it needs at least one service performed).")
    async def close_service_visit(self, info: Info, id: strawberry.ID) -> ServiceVisitPayload:
        return await ServiceVisitPayload.run(
            info,
            Action.CHART_WRITE,
            lambda: chart.close_visit(info.context, visit_id=decode_id_of(id, "ServiceVisit")),
        )


async def _fetch_visit(ctx: Context, id_: uuid.UUID) -> ServiceVisit | None:
    row = await ctx.loaders.services.visit_by_id.load(id_)
    return ServiceVisit.from_row(row) if row else None


node_type("ServiceVisit", _fetch_visit)

CHART_TYPES = [ServiceVisit]
