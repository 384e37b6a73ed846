"""Partner keys that fit a booking site (issue 17 item 5): `availability:read` and
`patients:create` (create a patient and book them, never read other patients), and keys
limited to some locations (every scope reaches only their rows)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import decode_id_of
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.scheduling.helpers import BOOK, gid, next_week, patient_of, scalar

DANA = "dana@glow.example"
SITE_SCOPES = ("AVAILABILITY_READ", "PATIENTS_CREATE", "APPOINTMENTS_WRITE")
CREATE_KEY = """mutation($n: String! = "site", $s: [ApiScope!]!, $l: [ID!]) {
    createApiClient(name: $n,
    scopes: $s, locationIds: $l) { key client { locationIds } errors { code field } } }"""
CREATE_PATIENT = """mutation($i: PatientInput!) { createPatient(input: $i) {
    patient { id firstName } errors { code field } } }"""
SLOTS = """query($l: ID!, $t: ID!, $from: DateTime!, $to: DateTime!) {
    availableSlots(locationId: $l, appointmentTypeId: $t, from: $from, to: $to) {
    startsAt providerId } }"""


async def _key(gql: Gql, scopes: tuple[str, ...], locations: list[str] | None) -> str:
    name = f"site {uuid.uuid4().hex[:8]}"
    answer = await gql(CREATE_KEY, {"n": name, "s": list(scopes), "l": locations}, as_=DANA)
    payload = answer.data["createApiClient"]
    assert payload["errors"] == [], answer.body
    assert payload["client"]["locationIds"] == locations
    return str(payload["key"])


async def _second_location(session: AsyncSession, demo: DemoIds) -> str:
    """Glow Brooklyn opened for scheduling, Nina working there too with the same types."""
    brooklyn = demo.locations["glow-brooklyn"]
    downtown = demo.locations["glow-downtown"]
    await session.execute(
        text("UPDATE location SET active_for_scheduling = true WHERE id = :b"), {"b": brooklyn}
    )
    await session.execute(
        text(
            "INSERT INTO provider_location (medspa_id, provider_id, location_id)"
            " SELECT medspa_id, provider_id, :b FROM provider_location"
            " WHERE location_id = :d AND provider_id = :n"
        ),
        {"b": brooklyn, "d": downtown, "n": demo.providers["nina@glow.example"]},
    )
    await session.execute(
        text(
            "INSERT INTO appointment_type_location (medspa_id, appointment_type_id, location_id)"
            " SELECT medspa_id, appointment_type_id, :b FROM appointment_type_location"
            " WHERE location_id = :d"
        ),
        {"b": brooklyn, "d": downtown},
    )
    await session.commit()
    return gid("Location", brooklyn)


def _booking(demo: DemoIds, patient: str, location: str, *, hour: int = 11) -> dict[str, Any]:
    return {
        "input": {
            "patientId": patient,
            "providerId": gid("Provider", demo.providers["nina@glow.example"]),
            "locationId": location,
            "appointmentTypeId": gid(
                "AppointmentType", demo.appointment_types["glow"]["Neuromodulator"]
            ),
            "startsAt": next_week(1, time(hour)).isoformat(),
        }
    }


async def test_a_location_limited_booking_key_books_a_new_patient_only_at_its_location(
    gql: Gql,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    owner_session: AsyncSession,
    audit: Audit,
) -> None:
    brooklyn = await _second_location(owner_session, demo)
    downtown = gid("Location", demo.locations["glow-downtown"])
    key = await _key(gql, SITE_SCOPES, [downtown])

    # The site reads its location's free slots, not the other location's.
    start = next_week(1, time(0))
    window = {
        "t": gid("AppointmentType", demo.appointment_types["glow"]["Neuromodulator"]),
        "from": start.isoformat(),
        "to": (start + timedelta(days=1)).isoformat(),
    }
    slots = await gql(SLOTS, {"l": downtown, **window}, bearer=key)
    assert slots.errors == [] and slots.data["availableSlots"], slots.body
    elsewhere = await gql(SLOTS, {"l": brooklyn, **window}, bearer=key)
    assert elsewhere.codes == ["NOT_FOUND"]
    locations = await gql(
        "query($m: ID!) { medspa(id: $m) { locations { edges { node { id } } } } }",
        {"m": gid("Medspa", demo.medspas["glow"])},
        bearer=key,
    )
    edges = locations.data["medspa"]["locations"]["edges"]
    assert [e["node"]["id"] for e in edges] == [downtown]

    # A new patient, then a booking for them at its location.
    created = await gql(
        CREATE_PATIENT,
        {"i": {"firstName": "Site", "lastName": "Visitor", "email": "site@visitor.example"}},
        bearer=key,
    )
    patient = created.data["createPatient"]["patient"]["id"]
    booked = await gql(BOOK, _booking(demo, patient, downtown), bearer=key)
    assert booked.data["bookAppointment"]["errors"] == [], booked.body
    assert (
        await scalar(
            owner_engine,
            "SELECT source::text FROM appointment WHERE booked_by_api_client_id IS NOT NULL",
        )
        == "PARTNER"
    )
    # Refused at the other location, as if it did not exist (a key without the limit reaches
    # it, and is told that Nina has no hours there).
    before = await scalar(owner_engine, "SELECT count(*) FROM appointment")
    refused = await gql(BOOK, _booking(demo, patient, brooklyn, hour=14), bearer=key)
    assert refused.data["bookAppointment"]["errors"] == [
        {"code": "NOT_FOUND", "field": "locationId", "message": "No such location in this medspa."}
    ]
    assert await scalar(owner_engine, "SELECT count(*) FROM appointment") == before
    unlimited = await _key(gql, SITE_SCOPES, None)
    anywhere = await gql(BOOK, _booking(demo, patient, brooklyn, hour=14), bearer=unlimited)
    assert [e["code"] for e in anywhere.data["bookAppointment"]["errors"]] == [
        "OUTSIDE_AVAILABILITY"
    ], anywhere.body

    # Never a read of patients, its own included.
    listed = await gql("{ patients { edges { node { id } } } }", bearer=key)
    assert listed.codes == ["FORBIDDEN"], listed.body
    one = await gql(f'{{ patient(id: "{patient}") {{ id }} }}', bearer=key)
    assert one.data == {"patient": None}


async def test_patients_create_reads_no_patient(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    key = await _key(gql, ("PATIENTS_CREATE",), None)
    first = {"firstName": "Ann", "lastName": "Lee", "email": "ann@lee.example"}
    created = await gql(CREATE_PATIENT, {"i": first}, bearer=key)
    assert created.data["createPatient"]["errors"] == []
    again = await gql(CREATE_PATIENT, {"i": first}, bearer=key)
    assert again.data["createPatient"] == {
        "patient": None,
        "errors": [{"code": "PATIENT_EXISTS", "field": "email"}],
    }
    other = gid("Patient", await patient_of(owner_engine, demo, "glow"))
    for query in (
        "{ patients { edges { node { id } } } }",
        f'{{ patient(id: "{other}") {{ id }} }}',
        f'{{ node(id: "{other}") {{ id }} }}',
    ):
        answer = await gql(query, bearer=key)
        assert answer.errors == [] or answer.codes == ["FORBIDDEN"], answer.body
        assert not answer.data or not any(answer.data.values()), answer.body


async def test_a_key_is_limited_to_its_own_medspas_locations(gql: Gql, demo: DemoIds) -> None:
    radiance = gid("Location", demo.locations["radiance-santa-monica"])
    downtown = gid("Location", demo.locations["glow-downtown"])
    for locations in ([radiance], [], [downtown, downtown], [downtown] * 51):
        answer = await gql(CREATE_KEY, {"s": ["CATALOG_READ"], "l": locations}, as_=DANA)
        assert answer.data["createApiClient"]["errors"] == [
            {"code": "VALIDATION", "field": "locationIds"}
        ], locations


async def test_a_location_limited_key_reaches_only_its_locations_rows(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    brooklyn = await _second_location(owner_session, demo)
    key = await _key(gql, ("APPOINTMENTS_READ", "CATALOG_READ", "PATIENTS_READ"), [brooklyn])
    # Nina works at Brooklyn too; nobody has an appointment there yet.
    providers = await gql(
        "query($m: ID!) { medspa(id: $m) { providers { edges { node { displayName } } } } }",
        {"m": gid("Medspa", demo.medspas["glow"])},
        bearer=key,
    )
    names = [e["node"]["displayName"] for e in providers.data["medspa"]["providers"]["edges"]]
    assert names == ["Nina Patel"]
    now = datetime.now(UTC)
    this_week = {
        "from": (now - timedelta(days=7)).isoformat(),
        "to": (now + timedelta(days=7)).isoformat(),
    }
    calendar = "query($from: DateTime!, $to: DateTime!) { calendar(from: $from, to: $to) { id } }"
    week = await gql(calendar, this_week, bearer=key)
    assert week.data["calendar"] == []
    everywhere = await _key(gql, ("APPOINTMENTS_READ",), None)
    assert (await gql(calendar, this_week, bearer=everywhere)).data["calendar"] != []
    patients = await gql("{ patients { edges { node { id } } } }", bearer=key)
    assert patients.data["patients"]["edges"] == []
    medspa = await gql("{ viewer { roles } }", bearer=key)
    assert medspa.errors == []


RESCHEDULE_TO = """mutation($id: ID!, $at: DateTime!, $l: ID) {
    rescheduleAppointment(id: $id, startsAt: $at, locationId: $l) {
    appointment { startsAt location { id } } errors { code field message } } }"""


async def test_a_location_limited_key_moves_appointments_only_within_its_locations(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, owner_session: AsyncSession
) -> None:
    brooklyn = await _second_location(owner_session, demo)
    downtown = gid("Location", demo.locations["glow-downtown"])
    # Moving an appointment finds it first: the key reads appointments too.
    key = await _key(gql, (*SITE_SCOPES, "APPOINTMENTS_READ"), [downtown])
    created = await gql(
        CREATE_PATIENT,
        {"i": {"firstName": "Move", "lastName": "Me", "email": "move@me.example"}},
        bearer=key,
    )
    patient = created.data["createPatient"]["patient"]["id"]
    booked = await gql(BOOK, _booking(demo, patient, downtown), bearer=key)
    appointment = booked.data["bookAppointment"]["appointment"]["id"]
    row = "SELECT location_id::text || ' ' || starts_at::text FROM appointment WHERE id = :i"
    raw_id = decode_id_of(appointment, "Appointment")
    before = await scalar(owner_engine, row, i=raw_id)

    # Another of its medspa's locations is out of the key's reach: refused as if it did not
    # exist, and nothing moves.
    later = next_week(1, time(15)).isoformat()
    refused = await gql(RESCHEDULE_TO, {"id": appointment, "at": later, "l": brooklyn}, bearer=key)
    assert refused.data and refused.data["rescheduleAppointment"] == {
        "appointment": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "field": "locationId",
                "message": "No such location in this medspa.",
            }
        ],
    }, refused.body
    assert await scalar(owner_engine, row, i=raw_id) == before

    # The medspa's admin reaches Brooklyn: past the location check, Nina has no hours there.
    admin = await gql(RESCHEDULE_TO, {"id": appointment, "at": later, "l": brooklyn}, as_=DANA)
    assert [e["code"] for e in admin.data["rescheduleAppointment"]["errors"]] == [
        "OUTSIDE_AVAILABILITY"
    ], admin.body

    # Within its location the key moves the appointment.
    moved = await gql(RESCHEDULE_TO, {"id": appointment, "at": later, "l": downtown}, bearer=key)
    assert moved.data["rescheduleAppointment"]["errors"] == [], moved.body
    assert moved.data["rescheduleAppointment"]["appointment"]["location"]["id"] == downtown
