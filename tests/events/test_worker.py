"""The worker as a real process (issue 17 "done when"): booking an appointment puts a
confirmation in a local SMTP sink and fires a webhook that verifies with `standardwebhooks`
on a local receiver. Also: the registration link is sent, and a row is sent at most once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from api.events.notifications import send_outbox_row
from api.events.notifier import Channels, Message
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import Gql, Principals
from tests.events.sinks import mail_sink, webhook_receiver
from tests.faults.processes import MEDSPA_API
from tests.scheduling.helpers import BOOK, GLOW_ADMIN, booking, rows, scalar

CREATE_ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { errors { code field message }
        secret endpoint { id url eventTypes active } } }"""
SEND_LINK = """mutation($id: ID!) { sendRegistrationLink(patientId: $id) { errors { code } } }"""


def _start_worker(database_url: str, smtp_port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDSPA_ENV": "test",
        "MEDSPA_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "MEDSPA_SMS_SINK_PATH": str(tmp_path / "sms.jsonl"),
    }
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(MEDSPA_API), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _until(check: Callable[[], bool], *, seconds: float = 25.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the worker did not deliver in time")


async def test_booking_sends_a_confirmation_and_a_signed_webhook(
    gql: Gql,
    principals: Principals,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    database_url: str,
    tmp_path: Path,
) -> None:
    key = await principals.api_key(scopes=("APPOINTMENTS_READ",))
    with mail_sink() as mail, webhook_receiver() as receiver:
        created = await gql(
            CREATE_ENDPOINT,
            {"input": {"url": receiver.url, "eventTypes": ["APPOINTMENT_BOOKED"]}},
            bearer=key,
        )
        payload = created.data["createWebhookEndpoint"]
        assert payload["errors"] == [], payload
        secret = payload["secret"]
        assert secret.startswith("whsec_")

        variables = await booking(owner_engine, demo)
        booked = await gql(BOOK, variables, as_=GLOW_ADMIN)
        appointment = booked.data["bookAppointment"]["appointment"]
        patient_email = appointment["patient"]["email"]
        assert patient_email
        worker = _start_worker(database_url, mail.port, tmp_path)
        try:
            await _until(lambda: bool(mail.to(patient_email)) and bool(receiver.received))
        finally:
            _stop(worker)

    confirmation = mail.to(patient_email)
    assert len(confirmation) == 1
    assert "confirmed" in confirmation[0]["Subject"]
    body = confirmation[0].get_payload()
    assert "Glow Aesthetics" in str(body)
    assert "EST" in str(body) or "EDT" in str(body), body  # the medspa's time zone

    hook = receiver.received[0]
    event = Webhook(secret).verify(hook.body, hook.headers)
    assert event["type"] == "appointment.booked"
    assert event["data"]["id"] == appointment["id"]
    assert "firstName" not in json.dumps(event)  # ids and times only

    sent = await rows(owner_engine, "SELECT sent_at, attempts FROM notification_outbox")
    confirmations = [r for r in sent if r["sent_at"] is not None]
    assert confirmations and all(r["attempts"] == 1 for r in confirmations)
    deliveries = await rows(
        owner_engine, "SELECT status, attempts, response_status FROM webhook_delivery"
    )
    assert deliveries == [{"status": "SUCCEEDED", "attempts": 1, "response_status": 204}]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        await asyncio.sleep(0.05)  # a slow transport: the second sender must wait, not send
        self.sent.append(message)


async def test_a_row_is_sent_at_most_once(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await scalar(
        owner_engine,
        "SELECT id FROM patient WHERE medspa_id = :m AND email IS NOT NULL"
        " AND registration_status <> 'COMPLETED' ORDER BY last_name LIMIT 1",
        m=demo.medspas["glow"],
    )
    from api.ids import encode_global_id

    answer = await gql(SEND_LINK, {"id": encode_global_id("Patient", patient)}, as_=GLOW_ADMIN)
    assert answer.data["sendRegistrationLink"]["errors"] == [], answer.body
    (row,) = await rows(
        owner_engine,
        "SELECT id, payload FROM notification_outbox WHERE kind = 'REGISTRATION_LINK'",
    )
    assert "/register/" in row["payload"]["url"]
    recorder = Recorder()
    channels = Channels(email=recorder, sms=recorder)
    sessions = session_factory(owner_engine)
    results = await asyncio.gather(
        *(send_outbox_row(sessions, channels, row["id"], final_attempt=False) for _ in range(3))
    )
    assert sorted(results) == [False, False, True]
    assert len(recorder.sent) == 1
    assert recorder.sent[0].key == str(row["id"])
    assert "/register/" in recorder.sent[0].body
    (after,) = await rows(
        owner_engine,
        "SELECT payload, sent_at FROM notification_outbox WHERE id = :id",
        id=row["id"],
    )
    assert after["sent_at"] is not None
    assert "url" not in after["payload"]  # the token leaves the database once sent
