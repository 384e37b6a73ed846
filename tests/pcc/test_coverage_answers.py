"""What a coverage answer tells the covering PCC (DESIGN §3): whose lines it holds (each
channel grant's provider) and whom it stands in for (the absent PCC's name, time zone and
working hours), in the offerCoverage / assignCoverage answer and in later reads."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Gql

REPORT = """mutation($s: DateTime!, $e: DateTime!) {
  reportOutOfOffice(startsAt: $s, endsAt: $e, kind: FULL_DAY, reason: VACATION) {
    outOfOffice { id } errors { code message } } }"""
COVERAGE = """coverage { coveringPcc { fullName }
  absentPcc { fullName timeZone workingHours }
  channelGrants { channel provider { displayName } } }"""
OFFER = f"""mutation($o: ID!) {{ offerCoverage(oooId: $o) {{ {COVERAGE} errors {{ code }} }} }}"""
ASSIGN = f"""mutation($o: ID!, $p: ID!) {{ assignCoverage(oooId: $o, pccId: $p) {{ {COVERAGE}
  errors {{ code }} }} }}"""
ABSENCES = """{ outOfOffice { edges { node { id pcc { fullName timeZone workingHours }
  coverage { coveringPcc { fullName } channelGrants { channel provider { displayName } } }
} } } }"""
GLOW = {"Dana Whitfield", "Nina Patel", "Omar Haddad"}
CHANNELS = {"OPENPHONE_LINE", "TIGERCONNECT_CHAT"}


def _vera_day(days: int) -> dict[str, str]:
    """A whole day in Vera's zone (America/Denver), `days` from today."""
    tz = ZoneInfo("America/Denver")
    day = (datetime.now(tz) + timedelta(days=days)).date()
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return {"s": start.astimezone(UTC).isoformat(), "e": end.astimezone(UTC).isoformat()}


async def _vera_out(gql: Gql, days: int = 4) -> str:
    answer = await gql(REPORT, _vera_day(days), as_="vera@portrait.example")
    assert answer.data["reportOutOfOffice"]["errors"] == [], answer.body
    return str(answer.data["reportOutOfOffice"]["outOfOffice"]["id"])


def _grants(coverage: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {
        (g["channel"], g["provider"] and g["provider"]["displayName"])
        for g in coverage["channelGrants"]
    }


EVERY_GRANT = {(channel, name) for channel in CHANNELS for name in GLOW}


async def test_offer_answer_names_each_grants_provider(gql: Gql) -> None:
    ooo = await _vera_out(gql)
    answer = await gql(OFFER, {"o": ooo}, as_="sam@portrait.example")
    assert answer.data["offerCoverage"]["errors"] == [], answer.body
    assert _grants(answer.data["offerCoverage"]["coverage"]) == EVERY_GRANT
    absent = answer.data["offerCoverage"]["coverage"]["absentPcc"]
    assert (absent["fullName"], absent["timeZone"]) == ("Vera Lind", "America/Denver")
    assert absent["workingHours"], "the coverer sees when the absent PCC works"


async def test_assign_answer_names_each_grants_provider(gql: Gql, demo: DemoIds) -> None:
    ooo = await _vera_out(gql)
    sam = encode_global_id("Pcc", demo.pccs["sam@portrait.example"])
    answer = await gql(ASSIGN, {"o": ooo, "p": sam}, as_="maria@portrait.example")
    assert answer.data["assignCoverage"]["errors"] == [], answer.body
    assert _grants(answer.data["assignCoverage"]["coverage"]) == EVERY_GRANT
    assert answer.data["assignCoverage"]["coverage"]["absentPcc"]["fullName"] == "Vera Lind"
    # The PCC assigned reads the same answer afterwards: whose lines, whom it stands in for.
    later = await gql(ABSENCES, as_="sam@portrait.example")
    node = next(e["node"] for e in later.data["outOfOffice"]["edges"] if e["node"]["id"] == ooo)
    assert node["pcc"]["fullName"] == "Vera Lind"
    assert _grants(node["coverage"]) == EVERY_GRANT


async def test_coverer_later_sees_the_absent_pcc_and_whose_lines(gql: Gql) -> None:
    ooo = await _vera_out(gql)
    await gql(OFFER, {"o": ooo}, as_="sam@portrait.example")
    answer = await gql(ABSENCES, as_="sam@portrait.example")
    node = next(e["node"] for e in answer.data["outOfOffice"]["edges"] if e["node"]["id"] == ooo)
    assert node["pcc"] == {
        "fullName": "Vera Lind",
        "timeZone": "America/Denver",
        "workingHours": node["pcc"]["workingHours"],
    }
    assert node["pcc"]["workingHours"], "the coverer sees when the absent PCC works"
    assert _grants(node["coverage"]) == EVERY_GRANT


async def test_a_pcc_not_covering_sees_neither(gql: Gql) -> None:
    """Cody covers nothing of Vera's: her absences and their grants stay out of his reach."""
    ooo = await _vera_out(gql)
    await gql(OFFER, {"o": ooo}, as_="sam@portrait.example")
    answer = await gql(ABSENCES, as_="cody@portrait.example")
    assert all(e["node"]["id"] != ooo for e in answer.data["outOfOffice"]["edges"])
    directory = await gql("{ pccs { edges { node { fullName } } } }", as_="cody@portrait.example")
    assert [e["node"]["fullName"] for e in directory.data["pccs"]["edges"]] == ["Cody Reyes"]
