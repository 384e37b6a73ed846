"""The public booking page of a location: anonymous, reached only through its booking slug.

How an anonymous request reaches one tenant (RLS, DESIGN §6.3). An anonymous principal has no
medspa in `app.medspa_ids`, so RLS shows it nothing. `reach_public_location(slug)` runs one
statement that
  1. calls `app_public_booking_medspa(slug)` (migration 0006), which reads the slug's medspa
     from the global `booking_slug` look-up (readable by anyone: slugs are public); an
     inactive or unknown slug gives NULL;
  2. adds that one medspa to `app.medspa_ids` for the rest of the transaction.
From then on RLS keeps every other tenant out, and the scope clauses keep this tenant's
private rows out: this module reads only with the PUBLIC anchors (active location with a slug,
active providers, active unarchived types), and the anonymous principal's own grants are
PUBLIC-only, so any other field of the same request (e.g. `node`) still sees nothing private.
An authenticated caller previewing the page gets the same public view; adding the medspa to
its RLS set does not widen its scopes (TENANT/OWN/ASSIGNED never name another medspa).

`publicBookAppointment` finds or creates the patient by email or phone in that medspa, books
through the same checks and constraint as staff booking, is rate-limited per client address
(api.http.budget, one count across processes), and answers only with the booking it made
(never patient data).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.resolvers import appointment_type as type_resolvers
from api.resolvers import location as location_resolvers
from api.resolvers import provider as provider_resolvers
from api.resolvers.appointment_booking import (
    Booked,
    book_plan,
    check_idempotency_key,
    find_replay,
    plan_booking,
)
from api.resolvers.checkout import DepositPayment
from api.resolvers.patient import PatientInput, check_patient_input, find_by_contact, insert_patient
from api.resolvers.scheduling import as_instant, check_range, require_scheduling, zone
from api.resolvers.slots import MAX_SLOT_RANGE, Slot, bookable_provider_ids, compute_slots
from db.models import (
    AppointmentType,
    AppointmentTypeLocation,
    BookingSource,
    Location,
    Medspa,
    PatientSource,
    Provider,
    ProviderAppointmentType,
    ProviderLocation,
)

if TYPE_CHECKING:
    from api.context import Context


def _public(anchor: Anchor) -> ColumnElement[bool]:
    assert anchor.public is not None, "the anchor defines its public rows"
    return anchor.public


# What the PUBLIC scope shows of each resource (the anchors' own definitions).
PUBLIC_LOCATION = _public(location_resolvers.ANCHOR)
PUBLIC_PROVIDER = provider_resolvers.PUBLIC_ROWS
PUBLIC_TYPE = _public(type_resolvers.ANCHOR)


async def reach_public_location(ctx: Context, slug: str) -> Location | None:
    """The active location of `slug`, its medspa now reachable for this transaction."""
    clean = slug.strip().lower()
    if not clean or len(clean) > 63:
        return None
    # The slug's medspa (a security-definer function answers it), then reachable by this
    # transaction.
    medspa_id = (
        await ctx.session.execute(select(func.app_public_booking_medspa(clean)))
    ).scalar_one_or_none()
    if medspa_id is None:
        return None
    await ctx.reach_tenants((medspa_id,))
    location: Location | None = (
        await ctx.session.execute(
            select(Location).where(
                Location.booking_slug == clean,
                Location.medspa_id == medspa_id,
                PUBLIC_LOCATION,
            )
        )
    ).scalar_one_or_none()
    return location


async def public_medspa_name(ctx: Context, location: Location) -> str:
    medspa = await ctx.session.get(Medspa, location.medspa_id)
    return medspa.name if medspa else ""


async def public_appointment_types(ctx: Context, location: Location) -> list[AppointmentType]:
    """Bookable types offered at the location by at least one active provider working there."""
    offered_by_someone = (
        select(ProviderLocation.provider_id)
        .join(Provider, Provider.id == ProviderLocation.provider_id)
        .where(ProviderLocation.location_id == location.id, PUBLIC_PROVIDER)
    )
    rows = (
        await ctx.session.execute(
            select(AppointmentType)
            .join(
                AppointmentTypeLocation,
                (AppointmentTypeLocation.appointment_type_id == AppointmentType.id)
                & (AppointmentTypeLocation.location_id == location.id),
            )
            .where(
                AppointmentType.medspa_id == location.medspa_id,
                PUBLIC_TYPE,
                AppointmentType.id.in_(
                    select(ProviderAppointmentType.appointment_type_id).where(
                        ProviderAppointmentType.provider_id.in_(offered_by_someone)
                    )
                ),
            )
            .order_by(AppointmentType.name, AppointmentType.id)
        )
    ).scalars()
    return list(rows)


async def public_providers(ctx: Context, location: Location) -> list[Provider]:
    rows = (
        await ctx.session.execute(
            select(Provider)
            .join(ProviderLocation, ProviderLocation.provider_id == Provider.id)
            .where(
                ProviderLocation.location_id == location.id,
                Provider.medspa_id == location.medspa_id,
                PUBLIC_PROVIDER,
            )
            .order_by(Provider.display_name, Provider.id)
        )
    ).scalars()
    return list(rows)


async def _public_type(
    ctx: Context, location: Location, type_id: uuid.UUID | None
) -> AppointmentType | None:
    if type_id is None:
        return None
    row: AppointmentType | None = (
        await ctx.session.execute(
            select(AppointmentType)
            .join(
                AppointmentTypeLocation,
                (AppointmentTypeLocation.appointment_type_id == AppointmentType.id)
                & (AppointmentTypeLocation.location_id == location.id),
            )
            .where(
                AppointmentType.id == type_id,
                AppointmentType.medspa_id == location.medspa_id,
                PUBLIC_TYPE,
            )
        )
    ).scalar_one_or_none()
    return row


async def public_slots(
    ctx: Context,
    location: Location,
    *,
    appointment_type_id: uuid.UUID | None,
    provider_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> list[Slot]:
    tz = zone(location.time_zone)
    start, end = as_instant(start, tz), as_instant(end, tz)
    check_range(start, end, limit=MAX_SLOT_RANGE)
    appointment_type = await _public_type(ctx, location, appointment_type_id)
    if appointment_type is None:
        return []
    provider_ids = await bookable_provider_ids(
        ctx,
        location_id=location.id,
        appointment_type_id=appointment_type.id,
        provider_id=provider_id,
        extra_where=(Provider.medspa_id == location.medspa_id, PUBLIC_PROVIDER),
    )
    return await compute_slots(
        ctx,
        location=location,
        appointment_type=appointment_type,
        provider_ids=provider_ids,
        start=start,
        end=end,
    )


# --- booking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicBookingInput:
    booking_slug: str
    appointment_type_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    starts_at: datetime
    patient: PatientInput
    idempotency_key: str | None
    deposit_payment: DepositPayment | None = None


@dataclass(frozen=True)
class PublicBooking:
    booked: Booked
    location: Location
    appointment_type: AppointmentType
    provider: Provider


async def public_book_appointment(ctx: Context, *, data: PublicBookingInput) -> PublicBooking:
    address = ctx.client_address or "unknown"
    if ctx.budgets is not None and not await ctx.budgets.allow_booking(address):
        raise DomainError(
            Problem(
                DomainErrorCode.RATE_LIMITED, "Too many booking attempts; try again in a minute."
            )
        )
    location = await reach_public_location(ctx, data.booking_slug)
    if location is None:
        raise invalid(
            "bookingSlug", "No bookable location has this link.", code=DomainErrorCode.NOT_FOUND
        )
    await require_scheduling(ctx, location.medspa_id)
    appointment_type = await _public_type(ctx, location, data.appointment_type_id)
    if appointment_type is None:
        raise invalid("appointmentTypeId", "Not bookable here.", code=DomainErrorCode.NOT_FOUND)
    provider = None
    if data.provider_id is not None:
        provider = (
            await ctx.session.execute(
                select(Provider).where(
                    Provider.id == data.provider_id,
                    Provider.medspa_id == location.medspa_id,
                    PUBLIC_PROVIDER,
                )
            )
        ).scalar_one_or_none()
    if provider is None:
        raise invalid("providerId", "Not bookable here.", code=DomainErrorCode.NOT_FOUND)
    key = check_idempotency_key(data.idempotency_key)
    contact = check_patient_input(data.patient)
    patient = await find_by_contact(
        ctx, medspa_id=location.medspa_id, email=contact.email, phone=contact.phone
    )
    if patient is None:
        patient = await insert_patient(
            ctx, medspa_id=location.medspa_id, data=contact, source=PatientSource.PUBLIC_BOOKING
        )
    booked = await find_replay(
        ctx,
        medspa_id=location.medspa_id,
        idempotency_key=key,
        provider_id=provider.id,
        patient_id=patient.id,
    )
    if booked is None:
        plan = await plan_booking(
            ctx,
            provider=provider,
            location_id=location.id,
            appointment_type_id=appointment_type.id,
            starts_at=data.starts_at,
        )
        booked = await book_plan(
            ctx,
            plan=plan,
            patient=patient,
            source=BookingSource.PUBLIC,
            idempotency_key=key,
            deposit_payment=data.deposit_payment,
        )
    ctx.allowed(
        Action.APPOINTMENT_BOOK_PUBLIC,
        resource_type="Appointment",
        resource_id=booked.appointment.id,
        medspa_id=location.medspa_id,
        detail={"via": "public", "bookingSlug": location.booking_slug, "replayed": booked.replayed},
    )
    return PublicBooking(booked, location, appointment_type, provider)
