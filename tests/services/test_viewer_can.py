"""`viewer.can` on services, charts and GFE requests: object-level answers for front-ends."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Gql
from tests.services.helpers import a_patient_of, gid, sid

CAN = """query($a: Action!, $r: ID) { viewer { can(action: $a, resourceId: $r) {
    allowed reason } } }"""


async def _allowed(gql: Gql, who: str, action: str, resource: str) -> bool:
    answer = await gql(CAN, {"a": action, "r": resource}, as_=who)
    assert answer.errors == [], answer.body
    return bool(answer.data["viewer"]["can"]["allowed"])


async def test_service_manage_is_per_tenant(gql: Gql, demo: DemoIds) -> None:
    glow = sid(demo, "glow", "Botox Cosmetic")
    radiance = sid(demo, "radiance", "Botox Cosmetic")
    assert await _allowed(gql, "dana@glow.example", "SERVICE_MANAGE", glow)
    assert not await _allowed(gql, "dana@glow.example", "SERVICE_MANAGE", radiance)
    assert not await _allowed(gql, "nina@glow.example", "SERVICE_MANAGE", glow)
    assert await _allowed(gql, "nina@glow.example", "SERVICE_READ", glow)


async def test_chart_write_is_the_owning_providers(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await a_patient_of(owner_engine, demo, "nina@glow.example")
    opened = await gql(
        """mutation($p: ID!, $s: ID!) { openServiceVisit(patientId: $p, serviceIds: [$s]) {
            serviceVisit { id } } }""",
        {"p": gid("Patient", patient), "s": sid(demo, "glow", "Dysport")},
        as_="nina@glow.example",
    )
    visit = opened.data["openServiceVisit"]["serviceVisit"]["id"]
    assert await _allowed(gql, "nina@glow.example", "CHART_WRITE", visit)
    assert not await _allowed(gql, "omar@glow.example", "CHART_WRITE", visit)
    assert not await _allowed(gql, "dana@glow.example", "CHART_WRITE", visit)
