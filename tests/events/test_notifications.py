"""Notifications as the worker sends them (without a worker process: the job functions are
called directly): the medspa's own template in its time zone, SMS when there is no email,
retries recorded then given up, stale reminders dropped, and the periodic jobs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.events import worker
from api.events.notifications import send_outbox_row
from api.events.notifier import Channels, Message, SmsDevSink
from db.models import NotificationChannel
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import TEST_SETTINGS, Gql
from tests.scheduling.helpers import BOOK, GLOW_ADMIN, booking, rows, scalar


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        self.sent.append(message)


class Broken:
    async def send(self, message: Message) -> None:
        raise ConnectionRefusedError("smtp down")


async def _execute(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def _book(gql: Gql, owner_engine: AsyncEngine, demo: DemoIds) -> uuid.UUID:
    answer = await gql(BOOK, await booking(owner_engine, demo), as_=GLOW_ADMIN)
    assert answer.data["bookAppointment"]["errors"] == [], answer.body
    outbox_id: uuid.UUID = await scalar(
        owner_engine, "SELECT id FROM notification_outbox WHERE kind = 'APPOINTMENT_CONFIRMATION'"
    )
    return outbox_id


async def test_the_medspas_template_in_its_time_zone(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    await _execute(
        owner_engine,
        "INSERT INTO notification_template (id, medspa_id, kind, channel, subject, body)"
        " VALUES (gen_random_uuid(), :m, 'APPOINTMENT_CONFIRMATION', 'EMAIL',"
        " 'See you, $firstName',"
        " 'On $date at $time with $provider. ${__class__} $missing')",
        m=demo.medspas["glow"],
    )
    outbox_id = await _book(gql, owner_engine, demo)
    recorder = Recorder()
    sent = await send_outbox_row(
        session_factory(owner_engine),
        Channels(email=recorder, sms=recorder),
        outbox_id,
        final_attempt=False,
    )
    assert sent
    (message,) = recorder.sent
    assert message.subject.startswith("See you, ")
    # Booked next Tuesday at 11:00 in New York: shown in Glow's zone, not UTC.
    assert "at 11:00 AM E" in message.body, message.body
    assert "Tuesday" in message.body
    assert "${__class__} $missing" in message.body  # names only, never code


async def test_sms_when_the_patient_has_no_email(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    outbox_id = await _book(gql, owner_engine, demo)
    await _execute(
        owner_engine,
        "UPDATE patient SET email = NULL, phone = coalesce(phone, '+15555550100') WHERE id ="
        " (SELECT patient_id FROM notification_outbox WHERE id = :id)",
        id=outbox_id,
    )
    sink = tmp_path / "sms.jsonl"
    sent = await send_outbox_row(
        session_factory(owner_engine),
        Channels(email=Broken(), sms=SmsDevSink(sink)),
        outbox_id,
        final_attempt=False,
    )
    assert sent
    (line,) = sink.read_text().splitlines()
    message = json.loads(line)
    assert message["to"].startswith("+") and "Glow Aesthetics" in message["body"]
    assert message["key"] == str(outbox_id)
    assert NotificationChannel.SMS.value == "SMS"


async def test_failures_are_recorded_then_given_up(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    outbox_id = await _book(gql, owner_engine, demo)
    sessions = session_factory(owner_engine)
    channels = Channels(email=Broken(), sms=Broken())
    with pytest.raises(ConnectionRefusedError):
        await send_outbox_row(sessions, channels, outbox_id, final_attempt=False)
    assert not await send_outbox_row(sessions, channels, outbox_id, final_attempt=True)
    (row,) = await rows(
        owner_engine,
        "SELECT attempts, last_error, failed_at, sent_at FROM notification_outbox WHERE id = :id",
        id=outbox_id,
    )
    assert row["attempts"] == 2 and "smtp down" in row["last_error"]
    assert row["failed_at"] is not None and row["sent_at"] is None
    # Given up means done: a later job sends nothing.
    recorder = Recorder()
    assert not await send_outbox_row(
        sessions, Channels(email=recorder, sms=recorder), outbox_id, final_attempt=False
    )
    assert recorder.sent == []


async def test_a_reminder_a_day_late_is_dropped(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    await _book(gql, owner_engine, demo)
    reminder: uuid.UUID = await scalar(
        owner_engine,
        "SELECT id FROM notification_outbox WHERE kind = 'APPOINTMENT_REMINDER' LIMIT 1",
    )
    # Due two days ago (the worker was down): a reminder that late says nothing useful.
    await _execute(
        owner_engine,
        "UPDATE notification_outbox SET deliver_at = now() - interval '2 days' WHERE id = :id",
        id=reminder,
    )
    recorder = Recorder()
    assert not await send_outbox_row(
        session_factory(owner_engine),
        Channels(email=recorder, sms=recorder),
        reminder,
        final_attempt=False,
    )
    assert recorder.sent == []
    superseded = await scalar(
        owner_engine, "SELECT superseded_at FROM notification_outbox WHERE id = :id", id=reminder
    )
    assert superseded is not None


async def test_periodic_jobs(
    demo: DemoIds, owner_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = worker.WorkerState(
        settings=TEST_SETTINGS,
        sessions=session_factory(owner_engine),
        channels=Channels(email=Recorder(), sms=Recorder()),
    )
    monkeypatch.setattr(worker, "_state", state)
    glow = demo.medspas["glow"]
    patient = await scalar(
        owner_engine, "SELECT id FROM patient WHERE medspa_id = :m ORDER BY id LIMIT 1", m=glow
    )
    service = await scalar(
        owner_engine, "SELECT id FROM service WHERE medspa_id = :m ORDER BY id LIMIT 1", m=glow
    )
    await _execute(
        owner_engine,
        "INSERT INTO clearance (id, medspa_id, patient_id, service_id, source, signer_name,"
        " signed_at, expires_at, diagnoses) VALUES (gen_random_uuid(), :m, :p, :s, 'PORTRAIT',"
        " 'Dr. Test', now() - interval '300 days', now() + interval '5 days', '{}')",
        m=glow,
        p=patient,
        s=service,
    )
    for _ in range(2):  # several workers (or hours) write one reminder
        await worker.clearance_expiry_reminders(timestamp=0)
    (reminder,) = await rows(
        owner_engine,
        "SELECT patient_id, payload FROM notification_outbox WHERE kind = 'CLEARANCE_EXPIRING'",
    )
    assert reminder["patient_id"] == patient and "expiresAt" in reminder["payload"]

    user = await scalar(owner_engine, "SELECT id FROM app_user ORDER BY email LIMIT 1")
    await _execute(
        owner_engine,
        "INSERT INTO registration_link (id, medspa_id, patient_id, token_hash, sent_to,"
        " sent_by_user_id, sent_at, expires_at) VALUES (gen_random_uuid(), :m, :p,"
        " md5(random()::text), 'x@example.com', :u, now() - interval '8 days',"
        " now() - interval '1 day')",
        m=glow,
        p=patient,
        u=user,
    )
    await _execute(
        owner_engine,
        "UPDATE patient SET registration_status = 'LINK_SENT' WHERE id = :p",
        p=patient,
    )
    await worker.expire_registration_links(timestamp=0)
    status = await scalar(
        owner_engine, "SELECT registration_status FROM patient WHERE id = :p", p=patient
    )
    assert status == "NOT_STARTED"
