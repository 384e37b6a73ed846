"""Free slots: availability windows minus appointments (with buffers) and block-offs.

Computed in the location's zone (see `availability`), stepping every 15 minutes on the clock
grid (every real-world zone offset is a multiple of 15 minutes, so the UTC grid is the local
grid). A slot is offered when the visit fits inside a window and the visit plus the type's
buffers overlaps no live appointment of the provider, which is exactly what the database's
exclusion constraint will accept. Staff calendars and the public booking page share
`compute_slots`; they differ only in how the location, type and providers are found.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.errors import not_found
from api.resolvers import provider as provider_resolvers
from api.resolvers.availability import Interval, load_schedules
from api.resolvers.scheduling import PROVIDER_TARGET, as_instant, check_range, zone
from db.models import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentType,
    AppointmentTypeLocation,
    Location,
    Provider,
    ProviderAppointmentType,
    ProviderLocation,
)

if TYPE_CHECKING:
    from api.context import Context

SLOT_STEP = timedelta(minutes=15)
MAX_SLOT_RANGE = timedelta(days=31)


@dataclass(frozen=True)
class Slot:
    provider_id: uuid.UUID
    starts_at: datetime  # aware, in the location's zone
    ends_at: datetime


def _grid_ceil(moment: datetime) -> datetime:
    step = int(SLOT_STEP.total_seconds())
    seconds = int(moment.timestamp())
    rounded = -(-seconds // step) * step
    return datetime.fromtimestamp(rounded, tz=UTC)


async def busy_ranges(
    ctx: Context, *, provider_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, list[Interval]]:
    """Blocked ranges (visit + buffers) of the providers' live appointments, sorted."""
    busy: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    if not provider_ids:
        return busy
    margin = timedelta(days=1)
    rows = (
        await ctx.session.execute(
            select(Appointment.provider_id, Appointment.blocked_from, Appointment.blocked_until)
            .where(
                Appointment.provider_id.in_(provider_ids),
                Appointment.status.not_in(RELEASED_STATUSES),
                Appointment.blocked_from < end + margin,
                Appointment.blocked_until > start - margin,
            )
            .order_by(Appointment.blocked_from)
        )
    ).all()
    for row in rows:
        busy[row.provider_id].append((row.blocked_from, row.blocked_until))
    return busy


def _overlaps(
    sorted_busy: Sequence[Interval], starts: Sequence[datetime], s: datetime, e: datetime
) -> bool:
    # Busy ranges of one provider never overlap each other (the exclusion constraint), so
    # only the last range starting before `e` can overlap [s, e).
    i = bisect.bisect_left(starts, e) - 1
    return i >= 0 and sorted_busy[i][1] > s


async def compute_slots(
    ctx: Context,
    *,
    location: Location,
    appointment_type: AppointmentType,
    provider_ids: Sequence[uuid.UUID],
    start: datetime,
    end: datetime,
) -> list[Slot]:
    """Slots of the given providers (already filtered by the caller's scope)."""
    tz = zone(location.time_zone)
    now = datetime.now(UTC)
    start = max(start, now)
    if end <= start or not provider_ids:
        return []
    schedules = await load_schedules(
        ctx, provider_ids=provider_ids, location_id=location.id, start=start, end=end
    )
    busy = await busy_ranges(ctx, provider_ids=provider_ids, start=start, end=end)
    duration = timedelta(minutes=appointment_type.duration_minutes)
    before = timedelta(minutes=appointment_type.buffer_before_minutes)
    after = timedelta(minutes=appointment_type.buffer_after_minutes)
    slots: list[Slot] = []
    for provider_id in provider_ids:
        provider_busy = busy.get(provider_id, [])
        busy_starts = [b[0] for b in provider_busy]
        for w_start, w_end in schedules[provider_id].windows(tz, start, end):
            candidate = _grid_ceil(max(w_start, start))
            while candidate + duration <= w_end and candidate < end:
                visit_end = candidate + duration
                if not _overlaps(provider_busy, busy_starts, candidate - before, visit_end + after):
                    slots.append(
                        Slot(provider_id, candidate.astimezone(tz), visit_end.astimezone(tz))
                    )
                candidate += SLOT_STEP
    slots.sort(key=lambda s: (s.starts_at, str(s.provider_id)))
    return slots


async def bookable_provider_ids(
    ctx: Context,
    *,
    location_id: uuid.UUID,
    appointment_type_id: uuid.UUID,
    provider_id: uuid.UUID | None,
    extra_where: Sequence[object] = (),
) -> list[uuid.UUID]:
    """Active providers who work at the location and offer the type (one statement)."""
    stmt = (
        select(Provider.id)
        .join(
            ProviderLocation,
            (ProviderLocation.provider_id == Provider.id)
            & (ProviderLocation.location_id == location_id),
        )
        .join(
            ProviderAppointmentType,
            (ProviderAppointmentType.provider_id == Provider.id)
            & (ProviderAppointmentType.appointment_type_id == appointment_type_id),
        )
        .where(Provider.active.is_(True), *extra_where)  # type: ignore[arg-type]
        .order_by(Provider.display_name, Provider.id)
    )
    if provider_id is not None:
        stmt = stmt.where(Provider.id == provider_id)
    return list((await ctx.session.execute(stmt)).scalars())


async def type_offered_at(
    ctx: Context, *, appointment_type_id: uuid.UUID, location_id: uuid.UUID
) -> bool:
    return (
        await ctx.session.execute(
            select(AppointmentTypeLocation.location_id).where(
                AppointmentTypeLocation.appointment_type_id == appointment_type_id,
                AppointmentTypeLocation.location_id == location_id,
            )
        )
    ).first() is not None


async def available_slots(
    ctx: Context,
    *,
    location_id: uuid.UUID | None,
    appointment_type_id: uuid.UUID | None,
    provider_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> list[Slot]:
    """Staff view: slots of the providers whose availability the principal may read."""
    ctx.authorize(Action.AVAILABILITY_READ, resource_type="Location", resource_id=location_id)
    location = await ctx.loaders.location_by_id.load(location_id) if location_id else None
    if location is None:
        raise not_found("Location not found.")
    appointment_type = (
        await ctx.loaders.appointment_type_by_id.load(appointment_type_id)
        if appointment_type_id
        else None
    )
    if appointment_type is None:
        raise not_found("Appointment type not found.")
    tz = zone(location.time_zone)
    start, end = as_instant(start, tz), as_instant(end, tz)
    check_range(start, end, limit=MAX_SLOT_RANGE)
    if not (
        location.active_for_scheduling
        and appointment_type.bookable
        and await type_offered_at(
            ctx, appointment_type_id=appointment_type.id, location_id=location.id
        )
    ):
        return []
    provider_ids = await bookable_provider_ids(
        ctx,
        location_id=location.id,
        appointment_type_id=appointment_type.id,
        provider_id=provider_id,
        extra_where=(
            ctx.scope(Action.AVAILABILITY_READ, PROVIDER_TARGET),
            ctx.scope(Action.PROVIDER_READ, provider_resolvers.ANCHOR),
        ),
    )
    return await compute_slots(
        ctx,
        location=location,
        appointment_type=appointment_type,
        provider_ids=provider_ids,
        start=start,
        end=end,
    )
