"""Shared arrangements for the patient tests: demo patients by who treats them, queries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Answer, Gql
from tests.scheduling.helpers import gid, rows, scalar

GLOW_ADMIN = "dana@glow.example"

PATIENT = """query($id: ID!) { patient(id: $id) { id firstName lastName email phone dateOfBirth
    registrationStatus registeredAt } }"""
SEARCH = """query($s: String, $m: ID, $first: Int, $after: String) {
    patients(search: $s, medspaId: $m, first: $first, after: $after) {
        edges { node { id firstName lastName email } } pageInfo { hasNextPage endCursor } } }"""
UPDATE = """mutation($id: ID!, $i: PatientContactInput!) {
    updatePatientContact(id: $id, input: $i) {
        patient { id firstName lastName email phone dateOfBirth } errors { code field } } }"""
SEND = """mutation($p: ID!) { sendRegistrationLink(patientId: $p) {
    patient { id registrationStatus } registrationPath expiresAt errors { code field } } }"""
COMPLETE = """mutation($i: CompleteRegistrationInput!) { completeRegistration(input: $i) {
    completed errors { code field } } }"""
IMPORT = """mutation($csv: String!) { importPatients(csv: $csv) {
    report { created rejected rows { rowNumber outcome reasons { code field message }
        patient { id email phone dateOfBirth } } }
    errors { code field message } } }"""


async def patient_treated_by(
    engine: AsyncEngine, demo: DemoIds, provider: str, *, status: str | None = None
) -> uuid.UUID:
    """A seeded patient with an appointment with `provider` (only with them), by email."""
    found: uuid.UUID = await scalar(
        engine,
        "SELECT p.id FROM patient p WHERE EXISTS (SELECT 1 FROM appointment a"
        " WHERE a.patient_id = p.id AND a.provider_id = :v)"
        " AND (CAST(:s AS text) IS NULL OR p.registration_status::text = :s)"
        " ORDER BY p.email LIMIT 1",
        v=demo.providers[provider],
        s=status,
    )
    return found


async def patient_row(engine: AsyncEngine, patient_id: uuid.UUID) -> dict[str, Any]:
    found = await rows(engine, "SELECT * FROM patient WHERE id = :i", i=patient_id)
    return found[0]


async def links_of(engine: AsyncEngine, patient_id: uuid.UUID) -> list[dict[str, Any]]:
    return await rows(
        engine,
        "SELECT * FROM registration_link WHERE patient_id = :i ORDER BY sent_at",
        i=patient_id,
    )


async def send_link(gql: Gql, patient_id: uuid.UUID, *, as_: str = GLOW_ADMIN) -> str:
    answer = await gql(SEND, {"p": gid("Patient", patient_id)}, as_=as_)
    payload = answer.data["sendRegistrationLink"]
    assert payload["errors"] == [], payload
    path: str = payload["registrationPath"]
    return path


def token_of(path: str) -> str:
    return path.removeprefix("/register/")


def payload_codes(answer: Answer, field: str) -> list[str]:
    return [e["code"] for e in answer.data[field]["errors"]]
