"""Good-faith exams: routing (medspa admins), requests and self-clearance (providers).

- Routing (LAUNCH/FLEX; LEGACY uses Portrait clearing only): DO_NOT_ROUTE needs an active
  provider licensed to clear; OWN_CLEARING_PROVIDER names the third party.
- `requestGfe` is routed by the medspa's setting when it is made: MANUAL (DO_NOT_ROUTE, the
  medspa's licensed providers clear), THIRD_PARTY or PORTRAIT. Urgent requests routed out
  carry the urgent-exam fee flag.
- `clearPatient` is a signature: only a licensed provider, on their own dashboard (never while
  masquerading, which the permission set already refuses), when routing is DO_NOT_ROUTE.
- A clearance is one row per patient, service and signing, with its source and expiry. An
  appointment is CLEARED when every service its type delivers has a clearance that is still
  valid when the appointment starts.
- Requests routed out are cleared (or declined) by the clearing partner: `gfe_clearing`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.errors import DomainError, DomainErrorCode, Problem, forbidden, invalid, not_found
from api.events.emit import EventKind, emit
from api.resolvers import appointment as appointment_resolvers
from api.resolvers import medspa as medspa_resolvers
from api.resolvers import patient as patient_resolvers
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.service import active_services
from db.models import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentTypeService,
    AuditOutcome,
    BusinessModel,
    Clearance,
    ClearanceSource,
    GfeDestination,
    GfeRequest,
    GfeRequestService,
    GfeRequestStatus,
    GfeRouting,
    GfeSettings,
    Medspa,
    Patient,
    Provider,
)

if TYPE_CHECKING:
    from api.context import Context

CLEARANCE_VALIDITY = timedelta(days=365)
MAX_CLEARANCE_VALIDITY = timedelta(days=366 * 2)
UNCLEARED_WINDOW = timedelta(hours=24)

REQUEST_ANCHOR = Anchor(medspa=GfeRequest.medspa_id, provider=GfeRequest.provider_id)
# The clearing side (issue 17): a medspa's clearing partner key reaches its medspa's routed
# requests (TENANT); Portrait's medical team reaches the requests routed to Portrait in every
# tenant (ASSIGNED: Portrait's clinicians are assigned what is routed to Portrait).
ROUTED = GfeRequest.destination != GfeDestination.MANUAL
CLEARING_ANCHOR = Anchor(
    medspa=GfeRequest.medspa_id,
    tenant=lambda p: and_(GfeRequest.medspa_id == p.medspa_id, ROUTED) if p.medspa_id else false(),
    assigned=lambda _p: GfeRequest.destination == GfeDestination.PORTRAIT,
)
MAX_CLEARED_SERVICES = 50
REQUEST_SORT = SortKey((GfeRequest.created_at, GfeRequest.id), ("created_at", "id"))

DESTINATION = {
    GfeRouting.DO_NOT_ROUTE: GfeDestination.MANUAL,
    GfeRouting.OWN_CLEARING_PROVIDER: GfeDestination.THIRD_PARTY,
    GfeRouting.PORTRAIT_CLEARING: GfeDestination.PORTRAIT,
}
SOURCE = {
    GfeDestination.THIRD_PARTY: ClearanceSource.THIRD_PARTY,
    GfeDestination.PORTRAIT: ClearanceSource.PORTRAIT,
}


class ClearanceStatus(StrEnum):
    NOT_REQUIRED = "NOT_REQUIRED"  # the appointment type delivers no service
    CLEARED = "CLEARED"
    NOT_CLEARED = "NOT_CLEARED"


# --- routing ------------------------------------------------------------------------------


async def settings_of(
    ctx: Context, medspa_id: uuid.UUID | None
) -> tuple[Medspa, GfeSettings | None] | None:
    """A medspa's routing and third party, if the medspa is in the caller's medspa.read scope."""
    ctx.authorize(Action.MEDSPA_READ, resource_type="Medspa", resource_id=medspa_id)
    target = medspa_id or ctx.principal.medspa_id
    if target is None:
        return None
    medspa = (
        await ctx.session.execute(
            select(Medspa).where(
                Medspa.id == target, ctx.scope(Action.MEDSPA_READ, medspa_resolvers.ANCHOR)
            )
        )
    ).scalar_one_or_none()
    if medspa is None:
        return None
    settings = (
        await ctx.session.execute(select(GfeSettings).where(GfeSettings.medspa_id == medspa.id))
    ).scalar_one_or_none()
    return medspa, settings


async def update_routing(
    ctx: Context,
    *,
    routing: GfeRouting,
    clearing_provider_name: str | None,
    clearing_provider_email: str | None,
) -> tuple[Medspa, GfeSettings | None]:
    medspa_id = ctx.principal.medspa_id
    medspa = await ctx.session.get(Medspa, medspa_id) if medspa_id else None
    if medspa is None:
        raise not_found("Medspa not found.")
    if medspa.business_model is BusinessModel.LEGACY:
        raise DomainError(
            Problem(
                DomainErrorCode.FEATURE_UNAVAILABLE,
                "LEGACY medspas clear through Portrait's clearing services only.",
                "routing",
            )
        )
    if routing is GfeRouting.DO_NOT_ROUTE:
        licensed = (
            await ctx.session.execute(
                select(Provider.id).where(
                    Provider.medspa_id == medspa.id,
                    Provider.active.is_(True),
                    Provider.licensed_to_self_clear.is_(True),
                    # Self-clearance follows the licence: none after it expires (issue 19).
                    Provider.license_expires_on.is_(None)
                    | (Provider.license_expires_on >= medspa.today()),
                )
            )
        ).first()
        if licensed is None:
            raise DomainError(
                Problem(
                    DomainErrorCode.NO_LICENSED_PROVIDER,
                    "Self-clearance needs at least one active provider licensed to clear.",
                    "routing",
                )
            )
    settings = (
        await ctx.session.execute(select(GfeSettings).where(GfeSettings.medspa_id == medspa.id))
    ).scalar_one_or_none()
    if routing is GfeRouting.OWN_CLEARING_PROVIDER:
        name = (clearing_provider_name or "").strip()
        if not name or len(name) > 200:
            raise invalid(
                "clearingProviderName", "Name the third-party clearing provider (1 to 200)."
            )
        email = patient_resolvers.normalise_email(clearing_provider_email)
        if settings is None:
            settings = GfeSettings(id=uuid.uuid4(), medspa_id=medspa.id)
            ctx.session.add(settings)
        settings.clearing_provider_name = name
        settings.clearing_provider_email = email
        settings.updated_at = datetime.now(UTC)
    previous = medspa.gfe_routing
    medspa.gfe_routing = routing
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_UPDATE_SETTINGS,
        resource_type="Medspa",
        resource_id=medspa.id,
        medspa_id=medspa.id,
        detail={"operation": "gfe_routing", "from": previous.value, "to": routing.value},
    )
    return medspa, settings


# --- requests and clearance ---------------------------------------------------------------


async def _acting_provider(ctx: Context, action: Action) -> Provider:
    provider = (
        await ctx.session.get(Provider, ctx.principal.provider_id)
        if ctx.principal.provider_id
        else None
    )
    if provider is None:  # OWN scope without a provider profile reaches nothing
        ctx.audit(action.value, AuditOutcome.DENIED, detail={"reason": "no provider profile"})
        raise forbidden("Only a provider, on their provider dashboard, may do this.")
    return provider


async def request_gfe(
    ctx: Context,
    *,
    patient_id: uuid.UUID | None,
    service_ids: Sequence[uuid.UUID | None],
    urgent: bool,
) -> GfeRequest:
    provider = await _acting_provider(ctx, Action.GFE_REQUEST)
    patient = await ctx.find(Patient, patient_id, Action.GFE_REQUEST)
    services = await active_services(
        ctx, medspa_id=patient.medspa_id, service_ids=service_ids, field="serviceIds"
    )
    medspa = await ctx.session.get(Medspa, patient.medspa_id)
    assert medspa is not None
    destination = DESTINATION[medspa.gfe_routing]
    routed_to = None
    if destination is GfeDestination.THIRD_PARTY:
        settings = (
            await ctx.session.execute(select(GfeSettings).where(GfeSettings.medspa_id == medspa.id))
        ).scalar_one_or_none()
        routed_to = settings.clearing_provider_name if settings else None
    elif destination is GfeDestination.PORTRAIT:
        routed_to = "Portrait clearing"
    request = GfeRequest(
        id=uuid.uuid4(),
        medspa_id=patient.medspa_id,
        patient_id=patient.id,
        provider_id=provider.id,
        destination=destination,
        routed_to_name=routed_to,
        urgent=urgent,
        # The urgent-exam fee is the clearing side's; nobody bills a medspa's own providers.
        urgent_fee_applies=urgent and destination is not GfeDestination.MANUAL,
        status=GfeRequestStatus.PENDING,
        requested_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(request)
    await ctx.session.flush()
    ctx.session.add_all(
        GfeRequestService(medspa_id=request.medspa_id, gfe_request_id=request.id, service_id=s.id)
        for s in services
    )
    await ctx.session.flush()
    await ctx.session.refresh(request)
    await emit(ctx, EventKind.GFE_REQUESTED, request)
    ctx.allowed(
        Action.GFE_REQUEST,
        resource_type="GfeRequest",
        resource_id=request.id,
        medspa_id=request.medspa_id,
        detail={
            "patientId": str(patient.id),
            "destination": destination.value,
            "urgent": urgent,
            "serviceIds": [str(s.id) for s in services],
        },
    )
    return request


def check_diagnoses(diagnoses: Sequence[str], *, field: str = "diagnoses") -> list[str]:
    clean = [d.strip() for d in diagnoses if d.strip()]
    if not clean:
        raise invalid(field, "Record at least one diagnosis or indication.")
    if len(clean) > 20 or any(len(d) > 500 for d in clean):
        raise invalid(field, "At most 20 of 500 characters.")
    return clean


def check_expiry(expires_at: datetime | None, now: datetime) -> datetime:
    if expires_at is None:
        return now + CLEARANCE_VALIDITY
    if expires_at.tzinfo is None:
        raise invalid("expiresAt", "Give the expiry with its offset.")
    if expires_at <= now or expires_at - now > MAX_CLEARANCE_VALIDITY:
        raise invalid("expiresAt", "A clearance expires after now and within two years.")
    return expires_at


async def clear_patient(
    ctx: Context,
    *,
    patient_id: uuid.UUID | None,
    service_ids: Sequence[uuid.UUID | None],
    diagnoses: Sequence[str],
    expires_at: datetime | None,
    gfe_request_id: uuid.UUID | None,
) -> list[Clearance]:
    """A licensed provider approves services for a patient and signs (DO_NOT_ROUTE only)."""
    provider = await _acting_provider(ctx, Action.GFE_SELF_CLEAR)
    medspa = await ctx.session.get(Medspa, provider.medspa_id)
    assert medspa is not None
    licence_lapsed = (
        provider.license_expires_on is not None and provider.license_expires_on < medspa.today()
    )
    if not provider.licensed_to_self_clear or not provider.active or licence_lapsed:
        ctx.audit(
            Action.GFE_SELF_CLEAR.value,
            AuditOutcome.DENIED,
            resource_type="Patient",
            resource_id=patient_id,
            detail={"reason": "provider not licensed to clear"},
        )
        raise forbidden("Only a provider licensed to clear may sign a clearance.")
    patient = await ctx.find(Patient, patient_id, Action.GFE_SELF_CLEAR)
    medspa = await ctx.session.get(Medspa, patient.medspa_id)
    assert medspa is not None
    if medspa.gfe_routing is not GfeRouting.DO_NOT_ROUTE:
        raise DomainError(
            Problem(
                DomainErrorCode.SELF_CLEARANCE_UNAVAILABLE,
                f"{medspa.name} routes exams to its clearing provider; request a GFE instead.",
            )
        )
    services = await active_services(
        ctx, medspa_id=patient.medspa_id, service_ids=service_ids, field="serviceIds"
    )
    clean = check_diagnoses(diagnoses)
    now = datetime.now(UTC)
    expiry = check_expiry(expires_at, now)
    request = None
    if gfe_request_id is not None:
        request = (
            await ctx.session.execute(
                select(GfeRequest).where(
                    GfeRequest.id == gfe_request_id,
                    GfeRequest.patient_id == patient.id,
                    GfeRequest.destination == GfeDestination.MANUAL,
                )
            )
        ).scalar_one_or_none()
        if request is None:
            raise invalid("gfeRequestId", "No manual GFE request of this patient has that id.")
        request.status = GfeRequestStatus.CLEARED
    rows = [
        Clearance(
            id=uuid.uuid4(),
            medspa_id=patient.medspa_id,
            patient_id=patient.id,
            service_id=s.id,
            source=ClearanceSource.SELF,
            signed_by_provider_id=provider.id,
            signer_name=f"{provider.display_name}, {provider.credentials}",
            signed_at=now,
            expires_at=expiry,
            diagnoses=clean,
            gfe_request_id=request.id if request else None,
        )
        for s in services
    ]
    ctx.session.add_all(rows)
    await ctx.session.flush()
    for clearance in rows:
        await emit(ctx, EventKind.GFE_CLEARED, clearance)
    ctx.allowed(
        Action.GFE_SELF_CLEAR,
        resource_type="Patient",
        resource_id=patient.id,
        medspa_id=patient.medspa_id,
        detail={
            "serviceIds": [str(s.id) for s in services],
            "expiresAt": expiry.isoformat(),
            "clearanceIds": [str(r.id) for r in rows],
        },
    )
    return rows


# --- reads --------------------------------------------------------------------------------


async def list_requests(
    ctx: Context,
    *,
    status: GfeRequestStatus | None,
    first: int | None,
    after: str | None,
) -> Page[GfeRequest]:
    ctx.authorize(Action.GFE_REQUEST)
    stmt = select(GfeRequest).where(ctx.scope(Action.GFE_REQUEST, REQUEST_ANCHOR))
    if status is not None:
        stmt = stmt.where(GfeRequest.status == status)
    return await paginate(ctx.session, stmt, sort=REQUEST_SORT, first=first, after=after)


async def requests_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[GfeRequest | None]:
    if not ctx.principal.permissions.allows(Action.GFE_REQUEST):
        return [None for _ in ids]
    return await rows_by_ids(ctx, GfeRequest, ids, ctx.scope(Action.GFE_REQUEST, REQUEST_ANCHOR))


async def services_by_request(
    ctx: Context, request_ids: Sequence[uuid.UUID]
) -> list[list[uuid.UUID]]:
    rows = (
        await ctx.session.execute(
            select(GfeRequestService.gfe_request_id, GfeRequestService.service_id).where(
                GfeRequestService.gfe_request_id.in_(request_ids)
            )
        )
    ).all()
    grouped: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in request_ids}
    for request_id, service_id in rows:
        grouped[request_id].append(service_id)
    return [grouped[i] for i in request_ids]


async def list_clearances(
    ctx: Context, *, patient_id: uuid.UUID | None, valid_only: bool
) -> list[Clearance]:
    """A patient's clearances (part of `patient.read`: the clearance status)."""
    ctx.authorize(Action.PATIENT_READ, resource_type="Patient", resource_id=patient_id)
    patient = (
        (
            await ctx.session.execute(
                select(Patient.id).where(
                    Patient.id == patient_id,
                    ctx.scope(Action.PATIENT_READ, patient_resolvers.ANCHOR),
                )
            )
        ).scalar_one_or_none()
        if patient_id
        else None
    )
    if patient is None:
        return []
    stmt = select(Clearance).where(Clearance.patient_id == patient)
    if valid_only:
        stmt = stmt.where(Clearance.expires_at > func.now())
    rows = list(
        (
            await ctx.session.execute(stmt.order_by(Clearance.signed_at.desc(), Clearance.id))
        ).scalars()
    )
    ctx.allowed(
        Action.PATIENT_READ,
        resource_type="Patient",
        resource_id=patient,
        detail={"clearances": len(rows)},
    )
    return rows


def _uncleared() -> ColumnElement[bool]:
    """The appointment's type delivers a service the patient has no valid clearance for."""
    # Both subqueries correlate to the outer appointment (the inner one two levels up, which
    # SQLAlchemy does not do by itself) and pair the tenant key (medspa_id) with it.
    return (
        exists()
        .where(
            AppointmentTypeService.medspa_id == Appointment.medspa_id,
            AppointmentTypeService.appointment_type_id == Appointment.appointment_type_id,
            not_(
                exists()
                .where(
                    Clearance.medspa_id == Appointment.medspa_id,
                    Clearance.patient_id == Appointment.patient_id,
                    Clearance.service_id == AppointmentTypeService.service_id,
                    Clearance.expires_at > Appointment.starts_at,
                )
                .correlate_except(Clearance)
            ),
        )
        .correlate_except(AppointmentTypeService)
    )


async def clearance_status_by_appointment(
    ctx: Context, appointment_ids: Sequence[uuid.UUID]
) -> list[ClearanceStatus]:
    required = exists().where(
        AppointmentTypeService.medspa_id == Appointment.medspa_id,
        AppointmentTypeService.appointment_type_id == Appointment.appointment_type_id,
    )
    rows = (
        await ctx.session.execute(
            select(Appointment.id, required, _uncleared()).where(
                Appointment.id.in_(appointment_ids)
            )
        )
    ).all()
    status = {
        appointment_id: (
            ClearanceStatus.NOT_REQUIRED
            if not needs
            else ClearanceStatus.NOT_CLEARED
            if uncleared
            else ClearanceStatus.CLEARED
        )
        for appointment_id, needs, uncleared in rows
    }
    return [status.get(i, ClearanceStatus.NOT_REQUIRED) for i in appointment_ids]


async def uncleared_appointments(
    ctx: Context, *, action: Action, now: datetime | None = None
) -> list[Appointment]:
    """Live appointments in the next 24 hours whose patient is not cleared, in scope."""
    ctx.authorize(action)
    start = now or datetime.now(UTC)
    rows = await ctx.session.execute(
        select(Appointment)
        .where(
            ctx.scope(Action.APPOINTMENT_READ, appointment_resolvers.ANCHOR),
            and_(Appointment.starts_at >= start, Appointment.starts_at < start + UNCLEARED_WINDOW),
            Appointment.status.not_in(RELEASED_STATUSES),
            _uncleared(),
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(200)
    )
    return list(rows.scalars())
