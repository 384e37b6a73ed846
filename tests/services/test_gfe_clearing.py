"""The clearing partner's loop (issue 17 item 4): Portrait's medical team and a medspa's
`gfe:clear` key see the routed requests that reach them and record the result; the medspa
withdraws a pending request. Radiance's and Legacy's patients (routed to Portrait) become
CLEARED this way."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals
from tests.services.helpers import (
    a_patient_of,
    appointment_soon,
    assert_denied,
    codes,
    gid,
    scalar,
    sid,
)

REQUEST = """mutation($p: ID!, $s: [ID!]!, $u: Boolean!) { requestGfe(patientId: $p,
    serviceIds: $s, urgent: $u) { request { id status } errors { code field } } }"""
ROUTED = """query($u: Boolean, $s: GfeRequestStatus) { routedGfeRequests(urgent: $u, status: $s)
    { edges { node { id urgent medspaName destination status patientFirstName patientLastName
    declineReason services { id name } } } } }"""
RESULT = """mutation($r: ID!, $n: String!, $c: [ClearedServiceInput!], $d: String) {
    recordGfeResult(requestId: $r, signerName: $n, cleared: $c, declineReason: $d) {
    requestId status errors { code field } } }"""
CANCEL = """mutation($r: ID!) { cancelGfeRequest(requestId: $r) { request { id status
    resolvedAt } errors { code field } } }"""
STATUS = """query($id: ID!) { node(id: $id) { ... on Appointment { clearanceStatus } } }"""
AMES = "ames@portrait.example"
RUTH = "ruth@radiance.example"
LEE = "lee@radiance.example"


async def _request(
    gql: Gql, demo: DemoIds, *, provider: str, patient: uuid.UUID, slug: str, urgent: bool
) -> str:
    answer = await gql(
        REQUEST,
        {"p": gid("Patient", patient), "s": [sid(demo, slug, "Botox Cosmetic")], "u": urgent},
        as_=provider,
    )
    payload = answer.data["requestGfe"]
    assert payload["errors"] == [], answer.body
    return str(payload["request"]["id"])


def _clear(service: str, *indications: str) -> list[dict[str, Any]]:
    return [{"serviceId": service, "indications": list(indications or ("Glabellar lines",))}]


async def _routed(gql: Gql, **who: Any) -> list[dict[str, Any]]:
    answer = await gql(ROUTED, {}, **who)
    assert answer.errors == [], answer.body
    return [e["node"] for e in answer.data["routedGfeRequests"]["edges"]]


async def test_a_gfe_clear_key_clears_a_radiance_patient(
    gql: Gql,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    owner_session: AsyncSession,
    principals: Principals,
    audit: Audit,
) -> None:
    patient = await a_patient_of(owner_engine, demo, LEE)
    appointment = await appointment_soon(
        owner_session,
        demo,
        provider=LEE,
        patient_id=patient,
        slug="radiance",
        location="radiance-santa-monica",
    )
    request = await _request(gql, demo, provider=LEE, patient=patient, slug="radiance", urgent=True)
    key = await principals.api_key(scopes=("GFE_CLEAR",), admin=RUTH)
    (seen,) = await _routed(gql, bearer=key)
    assert seen["id"] == request and seen["urgent"] is True
    assert seen["destination"] == "PORTRAIT" and seen["status"] == "PENDING"
    assert [s["name"] for s in seen["services"]] == ["Botox Cosmetic"]
    # The key identifies the patient through the request, never through patient reads.
    patients = await gql("{ patients { edges { node { id } } } }", bearer=key)
    assert patients.codes == ["FORBIDDEN"]

    answer = await gql(
        RESULT,
        {"r": request, "n": "Dr. Rivera, MD", "c": _clear(seen["services"][0]["id"])},
        bearer=key,
    )
    assert answer.data["recordGfeResult"] == {
        "requestId": request,
        "status": "CLEARED",
        "errors": [],
    }
    status = await gql(STATUS, {"id": gid("Appointment", appointment)}, as_=RUTH)
    assert status.data["node"]["clearanceStatus"] == "CLEARED"
    source = await scalar(
        owner_engine, "SELECT source::text FROM clearance WHERE patient_id = :p", p=patient
    )
    assert source == "PORTRAIT"
    (row,) = await audit.rows(action="gfe.clear")
    assert row["outcome"] == "ALLOWED" and row["api_client_id"] is not None
    # Resolved once: a second result is refused and changes nothing.
    again = await gql(RESULT, {"r": request, "n": "Dr. Rivera", "d": "changed my mind"}, bearer=key)
    assert codes(again.data["recordGfeResult"]) == ["INVALID_TRANSITION"]
    assert (
        await scalar(
            owner_engine, "SELECT count(*) FROM clearance WHERE patient_id = :p", p=patient
        )
        == 1
    )


async def test_portraits_medical_team_clears_legacy_and_radiance(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, owner_session: AsyncSession
) -> None:
    kim = "kim@legacy.example"
    legacy_patient = await a_patient_of(owner_engine, demo, kim)
    appointment = await appointment_soon(
        owner_session,
        demo,
        provider=kim,
        patient_id=legacy_patient,
        slug="legacy",
        location="legacy-main",
    )
    legacy = await _request(
        gql, demo, provider=kim, patient=legacy_patient, slug="legacy", urgent=False
    )
    radiance_patient = await a_patient_of(owner_engine, demo, LEE)
    radiance = await _request(
        gql, demo, provider=LEE, patient=radiance_patient, slug="radiance", urgent=True
    )
    seen = await _routed(gql, as_=AMES)
    assert {r["id"]: r["medspaName"] for r in seen} == {
        legacy: "Legacy Skin Studio",
        radiance: "Radiance MedSpa",
    }
    urgent = await gql(ROUTED, {"u": True}, as_=AMES)
    assert [e["node"]["id"] for e in urgent.data["routedGfeRequests"]["edges"]] == [radiance]

    before = await gql(STATUS, {"id": gid("Appointment", appointment)}, as_="lena@legacy.example")
    assert before.data["node"]["clearanceStatus"] == "NOT_CLEARED"
    cleared = await gql(
        RESULT,
        {"r": legacy, "n": "Dr. Alex Ames, MD", "c": _clear(sid(demo, "legacy", "Botox Cosmetic"))},
        as_=AMES,
    )
    assert cleared.data["recordGfeResult"]["status"] == "CLEARED"
    after = await gql(STATUS, {"id": gid("Appointment", appointment)}, as_="lena@legacy.example")
    assert after.data["node"]["clearanceStatus"] == "CLEARED"

    declined = await gql(
        RESULT, {"r": radiance, "n": "Dr. Alex Ames, MD", "d": "Needs an in-person exam."}, as_=AMES
    )
    assert declined.data["recordGfeResult"]["status"] == "DECLINED"
    mine = await gql(
        "{ gfeRequests { edges { node { id status declineReason resolvedAt } } } }", as_=LEE
    )
    (node,) = [e["node"] for e in mine.data["gfeRequests"]["edges"] if e["node"]["id"] == radiance]
    assert node["status"] == "DECLINED" and node["declineReason"] == "Needs an in-person exam."
    assert node["resolvedAt"] is not None
    pending = await gql(ROUTED, {"s": "PENDING"}, as_=AMES)
    assert pending.data["routedGfeRequests"]["edges"] == []


async def test_what_the_clearing_side_does_not_reach(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, principals: Principals, audit: Audit
) -> None:
    # A Glow request (DO_NOT_ROUTE: Glow's own providers clear it) and a Legacy request.
    nina = "nina@glow.example"
    glow = await _request(
        gql,
        demo,
        provider=nina,
        patient=await a_patient_of(owner_engine, demo, nina),
        slug="glow",
        urgent=False,
    )
    kim = "kim@legacy.example"
    legacy = await _request(
        gql,
        demo,
        provider=kim,
        patient=await a_patient_of(owner_engine, demo, kim),
        slug="legacy",
        urgent=False,
    )
    assert [r["id"] for r in await _routed(gql, as_=AMES)] == [legacy]
    radiance_key = await principals.api_key(scopes=("GFE_CLEAR",), admin=RUTH)
    glow_key = await principals.api_key(scopes=("GFE_CLEAR",), admin="dana@glow.example")
    assert await _routed(gql, bearer=radiance_key) == []
    assert await _routed(gql, bearer=glow_key) == []  # manual requests are not routed
    for request, who in (
        (glow, {"as_": AMES}),
        (glow, {"bearer": glow_key}),
        (legacy, {"bearer": radiance_key}),
        (legacy, {"as_": "dana@glow.example"}),
    ):
        answer = await gql(
            RESULT,
            {"r": request, "n": "Dr. X", "c": _clear(sid(demo, "glow", "Botox Cosmetic"))},
            **who,
        )
        code = "FORBIDDEN" if who.get("as_") == "dana@glow.example" else "NOT_FOUND"
        await assert_denied(answer, audit, code)
    assert await scalar(owner_engine, "SELECT count(*) FROM clearance WHERE source <> 'SELF'") == 0


async def test_bad_results_are_refused_and_change_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await a_patient_of(owner_engine, demo, LEE)
    request = await _request(
        gql, demo, provider=LEE, patient=patient, slug="radiance", urgent=False
    )
    botox = sid(demo, "radiance", "Botox Cosmetic")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"n": "Dr. X"}, "services"),  # neither cleared services nor a decline
        ({"n": "Dr. X", "c": _clear(sid(demo, "radiance", "Kybella"))}, "services"),
        ({"n": "Dr. X", "c": _clear(botox) * 2}, "services"),
        ({"n": "Dr. X", "c": _clear(botox) * 51}, "services"),
        ({"n": " ", "c": _clear(botox)}, "signerName"),
        ({"n": "D" * 201, "c": _clear(botox)}, "signerName"),
        ({"n": "Dr. X", "c": [{"serviceId": botox, "indications": [" "]}]}, "indications"),
        ({"n": "Dr. X", "c": [{"serviceId": botox, "indications": ["x"] * 21}]}, "indications"),
        (
            {
                "n": "Dr. X",
                "c": [{"serviceId": botox, "indications": ["x"], "expiresAt": "2020-01-01T00:00Z"}],
            },
            "expiresAt",
        ),
        ({"n": "Dr. X", "d": " "}, "declineReason"),
        ({"n": "Dr. X", "d": "r" * 2001}, "declineReason"),
        ({"n": "Dr. X", "d": "no", "c": _clear(botox)}, "services"),
    ]
    for variables, field in cases:
        answer = await gql(RESULT, {"r": request, **variables}, as_=AMES)
        assert answer.errors == [], answer.body
        errors = answer.data["recordGfeResult"]["errors"]
        assert errors == [{"code": "VALIDATION", "field": field}], (variables, errors)
    assert (
        await scalar(
            owner_engine, "SELECT status::text FROM gfe_request WHERE patient_id = :p", p=patient
        )
        == "PENDING"
    )
    assert (
        await scalar(
            owner_engine, "SELECT count(*) FROM clearance WHERE patient_id = :p", p=patient
        )
        == 0
    )


async def test_the_medspa_cancels_a_pending_request(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await a_patient_of(owner_engine, demo, LEE)
    by_admin = await _request(
        gql, demo, provider=LEE, patient=patient, slug="radiance", urgent=True
    )
    by_lee = await _request(gql, demo, provider=LEE, patient=patient, slug="radiance", urgent=False)
    # Another medspa's admin and another provider do not reach them.
    other = await gql(CANCEL, {"r": by_admin}, as_="dana@glow.example")
    await assert_denied(other, audit, "NOT_FOUND")
    maya = await gql(CANCEL, {"r": by_admin}, as_="maya@radiance.example")
    await assert_denied(maya, audit, "NOT_FOUND")
    cancelled = await gql(CANCEL, {"r": by_admin}, as_=RUTH)
    assert cancelled.data["cancelGfeRequest"]["request"]["status"] == "CANCELLED"
    own = await gql(CANCEL, {"r": by_lee}, as_=LEE)
    assert own.data["cancelGfeRequest"]["request"]["status"] == "CANCELLED"
    twice = await gql(CANCEL, {"r": by_lee}, as_=LEE)
    assert codes(twice.data["cancelGfeRequest"]) == ["INVALID_TRANSITION"]
    # A cancelled request cannot be cleared any more.
    late = await gql(
        RESULT,
        {"r": by_admin, "n": "Dr. X", "c": _clear(sid(demo, "radiance", "Botox Cosmetic"))},
        as_=AMES,
    )
    assert codes(late.data["recordGfeResult"]) == ["INVALID_TRANSITION"]
    assert await _routed(gql, as_=AMES) != []  # still listed, as CANCELLED
    assert {r["status"] for r in await _routed(gql, as_=AMES)} == {"CANCELLED"}
