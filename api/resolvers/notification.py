"""Writes to the notification outbox, in the booking's own transaction (outbox pattern).

What is written follows the medspa's scheduling settings: a confirmation on booking, a notice
on reschedule (with the confirmation setting) and on cancellation (with the cancellation
setting), and one reminder per configured lead time that is still in the future. Moving or
cancelling an appointment supersedes its unsent reminders. Each booking event is also
announced to partners' webhooks (`emit`). `queue_registration_link` queues the message that
carries a registration link.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from api.events.emit import EventKind, emit
from api.events.queue import NOTIFICATION_TASK, defer_jobs
from db.models import (
    Appointment,
    AppointmentType,
    Location,
    NotificationKind,
    NotificationOutbox,
    Provider,
    RegistrationLink,
    SchedulingSettings,
)

if TYPE_CHECKING:
    from api.context import Context

# The partner event each booking event announces (api/events/emit.py).
_EVENTS = {
    NotificationKind.APPOINTMENT_CONFIRMATION: EventKind.APPOINTMENT_BOOKED,
    NotificationKind.APPOINTMENT_RESCHEDULED: EventKind.APPOINTMENT_RESCHEDULED,
    NotificationKind.APPOINTMENT_CANCELLED: EventKind.APPOINTMENT_CANCELLED,
}


def _payload(
    appointment: Appointment,
    *,
    appointment_type: AppointmentType,
    provider: Provider,
    location: Location,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "appointmentId": str(appointment.id),
        "startsAt": appointment.starts_at.isoformat(),
        "endsAt": appointment.ends_at.isoformat(),
        "timeZone": location.time_zone,
        "appointmentType": appointment_type.name,
        "provider": provider.display_name,
        "location": location.name,
        **(extra or {}),
    }


def _row(
    appointment: Appointment, kind: NotificationKind, deliver_at: datetime, payload: dict[str, Any]
) -> NotificationOutbox:
    return NotificationOutbox(
        id=uuid.uuid4(),
        medspa_id=appointment.medspa_id,
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        kind=kind,
        deliver_at=deliver_at,
        payload=payload,
    )


async def queue_appointment_notices(
    ctx: Context,
    *,
    event: NotificationKind,
    appointment: Appointment,
    settings: SchedulingSettings,
    appointment_type: AppointmentType,
    provider: Provider,
    location: Location,
    extra: dict[str, Any] | None = None,
) -> None:
    """Outbox rows for one booking event (confirmation, reschedule or cancellation)."""
    now = datetime.now(UTC)
    if event is not NotificationKind.APPOINTMENT_CONFIRMATION:
        await ctx.session.execute(
            update(NotificationOutbox)
            .where(
                NotificationOutbox.appointment_id == appointment.id,
                NotificationOutbox.kind == NotificationKind.APPOINTMENT_REMINDER,
                NotificationOutbox.sent_at.is_(None),
                NotificationOutbox.superseded_at.is_(None),
            )
            .values(superseded_at=now)
            .execution_options(synchronize_session=False)
        )
    payload = _payload(
        appointment,
        appointment_type=appointment_type,
        provider=provider,
        location=location,
        extra=extra,
    )
    wanted = {
        NotificationKind.APPOINTMENT_CONFIRMATION: settings.send_confirmation,
        NotificationKind.APPOINTMENT_RESCHEDULED: settings.send_confirmation,
        NotificationKind.APPOINTMENT_CANCELLED: settings.send_cancellation_notice,
    }[event]
    rows = [_row(appointment, event, now, payload)] if wanted else []
    if event is not NotificationKind.APPOINTMENT_CANCELLED:
        for hours in settings.reminder_lead_hours:
            deliver_at = appointment.starts_at - timedelta(hours=hours)
            if deliver_at > now:
                rows.append(
                    _row(
                        appointment,
                        NotificationKind.APPOINTMENT_REMINDER,
                        deliver_at,
                        {**payload, "leadHours": hours},
                    )
                )
    ctx.session.add_all(rows)
    await defer_jobs(
        ctx.session, NOTIFICATION_TASK, [r.id for r in rows], [r.deliver_at for r in rows]
    )
    await emit(ctx, _EVENTS[event], appointment)


async def queue_registration_link(
    ctx: Context, *, link: RegistrationLink, url: str, deliver_at: datetime
) -> None:
    """The message carrying a registration link. The URL holds the link's token: the worker
    removes it from the row once the message is sent."""
    row = NotificationOutbox(
        id=uuid.uuid4(),
        medspa_id=link.medspa_id,
        appointment_id=None,
        patient_id=link.patient_id,
        subject_id=link.id,
        kind=NotificationKind.REGISTRATION_LINK,
        deliver_at=deliver_at,
        payload={"url": url, "expiresAt": link.expires_at.isoformat()},
    )
    ctx.session.add(row)
    await defer_jobs(ctx.session, NOTIFICATION_TASK, [row.id], [deliver_at])
