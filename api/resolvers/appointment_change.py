"""Changes to an existing appointment: rescheduling (through the booking's planner and
writer), cancelling with a reason, and status changes along the status machine of
`appointment` (each target status one action of the policy)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from api.authz.actions import Action
from api.errors import DomainError, DomainErrorCode, invalid
from api.events.emit import EventKind, emit
from api.resolvers.appointment_booking import (
    _problem,
    plan_booking,
    require_location_in_reach,
    write_with_retry,
)
from api.resolvers.notification import queue_appointment_notices
from api.resolvers.scheduling import require_scheduling
from api.resolvers.scheduling_settings import settings_of
from db.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Location,
    NotificationKind,
    Provider,
)

if TYPE_CHECKING:
    from api.context import Context


from api.resolvers.appointment import MOVABLE, STATUS_ACTIONS, TRANSITIONS


async def _appointment_for(
    ctx: Context, action: Action, appointment_id: uuid.UUID | None
) -> Appointment:
    ctx.authorize(action, resource_type="Appointment", resource_id=appointment_id)
    row: Appointment = await ctx.find(Appointment, appointment_id, action)
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
        raise _problem(
            DomainErrorCode.INVALID_TRANSITION, f"A {row.status.value} appointment cannot be moved."
        )
    provider = await ctx.session.get(Provider, row.provider_id)
    if provider_id is not None and provider_id != row.provider_id:
        provider = await ctx.find(Provider, provider_id, Action.APPOINTMENT_RESCHEDULE)
        if provider.medspa_id != row.medspa_id:
            raise _problem(
                DomainErrorCode.NOT_FOUND, "No such provider in this medspa.", "providerId"
            )
    assert provider is not None
    if location_id is not None and location_id != row.location_id:
        await require_location_in_reach(ctx, Action.APPOINTMENT_RESCHEDULE, location_id)
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
    ctx.allowed(
        Action.APPOINTMENT_RESCHEDULE,
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
        raise _problem(
            DomainErrorCode.INVALID_TRANSITION,
            f"A {row.status.value} appointment cannot be cancelled.",
        )
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
    ctx.allowed(
        Action.APPOINTMENT_CANCEL,
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
            code=DomainErrorCode.INVALID_TRANSITION,
        )
    row = await _appointment_for(ctx, action, appointment_id)
    if status not in TRANSITIONS[row.status]:
        raise _problem(
            DomainErrorCode.INVALID_TRANSITION,
            f"{row.status.value} cannot become {status.value}.",
            "status",
        )
    if status is AppointmentStatus.NO_SHOW and row.starts_at > datetime.now(UTC):
        raise _problem(
            DomainErrorCode.INVALID_TRANSITION,
            "A no-show is recorded after the start time.",
            "status",
        )
    previous = row.status
    row.status = status
    row.updated_at = datetime.now(UTC)
    await ctx.session.flush()
    await emit(ctx, EventKind.APPOINTMENT_STATUS_CHANGED, row)
    ctx.allowed(
        action,
        resource_type="Appointment",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"from": previous.value, "to": status.value},
    )
    return row
