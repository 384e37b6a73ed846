"""The live calendar (`calendarChanged`): which changes a subscriber sees.

A subscription names a window like the calendar query's (from, to, providers, locations).
For each appointment notice it re-reads the appointment through the subscriber's
appointment.read scope (the calendar's own mechanism): invisible means nothing is sent. A
visible appointment inside the window is sent; one that was inside it before this change
(it moved away: another time, provider or location) is sent as removed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from api.authz.actions import Action
from api.resolvers.appointment import ANCHOR, RECORD_COLUMNS, AppointmentRecord
from api.resolvers.scheduling import as_instant, check_range
from api.subscriptions.live import LiveContext
from api.subscriptions.notices import Notice, Placement
from db.models import Appointment


@dataclass(frozen=True, slots=True)
class CalendarWindow:
    start: datetime
    end: datetime
    provider_ids: frozenset[uuid.UUID | None] | None
    location_ids: frozenset[uuid.UUID | None] | None

    def holds(self, place: Placement) -> bool:
        return (
            place.starts_at < self.end
            and place.ends_at > self.start
            and (self.provider_ids is None or place.provider_id in self.provider_ids)
            and (self.location_ids is None or place.location_id in self.location_ids)
        )


@dataclass(frozen=True, slots=True)
class CalendarChange:
    appointment_id: uuid.UUID
    # None: the appointment left the window (moved to another time, provider or location).
    appointment: AppointmentRecord | None


def window_of(
    *,
    start: datetime,
    end: datetime,
    provider_ids: Collection[uuid.UUID | None] | None,
    location_ids: Collection[uuid.UUID | None] | None,
) -> CalendarWindow:
    start, end = as_instant(start, field="from"), as_instant(end, field="to")
    check_range(start, end)
    return CalendarWindow(
        start,
        end,
        frozenset(provider_ids) if provider_ids is not None else None,
        frozenset(location_ids) if location_ids is not None else None,
    )


async def changes(ctx: LiveContext, window: CalendarWindow) -> AsyncIterator[CalendarChange]:
    """The subscriber's changes, one per relevant notice, until the connection ends it."""
    live = ctx.live
    assert live is not None
    async with live.event(ctx):
        ctx.authorize(Action.APPOINTMENT_READ, resource_type="Appointment")
    live.started.set()
    while True:
        notice = await live.next_notice()
        async with live.event(ctx):
            # The permission itself may have gone (a policy change): a refusal ends it.
            ctx.authorize(Action.APPOINTMENT_READ, resource_type="Appointment")
            change = await _change(ctx, notice, window)
            if change is not None:
                yield change


async def _change(
    ctx: LiveContext, notice: Notice, window: CalendarWindow
) -> CalendarChange | None:
    row = (
        await ctx.session.execute(
            select(*RECORD_COLUMNS).where(
                Appointment.medspa_id == notice.medspa_id,
                Appointment.id == notice.appointment_id,
                ctx.scope(Action.APPOINTMENT_READ, ANCHOR),
            )
        )
    ).first()
    if row is None:
        return None  # invisible, or gone: the same to the subscriber
    record: AppointmentRecord = row
    now = Placement(record.starts_at, record.ends_at, record.provider_id, record.location_id)
    if window.holds(now):
        return CalendarChange(record.id, record)
    if notice.before is not None and window.holds(notice.before):
        return CalendarChange(record.id, None)
    return None
