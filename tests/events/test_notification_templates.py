"""A medspa's wording of its patient messages over GraphQL (issue 17 §1): admins read every
patient message as it reads now, replace one (only with the names that message carries), and
reset it; the worker sends what is stored. Written from the policy: medspa.update_settings is
TENANT for medspa admins and nobody else's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.events.notifications import send_outbox_row
from api.events.notifier import Channels
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.events.test_notifications import Recorder
from tests.matrix import OK, expect
from tests.scheduling.helpers import BOOK, GLOW_ADMIN, booking, rows, scalar, snapshot

LIST = """{ notificationTemplates { kind channel subject body custom placeholders } }"""
SET = """mutation($input: NotificationTemplateInput!) { setNotificationTemplate(input: $input) {
    template { kind channel subject body custom } errors { code field message } } }"""
RESET = """mutation($k: NotificationKind!, $c: NotificationChannel!) {
    resetNotificationTemplate(kind: $k, channel: $c) {
    template { kind channel body custom } errors { code field } } }"""
CONFIRMATION = {
    "kind": "APPOINTMENT_CONFIRMATION",
    "channel": "EMAIL",
    "subject": "See you soon, $firstName",
    "body": "Your $appointmentType with $provider is on $date at $time. Bring $$20 in cash.",
}
# The patient messages a medspa words, each on both channels (email, or SMS when the patient
# has no email address).
PATIENT_MESSAGES = {
    (kind, channel)
    for kind in (
        "APPOINTMENT_CONFIRMATION",
        "APPOINTMENT_RESCHEDULED",
        "APPOINTMENT_CANCELLED",
        "APPOINTMENT_REMINDER",
        "REGISTRATION_LINK",
        "CLEARANCE_EXPIRING",
    )
    for channel in ("EMAIL", "SMS")
}
ADMINS = {
    "dana@glow.example": "glow",
    "ruth@radiance.example": "radiance",
    "lena@legacy.example": "legacy",
}
WHO_MAY = expect({**dict.fromkeys(ADMINS, OK), "anonymous": "UNAUTHENTICATED"}, default="FORBIDDEN")


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_notification_templates(gql: Gql, principals: Principals, who: str) -> None:
    answer = await gql(LIST, bearer=await principals.bearer(who))
    if WHO_MAY[who] != OK:
        assert answer.codes == [WHO_MAY[who]], answer.body
        return
    assert answer.errors == [], answer.body
    found = answer.data["notificationTemplates"]
    assert {(t["kind"], t["channel"]) for t in found} == PATIENT_MESSAGES
    assert not any(t["custom"] for t in found)
    confirmation = next(t for t in found if t["kind"] == "APPOINTMENT_CONFIRMATION")
    assert {"firstName", "medspa", "date", "time", "provider"} <= set(confirmation["placeholders"])


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_set_notification_template(
    gql: Gql,
    principals: Principals,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    audit: Audit,
    who: str,
) -> None:
    before = await snapshot(owner_engine, "notification_template")
    answer = await gql(SET, {"input": CONFIRMATION}, bearer=await principals.bearer(who))
    if WHO_MAY[who] != OK:
        assert answer.codes == [WHO_MAY[who]], answer.body
        assert await snapshot(owner_engine, "notification_template") == before
        request_id = answer.errors[0]["extensions"]["requestId"]
        assert {r["outcome"] for r in await audit.rows(request_id=request_id)} == {"DENIED"}
        return
    payload = answer.data["setNotificationTemplate"]
    assert payload["errors"] == [], answer.body
    assert payload["template"]["custom"] is True
    # Stored for the caller's own medspa, and only there.
    stored = await rows(owner_engine, "SELECT medspa_id, subject FROM notification_template")
    assert stored == [{"medspa_id": demo.medspas[ADMINS[who]], "subject": CONFIRMATION["subject"]}]


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_reset_notification_template(
    gql: Gql, principals: Principals, demo: DemoIds, owner_engine: AsyncEngine, who: str
) -> None:
    for admin in ADMINS:
        done = await gql(SET, {"input": CONFIRMATION}, as_=admin)
        assert done.data["setNotificationTemplate"]["errors"] == []
    answer = await gql(
        RESET,
        {"k": "APPOINTMENT_CONFIRMATION", "c": "EMAIL"},
        bearer=await principals.bearer(who),
    )
    left = await scalar(owner_engine, "SELECT count(*) FROM notification_template")
    if WHO_MAY[who] != OK:
        assert answer.codes == [WHO_MAY[who]], answer.body
        assert left == 3
        return
    template = answer.data["resetNotificationTemplate"]["template"]
    assert template["custom"] is False and "$firstName" in template["body"]
    assert left == 2  # the other medspas keep their wording


async def test_the_worker_sends_the_medspas_wording(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    done = await gql(SET, {"input": CONFIRMATION}, as_=GLOW_ADMIN)
    assert done.data["setNotificationTemplate"]["errors"] == [], done.body
    booked = await gql(BOOK, await booking(owner_engine, demo), as_=GLOW_ADMIN)
    assert booked.data["bookAppointment"]["errors"] == [], booked.body
    outbox_id: uuid.UUID = await scalar(
        owner_engine, "SELECT id FROM notification_outbox WHERE kind = 'APPOINTMENT_CONFIRMATION'"
    )
    recorder = Recorder()
    sent = await send_outbox_row(
        session_factory(owner_engine), Channels(email=recorder, sms=recorder), outbox_id,
        final_attempt=False,
    )  # fmt: skip
    assert sent
    (message,) = recorder.sent
    assert message.subject.startswith("See you soon, ")
    assert "$" not in message.subject
    assert message.body.endswith("Bring $20 in cash.")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"body": "Hello $firstName, your card ends in $cardNumber"}, "body"),  # not carried
        ({"subject": "Hi ${patient.email}"}, "subject"),  # names only
        ({"body": "Costs $ 20"}, "body"),  # a bare $
        ({"subject": ""}, "subject"),
        ({"subject": "Two\nlines"}, "subject"),
        ({"subject": "s" * 201}, "subject"),
        ({"body": "   "}, "body"),
        ({"body": "b" * 5001}, "body"),
        ({"kind": "STAFF_INVITATION"}, "kind"),  # Portrait's wording, not the medspa's
        ({"kind": "INVENTORY_ORDER_PLACED"}, "kind"),
        ({"kind": "APPOINTMENT_REMINDER", "channel": "SMS"}, "subject"),  # SMS: no subject
        (
            {"kind": "APPOINTMENT_REMINDER", "channel": "SMS", "subject": "", "body": "x" * 481},
            "body",
        ),
    ],
)
async def test_bad_templates_are_refused_and_change_nothing(
    gql: Gql, owner_engine: AsyncEngine, change: dict[str, Any], field: str
) -> None:
    before = await snapshot(owner_engine, "notification_template")
    answer = await gql(SET, {"input": {**CONFIRMATION, **change}}, as_=GLOW_ADMIN)
    errors = answer.data["setNotificationTemplate"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("VALIDATION", field)], answer.body
    assert await snapshot(owner_engine, "notification_template") == before
