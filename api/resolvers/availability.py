"""Availability: weekly hours, block-offs and overrides, and the windows they make.

Weekly hours are wall-clock times in the location's zone. A day's hours become instants by
combining that local date with the local times in the zone (`zoneinfo`), so 09:00-17:00 is
13:00-21:00 UTC in summer and 14:00-22:00 UTC in winter in New York, and a day that loses or
gains an hour has a shorter or longer window. A wall time that does not exist (inside the
spring-forward gap) resolves to the instant one hour later on the clock; an ambiguous one (in
the fall-back repeat) to its first occurrence.

Windows = weekly hours + overrides (extra hours at the location) - block-offs (time off at that
location or everywhere). Slots and the booking check both start from `provider_windows`.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.errors import DomainErrorCode, invalid, not_found
from api.resolvers.scheduling import as_instant, require_scheduling, zone
from db.models import (
    AuditOutcome,
    AvailabilityException,
    AvailabilityExceptionKind,
    Location,
    Provider,
    ProviderLocation,
    WeeklyHours,
)

if TYPE_CHECKING:
    from api.context import Context

Interval = tuple[datetime, datetime]

HOURS_ANCHOR = Anchor(medspa=WeeklyHours.medspa_id, provider=WeeklyHours.provider_id)
EXCEPTION_ANCHOR = Anchor(
    medspa=AvailabilityException.medspa_id, provider=AvailabilityException.provider_id
)
MAX_EXCEPTION_LENGTH = timedelta(days=366)


# --- interval arithmetic (aware datetimes, half-open [start, end)) ------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same instants (touching ones join)."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Sequence[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """`intervals` (merged) minus every cut."""
    result = list(intervals)
    for cut_start, cut_end in merge(cuts):
        next_result: list[Interval] = []
        for start, end in result:
            if cut_end <= start or cut_start >= end:
                next_result.append((start, end))
                continue
            if start < cut_start:
                next_result.append((start, cut_start))
            if cut_end < end:
                next_result.append((cut_end, end))
        result = next_result
    return result


def contains(windows: Sequence[Interval], start: datetime, end: datetime) -> bool:
    return any(w_start <= start and end <= w_end for w_start, w_end in windows)


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The instant of a wall-clock time on a local date (see the module docstring for DST)."""
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def weekly_windows(
    hours: Iterable[tuple[int, time, time]], tz: ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """Weekly (weekday, start, end) hours as instants over the local dates touching the range."""
    by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, start_time, end_time in hours:
        by_weekday[weekday].append((start_time, end_time))
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    windows: list[Interval] = []
    day = first_day
    while day <= last_day:
        for start_time, end_time in by_weekday.get(day.weekday(), ()):
            w_start = local_instant(day, start_time, tz)
            w_end = local_instant(day, end_time, tz)
            if w_end > w_start and w_end > start and w_start < end:
                windows.append((w_start, w_end))
        day += timedelta(days=1)
    return merge(windows)


@dataclass(frozen=True)
class ProviderSchedule:
    """One provider's raw availability at one location around a range."""

    hours: list[tuple[int, time, time]]
    overrides: list[Interval]
    block_offs: list[Interval]

    def windows(self, tz: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
        base = weekly_windows(self.hours, tz, start, end)
        return subtract(merge([*base, *self.overrides]), self.block_offs)


async def load_schedules(
    ctx: Context,
    *,
    provider_ids: Sequence[uuid.UUID],
    location_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, ProviderSchedule]:
    """Hours and exceptions of many providers at one location: two statements.

    Callers have already decided which providers the principal may see; these rows are
    tenant rows of those providers (RLS still applies).
    """
    hours: dict[uuid.UUID, list[tuple[int, time, time]]] = defaultdict(list)
    overrides: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    block_offs: dict[uuid.UUID, list[Interval]] = defaultdict(list)
    if provider_ids:
        for row in (
            await ctx.session.execute(
                select(
                    WeeklyHours.provider_id,
                    WeeklyHours.weekday,
                    WeeklyHours.start_time,
                    WeeklyHours.end_time,
                ).where(
                    WeeklyHours.provider_id.in_(provider_ids),
                    WeeklyHours.location_id == location_id,
                )
            )
        ).all():
            hours[row.provider_id].append((row.weekday, row.start_time, row.end_time))
        margin = timedelta(days=1)
        for exc in (
            await ctx.session.execute(
                select(AvailabilityException).where(
                    AvailabilityException.provider_id.in_(provider_ids),
                    AvailabilityException.starts_at < end + margin,
                    AvailabilityException.ends_at > start - margin,
                    or_(
                        AvailabilityException.location_id.is_(None),
                        AvailabilityException.location_id == location_id,
                    ),
                )
            )
        ).scalars():
            target = overrides if exc.kind is AvailabilityExceptionKind.OVERRIDE else block_offs
            target[exc.provider_id].append((exc.starts_at, exc.ends_at))
    return {
        pid: ProviderSchedule(hours[pid], overrides[pid], block_offs[pid]) for pid in provider_ids
    }


# --- reads --------------------------------------------------------------------------------


async def weekly_hours_by_provider(
    ctx: Context, provider_ids: Sequence[uuid.UUID]
) -> list[list[WeeklyHours]]:
    rows = (
        await ctx.session.execute(
            select(WeeklyHours)
            .where(
                WeeklyHours.provider_id.in_(provider_ids),
                ctx.scope(Action.AVAILABILITY_READ, HOURS_ANCHOR),
            )
            .order_by(WeeklyHours.weekday, WeeklyHours.start_time, WeeklyHours.id)
        )
    ).scalars()
    grouped: dict[uuid.UUID, list[WeeklyHours]] = defaultdict(list)
    for row in rows:
        grouped[row.provider_id].append(row)
    return [grouped.get(pid, []) for pid in provider_ids]


async def list_exceptions(
    ctx: Context, *, provider_id: uuid.UUID, start: datetime, end: datetime
) -> list[AvailabilityException]:
    rows = (
        await ctx.session.execute(
            select(AvailabilityException)
            .where(
                AvailabilityException.provider_id == provider_id,
                AvailabilityException.starts_at < end,
                AvailabilityException.ends_at > start,
                ctx.scope(Action.AVAILABILITY_READ, EXCEPTION_ANCHOR),
            )
            .order_by(AvailabilityException.starts_at, AvailabilityException.id)
        )
    ).scalars()
    return list(rows)


# --- writes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursInput:
    weekday: int
    start_time: time
    end_time: time


async def _provider_for(ctx: Context, action: Action, provider_id: uuid.UUID | None) -> Provider:
    provider: Provider = await ctx.find(Provider, provider_id, action)
    return provider


async def _location_of(
    ctx: Context, provider: Provider, location_id: uuid.UUID | None, field: str = "locationId"
) -> Location:
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
        raise invalid(field, "No such location in this medspa.", code=DomainErrorCode.NOT_FOUND)
    return location


async def _works_at(ctx: Context, provider: Provider, location: Location) -> bool:
    return (
        await ctx.session.execute(
            select(ProviderLocation.provider_id).where(
                ProviderLocation.provider_id == provider.id,
                ProviderLocation.location_id == location.id,
            )
        )
    ).first() is not None


async def set_weekly_hours(
    ctx: Context,
    *,
    provider_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    hours: Sequence[HoursInput],
) -> tuple[WeeklyHours, ...]:
    """Replace a provider's weekly hours at one location."""
    provider = await _provider_for(ctx, Action.AVAILABILITY_MANAGE, provider_id)
    await require_scheduling(ctx, provider.medspa_id)
    location = await _location_of(ctx, provider, location_id)
    if not await _works_at(ctx, provider, location):
        raise invalid(
            "locationId",
            "The provider does not work at this location; configure the provider first.",
            code=DomainErrorCode.PROVIDER_NOT_AT_LOCATION,
        )
    by_day: dict[int, list[HoursInput]] = defaultdict(list)
    for i, h in enumerate(hours):
        if not 0 <= h.weekday <= 6:
            raise invalid(f"hours.{i}.weekday", "Unknown weekday.")
        if h.end_time <= h.start_time:
            raise invalid(f"hours.{i}.endTime", "Hours must end after they start (same day).")
        by_day[h.weekday].append(h)
    for weekday, day_hours in by_day.items():
        ordered = sorted(day_hours, key=lambda h: h.start_time)
        for before, after in itertools.pairwise(ordered):
            if after.start_time < before.end_time:
                raise invalid("hours", f"Overlapping hours on weekday {weekday}.")
    await ctx.session.execute(
        delete(WeeklyHours).where(
            WeeklyHours.provider_id == provider.id, WeeklyHours.location_id == location.id
        )
    )
    rows = [
        WeeklyHours(
            id=uuid.uuid4(),
            medspa_id=provider.medspa_id,
            provider_id=provider.id,
            location_id=location.id,
            weekday=h.weekday,
            start_time=h.start_time,
            end_time=h.end_time,
        )
        for h in sorted(hours, key=lambda h: (h.weekday, h.start_time))
    ]
    ctx.session.add_all(rows)
    await ctx.session.flush()
    ctx.allowed(
        Action.AVAILABILITY_MANAGE,
        resource_type="Provider",
        resource_id=provider.id,
        medspa_id=provider.medspa_id,
        detail={
            "operation": "set_weekly_hours",
            "locationId": str(location.id),
            "count": len(rows),
        },
    )
    return tuple(rows)


async def add_exception(
    ctx: Context,
    *,
    kind: AvailabilityExceptionKind,
    provider_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None,
) -> AvailabilityException:
    """A block-off (time off; everywhere unless a location is given) or an override."""
    action = (
        Action.AVAILABILITY_BLOCK_OFF
        if kind is AvailabilityExceptionKind.BLOCK_OFF
        else Action.AVAILABILITY_MANAGE
    )
    provider = await _provider_for(ctx, action, provider_id)
    medspa = await require_scheduling(ctx, provider.medspa_id)
    location = None
    if location_id is not None or kind is AvailabilityExceptionKind.OVERRIDE:
        location = await _location_of(ctx, provider, location_id)
        if not await _works_at(ctx, provider, location):
            raise invalid(
                "locationId",
                "The provider does not work at this location.",
                code=DomainErrorCode.PROVIDER_NOT_AT_LOCATION,
            )
    tz = zone(location.time_zone if location else medspa.time_zone)
    start, end = as_instant(starts_at, tz), as_instant(ends_at, tz)
    if end <= start:
        raise invalid("endsAt", "Must end after it starts.")
    if end - start > MAX_EXCEPTION_LENGTH:
        raise invalid("endsAt", "At most one year at a time.")
    text = (reason or "").strip() or None
    if text is not None and len(text) > 200:
        raise invalid("reason", "At most 200 characters.")
    row = AvailabilityException(
        id=uuid.uuid4(),
        medspa_id=provider.medspa_id,
        provider_id=provider.id,
        location_id=location.id if location else None,
        kind=kind,
        starts_at=start,
        ends_at=end,
        reason=text,
        created_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    ctx.allowed(
        action,
        resource_type="AvailabilityException",
        resource_id=row.id,
        medspa_id=provider.medspa_id,
        detail={"operation": "add", "kind": kind.value, "providerId": str(provider.id)},
    )
    return row


async def remove_exception(
    ctx: Context, *, exception_id: uuid.UUID | None
) -> AvailabilityException:
    # Which action applies depends on the row's kind, so look it up (in read scope) first.
    row = None
    if exception_id is not None and ctx.principal.grant(Action.AVAILABILITY_READ) is not None:
        row = (
            await ctx.session.execute(
                select(AvailabilityException).where(
                    AvailabilityException.id == exception_id,
                    ctx.scope(Action.AVAILABILITY_READ, EXCEPTION_ANCHOR),
                )
            )
        ).scalar_one_or_none()
    action = (
        Action.AVAILABILITY_MANAGE
        if row is not None and row.kind is AvailabilityExceptionKind.OVERRIDE
        else Action.AVAILABILITY_BLOCK_OFF
    )
    ctx.authorize(action, resource_type="AvailabilityException", resource_id=exception_id)
    if row is None:
        ctx.audit(
            action.value,
            AuditOutcome.DENIED,
            resource_type="AvailabilityException",
            resource_id=exception_id,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("Availability exception not found.")
    await _provider_for(ctx, action, row.provider_id)  # the action's scope, on its provider
    await require_scheduling(ctx, row.medspa_id)
    await ctx.session.delete(row)
    await ctx.session.flush()
    ctx.allowed(
        action,
        resource_type="AvailabilityException",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"operation": "remove", "kind": row.kind.value},
    )
    return row
