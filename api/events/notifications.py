"""Sending one outbox row, at most once.

The job locks its row (`FOR UPDATE`: a second worker holding the same job waits, then finds
it sent), skips a row already sent, superseded or given up, renders the medspa's template in
the medspa's time zone and sends it, then stamps `sent_at` in the same transaction. The only
window for a duplicate is a commit that fails after the transport accepted the message; the
message then carries the row id (email `Message-ID`) for the receiver to drop it.

Messages go to the patient the row names, by email when they have an address, else by SMS.
A registration link's URL (it holds the token) is in the row only until it is sent.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.events.notifier import Channels, Message
from api.events.templates import DEFAULTS, render, values
from db.models import (
    Appointment,
    Medspa,
    Membership,
    MembershipRole,
    NotificationChannel,
    NotificationKind,
    NotificationOutbox,
    NotificationTemplate,
    Patient,
    User,
)
from db.session import set_tenant_settings

log = logging.getLogger(__name__)

# A reminder is pointless once its appointment has started; any other message once a day
# old (e.g. the worker was down): both are stamped superseded instead of sent.
STALE_AFTER = timedelta(days=1)


async def send_outbox_row(
    sessions: async_sessionmaker[AsyncSession],
    channels: Channels,
    outbox_id: uuid.UUID,
    *,
    final_attempt: bool,
) -> bool:
    """Send the row; True when it was sent now. Raises after recording a failed attempt
    (the caller retries), unless it was the last one (then `failed_at`)."""
    failure: Exception | None = None
    async with sessions() as session, session.begin():
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        row = await session.scalar(
            select(NotificationOutbox).where(NotificationOutbox.id == outbox_id).with_for_update()
        )
        if row is None or row.sent_at or row.superseded_at or row.failed_at:
            return False
        now = datetime.now(UTC)
        if await _stale(session, row, now):
            row.superseded_at = now
            return False
        message = await _message(session, row)
        try:
            await channels.send(message)
        except Exception as exc:  # any transport failure: recorded, then retried
            failure = exc
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if final_attempt:
                row.failed_at = now
        else:
            row.attempts += 1
            row.sent_at = datetime.now(UTC)
            row.last_error = None
            # A link's secret lives in the row only until it is sent.
            secret = SECRET_FIELDS.get(row.kind)
            if secret is not None:
                row.payload = {k: v for k, v in row.payload.items() if k != secret}
    if failure is not None:
        log.warning("notification %s attempt failed: %s", outbox_id, type(failure).__name__)
        if not final_attempt:
            raise failure
        return False
    log.info("notification %s sent", outbox_id)
    return True


async def _stale(session: AsyncSession, row: NotificationOutbox, now: datetime) -> bool:
    if row.deliver_at < now - STALE_AFTER:
        return True
    if row.kind is NotificationKind.APPOINTMENT_REMINDER and row.appointment_id:
        starts_at = await session.scalar(
            select(Appointment.starts_at).where(Appointment.id == row.appointment_id)
        )
        return starts_at is None or starts_at <= now
    return False


async def _message(session: AsyncSession, row: NotificationOutbox) -> Message:
    medspa = (await session.execute(select(Medspa).where(Medspa.id == row.medspa_id))).scalar_one()
    channel, to, first_name = await _recipient(session, row)
    custom = await session.scalar(
        select(NotificationTemplate).where(
            NotificationTemplate.medspa_id == row.medspa_id,
            NotificationTemplate.kind == row.kind,
            NotificationTemplate.channel == channel,
        )
    )
    subject, body = (custom.subject, custom.body) if custom else DEFAULTS[(row.kind, channel)]
    names = values(
        row.payload, medspa=medspa.name, time_zone=medspa.time_zone, first_name=first_name
    )
    subject, body = render(subject, body, names)
    return Message(channel=channel, to=to, subject=subject, body=body, key=str(row.id))


async def _recipient(
    session: AsyncSession, row: NotificationOutbox
) -> tuple[NotificationChannel, str, str]:
    """(channel, address, first name) of whom the row is for: the patient; the invited
    person; for notices about the medspa's own business (inventory orders), its active
    admins, in one message."""
    if row.patient_id is not None:
        patient = (
            await session.execute(select(Patient).where(Patient.id == row.patient_id))
        ).scalar_one()
        channel = NotificationChannel.EMAIL if patient.email else NotificationChannel.SMS
        return channel, patient.email or patient.phone or "", patient.first_name
    if row.kind is NotificationKind.STAFF_INVITATION:
        full_name = str(row.payload.get("fullName") or "")
        return NotificationChannel.EMAIL, str(row.payload["to"]), full_name.split(" ")[0]
    admins = (
        await session.execute(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.medspa_id == row.medspa_id,
                Membership.role == MembershipRole.MEDSPA_ADMIN,
                Membership.deactivated_at.is_(None),
            )
            .order_by(User.email)
        )
    ).scalars()
    return NotificationChannel.EMAIL, ", ".join(admins), "team"


# The payload field holding a link's secret, removed once the message is sent.
SECRET_FIELDS: dict[NotificationKind, str] = {
    NotificationKind.REGISTRATION_LINK: "url",
    NotificationKind.STAFF_INVITATION: "acceptUrl",
}
