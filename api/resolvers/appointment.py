"""Appointments: the role-scoped calendar, connections, booking, rescheduling, status changes.

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
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute

from api.authz.actions import Action, Scope
from api.authz.scopes import Anchor
from api.errors import ApiError, DomainError, ErrorCode, Problem, invalid
from api.resolvers import provider as provider_resolvers
from api.resolvers.availability import load_schedules
from api.resolvers.batching import rows_by_ids
from api.resolvers.notification import queue_appointment_notices
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from api.resolvers.scheduling import (
    PROVIDER_TARGET,
    as_instant,
    check_range,
    find_for_action,
    require_scheduling,
    zone,
)
from api.resolvers.scheduling_settings import settings_of
from api.resolvers.slots import type_offered_at
from db.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AuditOutcome,
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

ANCHOR = Anchor(medspa=Appointment.medspa_id, provider=Appointment.provider_id)
SORT = SortKey((Appointment.starts_at, Appointment.id), ("starts_at", "id"))
MAX_CALENDAR_ROWS = 2000

SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
OUTSIDE_AVAILABILITY = "OUTSIDE_AVAILABILITY"
INVALID_TRANSITION = "INVALID_TRANSITION"
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure
MAX_ATTEMPTS = 4

# The status machine: BOOKED -> CONFIRMED -> CHECKED_IN -> COMPLETED; NO_SHOW or CANCELLED
# before check-in. Each target status is one action of the policy (DESIGN §5); confirming is
# part of booking, and cancelling has its own mutation (it takes a reason).
TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    AppointmentStatus.BOOKED: frozenset(
        {AppointmentStatus.CONFIRMED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED}
    ),
    AppointmentStatus.CONFIRMED: frozenset(
        {AppointmentStatus.CHECKED_IN, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED}
    ),
    AppointmentStatus.CHECKED_IN: frozenset({AppointmentStatus.COMPLETED}),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
}
STATUS_ACTIONS: dict[AppointmentStatus, Action] = {
    AppointmentStatus.CONFIRMED: Action.APPOINTMENT_BOOK,
    AppointmentStatus.CHECKED_IN: Action.APPOINTMENT_CHECK_IN,
    AppointmentStatus.COMPLETED: Action.APPOINTMENT_COMPLETE,
    AppointmentStatus.NO_SHOW: Action.APPOINTMENT_NO_SHOW,
    AppointmentStatus.CANCELLED: Action.APPOINTMENT_CANCEL,
}
MOVABLE = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED})


# --- reads --------------------------------------------------------------------------------


async def appointments_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Appointment | None]:
    return await rows_by_ids(ctx, Appointment, ids, ctx.scope(Action.APPOINTMENT_READ, ANCHOR))


@dataclass(frozen=True)
class CalendarFilter:
    start: datetime
    end: datetime
    provider_ids: Sequence[uuid.UUID | None] | None = None
    location_ids: Sequence[uuid.UUID | None] | None = None
    statuses: Sequence[AppointmentStatus] | None = None


async def calendar(ctx: Context, *, filters: CalendarFilter) -> list[Appointment]:
    """Appointments overlapping [start, end) in the principal's scope, by start time."""
    ctx.authorize(Action.APPOINTMENT_READ, resource_type="Appointment")
    start, end = _aware(filters.start, "from"), _aware(filters.end, "to")
    check_range(start, end)
    stmt = select(Appointment).where(
        ctx.scope(Action.APPOINTMENT_READ, ANCHOR),
        Appointment.starts_at < end,
        Appointment.ends_at > start,
    )
    if filters.provider_ids is not None:
        stmt = stmt.where(Appointment.provider_id.in_([i for i in filters.provider_ids if i]))
    if filters.location_ids is not None:
        stmt = stmt.where(Appointment.location_id.in_([i for i in filters.location_ids if i]))
    if filters.statuses is not None:
        stmt = stmt.where(Appointment.status.in_(list(filters.statuses)))
    rows = list(
        (
            await ctx.session.execute(stmt.order_by(*SORT.order_by()).limit(MAX_CALENDAR_ROWS + 1))
        ).scalars()
    )
    if len(rows) > MAX_CALENDAR_ROWS:
        raise ApiError(
            ErrorCode.BAD_USER_INPUT,
            f"More than {MAX_CALENDAR_ROWS} appointments; narrow the range or the filters.",
        )
    return rows


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ApiError(
            ErrorCode.BAD_USER_INPUT, f"`{field}` needs a UTC offset (e.g. 2026-03-09T00:00Z)."
        )
    return value.astimezone(UTC)


# (parent id, first, after, from, to)
AppointmentPageKey = tuple[uuid.UUID, int | None, str | None, datetime | None, datetime | None]


async def _grouped(
    ctx: Context,
    keys: Sequence[AppointmentPageKey],
    *,
    column: InstrumentedAttribute[uuid.UUID],
    attribute: str,
) -> list[Page[Appointment]]:
    """Appointment pages of many parents: one statement per distinct (from, to, first, after)."""
    by_range: dict[tuple[datetime | None, datetime | None], list[AppointmentPageKey]] = defaultdict(
        list
    )
    for key in keys:
        by_range[(key[3], key[4])].append(key)
    results: dict[AppointmentPageKey, Page[Appointment]] = {}
    for (start, end), range_keys in by_range.items():
        stmt = select(Appointment).where(ctx.scope(Action.APPOINTMENT_READ, ANCHOR))
        if start is not None:
            stmt = stmt.where(Appointment.ends_at > _aware(start, "from"))
        if end is not None:
            stmt = stmt.where(Appointment.starts_at < _aware(end, "to"))
        if start is not None and end is not None:
            check_range(_aware(start, "from"), _aware(end, "to"))
        pages = await paginate_grouped(
            ctx.session,
            stmt,
            entity=Appointment,
            group_by=column,
            group_attribute=attribute,
            keys=[(k[0], k[1], k[2]) for k in range_keys],
            sort=SORT,
        )
        results.update(zip(range_keys, pages, strict=True))
    return [results[k] for k in keys]


def appointments_by(
    column: InstrumentedAttribute[uuid.UUID], attribute: str
) -> Callable[[Context, Sequence[AppointmentPageKey]], Awaitable[list[Page[Appointment]]]]:
    async def load(ctx: Context, keys: Sequence[AppointmentPageKey]) -> list[Page[Appointment]]:
        return await _grouped(ctx, keys, column=column, attribute=attribute)

    return load


appointments_by_medspa = appointments_by(Appointment.medspa_id, "medspa_id")
appointments_by_provider = appointments_by(Appointment.provider_id, "provider_id")
appointments_by_location = appointments_by(Appointment.location_id, "location_id")
appointments_by_patient = appointments_by(Appointment.patient_id, "patient_id")


# --- booking ------------------------------------------------------------------------------


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


def _problem(code: str, message: str, field: str | None = None) -> DomainError:
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
        raise _problem("PROVIDER_INACTIVE", "The provider is not active.", "providerId")
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
        raise _problem("NOT_FOUND", "No such location in this medspa.", "locationId")
    if not location.active_for_scheduling:
        raise _problem(
            "LOCATION_INACTIVE", "The location is not active for scheduling.", "locationId"
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
            "PROVIDER_NOT_AT_LOCATION", "The provider does not work at this location.", "locationId"
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
        raise _problem("NOT_FOUND", "No such appointment type.", "appointmentTypeId")
    if not appointment_type.bookable:
        raise _problem(
            "TYPE_NOT_BOOKABLE",
            "This appointment type is inactive or archived.",
            "appointmentTypeId",
        )
    if not await type_offered_at(
        ctx, appointment_type_id=appointment_type.id, location_id=location.id
    ):
        raise _problem(
            "TYPE_NOT_OFFERED_AT_LOCATION",
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
            "PROVIDER_DOES_NOT_OFFER_TYPE",
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
            OUTSIDE_AVAILABILITY,
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
    """Run `write` (which flushes) in a savepoint; overlaps become SLOT_UNAVAILABLE.

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
                    SLOT_UNAVAILABLE,
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
) -> Booked:
    """Insert the appointment of a checked plan, or return the one its key already made."""
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
            IDEMPOTENCY_KEY_REUSED,
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


async def book_appointment(ctx: Context, *, data: BookingInput) -> Booked:
    """Staff and partner booking (anonymous visitors book through `publicBookAppointment`)."""
    grant = ctx.authorize(
        Action.APPOINTMENT_BOOK, resource_type="Provider", resource_id=data.provider_id
    )
    if grant.scope is Scope.PUBLIC:
        ctx.audit(
            Action.APPOINTMENT_BOOK.value,
            AuditOutcome.DENIED,
            resource_type="Provider",
            resource_id=data.provider_id,
            detail={"reason": "anonymous booking goes through publicBookAppointment"},
        )
        raise ApiError(ErrorCode.UNAUTHENTICATED, "Authentication required.")
    provider: Provider = await find_for_action(
        ctx,
        model=Provider,
        row_id=data.provider_id,
        action=Action.APPOINTMENT_BOOK,
        anchor=PROVIDER_TARGET,
        read_action=Action.PROVIDER_READ,
        read_anchor=provider_resolvers.ANCHOR,
        resource_type="Provider",
    )
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
        raise _problem("NOT_FOUND", "No such patient in this medspa.", "patientId")
    replay = await find_replay(
        ctx,
        medspa_id=provider.medspa_id,
        idempotency_key=key,
        provider_id=provider.id,
        patient_id=patient.id,
    )
    if replay is not None:
        return replay
    plan = await plan_booking(
        ctx,
        provider=provider,
        location_id=data.location_id,
        appointment_type_id=data.appointment_type_id,
        starts_at=data.starts_at,
    )
    source = BookingSource.PARTNER if ctx.principal.api_client_id else BookingSource.STAFF
    booked = await book_plan(ctx, plan=plan, patient=patient, source=source, idempotency_key=key)
    ctx.audit(
        Action.APPOINTMENT_BOOK.value,
        AuditOutcome.ALLOWED,
        resource_type="Appointment",
        resource_id=booked.appointment.id,
        medspa_id=provider.medspa_id,
        detail={"replayed": booked.replayed, "providerId": str(provider.id)},
    )
    return booked


# --- changes to an existing appointment ------------------------------------------------------


async def _appointment_for(
    ctx: Context, action: Action, appointment_id: uuid.UUID | None
) -> Appointment:
    ctx.authorize(action, resource_type="Appointment", resource_id=appointment_id)
    row: Appointment = await find_for_action(
        ctx,
        model=Appointment,
        row_id=appointment_id,
        action=action,
        anchor=ANCHOR,
        read_action=Action.APPOINTMENT_READ,
        read_anchor=ANCHOR,
        resource_type="Appointment",
    )
    await require_scheduling(ctx, row.medspa_id)
    return row


async def _related(ctx: Context, row: Appointment) -> tuple[Provider, Location, AppointmentType]:
    provider = await ctx.session.get(Provider, row.provider_id)
    location = await ctx.session.get(Location, row.location_id)
    appointment_type = await ctx.session.get(AppointmentType, row.appointment_type_id)
    assert provider and location and appointment_type, "composite foreign keys"
    return provider, location, appointment_type


async def reschedule_appointment(
    ctx: Context,
    *,
    appointment_id: uuid.UUID | None,
    starts_at: datetime,
    provider_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
) -> Appointment:
    row = await _appointment_for(ctx, Action.APPOINTMENT_RESCHEDULE, appointment_id)
    if row.status not in MOVABLE:
        raise _problem(INVALID_TRANSITION, f"A {row.status.value} appointment cannot be moved.")
    provider = await ctx.session.get(Provider, row.provider_id)
    if provider_id is not None and provider_id != row.provider_id:
        provider = await find_for_action(
            ctx,
            model=Provider,
            row_id=provider_id,
            action=Action.APPOINTMENT_RESCHEDULE,
            anchor=PROVIDER_TARGET,
            read_action=Action.PROVIDER_READ,
            read_anchor=provider_resolvers.ANCHOR,
            resource_type="Provider",
        )
        if provider.medspa_id != row.medspa_id:
            raise _problem("NOT_FOUND", "No such provider in this medspa.", "providerId")
    assert provider is not None
    plan = await plan_booking(
        ctx,
        provider=provider,
        location_id=location_id or row.location_id,
        appointment_type_id=row.appointment_type_id,
        starts_at=starts_at,
    )
    previous = {"startsAt": row.starts_at.isoformat(), "providerId": str(row.provider_id)}

    async def move() -> None:
        row.provider_id = plan.provider.id
        row.location_id = plan.location.id
        row.starts_at, row.ends_at = plan.starts_at, plan.ends_at
        row.blocked_from, row.blocked_until = plan.blocked_from, plan.blocked_until
        row.status = AppointmentStatus.BOOKED  # a new time needs a new confirmation
        row.updated_at = datetime.now(UTC)
        await ctx.session.flush()

    try:
        await write_with_retry(ctx, provider_id=plan.provider.id, write=move)
    except DomainError:
        await ctx.session.refresh(row)
        raise
    await queue_appointment_notices(
        ctx,
        event=NotificationKind.APPOINTMENT_RESCHEDULED,
        appointment=row,
        settings=await settings_of(ctx, row.medspa_id),
        appointment_type=plan.appointment_type,
        provider=plan.provider,
        location=plan.location,
        extra={"previousStartsAt": previous["startsAt"]},
    )
    await ctx.session.flush()
    ctx.audit(
        Action.APPOINTMENT_RESCHEDULE.value,
        AuditOutcome.ALLOWED,
        resource_type="Appointment",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"from": previous, "to": {"startsAt": row.starts_at.isoformat()}},
    )
    return row


async def cancel_appointment(
    ctx: Context, *, appointment_id: uuid.UUID | None, reason: str
) -> Appointment:
    row = await _appointment_for(ctx, Action.APPOINTMENT_CANCEL, appointment_id)
    text = reason.strip()
    if not text or len(text) > 500:
        raise invalid("reason", "Give a reason (up to 500 characters).")
    if AppointmentStatus.CANCELLED not in TRANSITIONS[row.status]:
        raise _problem(INVALID_TRANSITION, f"A {row.status.value} appointment cannot be cancelled.")
    settings = await settings_of(ctx, row.medspa_id)
    now = datetime.now(UTC)
    row.status = AppointmentStatus.CANCELLED
    row.cancelled_at = now
    row.cancellation_reason = text
    # The fee applies when fees are on, the type had one at booking, and it is late.
    row.cancellation_fee_applies = bool(
        settings.cancellation_fees_enabled
        and row.cancellation_fee_cents
        and row.starts_at - now < timedelta(hours=settings.cancellation_window_hours)
    )
    row.updated_at = now
    await ctx.session.flush()
    provider, location, appointment_type = await _related(ctx, row)
    await queue_appointment_notices(
        ctx,
        event=NotificationKind.APPOINTMENT_CANCELLED,
        appointment=row,
        settings=settings,
        appointment_type=appointment_type,
        provider=provider,
        location=location,
    )
    await ctx.session.flush()
    ctx.audit(
        Action.APPOINTMENT_CANCEL.value,
        AuditOutcome.ALLOWED,
        resource_type="Appointment",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"reason": text, "feeApplies": row.cancellation_fee_applies},
    )
    return row


async def change_status(
    ctx: Context, *, appointment_id: uuid.UUID | None, status: AppointmentStatus
) -> Appointment:
    """Confirm, check in, complete or mark a no-show, along the allowed transitions only."""
    action = STATUS_ACTIONS.get(status)
    if action is None or status is AppointmentStatus.CANCELLED:
        raise invalid(
            "status",
            "Use cancelAppointment to cancel; BOOKED is set by booking and rescheduling.",
            code=INVALID_TRANSITION,
        )
    row = await _appointment_for(ctx, action, appointment_id)
    if status not in TRANSITIONS[row.status]:
        raise _problem(
            INVALID_TRANSITION,
            f"{row.status.value} cannot become {status.value}.",
            "status",
        )
    if status is AppointmentStatus.NO_SHOW and row.starts_at > datetime.now(UTC):
        raise _problem(INVALID_TRANSITION, "A no-show is recorded after the start time.", "status")
    previous = row.status
    row.status = status
    row.updated_at = datetime.now(UTC)
    await ctx.session.flush()
    ctx.audit(
        action.value,
        AuditOutcome.ALLOWED,
        resource_type="Appointment",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"from": previous.value, "to": status.value},
    )
    return row
