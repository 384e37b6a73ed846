"""GFE routing, requests, clearances, and the uncleared-patient views (types and root fields);
the clearing partner's side is `gfe_clearing`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import gfe, gfe_clearing
from api.schema.connection import Connection
from api.schema.enums import GfeRouting
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

GfeDestination = strawberry.enum(models.GfeDestination)
GfeRequestStatus = strawberry.enum(models.GfeRequestStatus)
ClearanceSource = strawberry.enum(models.ClearanceSource)
ClearanceStatus = strawberry.enum(
    gfe.ClearanceStatus,
    description="Whether the patient is cleared for every service of the appointment's type.",
)


@strawberry.enum
class TodoKind(StrEnum):
    UNCLEARED_PATIENT = "UNCLEARED_PATIENT"


async def _patient(info: Info, patient_id: object) -> LazyPatient | None:
    from api.schema.patient import Patient

    row = await info.context.loaders.patient_by_id.load(patient_id)  # type: ignore[arg-type]
    return Patient.from_row(row) if row else None


@strawberry.type(description="A medspa's GFE routing and its named third-party clearer.")
class GfeSettings:
    routing: GfeRouting
    clearing_provider_name: str | None
    clearing_provider_email: str | None

    @classmethod
    def of(cls, medspa: models.Medspa, settings: models.GfeSettings | None) -> GfeSettings:
        third_party = medspa.gfe_routing is models.GfeRouting.OWN_CLEARING_PROVIDER
        return cls(
            routing=medspa.gfe_routing,
            clearing_provider_name=settings.clearing_provider_name
            if settings and third_party
            else None,
            clearing_provider_email=settings.clearing_provider_email
            if settings and third_party
            else None,
        )


@strawberry.type(description="A request for a good-faith exam, routed when it was made.")
class GfeRequest(Node):
    destination: GfeDestination  # type: ignore[valid-type]
    routed_to_name: str | None
    urgent: bool
    urgent_fee_applies: bool
    status: GfeRequestStatus  # type: ignore[valid-type]
    created_at: datetime
    resolved_at: datetime | None = strawberry.field(
        description="When it was cleared, declined or cancelled."
    )
    decline_reason: str | None = strawberry.field(description="Why the clinician declined.")
    row: Private[models.GfeRequest]

    @classmethod
    def from_row(cls, row: models.GfeRequest) -> GfeRequest:
        return cls(
            id=encode_global_id("GfeRequest", row.id),
            destination=row.destination,
            routed_to_name=row.routed_to_name,
            urgent=row.urgent,
            urgent_fee_applies=row.urgent_fee_applies,
            status=row.status,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            decline_reason=row.decline_reason,
            row=row,
        )

    @strawberry.field
    async def patient(self, info: Info) -> LazyPatient | None:
        return await _patient(info, self.row.patient_id)

    @strawberry.field
    async def services(self, info: Info) -> list[Service]:
        ids = await info.context.loaders.services.service_ids_by_request.load(self.row.id)
        rows = await info.context.loaders.services.service_by_id.load_many(ids)
        return [Service.from_row(r) for r in rows if r is not None]


@strawberry.type(description="A patient cleared for one service, until it expires.")
class Clearance:
    source: ClearanceSource  # type: ignore[valid-type]
    signer_name: str
    signed_at: datetime
    expires_at: datetime
    diagnoses: list[str]
    row: Private[models.Clearance]

    @classmethod
    def from_row(cls, row: models.Clearance) -> Clearance:
        return cls(
            source=row.source,
            signer_name=row.signer_name,
            signed_at=row.signed_at,
            expires_at=row.expires_at,
            diagnoses=list(row.diagnoses),
            row=row,
        )

    @strawberry.field
    def id(self) -> strawberry.ID:
        return encode_global_id("Clearance", self.row.id)

    @strawberry.field
    def valid(self) -> bool:
        from datetime import UTC

        return self.expires_at > datetime.now(UTC)

    @strawberry.field
    async def service(self, info: Info) -> Service | None:
        row = await info.context.loaders.services.service_by_id.load(self.row.service_id)
        return Service.from_row(row) if row else None

    @strawberry.field(description="The medspa's provider who signed (SELF clearances).")
    async def signed_by(self, info: Info) -> LazyProvider | None:
        from api.schema.provider import Provider

        if self.row.signed_by_provider_id is None:
            return None
        row = await info.context.loaders.provider_by_id.load(self.row.signed_by_provider_id)
        return Provider.from_row(row) if row else None


@strawberry.type(description="Something on the provider's to-do list.")
class Todo:
    kind: TodoKind
    due_at: datetime
    appointment: LazyAppointment


@strawberry.type
class GfeSettingsPayload(Payload):
    settings: GfeSettings | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(settings=GfeSettings.of(*result))


@strawberry.type
class GfeRequestPayload(Payload):
    request: GfeRequest | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(request=GfeRequest.from_row(result))


@strawberry.type
class ClearPatientPayload(Payload):
    clearances: list[Clearance] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(clearances=[Clearance.from_row(r) for r in result])


def _appointments(rows: list[models.Appointment]) -> list[Appointment]:
    from api.schema.appointment import Appointment

    return [Appointment.from_row(r) for r in rows]


@strawberry.type
class GfeQuery:
    @strawberry.field(description="GFE routing of a medspa (default: the active one).")
    async def gfe_settings(
        self, info: Info, medspa_id: strawberry.ID | None = None
    ) -> GfeSettings | None:
        found = await gfe.settings_of(
            info.context, decode_id_of(medspa_id, "Medspa") if medspa_id else None
        )
        return GfeSettings.of(*found) if found else None

    @strawberry.field(description="Your GFE requests (provider dashboard).")
    async def gfe_requests(
        self,
        info: Info,
        status: GfeRequestStatus | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[GfeRequest]:
        page = await gfe.list_requests(info.context, status=status, first=first, after=after)
        return Connection.from_page(page, GfeRequest.from_row)

    @strawberry.field(description="A patient's clearances, newest first (patient.read).")
    async def clearances(
        self, info: Info, patient_id: strawberry.ID, valid_only: bool = False
    ) -> list[Clearance]:
        rows = await gfe.list_clearances(
            info.context, patient_id=decode_id_of(patient_id, "Patient"), valid_only=valid_only
        )
        return [Clearance.from_row(r) for r in rows]

    @strawberry.field(description="Your to-do list: patients not cleared within 24 hours.")
    async def todos(self, info: Info) -> list[Todo]:
        rows = await gfe.uncleared_appointments(info.context, action=Action.TODO_READ)
        return [
            Todo(kind=TodoKind.UNCLEARED_PATIENT, due_at=a.starts_at, appointment=a)
            for a in _appointments(rows)
        ]

    @strawberry.field(
        description="Appointments in the next 24 hours whose patient is not cleared, in the"
        " caller's appointment.read scope (the PCC's view)."
    )
    async def upcoming_uncleared_appointments(self, info: Info) -> list[LazyAppointment]:
        rows = await gfe.uncleared_appointments(info.context, action=Action.APPOINTMENT_READ)
        return _appointments(rows)


@strawberry.type
class GfeMutation:
    @strawberry.mutation(description="Set GFE routing (medspa admins, LAUNCH/FLEX).")
    async def update_gfe_routing(
        self,
        info: Info,
        routing: GfeRouting,
        clearing_provider_name: str | None = None,
        clearing_provider_email: str | None = None,
    ) -> GfeSettingsPayload:
        return await GfeSettingsPayload.run(
            info,
            Action.MEDSPA_UPDATE_SETTINGS,
            lambda: gfe.update_routing(
                info.context,
                routing=routing,
                clearing_provider_name=clearing_provider_name,
                clearing_provider_email=clearing_provider_email,
            ),
        )

    @strawberry.mutation(description="Request a GFE for a patient, routed by the medspa.")
    async def request_gfe(
        self,
        info: Info,
        patient_id: strawberry.ID,
        service_ids: list[strawberry.ID],
        urgent: bool = False,
    ) -> GfeRequestPayload:
        return await GfeRequestPayload.run(
            info,
            Action.GFE_REQUEST,
            lambda: gfe.request_gfe(
                info.context,
                patient_id=decode_id_of(patient_id, "Patient"),
                service_ids=_ids(service_ids, "Service"),
                urgent=urgent,
            ),
        )

    @strawberry.mutation(
        description="Approve services for a patient and sign (a licensed provider, routing"
        " DO_NOT_ROUTE, never while masquerading)."
    )
    async def clear_patient(
        self,
        info: Info,
        patient_id: strawberry.ID,
        service_ids: list[strawberry.ID],
        diagnoses: list[str],
        expires_at: datetime | None = None,
        gfe_request_id: strawberry.ID | None = None,
    ) -> ClearPatientPayload:
        async def use_case() -> tuple[models.Clearance, ...]:
            return tuple(
                await gfe.clear_patient(
                    info.context,
                    patient_id=decode_id_of(patient_id, "Patient"),
                    service_ids=_ids(service_ids, "Service"),
                    diagnoses=diagnoses,
                    expires_at=expires_at,
                    gfe_request_id=decode_id_of(gfe_request_id, "GfeRequest")
                    if gfe_request_id
                    else None,
                )
            )

        return await ClearPatientPayload.run(
            info,
            Action.GFE_SELF_CLEAR,
            use_case,
        )

    @strawberry.mutation(description="Withdraw a pending GFE request (the medspa's side).")
    async def cancel_gfe_request(self, info: Info, request_id: strawberry.ID) -> GfeRequestPayload:
        return await GfeRequestPayload.run(
            info,
            Action.GFE_CANCEL,
            lambda: gfe_clearing.cancel_request(
                info.context, request_id=decode_id_of(request_id, "GfeRequest")
            ),
        )


async def _fetch_request(ctx: Context, id_: object) -> GfeRequest | None:
    row = await ctx.loaders.services.gfe_request_by_id.load(id_)  # type: ignore[arg-type]
    return GfeRequest.from_row(row) if row else None


node_type("GfeRequest", _fetch_request)

GFE_TYPES = [GfeRequest]
