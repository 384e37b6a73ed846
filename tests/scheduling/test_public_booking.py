"""The anonymous public booking page (issue 4 §5)."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Gql
from tests.scheduling.helpers import gid, next_week, rows, scalar, snapshot

PAGE = """query($slug: String!, $t: ID!, $f: DateTime!, $to: DateTime!) {
    publicLocation(bookingSlug: $slug) {
        name medspaName timeZone bookingSlug
        appointmentTypes { id name durationMinutes priceCents }
        providers { id displayName }
        availableSlots(appointmentTypeId: $t, from: $f, to: $to) {
            startsAt providerId providerName } } }"""
BOOK = """mutation($i: PublicBookAppointmentInput!) { publicBookAppointment(input: $i) {
    errors { code field }
    booking { confirmationCode startsAt appointmentTypeName providerName locationName } } }"""


def _page_vars(demo: DemoIds, slug: str = "glow-downtown") -> dict[str, Any]:
    day = next_week(1, time(0))
    return {
        "slug": slug,
        "t": gid("AppointmentType", demo.appointment_types["glow"]["Neuromodulator"]),
        "f": day.isoformat(),
        "to": (day + timedelta(days=1)).isoformat(),
    }


def _booking(demo: DemoIds, **patient: str | None) -> dict[str, Any]:
    return {
        "i": {
            "bookingSlug": "glow-downtown",
            "appointmentTypeId": gid(
                "AppointmentType", demo.appointment_types["glow"]["Neuromodulator"]
            ),
            "providerId": gid("Provider", demo.providers["omar@glow.example"]),
            "startsAt": next_week(1, time(11)).isoformat(),
            "patient": {"firstName": "Pat", "lastName": "Public", **patient},
        }
    }


async def test_anonymous_sees_the_public_page(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(PAGE, _page_vars(demo))
    assert answer.errors == [], answer.body
    page = answer.data["publicLocation"]
    assert page["name"] == "Downtown" and page["medspaName"] == "Glow Aesthetics"
    assert {t["name"] for t in page["appointmentTypes"]} == {
        "Neuromodulator",
        "Dermal filler",
        "Chemical peel",
    }
    assert [p["displayName"] for p in page["providers"]] == [
        "Dana Whitfield",
        "Nina Patel",
        "Omar Haddad",
    ]
    assert len(page["availableSlots"]) == 3 * 31
    assert {s["providerName"] for s in page["availableSlots"]} == {
        "Dana Whitfield",
        "Nina Patel",
        "Omar Haddad",
    }


@pytest.mark.parametrize("slug", ["glow-brooklyn", "no-such-place", ""])
async def test_inactive_or_unknown_slug_is_null(gql: Gql, demo: DemoIds, slug: str) -> None:
    answer = await gql(PAGE, _page_vars(demo, slug))
    assert answer.errors == [] and answer.data == {"publicLocation": None}


async def test_the_public_page_reveals_nothing_private(gql: Gql, demo: DemoIds) -> None:
    # After the slug opened Glow to this request, private rows stay out of reach.
    query = """query($slug: String!, $p: ID!, $pat: ID!, $m: ID!) {
        publicLocation(bookingSlug: $slug) { name }
        provider: node(id: $p) { id }
        patient: node(id: $pat) { id }
        medspa(id: $m) { name }
        viewer { can(action: PATIENT_READ) { allowed } } }"""
    answer = await gql(
        query,
        {
            "slug": "glow-downtown",
            "p": gid("Provider", demo.providers["nina@glow.example"]),
            "pat": gid("Patient", demo.medspas["glow"]),
            "m": gid("Medspa", demo.medspas["glow"]),
        },
    )
    assert answer.errors == [], answer.body
    assert answer.data["publicLocation"] == {"name": "Downtown"}
    assert answer.data["patient"] is None and answer.data["medspa"] is None
    assert answer.data["viewer"]["can"]["allowed"] is False
    # The calendar stays closed to anonymous callers. (Asked in its own request: a root field
    # that fails while a sibling is mid-query is a known core issue, reported separately.)
    calendar = await gql(
        "query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) { id } }",
        {"f": next_week(0, time(0)).isoformat(), "t": next_week(4, time(0)).isoformat()},
    )
    assert calendar.codes == ["UNAUTHENTICATED"]


async def test_public_booking_creates_the_patient_and_books(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    answer = await gql(BOOK, _booking(demo, email="pat@example.com", phone="(212) 555-0199"))
    payload = answer.data["publicBookAppointment"]
    assert payload["errors"] == [], answer.body
    assert payload["booking"]["providerName"] == "Omar Haddad"
    assert payload["booking"]["startsAt"].endswith("-05:00") or payload["booking"][
        "startsAt"
    ].endswith("-04:00")
    patients = await rows(
        owner_engine,
        "SELECT email, phone, source FROM patient WHERE medspa_id = :m AND email = :e",
        m=demo.medspas["glow"],
        e="pat@example.com",
    )
    assert patients == [
        {"email": "pat@example.com", "phone": "+12125550199", "source": "PUBLIC_BOOKING"}
    ]
    source = await scalar(
        owner_engine,
        "SELECT source FROM appointment WHERE provider_id = :p AND starts_at = :s",
        p=demo.providers["omar@glow.example"],
        s=next_week(1, time(11)),
    )
    assert source == "PUBLIC"
    # The slot is gone from the page.
    page = (await gql(PAGE, _page_vars(demo))).data["publicLocation"]
    omar_eleven = [
        s
        for s in page["availableSlots"]
        if s["providerName"] == "Omar Haddad"
        and s["startsAt"].startswith(
            next_week(1, time(11))
            .astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
            .strftime("%Y-%m-%dT%H:%M")
        )
    ]
    assert omar_eleven == []


async def test_an_existing_patient_is_found_by_email_or_phone(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    existing = await rows(
        owner_engine,
        "SELECT id, email, phone FROM patient WHERE medspa_id = :m ORDER BY email LIMIT 1",
        m=demo.medspas["glow"],
    )
    before = await scalar(owner_engine, "SELECT count(*) FROM patient")
    by_email = await gql(BOOK, _booking(demo, email=existing[0]["email"].upper()))
    assert by_email.data["publicBookAppointment"]["errors"] == []
    variables = _booking(demo, phone=existing[0]["phone"])
    variables["i"]["startsAt"] = next_week(1, time(14)).isoformat()
    by_phone = await gql(BOOK, variables)
    assert by_phone.data["publicBookAppointment"]["errors"] == []
    assert await scalar(owner_engine, "SELECT count(*) FROM patient") == before
    patients = await rows(
        owner_engine,
        "SELECT DISTINCT patient_id FROM appointment WHERE source = 'PUBLIC'",
    )
    assert [r["patient_id"] for r in patients] == [existing[0]["id"]]
    # The answer never carries the patient's data.
    assert "email" not in str(by_email.body) and existing[0]["phone"] not in str(by_phone.body)


async def test_public_booking_is_idempotent_and_refuses_taken_slots(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    variables = _booking(demo, email="twice@example.com")
    variables["i"]["idempotencyKey"] = "public-retry-0001"
    first = await gql(BOOK, variables)
    again = await gql(BOOK, variables)
    assert (
        first.data["publicBookAppointment"]["booking"]
        == again.data["publicBookAppointment"]["booking"]
    )
    stranger = _booking(demo, email="stranger@example.com")
    stranger["i"]["idempotencyKey"] = "public-retry-0001"
    refused = await gql(BOOK, stranger)
    assert [e["code"] for e in refused.data["publicBookAppointment"]["errors"]] == [
        "IDEMPOTENCY_KEY_REUSED"
    ]
    assert refused.data["publicBookAppointment"]["booking"] is None
    taken = await gql(BOOK, _booking(demo, email="late@example.com"))
    assert [e["code"] for e in taken.data["publicBookAppointment"]["errors"]] == [
        "SLOT_UNAVAILABLE"
    ]


async def test_concurrent_public_bookings_of_one_slot(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    answers = await asyncio.gather(
        *(gql(BOOK, _booking(demo, email=f"racer{i}@example.com")) for i in range(20))
    )
    codes = [[e["code"] for e in a.data["publicBookAppointment"]["errors"]] for a in answers]
    assert codes.count([]) == 1 and codes.count(["SLOT_UNAVAILABLE"]) == 19, codes
    assert (
        await scalar(owner_engine, "SELECT count(*) FROM appointment WHERE source = 'PUBLIC'") == 1
    )


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"bookingSlug": "glow-brooklyn"}, "bookingSlug", "NOT_FOUND"),
        ({"startsAt": next_week(5, time(11)).isoformat()}, "startsAt", "OUTSIDE_AVAILABILITY"),
        ({"patient": {"firstName": "No", "lastName": "Contact"}}, "email", "VALIDATION"),
    ],
)
async def test_public_booking_validation(
    gql: Gql,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    variables = _booking(demo, email="v@example.com")
    variables["i"].update(change)
    before = await snapshot(owner_engine, "appointment", "patient")
    answer = await gql(BOOK, variables)
    errors = answer.data["publicBookAppointment"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [(code, field)]
    assert await snapshot(owner_engine, "appointment", "patient") == before


async def test_a_radiance_provider_cannot_be_booked_through_a_glow_link(
    gql: Gql, demo: DemoIds
) -> None:
    variables = _booking(demo, email="x@example.com")
    variables["i"]["providerId"] = gid("Provider", demo.providers["lee@radiance.example"])
    answer = await gql(BOOK, variables)
    assert [e["field"] for e in answer.data["publicBookAppointment"]["errors"]] == ["providerId"]


async def test_legacy_public_booking_is_feature_unavailable(gql: Gql, demo: DemoIds) -> None:
    variables = _booking(demo, email="old@example.com")
    variables["i"].update(
        bookingSlug="legacy-main",
        appointmentTypeId=gid(
            "AppointmentType", demo.appointment_types["legacy"]["Neuromodulator"]
        ),
        providerId=gid("Provider", demo.providers["kim@legacy.example"]),
    )
    answer = await gql(BOOK, variables)
    assert [e["code"] for e in answer.data["publicBookAppointment"]["errors"]] == [
        "FEATURE_UNAVAILABLE"
    ]


async def test_rate_limited_per_client_address(gql: Gql, demo: DemoIds) -> None:
    codes = []
    for i in range(32):
        variables = _booking(demo, email=f"spam{i}@example.com")
        variables["i"]["startsAt"] = next_week(5, time(11)).isoformat()  # refused anyway
        answer = await gql(BOOK, variables)
        codes.append([e["code"] for e in answer.data["publicBookAppointment"]["errors"]])
    assert codes[:30] == [["OUTSIDE_AVAILABILITY"]] * 30  # the default 30 a minute
    assert codes[30:] == [["RATE_LIMITED"]] * 2
