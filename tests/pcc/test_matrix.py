"""Role x tenant matrix for the PCC fields and mutations (every caller kind, denials audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.pcc.helpers import absence

STAFF_ANY = {"ops@portrait.example", "maria@portrait.example"}
PCCS = {
    "vera@portrait.example",
    "dean@portrait.example",
    "cody@portrait.example",
    "sam@portrait.example",
    "covering",  # Sam again, inside a window covering Vera
}


def _expected_denial(who: str) -> str:
    if who == "anonymous":
        return "UNAUTHENTICATED"
    return "FORBIDDEN"


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608


async def _denied(answer: Any, audit: Audit, code: str) -> None:
    assert answer.codes == [code], answer.body
    rows = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert rows and {r["outcome"] for r in rows} == {"DENIED"}


QUERIES = {
    # field: (query, who may read it)
    "outOfOffice": (
        "{ outOfOffice { edges { node { id } } } }",
        STAFF_ANY
        | PCCS
        | {
            "dana@glow.example",
            "nina@glow.example",
            "omar@glow.example",
            "ruth@radiance.example",
            "lee@radiance.example",
            "lena@legacy.example",
            "kim@legacy.example",
            "masquerade",
            "dana@glow.example:PROVIDER",
        },
    ),
    "platformHolidays": (
        "{ platformHolidays { name } }",
        STAFF_ANY
        | PCCS
        | {
            "dana@glow.example",
            "nina@glow.example",
            "omar@glow.example",
            "ruth@radiance.example",
            "lee@radiance.example",
            "lena@legacy.example",
            "kim@legacy.example",
            "masquerade",
            "dana@glow.example:PROVIDER",
        },
    ),
    "openCoverageRequests": ("{ openCoverageRequests { edges { node { id } } } }", PCCS),
    "pccAssignments": (
        "{ pccAssignments { edges { node { id } } } }",
        STAFF_ANY
        | PCCS
        | {
            "dana@glow.example",
            "nina@glow.example",
            "omar@glow.example",
            "ruth@radiance.example",
            "lee@radiance.example",
            "lena@legacy.example",
            "kim@legacy.example",
            "masquerade",
            "dana@glow.example:PROVIDER",
        },
    ),
}


@pytest.mark.parametrize("field", sorted(QUERIES))
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_queries(
    gql: Gql, principals: Principals, audit: Audit, who: str, field: str
) -> None:
    query, readers = QUERIES[field]
    answer = await gql(query, bearer=await principals.bearer(who))
    if who in readers:
        assert answer.errors == [], answer.body
    else:
        await _denied(answer, audit, _expected_denial(who))


async def test_other_tenants_absences_stay_invisible(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    await absence(
        owner_session,
        demo,
        pcc="cody@portrait.example",
        starts=now + timedelta(days=2),
        ends=now + timedelta(days=3),
    )
    for who in (
        "dana@glow.example",
        "nina@glow.example",
        "ruth@radiance.example",
        "vera@portrait.example",
    ):
        answer = await gql("{ outOfOffice { edges { node { pcc { fullName } } } } }", as_=who)
        names = {
            e["node"]["pcc"] and e["node"]["pcc"]["fullName"]
            for e in answer.data["outOfOffice"]["edges"]
        }
        assert "Cody Reyes" not in names, who
    kim = await gql("{ outOfOffice { edges { node { id } } } }", as_="kim@legacy.example")
    assert len(kim.data["outOfOffice"]["edges"]) == 1


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_report_out_of_office(
    gql: Gql, principals: Principals, audit: Audit, owner_engine: AsyncEngine, who: str
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    bearer = await principals.bearer(who)  # the covering caller's window is an absence too
    before = await _count(owner_engine, "out_of_office")
    answer = await gql(
        """mutation($s: DateTime!, $e: DateTime!) { reportOutOfOffice(startsAt: $s, endsAt: $e,
            kind: PARTIAL_DAY, reason: SICK) { outOfOffice { id } errors { code } } }""",
        {"s": start.isoformat(), "e": (start + timedelta(days=1)).isoformat()},
        bearer=bearer,
    )
    if who in PCCS:
        assert answer.data["reportOutOfOffice"]["errors"] == []
        assert await _count(owner_engine, "out_of_office") == before + 1
        return
    # A manager must name the PCC; without one there is no "own" absence to report.
    expected = "NOT_FOUND" if who == "maria@portrait.example" else _expected_denial(who)
    await _denied(answer, audit, expected)
    assert await _count(owner_engine, "out_of_office") == before


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_offer_and_assign_coverage(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    owner_session: AsyncSession,
    demo: DemoIds,
    who: str,
) -> None:
    now = datetime.now(UTC)
    ooo = await absence(
        owner_session, demo, starts=now + timedelta(days=2), ends=now + timedelta(days=3)
    )
    bearer = await principals.bearer(who)
    before = await _count(owner_engine, "coverage")
    offer = await gql(
        "mutation($o: ID!) { offerCoverage(oooId: $o) { coverage { id } errors { code } } }",
        {"o": encode_global_id("OutOfOffice", ooo["id"])},
        bearer=bearer,
    )
    if who in {"sam@portrait.example", "cody@portrait.example", "covering"}:
        assert offer.data["offerCoverage"]["errors"] == []
        assert await _count(owner_engine, "coverage") == before + 1
    elif who == "vera@portrait.example":
        assert [e["code"] for e in offer.data["offerCoverage"]["errors"]] == ["VALIDATION"]
    elif who == "dean@portrait.example":
        assert [e["code"] for e in offer.data["offerCoverage"]["errors"]] == [
            "COVERING_PCC_NOT_ELIGIBLE"
        ]
    else:
        await _denied(offer, audit, _expected_denial(who))
        assert await _count(owner_engine, "coverage") == before

    assign = await gql(
        """mutation($o: ID!, $p: ID!) { assignCoverage(oooId: $o, pccId: $p) {
            coverage { id } errors { code } } }""",
        {
            "o": encode_global_id("OutOfOffice", ooo["id"]),
            "p": encode_global_id("Pcc", demo.pccs["sam@portrait.example"]),
        },
        bearer=bearer,
    )
    if who == "maria@portrait.example":
        assert assign.data["assignCoverage"]["errors"] == []
    else:
        await _denied(assign, audit, _expected_denial(who))


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_assign_pcc_and_holidays(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    demo: DemoIds,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await _count(owner_engine, "pcc_assignment")
    answer = await gql(
        """mutation($pcc: ID!, $p: ID!) { assignPcc(pccId: $pcc, providerId: $p) {
            assignment { id } errors { code } } }""",
        {
            "pcc": encode_global_id("Pcc", demo.pccs["sam@portrait.example"]),
            "p": encode_global_id("Provider", demo.providers["maya@radiance.example"]),
        },
        bearer=bearer,
    )
    if who in STAFF_ANY:
        assert answer.data["assignPcc"]["errors"] == []
        assert await _count(owner_engine, "pcc_assignment") == before + 1
    else:
        await _denied(answer, audit, _expected_denial(who))
        assert await _count(owner_engine, "pcc_assignment") == before

    start = datetime.now(UTC) + timedelta(days=30)
    holiday = await gql(
        """mutation($s: DateTime!, $e: DateTime!) { createPlatformHoliday(name: "Closed",
            startsAt: $s, endsAt: $e) { holiday { name } errors { code } } }""",
        {"s": start.isoformat(), "e": (start + timedelta(days=1)).isoformat()},
        bearer=bearer,
    )
    if who == "maria@portrait.example":
        assert holiday.data["createPlatformHoliday"]["errors"] == []
    else:
        await _denied(holiday, audit, _expected_denial(who))


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_cover_own_lines(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    owner_session: AsyncSession,
    demo: DemoIds,
    who: str,
) -> None:
    now = datetime.now(UTC)
    ooo = await absence(
        owner_session, demo, starts=now + timedelta(days=2), ends=now + timedelta(days=3)
    )
    answer = await gql(
        """mutation($o: ID!, $p: ID!) { coverOwnLines(oooId: $o, providerId: $p) {
            errors { code } } }""",
        {
            "o": encode_global_id("OutOfOffice", ooo["id"]),
            "p": encode_global_id("Provider", demo.providers["nina@glow.example"]),
        },
        bearer=await principals.bearer(who),
    )
    allowed = {"maria@portrait.example", "dana@glow.example", "nina@glow.example", "masquerade"}
    if who in allowed:
        assert answer.data["coverOwnLines"]["errors"] == []
    elif who in {
        "omar@glow.example",
        "dana@glow.example:PROVIDER",  # her own lines only, and these are Nina's
        "ruth@radiance.example",
        "lee@radiance.example",
        "lena@legacy.example",
        "kim@legacy.example",
    }:
        await _denied(answer, audit, "NOT_FOUND")  # allowed action, row outside their scope
    else:
        await _denied(answer, audit, _expected_denial(who))


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_transition(
    gql: Gql, principals: Principals, audit: Audit, demo: DemoIds, who: str
) -> None:
    answer = await gql(
        """mutation($m: ID!) { transitionBusinessModel(medspaId: $m, to: LAUNCH, keepPcc: true) {
            medspa { businessModel } errors { code } } }""",
        {"m": encode_global_id("Medspa", demo.medspas["legacy"])},
        bearer=await principals.bearer(who),
    )
    if who == "ops@portrait.example":
        assert answer.data["transitionBusinessModel"]["medspa"]["businessModel"] == "LAUNCH"
    else:
        await _denied(answer, audit, _expected_denial(who))


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_end_pcc_assignment(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    demo: DemoIds,
    who: str,
) -> None:
    async with owner_engine.connect() as conn:
        assignment_id = (
            await conn.execute(
                text("SELECT id FROM pcc_assignment WHERE provider_id = :p"),
                {"p": demo.providers["nina@glow.example"]},
            )
        ).scalar_one()
    answer = await gql(
        "mutation($id: ID!) { endPccAssignment(assignmentId: $id) {"
        " assignment { endsAt } errors { code } } }",
        {"id": encode_global_id("PccAssignment", assignment_id)},
        bearer=await principals.bearer(who),
    )
    async with owner_engine.connect() as conn:
        ended = (
            await conn.execute(
                text("SELECT ends_at IS NOT NULL FROM pcc_assignment WHERE id = :id"),
                {"id": assignment_id},
            )
        ).scalar_one()
    if who in STAFF_ANY:
        assert answer.data["endPccAssignment"]["errors"] == []
        assert ended is True
    else:
        await _denied(answer, audit, _expected_denial(who))
        assert ended is False
