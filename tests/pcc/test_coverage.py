"""Absences and coverage per Portrait's policy (DESIGN §3): every rule and refusal code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import encode_global_id
from db.models import OooKind, PlatformHoliday
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.pcc.helpers import absence

REPORT = """mutation($s: DateTime!, $e: DateTime!, $k: OooKind!, $p: ID) {
  reportOutOfOffice(startsAt: $s, endsAt: $e, kind: $k, reason: VACATION, pccId: $p) {
    outOfOffice { id kind pcc { fullName } affectedProviders { provider { displayName } } }
    errors { code field message } } }"""
OFFER = """mutation($o: ID!) { offerCoverage(oooId: $o) {
    coverage { id source active coveringPcc { fullName timeZone workingHours }
      channelGrants { channel provider { displayName } startsAt endsAt } }
    errors { code field message } } }"""
ASSIGN = """mutation($o: ID!, $p: ID!) { assignCoverage(oooId: $o, pccId: $p) {
    coverage { id source coveringPcc { fullName } } errors { code message } } }"""


# Each PCC's zone (DESIGN §8): a FULL_DAY absence is whole local days there.
ZONES = {
    "vera@portrait.example": "America/Denver",
    "dean@portrait.example": "America/Los_Angeles",
    "cody@portrait.example": "America/Chicago",
    "sam@portrait.example": "America/New_York",
}


def _day(days: int = 3, zone: str = ZONES["vera@portrait.example"]) -> dict[str, str]:
    """One whole local day in `zone`, `days` from today, as UTC instants."""
    tz = ZoneInfo(zone)
    local = (datetime.now(tz) + timedelta(days=days)).date()
    start = datetime(local.year, local.month, local.day, tzinfo=tz)
    end = datetime.combine(local + timedelta(days=1), time(0), tzinfo=tz)
    return {"s": start.astimezone(UTC).isoformat(), "e": end.astimezone(UTC).isoformat()}


async def _report(
    gql: Gql, who: str, kind: str = "FULL_DAY", pcc: str | None = None, **when: str
) -> Any:
    zone = ZONES.get(who, ZONES["cody@portrait.example"] if pcc else ZONES[who])
    variables = {**_day(zone=zone), **when, "k": kind, "p": pcc}
    return await gql(REPORT, variables, as_=who)


def _gid(kind: str, value: Any) -> str:
    return encode_global_id(kind, value)


async def test_pcc_reports_own_absence_listing_affected_providers(gql: Gql) -> None:
    answer = await _report(gql, "vera@portrait.example")
    ooo = answer.data["reportOutOfOffice"]["outOfOffice"]
    assert ooo["pcc"]["fullName"] == "Vera Lind"
    assert {p["provider"]["displayName"] for p in ooo["affectedProviders"]} == {
        "Dana Whitfield",
        "Nina Patel",
        "Omar Haddad",
    }


async def test_a_known_absence_is_visible_to_affected_providers_before_it_starts(gql: Gql) -> None:
    await _report(gql, "vera@portrait.example")
    query = "{ outOfOffice { edges { node { startsAt pcc { fullName } } } } }"
    nina = await gql(query, as_="nina@glow.example")
    dana = await gql(query, as_="dana@glow.example")
    lee = await gql(query, as_="lee@radiance.example")
    # The seed's upcoming covered absence plus the one just reported.
    assert len(nina.data["outOfOffice"]["edges"]) == 2
    assert len(dana.data["outOfOffice"]["edges"]) == 2
    assert lee.data["outOfOffice"]["edges"] == []


async def test_pcc_cannot_report_for_another_pcc_but_a_manager_can(gql: Gql, demo: DemoIds) -> None:
    cody = _gid("Pcc", demo.pccs["cody@portrait.example"])
    denied = await _report(gql, "vera@portrait.example", pcc=cody)
    assert denied.codes == ["NOT_FOUND"]
    managed = await _report(gql, "maria@portrait.example", pcc=cody)
    assert managed.data["reportOutOfOffice"]["errors"] == []
    for who in ("dana@glow.example", "nina@glow.example", "ops@portrait.example"):
        assert (await _report(gql, who, pcc=cody)).codes == ["FORBIDDEN"]


async def test_report_validation(gql: Gql) -> None:
    backwards = await _report(gql, "vera@portrait.example", s=_day()["e"], e=_day()["s"])
    assert [e["code"] for e in backwards.data["reportOutOfOffice"]["errors"]] == ["VALIDATION"]
    await _report(gql, "vera@portrait.example")
    overlap = await _report(gql, "vera@portrait.example")
    assert [e["code"] for e in overlap.data["reportOutOfOffice"]["errors"]] == ["OOO_OVERLAPS"]


async def test_offer_full_day_virtual_absence_grants_channels(gql: Gql, audit: Audit) -> None:
    ooo = (await _report(gql, "vera@portrait.example")).data["reportOutOfOffice"]["outOfOffice"]
    answer = await gql(OFFER, {"o": ooo["id"]}, as_="sam@portrait.example")
    payload = answer.data["offerCoverage"]
    assert payload["errors"] == []
    coverage = payload["coverage"]
    assert coverage["source"] == "OFFERED"
    assert coverage["active"] is False  # the window opens with the absence
    assert coverage["coveringPcc"]["fullName"] == "Sam Taylor"
    assert coverage["coveringPcc"]["workingHours"]["MON"] == [["09:00", "17:00"]]
    # The grants name whose lines Sam holds, before the window opens too.
    assert sorted(g["provider"]["displayName"] for g in coverage["channelGrants"]) == sorted(
        ["Dana Whitfield", "Nina Patel", "Omar Haddad"] * 2
    )
    assert {g["startsAt"] for g in coverage["channelGrants"]} == {_day()["s"]}
    as_manager = await gql(
        """{ outOfOffice { edges { node { coverage { channelGrants {
            channel provider { displayName } } } } } } }""",
        as_="maria@portrait.example",
    )
    grants = {
        (g["channel"], g["provider"]["displayName"])
        for e in as_manager.data["outOfOffice"]["edges"]
        if e["node"]["coverage"] and e["node"]["coverage"]["channelGrants"]
        for g in e["node"]["coverage"]["channelGrants"]
    }
    assert ("OPENPHONE_LINE", "Nina Patel") in grants
    assert ("TIGERCONNECT_CHAT", "Omar Haddad") in grants
    assert await audit.rows(action="coverage.offer", outcome="ALLOWED")


async def test_second_offer_is_refused(gql: Gql) -> None:
    ooo = (await _report(gql, "vera@portrait.example")).data["reportOutOfOffice"]["outOfOffice"]
    await gql(OFFER, {"o": ooo["id"]}, as_="sam@portrait.example")
    again = await gql(OFFER, {"o": ooo["id"]}, as_="cody@portrait.example")
    assert [e["code"] for e in again.data["offerCoverage"]["errors"]] == [
        "COVERAGE_ALREADY_ARRANGED"
    ]


async def test_two_pccs_racing_leave_exactly_one_coverage(
    gql: Gql, owner_engine: AsyncEngine
) -> None:
    ooo = (await _report(gql, "vera@portrait.example")).data["reportOutOfOffice"]["outOfOffice"]
    answers = await asyncio.gather(
        gql(OFFER, {"o": ooo["id"]}, as_="sam@portrait.example"),
        gql(OFFER, {"o": ooo["id"]}, as_="cody@portrait.example"),
    )
    codes = sorted(
        (a.data["offerCoverage"]["errors"] or [{"code": "OK"}])[0]["code"] for a in answers
    )
    assert codes == ["COVERAGE_ALREADY_ARRANGED", "OK"]
    async with owner_engine.connect() as conn:
        count = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM coverage c JOIN out_of_office o ON o.id = c.ooo_id"
                    " WHERE o.note IS NULL"
                )
            )
        ).scalar_one()
    assert count == 1


async def test_partial_day_is_not_covered(gql: Gql) -> None:
    ooo = (await _report(gql, "vera@portrait.example", kind="PARTIAL_DAY")).data[
        "reportOutOfOffice"
    ]["outOfOffice"]
    answer = await gql(OFFER, {"o": ooo["id"]}, as_="sam@portrait.example")
    [error] = answer.data["offerCoverage"]["errors"]
    assert error["code"] == "COVERAGE_NOT_OFFERED"
    assert "providers cover their own lines" in error["message"]


async def test_designated_absence_is_not_covered(gql: Gql) -> None:
    ooo = (await _report(gql, "dean@portrait.example")).data["reportOutOfOffice"]["outOfOffice"]
    assert {p["provider"]["displayName"] for p in ooo["affectedProviders"]} == {
        "Lee Chen",
        "Maya Brooks",
    }
    answer = await gql(ASSIGN, {"o": ooo["id"], "p": ooo["id"]}, as_="maria@portrait.example")
    assert answer.codes == ["NOT_FOUND"]  # not a PCC id
    offered = await gql(OFFER, {"o": ooo["id"]}, as_="sam@portrait.example")
    assert [e["code"] for e in offered.data["offerCoverage"]["errors"]] == ["COVERAGE_NOT_OFFERED"]


async def test_holiday_absence_is_not_covered(gql: Gql, owner_session: AsyncSession) -> None:
    import uuid

    day = _day()
    owner_session.add(
        PlatformHoliday(
            id=uuid.uuid4(),
            name="Thanksgiving",
            starts_at=datetime.fromisoformat(day["s"]),
            ends_at=datetime.fromisoformat(day["e"]),
        )
    )
    await owner_session.commit()
    ooo = (await _report(gql, "vera@portrait.example")).data["reportOutOfOffice"]["outOfOffice"]
    answer = await gql(OFFER, {"o": ooo["id"]}, as_="sam@portrait.example")
    [error] = answer.data["offerCoverage"]["errors"]
    assert error["code"] == "COVERAGE_NOT_OFFERED"
    assert "Thanksgiving" in error["message"]


async def test_manager_assigns_coverage_and_only_virtual_pccs_cover(
    gql: Gql, demo: DemoIds
) -> None:
    ooo = (await _report(gql, "vera@portrait.example")).data["reportOutOfOffice"]["outOfOffice"]
    dean = await gql(
        ASSIGN,
        {"o": ooo["id"], "p": _gid("Pcc", demo.pccs["dean@portrait.example"])},
        as_="maria@portrait.example",
    )
    assert [e["code"] for e in dean.data["assignCoverage"]["errors"]] == [
        "COVERING_PCC_NOT_ELIGIBLE"
    ]
    herself = await gql(
        ASSIGN,
        {"o": ooo["id"], "p": _gid("Pcc", demo.pccs["vera@portrait.example"])},
        as_="maria@portrait.example",
    )
    assert [e["code"] for e in herself.data["assignCoverage"]["errors"]] == ["VALIDATION"]
    sam = await gql(
        ASSIGN,
        {"o": ooo["id"], "p": _gid("Pcc", demo.pccs["sam@portrait.example"])},
        as_="maria@portrait.example",
    )
    assert sam.data["assignCoverage"]["coverage"]["source"] == "ASSIGNED"
    for who in ("vera@portrait.example", "ops@portrait.example", "dana@glow.example"):
        denied = await gql(
            ASSIGN, {"o": ooo["id"], "p": _gid("Pcc", demo.pccs["cody@portrait.example"])}, as_=who
        )
        assert denied.codes == ["FORBIDDEN"]


async def test_covering_pcc_that_is_out_too_is_refused(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    day = _day()
    await absence(
        owner_session,
        demo,
        pcc="sam@portrait.example",
        starts=datetime.fromisoformat(day["s"]),
        ends=datetime.fromisoformat(day["e"]),
    )
    ooo = (await _report(gql, "vera@portrait.example")).data["reportOutOfOffice"]["outOfOffice"]
    answer = await gql(OFFER, {"o": ooo["id"]}, as_="sam@portrait.example")
    assert [e["code"] for e in answer.data["offerCoverage"]["errors"]] == [
        "COVERING_PCC_UNAVAILABLE"
    ]


async def test_open_coverage_requests_for_the_pool(gql: Gql) -> None:
    reported = await _report(gql, "vera@portrait.example")
    await _report(gql, "cody@portrait.example", kind="PARTIAL_DAY")
    query = "{ openCoverageRequests { edges { node { id kind pcc { fullName } } } } }"
    pool = await gql(query, as_="cody@portrait.example")
    [edge] = pool.data["openCoverageRequests"]["edges"]
    assert edge["node"]["id"] == reported.data["reportOutOfOffice"]["outOfOffice"]["id"]
    # pcc.read is OWN for PCCs (plus the PCCs they cover, and Cody covers none of Vera's
    # absences): the pool sees the absence, not the colleague's profile.
    assert edge["node"]["pcc"] is None
    sam = await gql(query, as_="sam@portrait.example")
    # Sam covers Vera's seeded absences, so he sees whom he stands in for.
    assert [e["node"]["pcc"] for e in sam.data["openCoverageRequests"]["edges"]] == [
        {"fullName": "Vera Lind"}
    ]
    vera = await gql(query, as_="vera@portrait.example")
    assert vera.data["openCoverageRequests"]["edges"] == []  # not her own
    assert (await gql(query, as_="dana@glow.example")).codes == ["FORBIDDEN"]


async def test_admin_covers_own_lines_for_their_provider_not_others(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    ooo = await absence(
        owner_session,
        demo,
        starts=now + timedelta(days=1),
        ends=now + timedelta(days=2),
        kind=OooKind.FULL_DAY,
    )
    mutation = """mutation($o: ID!, $p: ID!) { coverOwnLines(oooId: $o, providerId: $p) {
        errors { code } } }"""
    variables = {
        "o": _gid("OutOfOffice", ooo["id"]),
        "p": _gid("Provider", demo.providers["omar@glow.example"]),
    }
    assert (await gql(mutation, variables, as_="ruth@radiance.example")).codes == ["NOT_FOUND"]
    assert (await gql(mutation, variables, as_="nina@glow.example")).codes == ["NOT_FOUND"]
    assert (await gql(mutation, variables, as_="vera@portrait.example")).codes == ["FORBIDDEN"]
    ok = await gql(mutation, variables, as_="dana@glow.example")
    assert ok.data["coverOwnLines"]["errors"] == []
