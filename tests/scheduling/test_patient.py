"""Patients (minimal): create, read contact and registration status, in scope."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.scheduling.helpers import (
    GLOW_ADMIN,
    OK,
    assert_matrix_answer,
    gid,
    next_week,
    patient_of,
    snapshot,
)

CREATE = """mutation($i: PatientInput!, $m: ID) { createPatient(input: $i, medspaId: $m) {
    errors { code field } patient { id fullName email phone registrationStatus } } }"""
PATIENTS = """query($m: ID!) { medspa(id: $m) { patients(first: 100) { edges { node {
    email registrationStatus } } } } }"""
NEW = {
    "firstName": "Quinn",
    "lastName": "Doe",
    "email": "quinn@example.com",
    "phone": "+1 (646) 555-0100",
}


async def test_create_normalises_contact_and_refuses_duplicates(gql: Gql, demo: DemoIds) -> None:
    created = await gql(CREATE, {"i": NEW}, as_=GLOW_ADMIN)
    assert created.data["createPatient"]["patient"] == {
        "id": created.data["createPatient"]["patient"]["id"],
        "fullName": "Quinn Doe",
        "email": "quinn@example.com",
        "phone": "+16465550100",
        "registrationStatus": "NOT_STARTED",
    }
    again = await gql(CREATE, {"i": {**NEW, "email": "QUINN@example.com"}}, as_=GLOW_ADMIN)
    assert [e["code"] for e in again.data["createPatient"]["errors"]] == ["PATIENT_EXISTS"]
    # The same person may be a patient of another medspa.
    other = await gql(CREATE, {"i": NEW}, as_="ruth@radiance.example")
    assert other.data["createPatient"]["errors"] == []


# Glow patients each caller reads through medspa.patients (12 seeded).
READ_EXPECT: dict[str, int | None] = {
    "ops@portrait.example": 12,
    "maria@portrait.example": 0,  # no patient.read
    "vera@portrait.example": 12,  # ASSIGNED to Glow's providers
    "dean@portrait.example": None,
    "cody@portrait.example": None,
    "sam@portrait.example": None,
    "dana@glow.example": 12,
    "nina@glow.example": 0,  # OWN: patients she has appointments with (counted below)
    "omar@glow.example": 0,
    "ruth@radiance.example": None,
    "lee@radiance.example": None,
    "lena@legacy.example": None,
    "kim@legacy.example": None,
    "masquerade": 0,
    "covering": 12,  # Vera's reach, Sam's while he covers her
    "dana@glow.example:PROVIDER": 0,  # OWN, counted below
    "api_key": 12,  # patients:read
    "api_key:PATIENTS_READ": 12,
    "api_key:APPOINTMENTS_READ": 0,  # the medspa is readable, its patients are not
    "api_key:APPOINTMENTS_WRITE": 0,
    "api_key:CATALOG_READ": 0,
    "anonymous": None,
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_patient_read_matrix(
    gql: Gql, demo: DemoIds, principals: Principals, audit: Audit, who: str
) -> None:
    answer = await gql(
        PATIENTS, {"m": gid("Medspa", demo.medspas["glow"])}, bearer=await principals.bearer(who)
    )
    assert answer.errors == [], answer.body
    expected = READ_EXPECT[who]
    if expected is None:
        assert answer.data["medspa"] is None
        return
    patients = answer.data["medspa"]["patients"]["edges"]
    if who in {
        "nina@glow.example",
        "omar@glow.example",
        "masquerade",
        "dana@glow.example:PROVIDER",
    }:
        # Providers see exactly the patients they have appointments with (4 in the seed).
        assert len(patients) == 4
    else:
        assert len(patients) == expected
    if patients:
        request_rows = await audit.rows(action="patient.read")
        assert request_rows, "reading patients is audited"


async def test_provider_reads_a_new_patient_after_booking_them(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    from tests.scheduling.helpers import BOOK, booking

    created = await gql(CREATE, {"i": NEW}, as_="nina@glow.example")
    patient = created.data["createPatient"]["patient"]["id"]
    node = "query($id: ID!) { node(id: $id) { ... on Patient { email } } }"
    assert (await gql(node, {"id": patient}, as_="nina@glow.example")).data["node"] is None
    variables = await booking(owner_engine, demo, at=next_week(2, time(10)))
    variables["input"]["patientId"] = patient
    booked = await gql(BOOK, variables, as_="nina@glow.example")
    assert booked.data["bookAppointment"]["errors"] == []
    assert (await gql(node, {"id": patient}, as_="nina@glow.example")).data["node"] == {
        "email": "quinn@example.com"
    }
    assert (await gql(node, {"id": patient}, as_="omar@glow.example")).data["node"] is None


CREATE_EXPECT = {
    "ops@portrait.example": "FORBIDDEN",
    "maria@portrait.example": "FORBIDDEN",
    "vera@portrait.example": OK,
    "dean@portrait.example": "NOT_FOUND",
    "cody@portrait.example": "NOT_FOUND",
    "sam@portrait.example": "NOT_FOUND",
    "dana@glow.example": OK,
    "nina@glow.example": OK,
    "omar@glow.example": OK,
    "ruth@radiance.example": "NOT_FOUND",
    "lee@radiance.example": "NOT_FOUND",
    "lena@legacy.example": "NOT_FOUND",
    "kim@legacy.example": "NOT_FOUND",
    "covering": OK,
    "dana@glow.example:PROVIDER": OK,  # a provider may add a patient
    "masquerade": OK,
    "api_key": "FORBIDDEN",
    "api_key:APPOINTMENTS_READ": "FORBIDDEN",
    "api_key:APPOINTMENTS_WRITE": "FORBIDDEN",
    "api_key:PATIENTS_READ": "FORBIDDEN",
    "api_key:CATALOG_READ": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_create_patient_in_glow_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "patient")
    answer = await gql(CREATE, {"i": NEW, "m": gid("Medspa", demo.medspas["glow"])}, bearer=bearer)
    await assert_matrix_answer(
        answer=answer,
        expected=CREATE_EXPECT[who],
        field="createPatient",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


async def test_patient_of_another_medspa_is_invisible(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    radiance_patient = await patient_of(owner_engine, demo, "radiance")
    answer = await gql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": gid("Patient", radiance_patient)},
        as_=GLOW_ADMIN,
    )
    assert answer.data["node"] is None
