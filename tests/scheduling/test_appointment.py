"""Booking, rescheduling, cancelling and status changes (issue 4 §3)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import PccAssignment
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.scheduling.helpers import (
    BOOK,
    GLOW_ADMIN,
    NEW_YORK,
    OK,
    assert_matrix_answer,
    booking,
    gid,
    next_week,
    patient_of,
    rows,
    scalar,
    snapshot,
)

CANCEL = """mutation($id: ID!, $reason: String!) { cancelAppointment(id: $id, reason: $reason) {
    errors { code } appointment { status cancellationReason cancellationFeeApplies } } }"""
STATUS = """mutation($id: ID!, $status: AppointmentStatus!) {
    setAppointmentStatus(id: $id, status: $status) { errors { code } appointment { status } } }"""
RESCHEDULE = """mutation($id: ID!, $at: DateTime!) { rescheduleAppointment(id: $id, startsAt: $at) {
    errors { code } appointment { startsAt status } } }"""


async def test_admin_books_into_configured_hours(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    answer = await gql(BOOK, await booking(owner_engine, demo), as_=GLOW_ADMIN)
    payload = answer.data["bookAppointment"]
    assert payload["errors"] == [], answer.body
    assert payload["appointment"]["status"] == "BOOKED"
    assert payload["appointment"]["provider"]["displayName"] == "Nina Patel"
    starts = next_week(1, time(11))
    assert payload["appointment"]["endsAt"].startswith(
        (starts + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    )
    outbox = await rows(
        owner_engine,
        "SELECT kind FROM notification_outbox WHERE medspa_id = :m ORDER BY kind",
        m=demo.medspas["glow"],
    )
    kinds = [r["kind"] for r in outbox]
    assert "APPOINTMENT_CONFIRMATION" in kinds
    assert kinds.count("APPOINTMENT_REMINDER") == 2  # the default 24 h and 2 h reminders


async def test_wall_clock_input_is_read_in_the_location_zone(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    variables = await booking(owner_engine, demo)
    variables["input"]["startsAt"] = (
        next_week(1, time(11)).astimezone(NEW_YORK).replace(tzinfo=None).isoformat()
    )
    answer = await gql(BOOK, variables, as_=GLOW_ADMIN)
    assert answer.data["bookAppointment"]["errors"] == []
    stored = await scalar(
        owner_engine,
        "SELECT starts_at FROM appointment WHERE medspa_id = :m ORDER BY created_at DESC LIMIT 1",
        m=demo.medspas["glow"],
    )
    assert stored == next_week(1, time(11))


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (next_week(1, time(8, 30)), "OUTSIDE_AVAILABILITY"),  # before 09:00
        (next_week(1, time(16, 45)), "OUTSIDE_AVAILABILITY"),  # ends after 17:00
        (next_week(5, time(11)), "OUTSIDE_AVAILABILITY"),  # Saturday
    ],
)
async def test_outside_availability(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, at: Any, code: str
) -> None:
    answer = await gql(BOOK, await booking(owner_engine, demo, at=at), as_=GLOW_ADMIN)
    assert [e["code"] for e in answer.data["bookAppointment"]["errors"]] == [code]
    assert (
        await scalar(owner_engine, "SELECT count(*) FROM appointment WHERE starts_at = :s", s=at)
        == 0
    )


async def test_configuration_is_checked(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    brooklyn = await booking(owner_engine, demo)
    brooklyn["input"]["locationId"] = gid("Location", demo.locations["glow-brooklyn"])
    answer = await gql(BOOK, brooklyn, as_=GLOW_ADMIN)
    assert [e["code"] for e in answer.data["bookAppointment"]["errors"]] == ["LOCATION_INACTIVE"]

    radiance_patient = await booking(owner_engine, demo)
    radiance_patient["input"]["patientId"] = gid(
        "Patient", await patient_of(owner_engine, demo, "radiance")
    )
    answer = await gql(BOOK, radiance_patient, as_=GLOW_ADMIN)
    assert [e["code"] for e in answer.data["bookAppointment"]["errors"]] == ["NOT_FOUND"]
    assert answer.data["bookAppointment"]["errors"][0]["field"] == "patientId"


async def test_an_overlap_is_slot_unavailable_and_buffers_count(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    # Dermal filler: 60 minutes plus 15 minutes of buffer after.
    first = await gql(
        BOOK,
        await booking(owner_engine, demo, type_name="Dermal filler", at=next_week(2, time(11))),
        as_=GLOW_ADMIN,
    )
    assert first.data["bookAppointment"]["errors"] == []
    for at in (next_week(2, time(11, 30)), next_week(2, time(12, 0)), next_week(2, time(10, 45))):
        answer = await gql(BOOK, await booking(owner_engine, demo, at=at), as_=GLOW_ADMIN)
        assert [e["code"] for e in answer.data["bookAppointment"]["errors"]] == [
            "SLOT_UNAVAILABLE"
        ], at
    after_buffer = await gql(
        BOOK, await booking(owner_engine, demo, at=next_week(2, time(12, 15))), as_=GLOW_ADMIN
    )
    assert after_buffer.data["bookAppointment"]["errors"] == []
    # Another provider is free at the same time.
    omar = await gql(
        BOOK,
        await booking(owner_engine, demo, provider="omar@glow.example", at=next_week(2, time(11))),
        as_=GLOW_ADMIN,
    )
    assert omar.data["bookAppointment"]["errors"] == []


async def test_twenty_concurrent_bookings_of_one_slot_leave_exactly_one(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    at = next_week(3, time(14))
    variables = [await booking(owner_engine, demo, at=at, patient_index=i % 12) for i in range(24)]
    answers = await asyncio.gather(*(gql(BOOK, v, as_=GLOW_ADMIN) for v in variables))
    assert all(a.status == 200 and not a.errors for a in answers), [a.body for a in answers]
    codes = [[e["code"] for e in a.data["bookAppointment"]["errors"]] for a in answers]
    assert codes.count([]) == 1, codes
    assert codes.count(["SLOT_UNAVAILABLE"]) == len(answers) - 1, codes
    live = await scalar(
        owner_engine,
        "SELECT count(*) FROM appointment WHERE provider_id = :p AND starts_at = :s",
        p=demo.providers["nina@glow.example"],
        s=at,
    )
    assert live == 1


async def test_idempotency_key_returns_the_same_appointment(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    variables = await booking(owner_engine, demo, key="retry-" + uuid.uuid4().hex)
    first = await gql(BOOK, variables, as_=GLOW_ADMIN)
    again = await gql(BOOK, variables, as_=GLOW_ADMIN)
    concurrent = await asyncio.gather(*(gql(BOOK, variables, as_=GLOW_ADMIN) for _ in range(5)))
    ids = {a.data["bookAppointment"]["appointment"]["id"] for a in (first, again, *concurrent)}
    assert len(ids) == 1
    assert first.data["bookAppointment"]["replayed"] is False
    assert again.data["bookAppointment"]["replayed"] is True
    count = await scalar(
        owner_engine,
        "SELECT count(*) FROM appointment WHERE idempotency_key = :k",
        k=variables["input"]["idempotencyKey"],
    )
    assert count == 1
    confirmations = await scalar(
        owner_engine,
        "SELECT count(*) FROM notification_outbox WHERE kind = 'APPOINTMENT_CONFIRMATION'"
        " AND appointment_id = (SELECT id FROM appointment WHERE idempotency_key = :k)",
        k=variables["input"]["idempotencyKey"],
    )
    assert confirmations == 1

    # The same key for a different booking is refused, not silently replayed.
    other = await booking(
        owner_engine, demo, key=variables["input"]["idempotencyKey"], at=next_week(1, time(15))
    )
    other["input"]["patientId"] = gid("Patient", await patient_of(owner_engine, demo, "glow", 3))
    refused = await gql(BOOK, other, as_=GLOW_ADMIN)
    assert [e["code"] for e in refused.data["bookAppointment"]["errors"]] == [
        "IDEMPOTENCY_KEY_REUSED"
    ]


async def _book(gql: Gql, owner_engine: AsyncEngine, demo: DemoIds, **kwargs: Any) -> str:
    answer = await gql(BOOK, await booking(owner_engine, demo, **kwargs), as_=GLOW_ADMIN)
    assert answer.data["bookAppointment"]["errors"] == [], answer.body
    return str(answer.data["bookAppointment"]["appointment"]["id"])


async def test_status_transitions(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    appointment = await _book(gql, owner_engine, demo)

    async def status(value: str, who: str = "nina@glow.example") -> list[str]:
        answer = await gql(STATUS, {"id": appointment, "status": value}, as_=who)
        assert answer.errors == [], answer.body
        return [e["code"] for e in answer.data["setAppointmentStatus"]["errors"]]

    assert await status("COMPLETED") == ["INVALID_TRANSITION"]  # not checked in
    assert await status("CHECKED_IN") == ["INVALID_TRANSITION"]  # not confirmed
    assert await status("NO_SHOW") == ["INVALID_TRANSITION"]  # not started yet
    assert await status("CONFIRMED") == []
    assert await status("CHECKED_IN") == []
    assert await status("CONFIRMED") == ["INVALID_TRANSITION"]
    assert await status("COMPLETED") == []
    assert await status("CANCELLED") == ["INVALID_TRANSITION"]  # cancelling takes a reason
    cancelled = await gql(CANCEL, {"id": appointment, "reason": "changed mind"}, as_=GLOW_ADMIN)
    assert [e["code"] for e in cancelled.data["cancelAppointment"]["errors"]] == [
        "INVALID_TRANSITION"
    ]
    assert (
        await scalar(
            owner_engine,
            "SELECT status FROM appointment WHERE starts_at = :s",
            s=next_week(1, time(11)),
        )
        == "COMPLETED"
    )


async def test_cancel_frees_the_slot_and_writes_the_notice(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    appointment = await _book(gql, owner_engine, demo)
    missing_reason = await gql(CANCEL, {"id": appointment, "reason": "  "}, as_=GLOW_ADMIN)
    assert [e["code"] for e in missing_reason.data["cancelAppointment"]["errors"]] == ["VALIDATION"]
    answer = await gql(CANCEL, {"id": appointment, "reason": "patient sick"}, as_=GLOW_ADMIN)
    assert answer.data["cancelAppointment"]["appointment"] == {
        "status": "CANCELLED",
        "cancellationReason": "patient sick",
        "cancellationFeeApplies": False,
    }
    kinds = [
        r["kind"]
        for r in await rows(
            owner_engine,
            "SELECT kind, superseded_at FROM notification_outbox WHERE medspa_id = :m"
            " AND (kind <> 'APPOINTMENT_REMINDER' OR superseded_at IS NULL)",
            m=demo.medspas["glow"],
        )
    ]
    assert sorted(kinds) == ["APPOINTMENT_CANCELLED", "APPOINTMENT_CONFIRMATION"]
    # The freed slot can be booked again.
    await _book(gql, owner_engine, demo, patient_index=2)


async def test_late_cancellation_fee_follows_the_settings(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    settings = await gql(
        """mutation { updateSchedulingSettings(input: {cancellationFeesEnabled: true,
            cancellationWindowHours: 720}) { errors { code } } }""",
        as_=GLOW_ADMIN,
    )
    assert settings.data["updateSchedulingSettings"]["errors"] == []
    fee = await gql(
        """mutation($id: ID!) { updateAppointmentType(id: $id, input: {cancellationFeeCents: 5000})
            { errors { code } appointmentType { cancellationFeeCents } } }""",
        {"id": gid("AppointmentType", demo.appointment_types["glow"]["Neuromodulator"])},
        as_=GLOW_ADMIN,
    )
    assert fee.data["updateAppointmentType"]["appointmentType"]["cancellationFeeCents"] == 5000
    appointment = await _book(gql, owner_engine, demo)
    answer = await gql(CANCEL, {"id": appointment, "reason": "late"}, as_=GLOW_ADMIN)
    assert answer.data["cancelAppointment"]["appointment"]["cancellationFeeApplies"] is True


async def test_reschedule_moves_and_supersedes_reminders(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    appointment = await _book(gql, owner_engine, demo)
    blocked = await _book(gql, owner_engine, demo, at=next_week(1, time(14)), patient_index=4)
    assert blocked
    taken = await gql(
        RESCHEDULE, {"id": appointment, "at": next_week(1, time(14)).isoformat()}, as_=GLOW_ADMIN
    )
    assert [e["code"] for e in taken.data["rescheduleAppointment"]["errors"]] == [
        "SLOT_UNAVAILABLE"
    ]
    moved = await gql(
        RESCHEDULE, {"id": appointment, "at": next_week(2, time(9)).isoformat()}, as_=GLOW_ADMIN
    )
    assert moved.data["rescheduleAppointment"]["errors"] == []
    assert moved.data["rescheduleAppointment"]["appointment"]["startsAt"].startswith(
        next_week(2, time(9)).strftime("%Y-%m-%dT%H:%M")
    )
    live_reminders = await rows(
        owner_engine,
        "SELECT payload->>'startsAt' AS starts FROM notification_outbox"
        " WHERE kind = 'APPOINTMENT_REMINDER' AND superseded_at IS NULL"
        " AND appointment_id = (SELECT id FROM appointment WHERE starts_at = :s)",
        s=next_week(2, time(9)),
    )
    assert len(live_reminders) == 2
    assert all(
        r["starts"].startswith(next_week(2, time(9)).strftime("%Y-%m-%dT%H:%M"))
        for r in live_reminders
    )


async def test_legacy_booking_is_feature_unavailable(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    variables = {
        "input": {
            "patientId": gid("Patient", await patient_of(owner_engine, demo, "legacy")),
            "providerId": gid("Provider", demo.providers["kim@legacy.example"]),
            "locationId": gid("Location", demo.locations["legacy-main"]),
            "appointmentTypeId": gid(
                "AppointmentType", demo.appointment_types["legacy"]["Neuromodulator"]
            ),
            "startsAt": next_week(1, time(11)).isoformat(),
        }
    }
    before = await snapshot(owner_engine, "appointment")
    answer = await gql(BOOK, variables, as_="lena@legacy.example")
    assert [e["code"] for e in answer.data["bookAppointment"]["errors"]] == ["FEATURE_UNAVAILABLE"]
    assert await snapshot(owner_engine, "appointment") == before
    # Its appointments stay readable.
    calendar = await gql(
        "query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) { id } }",
        {
            "f": (next_week(0, time(0)) - timedelta(days=7)).isoformat(),
            "t": next_week(0, time(0)).isoformat(),
        },
        as_="lena@legacy.example",
    )
    assert len(calendar.data["calendar"]) == 30  # 2 providers x 5 days x 3 appointments


# --- the role x tenant matrix -----------------------------------------------------------------

BOOK_EXPECT = {
    "ops@portrait.example": "FORBIDDEN",
    "maria@portrait.example": "FORBIDDEN",
    "vera@portrait.example": OK,  # ASSIGNED: every Glow provider
    "dean@portrait.example": "NOT_FOUND",  # Radiance's designated PCC
    "cody@portrait.example": "NOT_FOUND",
    "sam@portrait.example": "NOT_FOUND",
    "dana@glow.example": OK,
    "nina@glow.example": OK,  # OWN: her own calendar
    "omar@glow.example": "FORBIDDEN",  # sees Nina, may not book for her
    "ruth@radiance.example": "NOT_FOUND",
    "lee@radiance.example": "NOT_FOUND",
    "lena@legacy.example": "NOT_FOUND",
    "kim@legacy.example": "NOT_FOUND",
    "covering": OK,  # Sam covers Vera: her providers are his while the window lasts
    "dana@glow.example:PROVIDER": "FORBIDDEN",  # OWN on her dashboard: Nina is not her
    "masquerade": OK,  # dana as nina
    "api_key": OK,  # appointments:write
    "api_key:APPOINTMENTS_WRITE": OK,
    "api_key:APPOINTMENTS_READ": "FORBIDDEN",
    "api_key:PATIENTS_READ": "FORBIDDEN",
    "api_key:CATALOG_READ": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_book_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    variables = await booking(owner_engine, demo)
    bearer = await principals.bearer(who)  # may write (masquerade, key) before the snapshot
    before = await snapshot(owner_engine, "appointment", "notification_outbox")
    answer = await gql(BOOK, variables, bearer=bearer)
    payload = await assert_matrix_answer(
        answer=answer,
        expected=BOOK_EXPECT[who],
        field="bookAppointment",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["appointment"]["status"] == "BOOKED"


CHECK_IN_EXPECT = {
    **dict.fromkeys(ALL_CALLERS, "FORBIDDEN"),
    "vera@portrait.example": "FORBIDDEN",  # VIRTUAL PCCs do not check in
    "dean@portrait.example": "NOT_FOUND",  # DESIGNATED may, but Glow is not his medspa
    "dana@glow.example": OK,
    "nina@glow.example": OK,
    "omar@glow.example": "NOT_FOUND",  # OWN appointments only: Nina's is invisible to him
    "ruth@radiance.example": "NOT_FOUND",
    "lee@radiance.example": "NOT_FOUND",
    "lena@legacy.example": "NOT_FOUND",
    "kim@legacy.example": "NOT_FOUND",
    "dana@glow.example:PROVIDER": "NOT_FOUND",  # OWN appointments only, like Omar
    "masquerade": OK,
    "api_key": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_confirm_and_check_in_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    appointment = await _book(gql, owner_engine, demo)
    confirmed = await gql(STATUS, {"id": appointment, "status": "CONFIRMED"}, as_=GLOW_ADMIN)
    assert confirmed.data["setAppointmentStatus"]["errors"] == []
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "appointment")
    answer = await gql(STATUS, {"id": appointment, "status": "CHECKED_IN"}, bearer=bearer)
    await assert_matrix_answer(
        answer=answer,
        expected=CHECK_IN_EXPECT[who],
        field="setAppointmentStatus",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


CANCEL_EXPECT = {
    **CHECK_IN_EXPECT,
    "vera@portrait.example": OK,  # ASSIGNED may cancel
    "cody@portrait.example": "NOT_FOUND",  # may cancel, but not Glow's appointments
    "sam@portrait.example": "NOT_FOUND",
    "covering": OK,
    "api_key": OK,  # appointments:write + appointments:read
    # Writing without appointments:read: the appointment is invisible, so absent (§6.4).
    "api_key:APPOINTMENTS_WRITE": "NOT_FOUND",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_cancel_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    appointment = await _book(gql, owner_engine, demo)
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "appointment", "notification_outbox")
    answer = await gql(CANCEL, {"id": appointment, "reason": "matrix"}, bearer=bearer)
    payload = await assert_matrix_answer(
        answer=answer,
        expected=CANCEL_EXPECT[who],
        field="cancelAppointment",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["appointment"]["status"] == "CANCELLED"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_reschedule_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    appointment = await _book(gql, owner_engine, demo)
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "appointment", "notification_outbox")
    answer = await gql(
        RESCHEDULE, {"id": appointment, "at": next_week(1, time(15)).isoformat()}, bearer=bearer
    )
    payload = await assert_matrix_answer(
        answer=answer,
        expected=CANCEL_EXPECT[who],
        field="rescheduleAppointment",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["appointment"]["startsAt"].startswith(
            next_week(1, time(15)).strftime("%Y-%m-%dT%H:%M")
        )


MOVE = """mutation($id: ID!, $at: DateTime!, $p: ID) {
    rescheduleAppointment(id: $id, startsAt: $at, providerId: $p) {
    errors { code field } appointment { startsAt provider { displayName } } } }"""


@pytest.mark.parametrize("who", [GLOW_ADMIN, "vera@portrait.example", "api_key"])
async def test_reschedule_to_another_tenants_provider_is_not_found(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    """Writes check the new provider's tenant too (DESIGN §6.4, CONVENTIONS 4): moving a Glow
    appointment to Radiance's Lee answers as if Lee did not exist, and moves nothing; moving it
    to Glow's Omar works for the same caller."""
    appointment = await _book(gql, owner_engine, demo)
    bearer = await principals.bearer(who)
    at = next_week(1, time(15)).isoformat()
    before = await snapshot(owner_engine, "appointment", "notification_outbox")
    foreign = await gql(
        MOVE,
        {"id": appointment, "at": at, "p": gid("Provider", demo.providers["lee@radiance.example"])},
        bearer=bearer,
    )
    absent = await gql(
        MOVE, {"id": appointment, "at": at, "p": gid("Provider", uuid.uuid4())}, bearer=bearer
    )
    assert _without_request_ids(foreign.body) == _without_request_ids(absent.body)
    await assert_matrix_answer(
        answer=foreign,
        expected="NOT_FOUND",
        field="rescheduleAppointment",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    moved = await gql(
        MOVE,
        {"id": appointment, "at": at, "p": gid("Provider", demo.providers["omar@glow.example"])},
        bearer=bearer,
    )
    assert moved.errors == [], moved.body
    assert moved.data["rescheduleAppointment"]["errors"] == []
    assert moved.data["rescheduleAppointment"]["appointment"]["provider"] == {
        "displayName": "Omar Haddad"
    }


def _without_request_ids(body: dict[str, Any]) -> dict[str, Any]:
    """The answer with each error's request id blanked (the one field that must differ)."""
    errors = [
        {**e, "extensions": {**e.get("extensions", {}), "requestId": None}}
        for e in body.get("errors") or []
    ]
    return {**body, "errors": errors}


async def test_a_pcc_of_two_medspas_cannot_move_an_appointment_across_them(
    gql: Gql,
    demo: DemoIds,
    audit: Audit,
    owner_engine: AsyncEngine,
    owner_session: AsyncSession,
) -> None:
    """Vera, also assigned to Radiance's Lee, reaches both providers; moving Nina's Glow
    appointment to Lee would put it in another tenant, so it is refused and nothing moves."""
    owner_session.add(
        PccAssignment(
            id=uuid.uuid4(),
            medspa_id=demo.medspas["radiance"],
            pcc_id=demo.pccs["vera@portrait.example"],
            provider_id=demo.providers["lee@radiance.example"],
            starts_at=datetime.now(UTC) - timedelta(days=1),
        )
    )
    await owner_session.commit()
    appointment = await _book(gql, owner_engine, demo)
    before = await snapshot(owner_engine, "appointment", "notification_outbox")
    answer = await gql(
        MOVE,
        {
            "id": appointment,
            "at": next_week(1, time(15)).isoformat(),
            "p": gid("Provider", demo.providers["lee@radiance.example"]),
        },
        as_="vera@portrait.example",
    )
    assert answer.errors == [], answer.body
    assert answer.data["rescheduleAppointment"]["errors"] == [
        {"code": "NOT_FOUND", "field": "providerId"}
    ]
    assert await snapshot(owner_engine, "appointment", "notification_outbox") == before
    assert await audit.rows(outcome="FAILED")
