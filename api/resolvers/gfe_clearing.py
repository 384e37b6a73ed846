"""The clearing partner's loop (issue 17): GFE requests routed to Portrait's medical team or
to a third-party clearing service (`gfe:clear`), the results they record, and a medspa
cancelling a pending request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers.pagination import Page, paginate
from db.models import (
    AuditOutcome,
    Clearance,
    GfeRequest,
    GfeRequestService,
    GfeRequestStatus,
    Medspa,
    Patient,
    Service,
)

if TYPE_CHECKING:
    from api.context import Context


from api.resolvers.gfe import (
    CLEARING_ANCHOR,
    MAX_CLEARED_SERVICES,
    REQUEST_ANCHOR,
    REQUEST_SORT,
    SOURCE,
    check_diagnoses,
    check_expiry,
)


@dataclass(frozen=True, slots=True)
class ClearedService:
    """One service a clearing clinician approves, with its indications and expiry."""

    service_id: uuid.UUID | None
    indications: Sequence[str]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class RoutedRequest:
    """A routed request as its clearing side sees it: the request, who the patient is (name
    and date of birth, to identify them; nothing else of the record) and what to clear."""

    request: GfeRequest
    medspa_name: str
    patient_first_name: str
    patient_last_name: str
    patient_date_of_birth: date | None
    services: tuple[tuple[uuid.UUID, str], ...]


async def _find_request(
    ctx: Context, request_id: uuid.UUID | None, action: Action, anchor: Anchor
) -> GfeRequest:
    """The request `action` reaches, locked; anything else is an audited NOT_FOUND (the
    clearing side and the requesting side reach requests differently: no shared read)."""
    request = None
    if request_id is not None:
        request = (
            await ctx.session.execute(
                select(GfeRequest)
                .where(GfeRequest.id == request_id, ctx.scope(action, anchor))
                .with_for_update()
            )
        ).scalar_one_or_none()
    if request is None:
        ctx.audit(
            action.value,
            AuditOutcome.DENIED,
            resource_type="GfeRequest",
            resource_id=request_id,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("GfeRequest not found.")
    return request


def _still_pending(request: GfeRequest) -> None:
    if request.status is not GfeRequestStatus.PENDING:
        raise DomainError(
            Problem(
                DomainErrorCode.INVALID_TRANSITION,
                f"The request is {request.status.value}; only a pending request changes.",
                "requestId",
            )
        )


def _resolved_by(ctx: Context, request: GfeRequest, name: str | None) -> None:
    request.resolved_at = datetime.now(UTC)
    request.resolved_by_name = name
    request.resolved_by_user_id = ctx.principal.actor_user_id
    request.resolved_by_api_client_id = ctx.principal.api_client_id


async def record_result(
    ctx: Context,
    *,
    request_id: uuid.UUID | None,
    cleared: Sequence[ClearedService],
    decline_reason: str | None,
    signer_name: str,
) -> GfeRequest:
    """The clearing side's outcome of a routed request: the services it clears (each with
    indications and expiry), or a decline with its reason."""
    ctx.authorize(Action.GFE_CLEAR, resource_type="GfeRequest", resource_id=request_id)
    request = await _find_request(ctx, request_id, Action.GFE_CLEAR, CLEARING_ANCHOR)
    _still_pending(request)
    signer = signer_name.strip()
    if not signer or len(signer) > 200:
        raise invalid("signerName", "Name the signing clinician (1 to 200 characters).")
    rows: list[Clearance] = []
    if decline_reason is not None:
        reason = decline_reason.strip()
        if cleared:
            raise invalid("services", "A declined request clears no services.")
        if not reason or len(reason) > 2000:
            raise invalid("declineReason", "Say why the request is declined (1 to 2000).")
        request.status = GfeRequestStatus.DECLINED
        request.decline_reason = reason
    else:
        rows = await _clearances(ctx, request, cleared, signer)
        request.status = GfeRequestStatus.CLEARED
    _resolved_by(ctx, request, signer)
    ctx.session.add_all(rows)
    await ctx.session.flush()
    ctx.allowed(
        Action.GFE_CLEAR,
        resource_type="GfeRequest",
        resource_id=request.id,
        medspa_id=request.medspa_id,
        detail={
            "outcome": request.status.value,
            "serviceIds": [str(r.service_id) for r in rows],
            "clearanceIds": [str(r.id) for r in rows],
        },
    )
    return request


async def _clearances(
    ctx: Context, request: GfeRequest, cleared: Sequence[ClearedService], signer: str
) -> list[Clearance]:
    if not cleared:
        raise invalid("services", "Clear at least one service, or decline with a reason.")
    if len(cleared) > MAX_CLEARED_SERVICES:
        raise invalid("services", f"At most {MAX_CLEARED_SERVICES} services per result.")
    requested = set(
        (
            await ctx.session.execute(
                select(GfeRequestService.service_id).where(
                    GfeRequestService.medspa_id == request.medspa_id,
                    GfeRequestService.gfe_request_id == request.id,
                )
            )
        ).scalars()
    )
    ids = [c.service_id for c in cleared]
    if len(set(ids)) != len(ids):
        raise invalid("services", "Name each service once.")
    if not all(i in requested for i in ids):
        raise invalid("services", "A clearing clinician clears only the services requested.")
    now = datetime.now(UTC)
    return [
        Clearance(
            id=uuid.uuid4(),
            medspa_id=request.medspa_id,
            patient_id=request.patient_id,
            service_id=c.service_id,
            source=SOURCE[request.destination],
            signed_by_provider_id=None,
            signer_name=signer,
            signed_at=now,
            expires_at=check_expiry(c.expires_at, now),
            diagnoses=check_diagnoses(c.indications, field="indications"),
            gfe_request_id=request.id,
        )
        for c in cleared
    ]


async def cancel_request(ctx: Context, *, request_id: uuid.UUID | None) -> GfeRequest:
    """The medspa withdraws a pending request (its admin, or the provider who made it)."""
    ctx.authorize(Action.GFE_CANCEL, resource_type="GfeRequest", resource_id=request_id)
    request = await _find_request(ctx, request_id, Action.GFE_CANCEL, REQUEST_ANCHOR)
    _still_pending(request)
    request.status = GfeRequestStatus.CANCELLED
    _resolved_by(ctx, request, None)
    await ctx.session.flush()
    ctx.allowed(
        Action.GFE_CANCEL,
        resource_type="GfeRequest",
        resource_id=request.id,
        medspa_id=request.medspa_id,
    )
    return request


async def list_routed(
    ctx: Context,
    *,
    status: GfeRequestStatus | None,
    urgent: bool | None,
    first: int | None,
    after: str | None,
) -> Page[RoutedRequest]:
    """The routed requests that reach the caller's clearing side, oldest first."""
    ctx.authorize(Action.GFE_READ_ROUTED)
    stmt = select(GfeRequest).where(ctx.scope(Action.GFE_READ_ROUTED, CLEARING_ANCHOR))
    if status is not None:
        stmt = stmt.where(GfeRequest.status == status)
    if urgent is not None:
        stmt = stmt.where(GfeRequest.urgent.is_(urgent))
    page = await paginate(ctx.session, stmt, sort=REQUEST_SORT, first=first, after=after)
    requests = page.rows
    ids = [r.id for r in requests]
    people = (
        {
            row.id: row
            for row in (
                await ctx.session.execute(
                    select(
                        GfeRequest.id,
                        Medspa.name,
                        Patient.first_name,
                        Patient.last_name,
                        Patient.date_of_birth,
                    )
                    .join(Medspa, Medspa.id == GfeRequest.medspa_id)
                    .join(
                        Patient,
                        and_(
                            Patient.medspa_id == GfeRequest.medspa_id,
                            Patient.id == GfeRequest.patient_id,
                        ),
                    )
                    .where(GfeRequest.id.in_(ids))
                )
            ).all()
        }
        if ids
        else {}
    )
    services: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {i: [] for i in ids}
    if ids:
        for request_id, service_id, name in (
            await ctx.session.execute(
                select(GfeRequestService.gfe_request_id, Service.id, Service.name)
                .join(
                    Service,
                    and_(
                        Service.medspa_id == GfeRequestService.medspa_id,
                        Service.id == GfeRequestService.service_id,
                    ),
                )
                .where(GfeRequestService.gfe_request_id.in_(ids))
                .order_by(Service.name)
            )
        ).all():
            services[request_id].append((service_id, name))
    ctx.allowed(
        Action.GFE_READ_ROUTED,
        resource_type="GfeRequest",
        detail={"requestIds": [str(i) for i in ids]},
    )
    return Page(
        rows=[
            RoutedRequest(
                request=r,
                medspa_name=people[r.id][1],
                patient_first_name=people[r.id][2],
                patient_last_name=people[r.id][3],
                patient_date_of_birth=people[r.id][4],
                services=tuple(services[r.id]),
            )
            for r in requests
        ],
        cursors=page.cursors,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
    )
