"""Searching patients by name, email or phone, within scope; LIKE wildcards are literal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.patients.helpers import SEARCH, patient_row, patient_treated_by
from tests.scheduling.helpers import gid

CREATE = """mutation($i: PatientInput!) { createPatient(input: $i) { errors { code } } }"""
ADMIN = "dana@glow.example"


async def _names(gql: Gql, search: str, who: str = ADMIN, **more: Any) -> list[str]:
    answer = await gql(SEARCH, {"s": search, "first": 100, **more}, as_=who)
    assert answer.errors == [], answer.body
    return sorted(
        f"{e['node']['firstName']} {e['node']['lastName']}"
        for e in answer.data["patients"]["edges"]
    )


async def _create(gql: Gql, first: str, last: str, email: str) -> None:
    answer = await gql(
        CREATE, {"i": {"firstName": first, "lastName": last, "email": email}}, as_=ADMIN
    )
    assert answer.data["createPatient"]["errors"] == []


async def test_wildcards_are_literal(gql: Gql) -> None:
    await _create(gql, "Zo%e", "Percent", "zo1@example.com")
    await _create(gql, "Zoxxe", "Percent", "zo2@example.com")
    await _create(gql, "Jo_n", "Under", "jo1@example.com")
    await _create(gql, "John", "Under", "jo2@example.com")
    await _create(gql, "Back\\slash", "Esc", "bs@example.com")
    await _create(gql, "Backxslash", "Esc", "bs2@example.com")
    assert await _names(gql, "Zo%e") == ["Zo%e Percent"]
    assert await _names(gql, "%") == ["Zo%e Percent"]
    assert await _names(gql, "Jo_n") == ["Jo_n Under"]
    assert await _names(gql, "_") == ["Jo_n Under"]
    assert await _names(gql, "k\\s") == ["Back\\slash Esc"]
    assert await _names(gql, "zoxx") == ["Zoxxe Percent"]  # plain contains, any case


async def test_by_name_email_and_phone(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    assert await _names(gql, "reed") == ["Ava Reed"]
    assert await _names(gql, "ava r") == ["Ava Reed"]  # the full name
    assert await _names(gql, "AVA.REED@glow-patients.example") == ["Ava Reed"]
    assert await _names(gql, "ava.reed@glow") == []  # email matches whole, not in part
    ava = await patient_treated_by(owner_engine, demo, "dana@glow.example")
    phone = (await patient_row(owner_engine, ava))["phone"]  # +1555XXXXXXX
    formatted = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    assert await _names(gql, formatted) == ["Ava Reed"]
    assert await _names(gql, phone[2:]) == ["Ava Reed"]
    assert await _names(gql, phone[2:8]) == []  # a partial number is no phone match


@pytest.mark.parametrize(
    ("who", "term", "found"),
    [
        ("nina@glow.example", "Emma", ["Emma Vega"]),  # her patient
        ("nina@glow.example", "Ava", []),  # Dana's patient
        ("vera@portrait.example", "Ava", ["Ava Reed"]),  # assigned to Glow's providers
        ("dean@portrait.example", "Ava", ["Ava Reed"]),  # Radiance's Ava
        ("ops@portrait.example", "Ava", ["Ava Reed", "Ava Reed", "Ava Reed"]),
    ],
)
async def test_search_stays_in_scope(
    gql: Gql, demo: DemoIds, who: str, term: str, found: list[str]
) -> None:
    assert await _names(gql, term, who=who) == found


async def test_search_in_one_medspa_and_pages(gql: Gql, demo: DemoIds, audit: Audit) -> None:
    radiance = gid("Medspa", demo.medspas["radiance"])
    assert await _names(gql, "Ava", who="ops@portrait.example", m=radiance) == ["Ava Reed"]
    # A medspa outside the caller's scope is simply empty.
    assert await _names(gql, "Ava", m=radiance) == []
    first = await gql(SEARCH, {"first": 5}, as_=ADMIN)
    page = first.data["patients"]
    assert len(page["edges"]) == 5 and page["pageInfo"]["hasNextPage"]
    rest = await gql(SEARCH, {"first": 100, "after": page["pageInfo"]["endCursor"]}, as_=ADMIN)
    ids = {e["node"]["id"] for e in page["edges"]} | {
        e["node"]["id"] for e in rest.data["patients"]["edges"]
    }
    assert len(ids) == 12
    reads = await audit.rows(action="patient.read", outcome="ALLOWED")
    assert sum(len(r["detail"]["patientIds"]) for r in reads) == 1 + 12  # the empty read: none


async def test_search_too_long(gql: Gql) -> None:
    answer = await gql(SEARCH, {"s": "x" * 101}, as_=ADMIN)
    assert answer.codes == ["BAD_USER_INPUT"]
