"""Role x tenant matrix for the platform's contract mutations (DESIGN §2, §5): setPccService
and setUsesPortraitEhr (medspa.update_contract) and changePccKind (pcc.change_kind) belong to
platform admins alone. Every caller kind tries them against a medspa (or a PCC) of its own
tenant and of another; a refusal is audited DENIED and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals

SERVICE = """mutation($m: ID!) { setPccService(medspaId: $m, on: false) {
    medspa { pccService } errors { code } } }"""
EHR = """mutation($m: ID!) { setUsesPortraitEhr(medspaId: $m, usesPortraitEhr: false) {
    medspa { usesPortraitEhr } errors { code } } }"""
KIND = """mutation($p: ID!, $m: ID!) { changePccKind(pccId: $p, kind: DESIGNATED,
    designatedMedspaId: $m) { pcc { kind } errors { code } } }"""
OK = "ops@portrait.example"


async def _state(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        medspas = (
            await conn.execute(
                text("SELECT slug, pcc_service, uses_portrait_ehr FROM medspa ORDER BY slug")
            )
        ).all()
        fees = (
            await conn.execute(text("SELECT id, ends_on FROM medspa_fee_line ORDER BY id"))
        ).all()
        pccs = (
            await conn.execute(text("SELECT id, kind, designated_medspa_id FROM pcc ORDER BY id"))
        ).all()
        assignments = (
            await conn.execute(text("SELECT id, ends_at FROM pcc_assignment ORDER BY id"))
        ).all()
    return medspas, fees, pccs, assignments


async def _check(
    answer: Any, field: str, who: str, audit: Audit, engine: AsyncEngine, before: Any
) -> None:
    if who == OK:
        assert answer.data[field]["errors"] == [], answer.body
        assert await _state(engine) != before
        action = "pcc.change_kind" if field == "changePccKind" else "medspa.update_contract"
        assert await audit.rows(outcome="ALLOWED", action=action)
        return
    expected = "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"
    assert answer.codes == [expected], answer.body
    rows = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert rows and {r["outcome"] for r in rows} == {"DENIED"}
    assert await _state(engine) == before


# Each caller's own medspa first where it has one; "glow" and "radiance" cover own and other
# tenant for every medspa-bound caller (Legacy's people try two other tenants).
TENANTS = ("glow", "radiance")


@pytest.mark.parametrize("slug", TENANTS)
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_set_pcc_service(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    slug: str,
) -> None:
    before = await _state(owner_engine)
    answer = await gql(
        SERVICE,
        {"m": encode_global_id("Medspa", demo.medspas[slug])},
        bearer=await principals.bearer(who),
    )
    await _check(answer, "setPccService", who, audit, owner_engine, before)


@pytest.mark.parametrize("slug", TENANTS)
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_set_uses_portrait_ehr(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    slug: str,
) -> None:
    before = await _state(owner_engine)
    answer = await gql(
        EHR,
        {"m": encode_global_id("Medspa", demo.medspas[slug])},
        bearer=await principals.bearer(who),
    )
    await _check(answer, "setUsesPortraitEhr", who, audit, owner_engine, before)


@pytest.mark.parametrize(
    ("pcc", "slug"),
    [("vera@portrait.example", "glow"), ("cody@portrait.example", "radiance")],
)
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_change_pcc_kind(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    pcc: str,
    slug: str,
) -> None:
    before = await _state(owner_engine)
    answer = await gql(
        KIND,
        {
            "p": encode_global_id("Pcc", demo.pccs[pcc]),
            "m": encode_global_id("Medspa", demo.medspas[slug]),
        },
        bearer=await principals.bearer(who),
    )
    await _check(answer, "changePccKind", who, audit, owner_engine, before)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_create_medspa(
    gql: Gql, principals: Principals, audit: Audit, owner_engine: AsyncEngine, who: str
) -> None:
    before = await _state(owner_engine)
    answer = await gql(
        """mutation($i: CreateMedspaInput!) { createMedspa(input: $i) {
            medspa { slug } errors { code } } }""",
        {
            "i": {
                "name": "Matrix Spa",
                "slug": "matrix-spa",
                "businessModel": "FLEX",
                "timeZone": "America/Chicago",
                "pccService": True,
            }
        },
        bearer=await principals.bearer(who),
    )
    if who == OK:
        assert answer.data["createMedspa"]["errors"] == [], answer.body
        assert await _state(owner_engine) != before
        assert await audit.rows(outcome="ALLOWED", action="medspa.create")
        return
    await _check(answer, "createMedspa", who, audit, owner_engine, before)
