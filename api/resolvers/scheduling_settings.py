"""A medspa's scheduling settings: deposits, cancellation fees, patient notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.errors import invalid
from api.resolvers.scheduling import require_scheduling, tenant_of
from db.models import SchedulingSettings

if TYPE_CHECKING:
    from api.context import Context

MAX_REMINDERS = 3
MAX_REMINDER_LEAD_HOURS = 24 * 14


async def settings_of(ctx: Context, medspa_id: uuid.UUID) -> SchedulingSettings:
    """The stored settings, or the defaults (not added to the session) when none are stored."""
    row = (
        await ctx.session.execute(
            select(SchedulingSettings).where(SchedulingSettings.medspa_id == medspa_id)
        )
    ).scalar_one_or_none()
    return row if row is not None else SchedulingSettings.defaults(medspa_id)


async def settings_by_medspa(
    ctx: Context, medspa_ids: Sequence[uuid.UUID]
) -> list[SchedulingSettings]:
    rows = {
        r.medspa_id: r
        for r in (
            await ctx.session.execute(
                select(SchedulingSettings).where(SchedulingSettings.medspa_id.in_(medspa_ids))
            )
        ).scalars()
    }
    return [rows.get(i) or SchedulingSettings.defaults(i) for i in medspa_ids]


@dataclass(frozen=True)
class SettingsChanges:
    deposits_enabled: bool | None = None
    cancellation_fees_enabled: bool | None = None
    cancellation_window_hours: int | None = None
    send_confirmation: bool | None = None
    reminder_lead_hours: Sequence[int] | None = None
    send_cancellation_notice: bool | None = None


async def update_scheduling_settings(
    ctx: Context, *, changes: SettingsChanges
) -> SchedulingSettings:
    medspa_id = tenant_of(ctx)
    await require_scheduling(ctx, medspa_id)
    row = (
        await ctx.session.execute(
            select(SchedulingSettings)
            .where(SchedulingSettings.medspa_id == medspa_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        row = SchedulingSettings.defaults(medspa_id)
        ctx.session.add(row)
    for attribute in (
        "deposits_enabled",
        "cancellation_fees_enabled",
        "send_confirmation",
        "send_cancellation_notice",
    ):
        value = getattr(changes, attribute)
        if value is not None:
            setattr(row, attribute, value)
    if changes.cancellation_window_hours is not None:
        if not 0 <= changes.cancellation_window_hours <= 720:
            raise invalid("cancellationWindowHours", "From 0 to 720 hours.")
        row.cancellation_window_hours = changes.cancellation_window_hours
    if changes.reminder_lead_hours is not None:
        leads = sorted(set(changes.reminder_lead_hours), reverse=True)
        if len(leads) > MAX_REMINDERS or any(not 1 <= h <= MAX_REMINDER_LEAD_HOURS for h in leads):
            raise invalid(
                "reminderLeadHours",
                f"Up to {MAX_REMINDERS} reminders,"
                f" each 1 to {MAX_REMINDER_LEAD_HOURS} hours ahead.",
            )
        row.reminder_lead_hours = leads
    row.updated_at = datetime.now(UTC)
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_UPDATE_SETTINGS,
        resource_type="SchedulingSettings",
        resource_id=medspa_id,
        detail={"operation": "update_scheduling_settings"},
    )
    return row
