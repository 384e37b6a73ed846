"""GFE routing, requests and clearance in each routing mode; who may sign; clearance status
on appointments, the provider's to-do list and the PCC's upcoming view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import decode_id_of
from db.models import Provider
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals
from tests.services.helpers import (
    PROVIDER_DASHBOARD,
    a_patient_of,
    appointment_soon,
    assert_denied,
    codes,
    gid,
    rows,
    scalar,
    sid,
)

CLEAR = """mutation($p: ID!, $s: [ID!]!, $d: [String!]!, $r: ID) { clearPatient(patientId: $p,
    serviceIds: $s, diagnoses: $d, gfeRequestId: $r) {
    clearances { id source signerName expiresAt diagnoses service { name }
    signedBy { displayName } } errors { code field } } }"""
REQUEST = """mutation($p: ID!, $s: [ID!]!, $u: Boolean!) { requestGfe(patientId: $p,
    serviceIds: $s, urgent: $u) { request { id destination routedToName urgent
    urgentFeeApplies status services { name } } errors { code field } } }"""
ROUTING = """mutation($r: GfeRouting!, $n: String) { updateGfeRouting(routing: $r,
    clearingProviderName: $n) { settings { routing clearingProviderName }
    errors { code field } } }"""
ROUTED = """query($u: Boolean) { routedGfeRequests(urgent: $u) { edges { node { id urgent
    medspaName status patientFirstName services { id name } } } } }"""
RESULT = """mutation($r: ID!, $n: String!, $c: [ClearedServiceInput!], $d: String) {
    recordGfeResult(requestId: $r, signerName: $n, cleared: $c, declineReason: $d) {
    status errors { code field } } }"""
AMES = "ames@portrait.example"
STATUS = """query($id: ID!) { node(id: $id) { ... on Appointment { clearanceStatus } } }"""

DANA = "dana@glow.example"


async def _dana(gql: Gql, query: str, variables: dict[str, object]) -> dict[str, object]:
    answer = await gql(query, variables, as_=DANA, headers=PROVIDER_DASHBOARD)
    assert answer.errors == [], answer.body
    return answer.data  # type: ignore[no-any-return]


async def test_dana_self_clears_a_patient(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await a_patient_of(owner_engine, demo, DANA)
    data = await _dana(
        gql,
        CLEAR,
        {
            "p": gid("Patient", patient),
            "s": [sid(demo, "glow", "Botox Cosmetic"), sid(demo, "glow", "Juvederm Ultra XC")],
            "d": ["Dynamic glabellar rhytides", "Perioral volume loss"],
        },
    )
    payload = data["clearPatient"]
    assert payload["errors"] == []  # type: ignore[index]
    clearances = payload["clearances"]  # type: ignore[index]
    assert {c["service"]["name"] for c in clearances} == {"Botox Cosmetic", "Juvederm Ultra XC"}
    for c in clearances:
        assert c["source"] == "SELF"
        assert c["signerName"] == "Dana Whitfield, NP"
        assert c["signedBy"] == {"displayName": "Dana Whitfield"}
        assert c["diagnoses"] == ["Dynamic glabellar rhytides", "Perioral volume loss"]
        expires = datetime.fromisoformat(c["expiresAt"])
        assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)
    signed = [r for r in await audit.rows(action="gfe.self_clear") if r["outcome"] == "ALLOWED"]
    assert len(signed) == 1 and signed[0]["actor_user_id"] == demo.users[DANA]
    # The patient's clearance status, for anyone who reads the patient (here the admin).
    listed = await gql(
        "query($p: ID!) { clearances(patientId: $p, validOnly: true) { source } }",
        {"p": gid("Patient", patient)},
        as_=DANA,
    )
    assert len(listed.data["clearances"]) == 2


async def test_nina_is_not_licensed_and_cannot_sign(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await a_patient_of(owner_engine, demo, "nina@glow.example")
    answer = await gql(
        CLEAR,
        {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Botox Cosmetic")], "d": ["x"]},
        as_="nina@glow.example",
    )
    await assert_denied(answer, audit, "FORBIDDEN")
    assert await scalar(owner_engine, "SELECT count(*) FROM clearance") == 0
    # She requests one instead: DO_NOT_ROUTE keeps it in the medspa (manual), no fee.
    requested = await gql(
        REQUEST,
        {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Botox Cosmetic")], "u": True},
        as_="nina@glow.example",
    )
    request = requested.data["requestGfe"]["request"]
    assert request["destination"] == "MANUAL" and request["routedToName"] is None
    assert request["urgent"] is True and request["urgentFeeApplies"] is False
    assert request["status"] == "PENDING"


async def test_a_masquerading_admin_charts_but_cannot_sign(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    owner_engine: AsyncEngine,
    owner_session: AsyncSession,
    audit: Audit,
) -> None:
    # Even a licensed provider cannot be signed for: make Nina licensed, then masquerade.
    await owner_session.execute(
        update(Provider)
        .where(Provider.id == demo.providers["nina@glow.example"])
        .values(licensed_to_self_clear=True)
    )
    await owner_session.commit()
    bearer = await principals.masquerade()
    patient = await a_patient_of(owner_engine, demo, "nina@glow.example")
    answer = await gql(
        CLEAR,
        {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Botox Cosmetic")], "d": ["x"]},
        bearer=bearer,
    )
    await assert_denied(answer, audit, "MASQUERADE_FORBIDDEN")
    assert await scalar(owner_engine, "SELECT count(*) FROM clearance") == 0
    charted = await gql(
        """mutation($p: ID!, $s: ID!) { openServiceVisit(patientId: $p, serviceIds: [$s],
            notes: "charted in a masquerade") { serviceVisit { id provider { displayName } } } }""",
        {"p": gid("Patient", patient), "s": sid(demo, "glow", "Botox Cosmetic")},
        bearer=bearer,
    )
    visit = charted.data["openServiceVisit"]["serviceVisit"]
    assert visit["provider"] == {"displayName": "Nina Patel"}
    visit_id = decode_id_of(visit["id"], "ServiceVisit")
    charted_by = await scalar(
        owner_engine, "SELECT charted_by_user_id FROM service_visit WHERE id = :id", id=visit_id
    )
    assert charted_by == demo.users[DANA]
    (row,) = [r for r in await audit.rows(action="chart.write") if r["outcome"] == "ALLOWED"]
    assert row["actor_user_id"] == demo.users[DANA]
    assert row["effective_user_id"] == demo.users["nina@glow.example"]
    assert row["masquerade_session_id"] is not None
    # Nina (herself) sees the visit; Omar does not.
    mine = await gql("{ serviceVisits { edges { node { id } } } }", as_="nina@glow.example")
    assert [e["node"]["id"] for e in mine.data["serviceVisits"]["edges"]] == [visit["id"]]
    omar = await gql("{ serviceVisits { edges { node { id } } } }", as_="omar@glow.example")
    assert omar.data["serviceVisits"]["edges"] == []


async def test_radiance_requests_route_to_portrait(
    gql: Gql,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    owner_session: AsyncSession,
    audit: Audit,
) -> None:
    lee = "lee@radiance.example"
    patient = await a_patient_of(owner_engine, demo, lee)
    appointment = await appointment_soon(
        owner_session,
        demo,
        provider=lee,
        patient_id=patient,
        slug="radiance",
        location="radiance-santa-monica",
    )
    status = await gql(STATUS, {"id": gid("Appointment", appointment)}, as_=lee)
    assert status.data["node"]["clearanceStatus"] == "NOT_CLEARED"
    requested = await gql(
        REQUEST,
        {"p": gid("Patient", patient), "s": [sid(demo, "radiance", "Botox Cosmetic")], "u": True},
        as_=lee,
    )
    request = requested.data["requestGfe"]["request"]
    assert request["destination"] == "PORTRAIT"
    assert request["routedToName"] == "Portrait clearing"
    assert request["urgentFeeApplies"] is True
    assert [s["name"] for s in request["services"]] == ["Botox Cosmetic"]
    # Lee cannot sign himself, and nobody self-clears while routing goes to Portrait.
    refused = await gql(
        CLEAR,
        {"p": gid("Patient", patient), "s": [sid(demo, "radiance", "Botox Cosmetic")], "d": ["x"]},
        as_=lee,
    )
    await assert_denied(refused, audit, "FORBIDDEN")
    # Portrait's medical team sees it, flagged urgent, and clears it.
    routed = await gql(ROUTED, {"u": True}, as_=AMES)
    assert routed.errors == [], routed.body
    (seen,) = [e["node"] for e in routed.data["routedGfeRequests"]["edges"]]
    assert seen["id"] == request["id"] and seen["urgent"] is True
    assert seen["medspaName"] == "Radiance MedSpa"
    cleared = await gql(
        RESULT,
        {
            "r": request["id"],
            "n": "Portrait clearing, Dr. Ames",
            "c": [{"serviceId": seen["services"][0]["id"], "indications": ["Glabellar lines"]}],
        },
        as_=AMES,
    )
    assert cleared.data["recordGfeResult"] == {"status": "CLEARED", "errors": []}
    sources = await rows(
        owner_engine,
        "SELECT source::text, signed_by_provider_id FROM clearance WHERE patient_id = :p",
        p=patient,
    )
    assert [tuple(r) for r in sources] == [("PORTRAIT", None)]
    after = await gql(STATUS, {"id": gid("Appointment", appointment)}, as_=lee)
    assert after.data["node"]["clearanceStatus"] == "CLEARED"
    done = await gql("{ gfeRequests { edges { node { status } } } }", as_=lee)
    assert [e["node"]["status"] for e in done.data["gfeRequests"]["edges"]] == ["CLEARED"]


async def test_own_clearing_provider_routes_to_the_named_third_party(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, principals: Principals
) -> None:
    ruth = "ruth@radiance.example"
    unnamed = await gql(ROUTING, {"r": "OWN_CLEARING_PROVIDER", "n": None}, as_=ruth)
    assert unnamed.data["updateGfeRouting"]["errors"] == [
        {"code": "VALIDATION", "field": "clearingProviderName"}
    ]
    assert (
        await scalar(owner_engine, "SELECT gfe_routing::text FROM medspa WHERE slug = 'radiance'")
        == "PORTRAIT_CLEARING"
    )
    named = await gql(ROUTING, {"r": "OWN_CLEARING_PROVIDER", "n": "Clear MD Group"}, as_=ruth)
    assert named.data["updateGfeRouting"]["settings"] == {
        "routing": "OWN_CLEARING_PROVIDER",
        "clearingProviderName": "Clear MD Group",
    }
    lee = "lee@radiance.example"
    patient = await a_patient_of(owner_engine, demo, lee)
    requested = await gql(
        REQUEST,
        {"p": gid("Patient", patient), "s": [sid(demo, "radiance", "Kybella")], "u": False},
        as_=lee,
    )
    request = requested.data["requestGfe"]["request"]
    assert request["destination"] == "THIRD_PARTY"
    assert request["routedToName"] == "Clear MD Group"
    assert request["urgentFeeApplies"] is False
    # The third party clears it with Radiance's clearing key (gfe:clear).
    key = await principals.api_key(scopes=("GFE_CLEAR",), admin=ruth)
    cleared = await gql(
        RESULT,
        {
            "r": request["id"],
            "n": "Clear MD Group, Dr. Ortiz",
            "c": [
                {
                    "serviceId": sid(demo, "radiance", "Kybella"),
                    "indications": ["Submental fullness"],
                    "expiresAt": (datetime.now(UTC) + timedelta(days=180)).isoformat(),
                }
            ],
        },
        bearer=key,
    )
    assert cleared.data["recordGfeResult"] == {"status": "CLEARED", "errors": []}
    listed = await gql(
        "query($p: ID!) { clearances(patientId: $p) { source signerName signedBy { id } } }",
        {"p": gid("Patient", patient)},
        as_=ruth,
    )
    assert listed.data["clearances"] == [
        {"source": "THIRD_PARTY", "signerName": "Clear MD Group, Dr. Ortiz", "signedBy": None}
    ]


async def test_do_not_route_needs_a_licensed_provider(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, owner_session: AsyncSession
) -> None:
    ruth = "ruth@radiance.example"
    refused = await gql(ROUTING, {"r": "DO_NOT_ROUTE", "n": None}, as_=ruth)
    assert codes(refused.data["updateGfeRouting"]) == ["NO_LICENSED_PROVIDER"]
    await owner_session.execute(
        update(Provider)
        .where(Provider.id == demo.providers["lee@radiance.example"])
        .values(licensed_to_self_clear=True)
    )
    await owner_session.commit()
    allowed = await gql(ROUTING, {"r": "DO_NOT_ROUTE", "n": None}, as_=ruth)
    assert allowed.data["updateGfeRouting"]["settings"]["routing"] == "DO_NOT_ROUTE"
    # Now Lee, licensed, self-clears under his medspa's new routing.
    patient = await a_patient_of(owner_engine, demo, "lee@radiance.example")
    cleared = await gql(
        CLEAR,
        {
            "p": gid("Patient", patient),
            "s": [sid(demo, "radiance", "VI Peel")],
            "d": ["Photodamage"],
        },
        as_="lee@radiance.example",
    )
    assert [c["source"] for c in cleared.data["clearPatient"]["clearances"]] == ["SELF"]


async def test_self_clearance_needs_do_not_route_and_active_services(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await a_patient_of(owner_engine, demo, DANA)
    await gql(
        "mutation($id: ID!) { setServiceActive(id: $id, active: false) { errors { code } } }",
        {"id": sid(demo, "glow", "Kybella")},
        as_=DANA,
    )
    inactive = await _dana(
        gql, CLEAR, {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Kybella")], "d": ["x"]}
    )
    assert inactive["clearPatient"]["errors"] == [  # type: ignore[index]
        {"code": "SERVICE_INACTIVE", "field": "serviceIds"}
    ]
    no_diagnosis = await _dana(
        gql, CLEAR, {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Xeomin")], "d": [" "]}
    )
    assert codes(no_diagnosis["clearPatient"]) == ["VALIDATION"]  # type: ignore[arg-type]
    await gql(ROUTING, {"r": "PORTRAIT_CLEARING", "n": None}, as_=DANA)
    routed = await _dana(
        gql, CLEAR, {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Xeomin")], "d": ["x"]}
    )
    assert codes(routed["clearPatient"]) == ["SELF_CLEARANCE_UNAVAILABLE"]  # type: ignore[arg-type]
    assert await scalar(owner_engine, "SELECT count(*) FROM clearance") == 0
    # A request now goes to Portrait.
    requested = await _dana(
        gql,
        REQUEST,
        {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Xeomin")], "u": False},
    )
    assert requested["requestGfe"]["request"]["destination"] == "PORTRAIT"  # type: ignore[index]


async def test_a_manual_request_is_cleared_by_dana(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await a_patient_of(owner_engine, demo, DANA)
    requested = await _dana(
        gql,
        REQUEST,
        {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Dysport")], "u": False},
    )
    request_id = requested["requestGfe"]["request"]["id"]  # type: ignore[index]
    await _dana(
        gql,
        CLEAR,
        {
            "p": gid("Patient", patient),
            "s": [sid(demo, "glow", "Dysport")],
            "d": ["Crow's feet"],
            "r": request_id,
        },
    )
    status = await scalar(
        owner_engine,
        "SELECT status::text FROM gfe_request WHERE id = :id",
        id=decode_id_of(request_id, "GfeRequest"),
    )
    assert status == "CLEARED"


async def test_uncleared_patients_within_24_hours_show_on_todos_and_the_pcc_view(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, owner_session: AsyncSession
) -> None:
    nina = "nina@glow.example"
    # One of Dana's patients (so Dana, who signs, reaches them) now booked with Nina.
    patient = await a_patient_of(owner_engine, demo, DANA)
    appointment = gid(
        "Appointment",
        await appointment_soon(
            owner_session,
            demo,
            provider=nina,
            patient_id=patient,
            slug="glow",
            location="glow-downtown",
        ),
    )
    todos = await gql("{ todos { kind appointment { id clearanceStatus } } }", as_=nina)
    assert {
        "kind": "UNCLEARED_PATIENT",
        "appointment": {"id": appointment, "clearanceStatus": "NOT_CLEARED"},
    } in todos.data["todos"]
    omar = await gql("{ todos { appointment { id } } }", as_="omar@glow.example")
    assert appointment not in {t["appointment"]["id"] for t in omar.data["todos"]}
    view = "{ upcomingUnclearedAppointments { id } }"
    vera = await gql(view, as_="vera@portrait.example")
    assert appointment in {a["id"] for a in vera.data["upcomingUnclearedAppointments"]}
    dean = await gql(view, as_="dean@portrait.example")
    assert appointment not in {a["id"] for a in dean.data["upcomingUnclearedAppointments"]}
    # Dana clears the patient for Botox (the Neuromodulator type's service): gone from both.
    await _dana(
        gql,
        CLEAR,
        {"p": gid("Patient", patient), "s": [sid(demo, "glow", "Botox Cosmetic")], "d": ["x"]},
    )
    todos = await gql("{ todos { appointment { id clearanceStatus } } }", as_=nina)
    assert appointment not in {t["appointment"]["id"] for t in todos.data["todos"]}
    vera = await gql(view, as_="vera@portrait.example")
    assert appointment not in {a["id"] for a in vera.data["upcomingUnclearedAppointments"]}
    cleared = await gql(STATUS, {"id": appointment}, as_=nina)
    assert cleared.data["node"]["clearanceStatus"] == "CLEARED"
