"""Charting minimum: a provider's service visits, open to closed, with the services performed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.services.helpers import a_patient_of, assert_denied, codes, gid, scalar, sid

OPEN = """mutation($p: ID!, $s: [ID!]!, $a: ID, $n: String) { openServiceVisit(patientId: $p,
    serviceIds: $s, appointmentId: $a, notes: $n) { serviceVisit { id status notes
    services { name } appointment { id } patient { id } } errors { code field } } }"""
UPDATE = """mutation($id: ID!, $s: [ID!], $n: String) { updateServiceVisit(id: $id,
    serviceIds: $s, notes: $n) { serviceVisit { notes services { name } }
    errors { code field } } }"""
CLOSE = """mutation($id: ID!) { closeServiceVisit(id: $id) { serviceVisit { status closedAt }
    errors { code field } } }"""

NINA = "nina@glow.example"


async def test_a_visit_opens_records_services_and_closes(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await a_patient_of(owner_engine, demo, NINA)
    appointment = await scalar(
        owner_engine,
        "SELECT id FROM appointment WHERE provider_id = :p AND patient_id = :pt LIMIT 1",
        p=demo.providers[NINA],
        pt=patient,
    )
    opened = await gql(
        OPEN,
        {
            "p": gid("Patient", patient),
            "s": [],
            "a": gid("Appointment", appointment),
            "n": "Consent signed.",
        },
        as_=NINA,
    )
    visit = opened.data["openServiceVisit"]["serviceVisit"]
    assert visit["status"] == "OPEN" and visit["services"] == []
    assert visit["appointment"] == {"id": gid("Appointment", appointment)}
    empty = await gql(CLOSE, {"id": visit["id"]}, as_=NINA)
    assert empty.data["closeServiceVisit"]["errors"] == [
        {"code": "VALIDATION", "field": "serviceIds"}
    ]
    updated = await gql(
        UPDATE,
        {
            "id": visit["id"],
            "s": [sid(demo, "glow", "Botox Cosmetic"), sid(demo, "glow", "Vitamin B-12 injection")],
            "n": "20 units glabella; B-12 IM left deltoid.",
        },
        as_=NINA,
    )
    assert [s["name"] for s in updated.data["updateServiceVisit"]["serviceVisit"]["services"]] == [
        "Botox Cosmetic",
        "Vitamin B-12 injection",
    ]
    closed = await gql(CLOSE, {"id": visit["id"]}, as_=NINA)
    assert closed.data["closeServiceVisit"]["serviceVisit"]["status"] == "CLOSED"
    again = await gql(UPDATE, {"id": visit["id"], "n": "late edit"}, as_=NINA)
    assert codes(again.data["updateServiceVisit"]) == ["VISIT_CLOSED"]
    notes = await scalar(owner_engine, "SELECT notes FROM service_visit")
    assert notes == "20 units glabella; B-12 IM left deltoid."
    reads = [r for r in await audit.rows(action="chart.write") if r["outcome"] == "ALLOWED"]
    assert len(reads) == 3  # open, update, close


async def test_only_active_services_and_own_appointments_are_charted(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await a_patient_of(owner_engine, demo, NINA)
    await gql(
        "mutation($id: ID!) { setServiceActive(id: $id, active: false) { errors { code } } }",
        {"id": sid(demo, "glow", "Kybella")},
        as_="dana@glow.example",
    )
    inactive = await gql(
        OPEN, {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Kybella")]}, as_=NINA
    )
    assert inactive.data["openServiceVisit"]["errors"] == [
        {"code": "SERVICE_INACTIVE", "field": "serviceIds"}
    ]
    other_medspa = await gql(
        OPEN, {"p": gid("Patient", patient), "s": [sid(demo, "radiance", "Dysport")]}, as_=NINA
    )
    assert codes(other_medspa.data["openServiceVisit"]) == ["VALIDATION"]
    omars = await scalar(
        owner_engine,
        "SELECT id FROM appointment WHERE provider_id = :p LIMIT 1",
        p=demo.providers["omar@glow.example"],
    )
    not_mine = await gql(
        OPEN,
        {
            "p": gid("Patient", patient),
            "s": [sid(demo, "glow", "Dysport")],
            "a": gid("Appointment", omars),
        },
        as_=NINA,
    )
    assert not_mine.data["openServiceVisit"]["errors"] == [
        {"code": "VALIDATION", "field": "appointmentId"}
    ]
    assert await scalar(owner_engine, "SELECT count(*) FROM service_visit") == 0


async def test_charts_are_the_providers_own(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await a_patient_of(owner_engine, demo, NINA)
    opened = await gql(
        OPEN, {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Dysport")]}, as_=NINA
    )
    visit_id = opened.data["openServiceVisit"]["serviceVisit"]["id"]
    node = "query($id: ID!) { node(id: $id) { ... on ServiceVisit { id notes } } }"
    assert (await gql(node, {"id": visit_id}, as_=NINA)).data["node"]["id"] == visit_id
    # Not even the medspa's admin, nor Portrait staff, read a provider's chart.
    for who in ("dana@glow.example", "omar@glow.example", "ops@portrait.example"):
        assert (await gql(node, {"id": visit_id}, as_=who)).data["node"] is None, who
    admin = await gql("{ serviceVisits { edges { node { id } } } }", as_="dana@glow.example")
    await assert_denied(admin, audit, "FORBIDDEN")
    # Dana on her provider dashboard charts her own patients only.
    dana = await gql(
        "{ serviceVisits { edges { node { id } } } }",
        as_="dana@glow.example",
        headers={"X-Dashboard": "PROVIDER"},
    )
    assert dana.data["serviceVisits"]["edges"] == []
    read = [r for r in await audit.rows(action="chart.read") if r["outcome"] == "ALLOWED"]
    assert read and all(r["effective_user_id"] == demo.users[NINA] for r in read)
