"""Writes to the notification outbox, in the booking's own transaction (outbox pattern).

What is written follows the medspa's scheduling settings: a confirmation on booking, a notice
on reschedule (with the confirmation setting) and on cancellation (with the cancellation
setting), and one reminder per configured lead time that is still in the future. Moving or
cancelling an appointment supersedes its unsent reminders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from db.models import (
    Appointment,
    AppointmentType,
    Location,
    NotificationKind,
    NotificationOutbox,
    Provider,
    SchedulingSettings,
)

if TYPE_CHECKING:
    from api.context import Context


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
