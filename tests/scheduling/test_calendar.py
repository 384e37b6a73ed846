"""The role-scoped calendar and the appointment connections (issue 4 §2)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Appointment, AppointmentStatus, BookingSource, Patient
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Gql, Principals, StatementLog, token_for
from tests.scheduling.helpers import NEW_YORK, gid, next_week

CALENDAR = """query($f: DateTime!, $t: DateTime!, $p: [ID!], $l: [ID!]) {
    calendar(from: $f, to: $t, providerIds: $p, locationIds: $l) {
        id startsAt status provider { displayName } location { name }
        patient { firstName email } appointmentType { name durationMinutes } } }"""


def this_week() -> dict[str, str]:
    today = datetime.now(NEW_YORK).date()
    start = datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=NEW_YORK)
    return {"f": start.isoformat(), "t": (start + timedelta(days=7)).isoformat()}


# Appointments of the seeded current week each caller sees (3 per weekday per provider).
WEEK_EXPECT: dict[str, int | str] = {
    "ops@portrait.example": 105,  # every medspa: 7 providers x 15
    "maria@portrait.example": "FORBIDDEN",
    "vera@portrait.example": 45,  # every Glow provider
    "dean@portrait.example": 30,  # Radiance, where he is designated
    "cody@portrait.example": 30,  # Legacy's providers
    "sam@portrait.example": 0,  # no assignments
    "dana@glow.example": 45,  # admin dashboard: the whole medspa
    "nina@glow.example": 15,  # her own
    "omar@glow.example": 15,
    "ruth@radiance.example": 30,
    "lee@radiance.example": 15,
    "lena@legacy.example": 30,  # LEGACY: readable
    "kim@legacy.example": 15,
    "masquerade": 15,  # dana as nina: nina's
    "covering": 45,  # Sam, covering Vera: every Glow provider while the window lasts
    "dana@glow.example:PROVIDER": 15,  # her own, as a provider
    "api_key": 45,  # appointments:read
    "api_key:APPOINTMENTS_READ": 45,
    "api_key:APPOINTMENTS_WRITE": "FORBIDDEN",
    "api_key:PATIENTS_READ": "FORBIDDEN",
    "api_key:CATALOG_READ": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_week_calendar_matrix(
    gql: Gql, demo: DemoIds, principals: Principals, who: str
) -> None:
    answer = await gql(CALENDAR, this_week(), bearer=await principals.bearer(who))
    expected = WEEK_EXPECT[who]
    if isinstance(expected, str):
        assert answer.codes == [expected], answer.body
        return
    assert answer.errors == [], answer.body
    appointments = answer.data["calendar"]
    assert len(appointments) == expected
    assert [a["startsAt"] for a in appointments] == sorted(a["startsAt"] for a in appointments)


async def test_a_provider_asking_for_another_gets_nothing_for_them(gql: Gql, demo: DemoIds) -> None:
    omar = {**this_week(), "p": [gid("Provider", demo.providers["omar@glow.example"])]}
    assert (await gql(CALENDAR, omar, as_="nina@glow.example")).data["calendar"] == []
    both = {
        **this_week(),
        "p": [
            gid("Provider", demo.providers["omar@glow.example"]),
            gid("Provider", demo.providers["nina@glow.example"]),
        ],
    }
    mine = (await gql(CALENDAR, both, as_="nina@glow.example")).data["calendar"]
    assert len(mine) == 15 and {a["provider"]["displayName"] for a in mine} == {"Nina Patel"}
    # The other medspa's admin asking for a Glow provider: nothing.
    assert (await gql(CALENDAR, omar, as_="ruth@radiance.example")).data["calendar"] == []


async def test_admin_on_the_provider_dashboard_sees_only_her_own(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(
        CALENDAR, this_week(), as_="dana@glow.example", headers={"X-Dashboard": "PROVIDER"}
    )
    names = {a["provider"]["displayName"] for a in answer.data["calendar"]}
    assert names == {"Dana Whitfield"} and len(answer.data["calendar"]) == 15


async def test_partner_key_without_appointments_read_is_forbidden(
    gql: Gql, principals: Principals
) -> None:
    key = await principals.api_key(("CATALOG_READ",))
    assert (await gql(CALENDAR, this_week(), bearer=key)).codes == ["FORBIDDEN"]
    # With appointments:read only, patients stay hidden (no patients:read).
    read_only = await principals.api_key(("APPOINTMENTS_READ",))
    answer = await gql(CALENDAR, this_week(), bearer=read_only)
    assert len(answer.data["calendar"]) == 45
    assert {a["patient"] is None for a in answer.data["calendar"]} == {True}


async def test_filters_by_location_and_range_cap(gql: Gql, demo: DemoIds) -> None:
    brooklyn = {**this_week(), "l": [gid("Location", demo.locations["glow-brooklyn"])]}
    assert (await gql(CALENDAR, brooklyn, as_="dana@glow.example")).data["calendar"] == []
    start = datetime(2026, 3, 1, tzinfo=UTC)
    too_long = {"f": start.isoformat(), "t": (start + timedelta(days=63)).isoformat()}
    answer = await gql(CALENDAR, too_long, as_="dana@glow.example")
    assert answer.codes == ["BAD_USER_INPUT"]
    assert "62 days" in answer.errors[0]["message"]
    just_right = {"f": start.isoformat(), "t": (start + timedelta(days=62)).isoformat()}
    assert (await gql(CALENDAR, just_right, as_="dana@glow.example")).errors == []
    backwards = {"f": too_long["t"], "t": too_long["f"]}
    assert (await gql(CALENDAR, backwards, as_="dana@glow.example")).codes == ["BAD_USER_INPUT"]


CONNECTIONS = """query($id: ID!, $f: DateTime, $t: DateTime) { medspa(id: $id) {
    appointments(from: $f, to: $t, first: 100) { edges { node { id } } }
    providers { edges { node { displayName appointments(from: $f, to: $t, first: 100) {
        edges { node { id } } } } } }
    locations { edges { node { name appointments(from: $f, to: $t, first: 100) {
        edges { node { id } } } } } } } }"""


async def test_connections_follow_the_same_scope(gql: Gql, demo: DemoIds) -> None:
    week = this_week()
    variables = {"id": gid("Medspa", demo.medspas["glow"]), "f": week["f"], "t": week["t"]}

    def counts(data: dict[str, Any]) -> tuple[int, dict[str, int], dict[str, int]]:
        medspa = data["medspa"]
        return (
            len(medspa["appointments"]["edges"]),
            {
                e["node"]["displayName"]: len(e["node"]["appointments"]["edges"])
                for e in medspa["providers"]["edges"]
            },
            {
                e["node"]["name"]: len(e["node"]["appointments"]["edges"])
                for e in medspa["locations"]["edges"]
            },
        )

    admin = counts((await gql(CONNECTIONS, variables, as_="dana@glow.example")).data)
    assert admin == (
        45,
        {"Dana Whitfield": 15, "Nina Patel": 15, "Omar Haddad": 15},
        {"Brooklyn": 0, "Downtown": 45},
    )
    nina = counts((await gql(CONNECTIONS, variables, as_="nina@glow.example")).data)
    assert nina == (
        15,
        {"Dana Whitfield": 0, "Nina Patel": 15, "Omar Haddad": 0},
        {"Brooklyn": 0, "Downtown": 15},
    )
    other = await gql(CONNECTIONS, variables, as_="ruth@radiance.example")
    assert other.data["medspa"] is None


async def test_patient_appointments_connection(gql: Gql, demo: DemoIds) -> None:
    query = """query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) {
        patient { id appointments(first: 100) { edges { node { provider { displayName } } } } }
    } }"""
    answer = await gql(query, this_week(), as_="nina@glow.example")
    assert answer.errors == [], answer.body
    for appointment in answer.data["calendar"]:
        providers = {
            e["node"]["provider"]["displayName"]
            for e in appointment["patient"]["appointments"]["edges"]
        }
        assert providers == {"Nina Patel"}  # the provider sees only her own


# --- SQL statement counts -----------------------------------------------------------------


async def _add_appointments(
    session: AsyncSession, demo: DemoIds, count: int, *, offset: int
) -> None:
    """`count` appointments next week over the Glow providers, each with its own patient."""
    medspa = demo.medspas["glow"]
    location = demo.locations["glow-downtown"]
    kind = demo.appointment_types["glow"]["Neuromodulator"]
    providers = [
        demo.providers[e] for e in ("dana@glow.example", "nina@glow.example", "omar@glow.example")
    ]
    start = next_week(0, time(0))
    for i in range(offset, offset + count):
        patient = Patient(
            id=uuid.uuid4(),
            medspa_id=medspa,
            first_name="Bulk",
            last_name=f"Patient {i:04d}",
            email=f"bulk{i:04d}@example.com",
        )
        session.add(patient)
        await session.flush()  # no ORM relationship orders the inserts: patients first
        slot = start + timedelta(minutes=30 * (i // len(providers)))
        session.add(
            Appointment(
                id=uuid.uuid4(),
                medspa_id=medspa,
                provider_id=providers[i % len(providers)],
                location_id=location,
                patient_id=patient.id,
                appointment_type_id=kind,
                starts_at=slot,
                ends_at=slot + timedelta(minutes=30),
                blocked_from=slot,
                blocked_until=slot + timedelta(minutes=30),
                status=AppointmentStatus.BOOKED,
                price_cents=45_000,
                source=BookingSource.STAFF,
                cancellation_fee_applies=False,
            )
        )
    await session.commit()


async def _admin_week(gql: Gql, log: StatementLog) -> tuple[int, int]:
    start = next_week(0, time(0))
    log.clear()
    answer = await gql(
        CALENDAR,
        {"f": start.isoformat(), "t": (start + timedelta(days=7)).isoformat()},
        as_="dana@glow.example",
    )
    assert answer.errors == [], answer.body
    assert all(
        a["patient"] and a["provider"] and a["location"] and a["appointmentType"]
        for a in answer.data["calendar"]
    )
    return len(answer.data["calendar"]), log.count()


async def test_admin_week_calendar_costs_the_same_statements_for_10_and_500(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, statement_log: StatementLog
) -> None:
    await _add_appointments(owner_session, demo, 10, offset=0)
    few_rows, few = await _admin_week(gql, statement_log)
    await _add_appointments(owner_session, demo, 490, offset=10)
    many_rows, many = await _admin_week(gql, statement_log)
    assert (few_rows, many_rows) == (10, 500)
    assert few == many, statement_log.statements
    # Authentication, the appointments, one statement per nested relation (provider,
    # location, patient, type) and the audit row of the patient read.
    assert many <= 12, statement_log.statements


async def test_admin_week_calendar_of_a_known_token_costs_at_most_5_statements(
    gql: Gql, demo: DemoIds, statement_log: StatementLog
) -> None:
    """Issue 12: authentication included, row-level-security settings included."""
    token = token_for(demo, "dana@glow.example")
    week = this_week()
    first = await gql(CALENDAR, week, bearer=token)  # the principal is built once
    statement_log.clear()
    again = await gql(CALENDAR, week, bearer=token)
    assert again.data == first.data and again.errors == []
    assert len(again.data["calendar"]) == 45
    assert all(a["patient"] and a["provider"] and a["location"] for a in again.data["calendar"])
    # The RLS settings, the appointments with their four relations joined, the audit row of
    # the patient read.
    assert statement_log.count(excluding_setup=False) <= 5, statement_log.statements
