"""The clearing partner's loop in the schema (issue 17): GFE requests routed to Portrait's
medical team or a clearing partner (`gfe:clear`), as that side sees them, and the result it
records. A medspa withdraws a pending request with `cancelGfeRequest` (gfe)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self

import strawberry

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import gfe_clearing
from api.schema.connection import Connection
from api.schema.node import encode_global_id
from api.schema.payload import Payload

if TYPE_CHECKING:
    pass

from api.schema.gfe import GfeDestination, GfeRequestStatus

Info = strawberry.Info[Context, None]


@strawberry.type(description="A service a routed request asks to clear.")
class RequestedService:
    id: strawberry.ID
    name: str


@strawberry.type(
    description="A GFE request routed to a clearing side (Portrait's medical team or a"
    " medspa's clearing partner), as that side sees it: who the patient is, what to clear."
)
class RoutedGfeRequest:
    id: strawberry.ID = strawberry.field(description="The request's GfeRequest id.")
    medspa_name: str
    destination: GfeDestination  # type: ignore[valid-type]
    urgent: bool = strawberry.field(description="Urgent: to be cleared first (urgent-exam fee).")
    status: GfeRequestStatus  # type: ignore[valid-type]
    created_at: datetime
    resolved_at: datetime | None
    decline_reason: str | None
    patient_first_name: str
    patient_last_name: str
    patient_date_of_birth: date | None
    services: list[RequestedService]

    @classmethod
    def of(cls, routed: gfe_clearing.RoutedRequest) -> RoutedGfeRequest:
        row = routed.request
        return cls(
            id=encode_global_id("GfeRequest", row.id),
            medspa_name=routed.medspa_name,
            destination=row.destination,
            urgent=row.urgent,
            status=row.status,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
            decline_reason=row.decline_reason,
            patient_first_name=routed.patient_first_name,
            patient_last_name=routed.patient_last_name,
            patient_date_of_birth=routed.patient_date_of_birth,
            services=[
                RequestedService(id=encode_global_id("Service", i), name=n)
                for i, n in routed.services
            ],
        )


@strawberry.input(description="A service the clinician clears, with indications and expiry.")
class ClearedServiceInput:
    service_id: strawberry.ID
    indications: list[str]
    expires_at: datetime | None = strawberry.field(
        default=None, description="Default: a year from now; at most two years."
    )


@strawberry.type
class RecordGfeResultPayload(Payload):
    request_id: strawberry.ID | None = None
    status: GfeRequestStatus | None = None  # type: ignore[valid-type]

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(request_id=encode_global_id("GfeRequest", result.id), status=result.status)


@strawberry.type
class GfeClearingQuery:
    @strawberry.field(
        description="The GFE requests routed to you to clear (Portrait's medical team, or a"
        " clearing partner key with gfe:clear), oldest first; `urgent` filters the urgent ones."
    )
    async def routed_gfe_requests(
        self,
        info: Info,
        status: GfeRequestStatus | None = None,  # type: ignore[valid-type]
        urgent: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[RoutedGfeRequest]:
        page = await gfe_clearing.list_routed(
            info.context, status=status, urgent=urgent, first=first, after=after
        )
        return Connection.from_page(page, RoutedGfeRequest.of)


@strawberry.type
class GfeClearingMutation:
    @strawberry.mutation(
        description="Record the clearing side's result of a routed GFE request: the services"
        " cleared (with indications and expiry), or a decline with its reason."
    )
    async def record_gfe_result(
        self,
        info: Info,
        request_id: strawberry.ID,
        signer_name: str,
        cleared: list[ClearedServiceInput] | None = None,
        decline_reason: str | None = None,
    ) -> RecordGfeResultPayload:
        services = [
            gfe_clearing.ClearedService(
                service_id=decode_id_of(c.service_id, "Service"),
                indications=c.indications,
                expires_at=c.expires_at,
            )
            for c in cleared or []
        ]
        return await RecordGfeResultPayload.run(
            info,
            Action.GFE_CLEAR,
            lambda: gfe_clearing.record_result(
                info.context,
                request_id=decode_id_of(request_id, "GfeRequest"),
                cleared=services,
                decline_reason=decline_reason,
                signer_name=signer_name,
            ),
        )
