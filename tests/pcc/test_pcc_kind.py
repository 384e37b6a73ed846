"""A PCC's kind can change (DESIGN §3, §5): the platform upgrades a virtual PCC to an
in-office (DESIGNATED) one at a medspa, or moves a designated PCC back to virtual. Its scope
follows at once: a designated PCC reaches every provider of its medspa and the in-office
actions; a virtual one the providers it is assigned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.pcc.helpers import CALENDAR, absence, week

CHANGE = """mutation($p: ID!, $k: PccKind!, $m: ID) {
  changePccKind(pccId: $p, kind: $k, designatedMedspaId: $m) {
    pcc { kind designatedMedspa { slug } } errors { code field } } }"""
CAN = "query($a: Action!) { viewer { can(action: $a) { allowed scope } } }"
SLUGS = "{ medspas { edges { node { slug } } } }"
OPS = "ops@portrait.example"


def _pcc(demo: DemoIds, who: str) -> str:
    return encode_global_id("Pcc", demo.pccs[who])


def _m(demo: DemoIds, slug: str) -> str:
    return encode_global_id("Medspa", demo.medspas[slug])


async def _slugs(gql: Gql, who: str) -> set[str]:
    return {e["node"]["slug"] for e in (await gql(SLUGS, as_=who)).data["medspas"]["edges"]}


async def test_upgrading_a_virtual_pcc_to_in_office(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    assert await _slugs(gql, "cody@portrait.example") == {"legacy"}
    assert (await gql(CAN, {"a": "APPOINTMENT_CHECK_IN"}, as_="cody@portrait.example")).data[
        "viewer"
    ]["can"] == {"allowed": False, "scope": None}
    answer = await gql(
        CHANGE,
        {"p": _pcc(demo, "cody@portrait.example"), "k": "DESIGNATED", "m": _m(demo, "glow")},
        as_=OPS,
    )
    assert answer.data["changePccKind"] == {
        "pcc": {"kind": "DESIGNATED", "designatedMedspa": {"slug": "glow"}},
        "errors": [],
    }
    # Scope follows at once: every Glow provider, the in-office actions, none of Legacy.
    assert await _slugs(gql, "cody@portrait.example") == {"glow"}
    calendar = await gql(CALENDAR, week(), as_="cody@portrait.example")
    assert {a["provider"]["displayName"] for a in calendar.data["calendar"]} == {
        "Dana Whitfield",
        "Nina Patel",
        "Omar Haddad",
    }
    assert (await gql(CAN, {"a": "APPOINTMENT_CHECK_IN"}, as_="cody@portrait.example")).data[
        "viewer"
    ]["can"] == {"allowed": True, "scope": "ASSIGNED"}
    async with owner_engine.connect() as conn:
        open_assignments = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pcc_assignment WHERE pcc_id = :p"
                    " AND (ends_at IS NULL OR ends_at > now())"
                ),
                {"p": demo.pccs["cody@portrait.example"]},
            )
        ).scalar_one()
    assert open_assignments == 0
    [row] = await audit.rows(action="pcc.change_kind", outcome="ALLOWED")
    assert row["detail"]["from"]["kind"] == "VIRTUAL"
    assert row["detail"]["to"]["kind"] == "DESIGNATED"


async def test_an_upgraded_pcc_stops_covering(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, owner_engine: AsyncEngine
) -> None:
    """Only virtual PCCs cover: Sam's window under way ends now, his upcoming one (the seed's
    next-week cover of Vera) is withdrawn so that another PCC can take it."""
    now = datetime.now(UTC)
    await absence(
        owner_session,
        demo,
        pcc="cody@portrait.example",
        starts=now - timedelta(hours=1),
        ends=now + timedelta(hours=5),
        covering="sam@portrait.example",
    )
    assert "legacy" in await _slugs(gql, "sam@portrait.example")
    answer = await gql(
        CHANGE,
        {"p": _pcc(demo, "sam@portrait.example"), "k": "DESIGNATED", "m": _m(demo, "radiance")},
        as_=OPS,
    )
    assert answer.data["changePccKind"]["errors"] == []
    assert await _slugs(gql, "sam@portrait.example") == {"radiance"}
    async with owner_engine.connect() as conn:
        windows = (
            await conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE ends_at > now()) FROM coverage"
                    " WHERE covering_pcc_id = :p"
                ),
                {"p": demo.pccs["sam@portrait.example"]},
            )
        ).scalar_one()
    assert windows == 0
    pool = await gql(
        "{ openCoverageRequests { edges { node { pcc { fullName } } } } }",
        as_="cody@portrait.example",
    )
    assert len(pool.data["openCoverageRequests"]["edges"]) == 1  # Vera's next-week absence


async def test_a_designated_pcc_moved_to_virtual_reaches_only_assignments(
    gql: Gql, demo: DemoIds
) -> None:
    assert await _slugs(gql, "dean@portrait.example") == {"radiance"}
    answer = await gql(CHANGE, {"p": _pcc(demo, "dean@portrait.example"), "k": "VIRTUAL"}, as_=OPS)
    assert answer.data["changePccKind"] == {
        "pcc": {"kind": "VIRTUAL", "designatedMedspa": None},
        "errors": [],
    }
    assert await _slugs(gql, "dean@portrait.example") == set()
    assert (await gql(CALENDAR, week(), as_="dean@portrait.example")).data["calendar"] == []


async def test_kind_change_refusals_change_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    vera, dean = _pcc(demo, "vera@portrait.example"), _pcc(demo, "dean@portrait.example")
    await gql(
        "mutation($m: ID!) { setPccService(medspaId: $m, on: false) { errors { code } } }",
        {"m": _m(demo, "legacy")},
        as_=OPS,
    )
    cases = [
        ({"p": vera, "k": "DESIGNATED"}, ("VALIDATION", "designatedMedspaId")),
        ({"p": vera, "k": "VIRTUAL"}, ("VALIDATION", "kind")),
        ({"p": dean, "k": "VIRTUAL", "m": _m(demo, "glow")}, ("VALIDATION", "designatedMedspaId")),
        (
            {"p": dean, "k": "DESIGNATED", "m": _m(demo, "radiance")},
            ("VALIDATION", "designatedMedspaId"),
        ),
        (
            {"p": vera, "k": "DESIGNATED", "m": _m(demo, "legacy")},
            ("PCC_NOT_ELIGIBLE", "designatedMedspaId"),
        ),
    ]
    for variables, expected in cases:
        answer = await gql(CHANGE, variables, as_=OPS)
        assert [(e["code"], e["field"]) for e in answer.data["changePccKind"]["errors"]] == [
            expected
        ], variables
    async with owner_engine.connect() as conn:
        kinds = dict(
            (await conn.execute(text("SELECT id, kind::text FROM pcc"))).all()  # type: ignore[arg-type]
        )
    assert kinds[demo.pccs["vera@portrait.example"]] == "VIRTUAL"
    assert kinds[demo.pccs["dean@portrait.example"]] == "DESIGNATED"
    assert await _slugs(gql, "vera@portrait.example") == {"glow"}
