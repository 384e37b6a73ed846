"""Role x tenant matrix for every patient field and mutation: every caller kind against a
patient of Glow (treated by Nina) and one of Radiance (treated by Lee); refusals change nothing
and are audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.patients.helpers import (
    COMPLETE,
    IMPORT,
    PATIENT,
    SEARCH,
    SEND,
    UPDATE,
    patient_row,
    patient_treated_by,
    send_link,
)
from tests.scheduling.helpers import OK, assert_matrix_answer, gid, rows, snapshot

MATRIX_FIELDS = {
    "patient",
    "patients",
    "updatePatientContact",
    "sendRegistrationLink",
    "completeRegistration",
    "importPatients",
}
WATCHED = ("patient", "registration_link")

# Who reaches a patient Nina treats at Glow, and one Lee treats at Radiance. Virtual PCC Vera
# is assigned to Glow's providers; designated PCC Dean to Radiance; Cody to Legacy; Sam to no
# one. Providers reach the patients they have appointments with; the masquerade is Dana as Nina;
# the API key is Glow's, with patients:read.
READERS = {
    "glow": {
        "ops@portrait.example",
        "vera@portrait.example",
        "dana@glow.example",
        "nina@glow.example",
        "masquerade",
        "api_key",
        "api_key:PATIENTS_READ",
        "covering",  # Sam, inside a window covering Vera
    },
    "radiance": {
        "ops@portrait.example",
        "dean@portrait.example",
        "ruth@radiance.example",
        "lee@radiance.example",
    },
}
TREATED_BY = {"glow": "nina@glow.example", "radiance": "lee@radiance.example"}
# No patient write grant at all: platform admin (reads only), PCC manager, partner key.
NO_WRITE_GRANT = {
    "ops@portrait.example",
    "maria@portrait.example",
    *(who for who in ALL_CALLERS if who.startswith("api_key")),
}


def write_expectation(who: str, tenant: str) -> str:
    if who == "anonymous":
        return "UNAUTHENTICATED"
    if who in NO_WRITE_GRANT:
        return "FORBIDDEN"
    return OK if who in READERS[tenant] else "NOT_FOUND"


async def _target(engine: AsyncEngine, demo: DemoIds, tenant: str, status: str) -> uuid.UUID:
    return await patient_treated_by(engine, demo, TREATED_BY[tenant], status=status)


@pytest.mark.parametrize("tenant", ["glow", "radiance"])
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_patient_by_id(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    tenant: str,
) -> None:
    target = await _target(owner_engine, demo, tenant, "COMPLETED")
    bearer = await principals.bearer(who)
    answer = await gql(PATIENT, {"id": gid("Patient", target)}, bearer=bearer)
    assert answer.errors == [], answer.body
    # The single read is on record whatever its outcome: ALLOWED, or DENIED for a miss.
    reads = await audit.rows(action="patient.read", resource_id=target)
    if who in READERS[tenant]:
        assert answer.data["patient"]["id"] == gid("Patient", target)
        assert [r["outcome"] for r in reads] == ["ALLOWED"]
    else:
        # Out of scope answers exactly like a patient that does not exist, errors included.
        absent = await gql(PATIENT, {"id": gid("Patient", uuid.uuid4())}, bearer=bearer)
        assert answer.body == absent.body == {"data": {"patient": None}}
        assert [r["outcome"] for r in reads] == ["DENIED"]


# Rows each caller finds with an empty search (36 seeded patients, 12 per medspa; a provider
# treats 4; Sam is assigned to no one). A PCC reads the patients linked to the providers it
# reaches (DESIGN §5): Vera all three of Glow's (3 x 4), Dean and Cody the two providers of
# Radiance and Legacy (2 x 4), never the medspa's other patients.
SEARCH_COUNTS: dict[str, int | str] = {
    "ops@portrait.example": 36,
    "maria@portrait.example": "FORBIDDEN",
    "vera@portrait.example": 12,
    "dean@portrait.example": 8,
    "cody@portrait.example": 8,
    "sam@portrait.example": 0,
    "dana@glow.example": 12,
    "nina@glow.example": 4,
    "omar@glow.example": 4,
    "ruth@radiance.example": 12,
    "lee@radiance.example": 4,
    "lena@legacy.example": 12,
    "kim@legacy.example": 4,
    "masquerade": 4,
    "covering": 12,  # Glow's providers, while Sam covers Vera
    "dana@glow.example:PROVIDER": 4,  # her own patients, as a provider
    "api_key": 12,
    "api_key:PATIENTS_READ": 12,
    "api_key:APPOINTMENTS_READ": "FORBIDDEN",
    "api_key:APPOINTMENTS_WRITE": "FORBIDDEN",
    "api_key:CATALOG_READ": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_patients_search(gql: Gql, principals: Principals, audit: Audit, who: str) -> None:
    answer = await gql(SEARCH, {"first": 100}, bearer=await principals.bearer(who))
    expected = SEARCH_COUNTS[who]
    if isinstance(expected, str):
        assert answer.codes == [expected], answer.body
        denied = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
        assert [r["outcome"] for r in denied] == ["DENIED"]
        return
    assert answer.errors == [], answer.body
    assert len(answer.data["patients"]["edges"]) == expected
    if expected:
        (read,) = await audit.rows(action="patient.read", outcome="ALLOWED")
        assert len(read["detail"]["patientIds"]) == expected


@pytest.mark.parametrize("tenant", ["glow", "radiance"])
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_update_patient_contact(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    tenant: str,
) -> None:
    target = await _target(owner_engine, demo, tenant, "COMPLETED")
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(
        UPDATE,
        {"id": gid("Patient", target), "i": {"phone": "212 555 0188", "lastName": "Matrix"}},
        bearer=bearer,
    )
    expected = write_expectation(who, tenant)
    payload = await assert_matrix_answer(
        answer=answer,
        expected=expected,
        field="updatePatientContact",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    row = await patient_row(owner_engine, target)
    if expected == OK:
        assert payload is not None
        assert payload["patient"]["phone"] == "+12125550188"
        assert (row["phone"], row["last_name"]) == ("+12125550188", "Matrix")
    else:
        assert row["last_name"] != "Matrix"


@pytest.mark.parametrize("tenant", ["glow", "radiance"])
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_send_registration_link(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    tenant: str,
) -> None:
    target = await _target(owner_engine, demo, tenant, "LINK_SENT")
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(SEND, {"p": gid("Patient", target)}, bearer=bearer)
    expected = write_expectation(who, tenant)
    payload = await assert_matrix_answer(
        answer=answer,
        expected=expected,
        field="sendRegistrationLink",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if expected == OK:
        assert payload is not None
        assert payload["registrationPath"].startswith("/register/")
        assert payload["patient"]["registrationStatus"] == "LINK_SENT"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_complete_registration_needs_only_the_token(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    """Whoever holds the link completes it (the patient is anonymous); a wrong token is a
    typed refusal for everyone."""
    target = await _target(owner_engine, demo, "glow", "LINK_SENT")
    path = await send_link(gql, target)
    bearer = await principals.bearer(who)
    wrong = await gql(
        COMPLETE, {"i": {"token": path + "x", "dateOfBirth": "1990-04-01"}}, bearer=bearer
    )
    assert wrong.data["completeRegistration"] == {
        "completed": False,
        "errors": [{"code": "REGISTRATION_LINK_INVALID", "field": "token"}],
    }
    right = await gql(COMPLETE, {"i": {"token": path, "dateOfBirth": "1990-04-01"}}, bearer=bearer)
    assert right.data["completeRegistration"] == {"completed": True, "errors": []}
    assert (await patient_row(owner_engine, target))["registration_status"] == "COMPLETED"


CSV = "first_name,last_name,email\nMatrix,Import,matrix.import@example.com\n"
IMPORTERS = {
    "dana@glow.example": "glow",
    "ruth@radiance.example": "radiance",
    "lena@legacy.example": "legacy",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_import_patients_is_for_medspa_admins(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    """patient.create at TENANT scope only: PCCs (ASSIGNED), providers and masquerades (OWN)
    hold patient.create but may not import; rows land in the admin's own medspa."""
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(IMPORT, {"csv": CSV}, bearer=bearer)
    expected = (
        OK if who in IMPORTERS else ("UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN")
    )
    payload = await assert_matrix_answer(
        answer=answer,
        expected=expected,
        field="importPatients",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if expected == OK:
        assert payload is not None
        assert payload["report"]["created"] == 1
        found = await rows(
            owner_engine,
            "SELECT medspa_id FROM patient WHERE email = 'matrix.import@example.com'",
        )
        assert [r["medspa_id"] for r in found] == [demo.medspas[IMPORTERS[who]]]
