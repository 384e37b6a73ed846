"""PCC directory and assignments; the LEGACY -> LAUNCH/FLEX transition both ways of keepPcc."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import encode_global_id
from db.models import Medspa
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals
from tests.matrix import ALL_CALLERS, expect
from tests.pcc.helpers import absence

PROVIDER_PCCS = """query($id: ID!) { node(id: $id) { ... on Provider { displayName
    pccs { relation until pcc { fullName kind timeZone workingHours } } } } }"""


async def test_provider_and_admin_see_their_pcc_and_hours(gql: Gql, demo: DemoIds) -> None:
    nina = encode_global_id("Provider", demo.providers["nina@glow.example"])
    for who in ("nina@glow.example", "dana@glow.example"):
        answer = await gql(PROVIDER_PCCS, {"id": nina}, as_=who)
        [pcc] = answer.data["node"]["pccs"]
        assert pcc["relation"] == "ASSIGNED"
        assert pcc["pcc"]["fullName"] == "Vera Lind"
        assert pcc["pcc"]["workingHours"]["FRI"] == [["09:00", "17:00"]]
    lee = encode_global_id("Provider", demo.providers["lee@radiance.example"])
    answer = await gql(PROVIDER_PCCS, {"id": lee}, as_="ruth@radiance.example")
    assert [p["relation"] for p in answer.data["node"]["pccs"]] == ["DESIGNATED"]


async def test_covering_pcc_is_shown_beside_the_provider_during_the_window(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    await absence(
        owner_session,
        demo,
        starts=now - timedelta(hours=1),
        ends=now + timedelta(hours=2),
        covering="sam@portrait.example",
    )
    nina = encode_global_id("Provider", demo.providers["nina@glow.example"])
    answer = await gql(PROVIDER_PCCS, {"id": nina}, as_="nina@glow.example")
    relations = {p["relation"]: p for p in answer.data["node"]["pccs"]}
    assert relations["COVERING"]["pcc"]["fullName"] == "Sam Taylor"
    assert relations["COVERING"]["pcc"]["timeZone"] == "America/New_York"
    assert relations["COVERING"]["until"] is not None


# pcc.read (DESIGN §5): staff see every PCC; a PCC itself (OWN); a medspa's admins their
# PCCs and its providers their PCC (TENANT); partner keys and visitors nothing.
PCC_DIRECTORY: dict[str, set[str] | str] = expect(
    {
        "ops@portrait.example": {"Vera Lind", "Dean Foster", "Cody Reyes", "Sam Taylor"},
        "maria@portrait.example": {"Vera Lind", "Dean Foster", "Cody Reyes", "Sam Taylor"},
        "vera@portrait.example": {"Vera Lind"},
        "dean@portrait.example": {"Dean Foster"},
        "cody@portrait.example": {"Cody Reyes"},
        # Sam covers Vera's absences in the demo (DESIGN §3: the coverer needs the absent
        # PCC's name, time zone and working hours), so Vera's profile is his to read too.
        "sam@portrait.example": {"Sam Taylor", "Vera Lind"},
        "covering": {"Sam Taylor", "Vera Lind"},
        "dana@glow.example": {"Vera Lind"},
        "dana@glow.example:PROVIDER": {"Vera Lind"},
        "nina@glow.example": {"Vera Lind"},
        "omar@glow.example": {"Vera Lind"},
        "masquerade": {"Vera Lind"},
        "ruth@radiance.example": {"Dean Foster"},
        "lee@radiance.example": {"Dean Foster"},
        "lena@legacy.example": {"Cody Reyes"},
        "kim@legacy.example": {"Cody Reyes"},
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",  # every partner key
)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_pcc_directory_scope(gql: Gql, principals: Principals, who: str) -> None:
    answer = await gql(
        "{ pccs { edges { node { fullName } } } }", bearer=await principals.bearer(who)
    )
    expected = PCC_DIRECTORY[who]
    if isinstance(expected, str):
        assert answer.codes == [expected], answer.body
    else:
        assert answer.errors == [], answer.body
        assert {e["node"]["fullName"] for e in answer.data["pccs"]["edges"]} == expected


ASSIGN = """mutation($pcc: ID!, $p: ID!) { assignPcc(pccId: $pcc, providerId: $p) {
    assignment { id pcc { fullName } provider { displayName } } errors { code } } }"""


async def test_managers_assign_pccs(gql: Gql, demo: DemoIds) -> None:
    variables = {
        "pcc": encode_global_id("Pcc", demo.pccs["sam@portrait.example"]),
        "p": encode_global_id("Provider", demo.providers["lee@radiance.example"]),
    }
    for who in ("vera@portrait.example", "dana@glow.example", "ruth@radiance.example"):
        assert (await gql(ASSIGN, variables, as_=who)).codes == ["FORBIDDEN"]
    answer = await gql(ASSIGN, variables, as_="maria@portrait.example")
    assert answer.data["assignPcc"]["assignment"]["pcc"]["fullName"] == "Sam Taylor"
    again = await gql(ASSIGN, variables, as_="ops@portrait.example")
    assert [e["code"] for e in again.data["assignPcc"]["errors"]] == ["ALREADY_ASSIGNED"]
    sam_sees = await gql("{ medspas { edges { node { slug } } } }", as_="sam@portrait.example")
    assert [e["node"]["slug"] for e in sam_sees.data["medspas"]["edges"]] == ["radiance"]

    ended = await gql(
        "mutation($id: ID!) { endPccAssignment(assignmentId: $id) { errors { code } } }",
        {"id": answer.data["assignPcc"]["assignment"]["id"]},
        as_="maria@portrait.example",
    )
    assert ended.data["endPccAssignment"]["errors"] == []
    after = await gql("{ medspas { edges { node { slug } } } }", as_="sam@portrait.example")
    assert after.data["medspas"]["edges"] == []


async def test_no_pcc_without_portrait_ehr(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    await owner_session.execute(
        update(Medspa).where(Medspa.slug == "radiance").values(uses_portrait_ehr=False)
    )
    await owner_session.commit()
    answer = await gql(
        ASSIGN,
        {
            "pcc": encode_global_id("Pcc", demo.pccs["sam@portrait.example"]),
            "p": encode_global_id("Provider", demo.providers["lee@radiance.example"]),
        },
        as_="maria@portrait.example",
    )
    assert [e["code"] for e in answer.data["assignPcc"]["errors"]] == ["PCC_NOT_ELIGIBLE"]


TRANSITION = """mutation($m: ID!, $to: BusinessModel!, $keep: Boolean!) {
  transitionBusinessModel(medspaId: $m, to: $to, keepPcc: $keep) {
    medspa { businessModel pccService feeLines { kind amountCents currency period }
      integrations { kind status statusChangedOn } }
    errors { code field } } }"""


async def test_transition_keeping_the_pcc_adds_the_fee(
    gql: Gql, demo: DemoIds, audit: Audit
) -> None:
    legacy = encode_global_id("Medspa", demo.medspas["legacy"])
    answer = await gql(
        TRANSITION, {"m": legacy, "to": "LAUNCH", "keep": True}, as_="ops@portrait.example"
    )
    medspa = answer.data["transitionBusinessModel"]["medspa"]
    assert medspa["businessModel"] == "LAUNCH"
    assert medspa["pccService"] is True
    assert medspa["feeLines"] == [
        {"kind": "PCC_SERVICE", "amountCents": 100000, "currency": "USD", "period": "MONTHLY"}
    ]
    # Keeping the PCC keeps its phone line and chat; leaving Legacy revokes Acuity anyway.
    today = datetime.now(UTC).date().isoformat()
    assert {(i["kind"], i["status"], i["statusChangedOn"]) for i in medspa["integrations"]} == {
        ("OPENPHONE_LINE", "ACTIVE", "2026-01-01"),
        ("TIGERCONNECT_CHANNEL", "ACTIVE", "2026-01-01"),
        ("ACUITY_CALENDAR", "REVOKED", today),
    }
    # Cody still works Legacy's calendars.
    cody = await gql("{ medspas { edges { node { slug } } } }", as_="cody@portrait.example")
    assert [e["node"]["slug"] for e in cody.data["medspas"]["edges"]] == ["legacy"]
    again = await gql(
        TRANSITION, {"m": legacy, "to": "FLEX", "keep": True}, as_="ops@portrait.example"
    )
    assert [e["code"] for e in again.data["transitionBusinessModel"]["errors"]] == [
        "ALREADY_TRANSITIONED"
    ]
    assert await audit.rows(action="medspa.transition_model", outcome="ALLOWED")


async def test_transition_without_the_pcc_releases_everything(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    legacy = encode_global_id("Medspa", demo.medspas["legacy"])
    answer = await gql(
        TRANSITION, {"m": legacy, "to": "FLEX", "keep": False}, as_="ops@portrait.example"
    )
    medspa = answer.data["transitionBusinessModel"]["medspa"]
    today = datetime.now(UTC).date().isoformat()
    assert medspa["businessModel"] == "FLEX"
    assert medspa["pccService"] is False
    assert medspa["feeLines"] == []
    assert {(i["kind"], i["status"], i["statusChangedOn"]) for i in medspa["integrations"]} == {
        ("OPENPHONE_LINE", "MARKED_FOR_RELEASE", today),
        ("TIGERCONNECT_CHANNEL", "DEACTIVATED", today),
        ("ACUITY_CALENDAR", "REVOKED", today),
    }
    cody = await gql("{ medspas { edges { node { slug } } } }", as_="cody@portrait.example")
    assert cody.data["medspas"]["edges"] == []
    async with owner_engine.connect() as conn:
        open_assignments = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pcc_assignment WHERE medspa_id = :m"
                    " AND (ends_at IS NULL OR ends_at > now())"
                ),
                {"m": demo.medspas["legacy"]},
            )
        ).scalar_one()
    assert open_assignments == 0


@pytest.mark.parametrize(
    "who",
    [
        "maria@portrait.example",
        "lena@legacy.example",
        "cody@portrait.example",
        "kim@legacy.example",
    ],
)
async def test_only_platform_admins_transition(
    gql: Gql, demo: DemoIds, who: str, audit: Audit
) -> None:
    legacy = encode_global_id("Medspa", demo.medspas["legacy"])
    answer = await gql(TRANSITION, {"m": legacy, "to": "LAUNCH", "keep": True}, as_=who)
    assert answer.codes == ["FORBIDDEN"]
    assert await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    check = await gql(
        "{ medspas { edges { node { businessModel } } } }", as_="ops@portrait.example"
    )
    assert "LAUNCH" in {e["node"]["businessModel"] for e in check.data["medspas"]["edges"]}
    assert sorted(e["node"]["businessModel"] for e in check.data["medspas"]["edges"]) == [
        "FLEX",
        "LAUNCH",
        "LEGACY",
    ]


async def test_scheduling_settings_open_after_the_move(gql: Gql, demo: DemoIds) -> None:
    create = """mutation { createLocation(input: {name: "Loop", addressLine1: "1 State St",
        city: "Chicago", region: "IL", postalCode: "60601"}) {
        location { name } errors { code } } }"""
    before = await gql(create, as_="lena@legacy.example")
    assert [e["code"] for e in before.data["createLocation"]["errors"]] == ["FEATURE_UNAVAILABLE"]
    legacy = encode_global_id("Medspa", demo.medspas["legacy"])
    await gql(TRANSITION, {"m": legacy, "to": "LAUNCH", "keep": True}, as_="ops@portrait.example")
    after = await gql(create, as_="lena@legacy.example")
    assert after.data["createLocation"] == {"location": {"name": "Loop"}, "errors": []}
