"""Updating a patient's contact: normalisation, fields kept when left out, clearing,
per-medspa uniqueness, and refusals that change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.patients.helpers import UPDATE, patient_row, patient_treated_by, payload_codes
from tests.scheduling.helpers import gid, snapshot

ADMIN = "dana@glow.example"


async def _update(gql: Gql, patient: uuid.UUID, changes: dict[str, Any]) -> Any:
    answer = await gql(UPDATE, {"id": gid("Patient", patient), "i": changes}, as_=ADMIN)
    assert answer.errors == [], answer.body
    return answer


async def test_normalises_and_keeps_what_is_left_out(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    before = await patient_row(owner_engine, patient)
    answer = await _update(
        gql, patient, {"email": "  New.Address@Example.com ", "dateOfBirth": "1979-11-30"}
    )
    assert answer.data["updatePatientContact"]["patient"] == {
        "id": gid("Patient", patient),
        "firstName": before["first_name"],
        "lastName": before["last_name"],
        "email": "New.Address@Example.com",
        "phone": before["phone"],
        "dateOfBirth": "1979-11-30",
    }
    (row,) = await audit.rows(action="patient.update_contact")
    assert row["outcome"] == "ALLOWED"
    assert row["detail"] == {"fields": ["email", "dateOfBirth"]}  # names, never values


async def test_clearing_one_contact_keeps_the_other(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    answer = await _update(gql, patient, {"email": None})
    assert answer.data["updatePatientContact"]["patient"]["email"] is None
    before = await snapshot(owner_engine, "patient")
    refused = await _update(gql, patient, {"phone": None})
    assert answer.data["updatePatientContact"]["patient"]["phone"]
    assert refused.data["updatePatientContact"]["errors"] == [
        {"code": "VALIDATION", "field": "email"}
    ]
    assert await snapshot(owner_engine, "patient") == before


async def test_refusals_change_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    other = await patient_treated_by(owner_engine, demo, "omar@glow.example")
    taken = await patient_row(owner_engine, other)
    before = await snapshot(owner_engine, "patient")
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"email": taken["email"].upper(), "lastName": "Changed"}, ["PATIENT_EXISTS"]),
        ({"phone": taken["phone"], "firstName": "Changed"}, ["PATIENT_EXISTS"]),
        ({"lastName": "Changed", "email": "nope"}, ["VALIDATION"]),
        ({"email": "nope"}, ["VALIDATION"]),
        ({"phone": "12"}, ["VALIDATION"]),
        ({"firstName": "  "}, ["VALIDATION"]),
        ({"lastName": None}, ["VALIDATION"]),
        ({"firstName": "x" * 101}, ["VALIDATION"]),
        ({"dateOfBirth": tomorrow}, ["VALIDATION"]),
        ({"dateOfBirth": "1899-12-31"}, ["VALIDATION"]),
    ]
    for changes, codes in cases:
        answer = await _update(gql, patient, changes)
        assert payload_codes(answer, "updatePatientContact") == codes, changes
    # The violated index names the field.
    answer = await _update(gql, patient, {"phone": taken["phone"]})
    assert answer.data["updatePatientContact"]["errors"] == [
        {"code": "PATIENT_EXISTS", "field": "phone"}
    ]
    assert await snapshot(owner_engine, "patient") == before
    failed = await audit.rows(action="patient.update_contact", outcome="FAILED")
    assert len(failed) == len(cases) + 1


async def test_same_contact_in_another_medspa_is_fine(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    glow = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    radiance = await patient_row(
        owner_engine, await patient_treated_by(owner_engine, demo, "lee@radiance.example")
    )
    answer = await _update(gql, glow, {"email": radiance["email"]})
    assert answer.data["updatePatientContact"]["errors"] == []


async def test_a_wrong_kind_of_id_is_not_found(gql: Gql, demo: DemoIds, audit: Audit) -> None:
    answer = await gql(
        UPDATE,
        {"id": gid("Provider", demo.providers["nina@glow.example"]), "i": {"lastName": "X"}},
        as_=ADMIN,
    )
    assert answer.codes == ["NOT_FOUND"]
    (row,) = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert row["outcome"] == "DENIED"


async def test_create_takes_a_date_of_birth(gql: Gql, owner_engine: AsyncEngine) -> None:
    create = """mutation($i: PatientInput!) { createPatient(input: $i) {
        patient { dateOfBirth registrationStatus } errors { code field } } }"""
    made = await gql(
        create,
        {
            "i": {
                "firstName": "Di",
                "lastName": "Born",
                "phone": "2125550177",
                "dateOfBirth": "2001-09-09",
            }
        },
        as_=ADMIN,
    )
    assert made.data["createPatient"]["patient"] == {
        "dateOfBirth": "2001-09-09",
        "registrationStatus": "NOT_STARTED",
    }
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    refused = await gql(
        create,
        {
            "i": {
                "firstName": "Di",
                "lastName": "Later",
                "phone": "2125550178",
                "dateOfBirth": tomorrow,
            }
        },
        as_=ADMIN,
    )
    assert refused.data["createPatient"]["errors"] == [
        {"code": "VALIDATION", "field": "dateOfBirth"}
    ]
