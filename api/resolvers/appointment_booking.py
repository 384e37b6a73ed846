"""Booking (DESIGN §3): planning a slot, writing it with retries, idempotency keys, and the
staff and partner `bookAppointment` use case.

Double booking is the database's call: the exclusion constraint on the provider's blocked
ranges rejects an overlapping insert or update with SQLSTATE 23P01, which becomes the payload
error SLOT_UNAVAILABLE. Concurrent bookings of one slot wait on each other inside PostgreSQL;
the first to commit wins. Deadlocks and serialization failures are retried from a savepoint.
An idempotency key (unique per medspa) makes a retried booking return the first appointment.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from api.authz.actions import Action
from api.authz.scopes import Anchor, at_locations
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.resolvers.availability import load_schedules
from api.resolvers.checkout import DepositPayment, charge_deposit
from api.resolvers.notification import queue_appointment_notices
from api.resolvers.scheduling import as_instant, require_scheduling, zone
from api.resolvers.scheduling_settings import settings_of
from api.resolvers.slots import type_offered_at
from db.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingSource,
    Location,
    NotificationKind,
    Patient,
    Provider,
    ProviderAppointmentType,
    ProviderLocation,
)

if TYPE_CHECKING:
    from api.context import Context

EXCLUSION_VIOLATION = "23P01"


UNIQUE_VIOLATION = "23505"


RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure


MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class BookingPlan:
    """A checked booking: everything needed to write the row and its notices."""

    provider: Provider
    location: Location
    appointment_type: AppointmentType
    starts_at: datetime
    ends_at: datetime

    @property
    def blocked_from(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.appointment_type.buffer_before_minutes)

    @property
    def blocked_until(self) -> datetime:
        return self.ends_at + timedelta(minutes=self.appointment_type.buffer_after_minutes)


LOCATION_TARGET = Anchor(medspa=Location.medspa_id, location=at_locations(Location.id))


def _problem(code: DomainErrorCode, message: str, field: str | None = None) -> DomainError:
    return DomainError(Problem(code, message, field))


async def plan_booking(
    ctx: Context,
    *,
    provider: Provider,
    location_id: uuid.UUID | None,
    appointment_type_id: uuid.UUID | None,
    starts_at: datetime,
) -> BookingPlan:
    """Validate a booking against the configuration and availability (not overlaps: the DB)."""
    if not provider.active:
        raise _problem(
            DomainErrorCode.PROVIDER_INACTIVE, "The provider is not active.", "providerId"
        )
    location = None
    if location_id is not None:
        location = (
            await ctx.session.execute(
                select(Location).where(
                    Location.id == location_id, Location.medspa_id == provider.medspa_id
                )
            )
        ).scalar_one_or_none()
    if location is None:
        raise _problem(DomainErrorCode.NOT_FOUND, "No such location in this medspa.", "locationId")
    if not location.active_for_scheduling:
        raise _problem(
            DomainErrorCode.LOCATION_INACTIVE,
            "The location is not active for scheduling.",
            "locationId",
        )
    works_there = (
        await ctx.session.execute(
            select(ProviderLocation.location_id).where(
                ProviderLocation.provider_id == provider.id,
                ProviderLocation.location_id == location.id,
            )
        )
    ).first()
    if works_there is None:
        raise _problem(
            DomainErrorCode.PROVIDER_NOT_AT_LOCATION,
            "The provider does not work at this location.",
            "locationId",
        )
    appointment_type = None
    if appointment_type_id is not None:
        appointment_type = (
            await ctx.session.execute(
                select(AppointmentType).where(
                    AppointmentType.id == appointment_type_id,
                    AppointmentType.medspa_id == provider.medspa_id,
                )
            )
        ).scalar_one_or_none()
    if appointment_type is None:
        raise _problem(DomainErrorCode.NOT_FOUND, "No such appointment type.", "appointmentTypeId")
    if not appointment_type.bookable:
        raise _problem(
            DomainErrorCode.TYPE_NOT_BOOKABLE,
            "This appointment type is inactive or archived.",
            "appointmentTypeId",
        )
    if not await type_offered_at(
        ctx, appointment_type_id=appointment_type.id, location_id=location.id
    ):
        raise _problem(
            DomainErrorCode.TYPE_NOT_OFFERED_AT_LOCATION,
            "This appointment type is not offered at this location.",
            "appointmentTypeId",
        )
    offers = (
        await ctx.session.execute(
            select(ProviderAppointmentType.provider_id).where(
                ProviderAppointmentType.provider_id == provider.id,
                ProviderAppointmentType.appointment_type_id == appointment_type.id,
            )
        )
    ).first()
    if offers is None:
        raise _problem(
            DomainErrorCode.PROVIDER_DOES_NOT_OFFER_TYPE,
            "The provider does not offer this appointment type.",
            "appointmentTypeId",
        )
    tz = zone(location.time_zone)
    start = as_instant(starts_at, tz)
    end = start + timedelta(minutes=appointment_type.duration_minutes)
    if start < datetime.now(UTC) - timedelta(minutes=5):
        raise invalid("startsAt", "The time is in the past.")
    schedule = (
        await load_schedules(
            ctx, provider_ids=[provider.id], location_id=location.id, start=start, end=end
        )
    )[provider.id]
    windows = schedule.windows(tz, start - timedelta(days=1), end + timedelta(days=1))
    if not any(w_start <= start and end <= w_end for w_start, w_end in windows):
        raise _problem(
            DomainErrorCode.OUTSIDE_AVAILABILITY,
            "The provider is not available at this time at this location.",
            "startsAt",
        )
    return BookingPlan(provider, location, appointment_type, start, end)


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _constraint(exc: DBAPIError) -> str:
    return getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""


class _IdempotencyKeyTaken(Exception):
    pass


async def write_with_retry(
    ctx: Context, *, provider_id: uuid.UUID, write: Callable[[], Awaitable[None]]
) -> None:
    """Run `write` (which flushes) in a savepoint; overlaps become DomainErrorCode.SLOT_UNAVAILABLE.

    Writers of one provider's calendar first queue on a transaction-level advisory lock.
    The exclusion constraint still decides; the lock only keeps concurrent inserters from
    each waiting on the others' uncommitted index entries (a GiST exclusion check happens
    after the insert), which turns a burst on one slot into a storm of deadlocks. A deadlock
    or serialization failure that still happens rolls back to the savepoint, which releases
    the row locks taken since, and tries again after a short, jittered pause.
    """
    await ctx.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"appointment.provider:{provider_id}"},
    )
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with ctx.session.begin_nested():
                await write()
            return
        except DBAPIError as exc:
            state = _sqlstate(exc)
            if state == EXCLUSION_VIOLATION:
                raise _problem(
                    DomainErrorCode.SLOT_UNAVAILABLE,
                    "The provider already has an appointment at this time.",
                    "startsAt",
                ) from exc
            if state == UNIQUE_VIOLATION and "idempotency_key" in _constraint(exc):
                raise _IdempotencyKeyTaken from exc
            if state in RETRYABLE and attempt < MAX_ATTEMPTS:
                await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 - jitter
                continue
            raise


async def _by_key(ctx: Context, medspa_id: uuid.UUID, key: str) -> Appointment | None:
    return (
        await ctx.session.execute(
            select(Appointment).where(
                Appointment.medspa_id == medspa_id, Appointment.idempotency_key == key
            )
        )
    ).scalar_one_or_none()


def _same_request(
    row: Appointment,
    *,
    provider_id: uuid.UUID,
    patient_id: uuid.UUID,
    appointment_type_id: uuid.UUID | None,
    starts_at: datetime | None,
) -> bool:
    return (
        row.provider_id == provider_id
        and row.patient_id == patient_id
        and (appointment_type_id is None or row.appointment_type_id == appointment_type_id)
        and (starts_at is None or row.starts_at == starts_at)
    )


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not 8 <= len(key) <= 128:
        raise invalid("idempotencyKey", "8 to 128 characters (a UUID is ideal).")
    return key


@dataclass(frozen=True)
class Booked:
    appointment: Appointment
    replayed: bool


async def book_plan(
    ctx: Context,
    *,
    plan: BookingPlan,
    patient: Patient,
    source: BookingSource,
    idempotency_key: str | None,
    deposit_payment: DepositPayment | None = None,
) -> Booked:
    """Insert the appointment of a checked plan, or return the one its key already made.
    A deposit due (deposits on, the type has one) is charged to `deposit_payment` (issue 18)."""
    medspa_id = plan.provider.medspa_id
    settings = await settings_of(ctx, medspa_id)
    holder: list[Appointment] = []

    async def insert() -> None:
        row = Appointment(
            id=uuid.uuid4(),
            medspa_id=medspa_id,
            provider_id=plan.provider.id,
            location_id=plan.location.id,
            patient_id=patient.id,
            appointment_type_id=plan.appointment_type.id,
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
            blocked_from=plan.blocked_from,
            blocked_until=plan.blocked_until,
            status=AppointmentStatus.BOOKED,
            price_cents=plan.appointment_type.price_cents,
            deposit_cents=plan.appointment_type.deposit_cents
            if settings.deposits_enabled
            else None,
            cancellation_fee_cents=plan.appointment_type.cancellation_fee_cents
            if settings.cancellation_fees_enabled
            else None,
            source=source,
            idempotency_key=idempotency_key,
            booked_by_user_id=ctx.principal.actor_user_id,
            booked_by_api_client_id=ctx.principal.api_client_id,
            cancellation_fee_applies=False,
        )
        ctx.session.add(row)
        await ctx.session.flush()
        holder.append(row)

    try:
        await write_with_retry(ctx, provider_id=plan.provider.id, write=insert)
    except (_IdempotencyKeyTaken, DomainError):
        # A concurrent request with the same key may have won (possibly on the same slot).
        existing = await _by_key(ctx, medspa_id, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(
            existing,
            provider_id=plan.provider.id,
            patient_id=patient.id,
            appointment_type_id=plan.appointment_type.id,
            starts_at=plan.starts_at,
        )
    appointment = holder[-1]
    await charge_deposit(
        ctx,
        appointment=appointment,
        payment=deposit_payment,
        description=f"Deposit: {plan.appointment_type.name}",
    )
    await queue_appointment_notices(
        ctx,
        event=NotificationKind.APPOINTMENT_CONFIRMATION,
        appointment=appointment,
        settings=settings,
        appointment_type=plan.appointment_type,
        provider=plan.provider,
        location=plan.location,
    )
    await ctx.session.flush()
    return Booked(appointment, replayed=False)


def _replay(
    existing: Appointment,
    *,
    provider_id: uuid.UUID,
    patient_id: uuid.UUID,
    appointment_type_id: uuid.UUID | None,
    starts_at: datetime | None,
) -> Booked:
    if not _same_request(
        existing,
        provider_id=provider_id,
        patient_id=patient_id,
        appointment_type_id=appointment_type_id,
        starts_at=starts_at,
    ):
        raise _problem(
            DomainErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was used for a different booking.",
            "idempotencyKey",
        )
    return Booked(existing, replayed=True)


async def find_replay(
    ctx: Context,
    *,
    medspa_id: uuid.UUID,
    idempotency_key: str | None,
    provider_id: uuid.UUID,
    patient_id: uuid.UUID,
) -> Booked | None:
    """A booking already made with this key (checked to be the same request), if any."""
    if idempotency_key is None:
        return None
    existing = await _by_key(ctx, medspa_id, idempotency_key)
    if existing is None:
        return None
    return _replay(
        existing,
        provider_id=provider_id,
        patient_id=patient_id,
        appointment_type_id=None,
        starts_at=None,
    )


@dataclass(frozen=True)
class BookingInput:
    patient_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    location_id: uuid.UUID | None
    appointment_type_id: uuid.UUID | None
    starts_at: datetime
    idempotency_key: str | None
    deposit_payment: DepositPayment | None = None


async def require_location_in_reach(
    ctx: Context, action: Action, location_id: uuid.UUID | None
) -> None:
    """The location an appointment is booked or moved to is in `action`'s reach (a partner
    key limited to some locations writes only there); elsewhere it answers like a location
    that does not exist, before anything else about it is checked."""
    reached = (
        await ctx.session.execute(
            select(Location.id).where(
                Location.id == location_id, ctx.scope(action, LOCATION_TARGET)
            )
        )
    ).first()
    if reached is None:
        raise _problem(DomainErrorCode.NOT_FOUND, "No such location in this medspa.", "locationId")


async def book_appointment(ctx: Context, *, data: BookingInput) -> Booked:
    """Staff and partner booking (anonymous visitors book through `publicBookAppointment`)."""
    provider: Provider = await ctx.find(Provider, data.provider_id, Action.APPOINTMENT_BOOK)
    await require_scheduling(ctx, provider.medspa_id)
    key = check_idempotency_key(data.idempotency_key)
    patient = None
    if data.patient_id is not None:
        # The patient must belong to the provider's medspa (RLS keeps other tenants out).
        patient = (
            await ctx.session.execute(
                select(Patient).where(
                    Patient.id == data.patient_id, Patient.medspa_id == provider.medspa_id
                )
            )
        ).scalar_one_or_none()
    if patient is None:
        raise _problem(DomainErrorCode.NOT_FOUND, "No such patient in this medspa.", "patientId")
    replay = await find_replay(
        ctx,
        medspa_id=provider.medspa_id,
        idempotency_key=key,
        provider_id=provider.id,
        patient_id=patient.id,
    )
    if replay is not None:
        return replay
    await require_location_in_reach(ctx, Action.APPOINTMENT_BOOK, data.location_id)
    plan = await plan_booking(
        ctx,
        provider=provider,
        location_id=data.location_id,
        appointment_type_id=data.appointment_type_id,
        starts_at=data.starts_at,
    )
    source = BookingSource.PARTNER if ctx.principal.api_client_id else BookingSource.STAFF
    booked = await book_plan(
        ctx,
        plan=plan,
        patient=patient,
        source=source,
        idempotency_key=key,
        deposit_payment=data.deposit_payment,
    )
    ctx.allowed(
        Action.APPOINTMENT_BOOK,
        resource_type="Appointment",
        resource_id=booked.appointment.id,
        medspa_id=provider.medspa_id,
        detail={"replayed": booked.replayed, "providerId": str(provider.id)},
    )
    return booked
