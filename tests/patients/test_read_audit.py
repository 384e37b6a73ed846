"""Every read of a single patient record is on the audit trail (DESIGN §6.7), with both
identities under masquerade; a miss is recorded as DENIED and answers like absence."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals
from tests.patients.helpers import PATIENT, patient_treated_by
from tests.scheduling.helpers import gid

NODE = "query($id: ID!) { node(id: $id) { ... on Patient { email } } }"


async def test_single_reads_are_audited_with_both_identities(
    gql: Gql, demo: DemoIds, principals: Principals, audit: Audit, owner_engine: AsyncEngine
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    answer = await gql(
        PATIENT, {"id": gid("Patient", patient)}, bearer=await principals.masquerade()
    )
    assert answer.data["patient"]["id"] == gid("Patient", patient)
    (row,) = await audit.rows(action="patient.read", resource_id=patient)
    assert row["outcome"] == "ALLOWED"
    assert row["actor_user_id"] == demo.users["dana@glow.example"]
    assert row["effective_user_id"] == demo.users["nina@glow.example"]
    assert row["masquerade_session_id"] is not None
    assert row["medspa_id"] == demo.medspas["glow"]
    assert row["detail"]["patientIds"] == [str(patient)]


async def test_node_reads_are_audited_too(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    patient = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    answer = await gql(NODE, {"id": gid("Patient", patient)}, as_="nina@glow.example")
    assert answer.data["node"]["email"]
    (row,) = await audit.rows(action="patient.read", resource_id=patient)
    assert (row["outcome"], row["effective_user_id"]) == (
        "ALLOWED",
        demo.users["nina@glow.example"],
    )


async def test_misses_are_denied_and_answer_like_absence(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    others = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    absent = uuid.uuid4()
    for target in (others, absent):
        answer = await gql(PATIENT, {"id": gid("Patient", target)}, as_="omar@glow.example")
        assert answer.data == {"patient": None} and not answer.errors
        (row,) = await audit.rows(action="patient.read", resource_id=target)
        assert row["outcome"] == "DENIED"
        assert row["effective_user_id"] == demo.users["omar@glow.example"]


async def test_a_batch_of_single_reads_is_one_row(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    a = await patient_treated_by(owner_engine, demo, "nina@glow.example")
    b = await patient_treated_by(owner_engine, demo, "omar@glow.example")
    answer = await gql(
        "query($a: ID!, $b: ID!) { a: patient(id: $a) { id } b: patient(id: $b) { id } }",
        {"a": gid("Patient", a), "b": gid("Patient", b)},
        as_="dana@glow.example",
    )
    assert answer.data["a"] and answer.data["b"]
    (row,) = await audit.rows(action="patient.read")
    assert sorted(row["detail"]["patientIds"]) == sorted([str(a), str(b)])
