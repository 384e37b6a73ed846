"""The business-model transition and the PCC contract, as DESIGN §2 states them.

- Leaving Legacy always revokes the Acuity calendar (dated).
- Dropping the PCC ends every PCC assignment and every coverage window and channel grant in
  that medspa at once, and releases the OpenPhone line and TigerConnect channel (dated).
- On LAUNCH and FLEX the 1,000 USD monthly fee line exists exactly while the PCC service is
  on: at creation (the demo data) and when the platform turns the service on or off.
- A medspa without Portrait's EHR is not eligible for a PCC.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import encode_global_id
from db.models import Channel, ChannelAccessGrant, Coverage
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.pcc.helpers import absence

CONTRACT = """medspa { businessModel pccService usesPortraitEhr
  feeLines { kind amountCents currency period startsOn endsOn }
  integrations { kind status statusChangedOn } }
errors { code field }"""
TRANSITION = f"""mutation($m: ID!, $to: BusinessModel!, $keep: Boolean!) {{
  transitionBusinessModel(medspaId: $m, to: $to, keepPcc: $keep) {{ {CONTRACT} }} }}"""
SERVICE = f"""mutation($m: ID!, $on: Boolean!) {{
  setPccService(medspaId: $m, on: $on) {{ {CONTRACT} }} }}"""
EHR = f"""mutation($m: ID!, $uses: Boolean!) {{
  setUsesPortraitEhr(medspaId: $m, usesPortraitEhr: $uses) {{ {CONTRACT} }} }}"""
MEDSPA = """query($m: ID!) { node(id: $m) { ... on Medspa {
  businessModel pccService usesPortraitEhr
  feeLines { kind amountCents currency period startsOn endsOn }
  integrations { kind status statusChangedOn } } } }"""
PROVIDER_PCCS = """query($id: ID!) { node(id: $id) { ... on Provider {
    pccs { relation pcc { fullName } } } } }"""
SLUGS = "{ medspas { edges { node { slug } } } }"
ASSIGN = """mutation($pcc: ID!, $p: ID!) { assignPcc(pccId: $pcc, providerId: $p) {
    assignment { id } errors { code } } }"""
PCC_FEE = {"kind": "PCC_SERVICE", "amountCents": 100000, "currency": "USD", "period": "MONTHLY"}
OPS = "ops@portrait.example"


def _m(demo: DemoIds, slug: str) -> str:
    return encode_global_id("Medspa", demo.medspas[slug])


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


async def _covered_now(
    session: AsyncSession, demo: DemoIds, *, pcc: str, covering: str
) -> dict[str, Any]:
    """An absence of `pcc` under way now, covered by `covering`, with its channel grants."""
    now = datetime.now(UTC)
    ooo = await absence(
        session,
        demo,
        pcc=pcc,
        starts=now - timedelta(hours=1),
        ends=now + timedelta(hours=6),
        covering=covering,
    )
    coverage = (
        await session.execute(select(Coverage).where(Coverage.ooo_id == ooo["id"]))
    ).scalar_one()
    rows = (
        await session.execute(
            text("SELECT provider_id, medspa_id FROM ooo_affected_provider WHERE ooo_id = :o"),
            {"o": ooo["id"]},
        )
    ).all()
    for provider_id, medspa_id in rows:
        for channel in Channel:
            session.add(
                ChannelAccessGrant(
                    id=uuid.uuid4(),
                    medspa_id=medspa_id,
                    coverage_id=coverage.id,
                    pcc_id=coverage.covering_pcc_id,
                    provider_id=provider_id,
                    channel=channel,
                    starts_at=coverage.starts_at,
                    ends_at=coverage.ends_at,
                )
            )
    await session.commit()
    return ooo


async def _open_grants(engine: AsyncEngine, medspa_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM channel_access_grant WHERE medspa_id = :m"
                        " AND revoked_at IS NULL AND ends_at > now()"
                    ),
                    {"m": medspa_id},
                )
            ).scalar_one()
        )


async def _open_assignments(engine: AsyncEngine, medspa_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM pcc_assignment WHERE medspa_id = :m"
                        " AND (ends_at IS NULL OR ends_at > now())"
                    ),
                    {"m": medspa_id},
                )
            ).scalar_one()
        )


# --- dropping the PCC at the transition -------------------------------------------------


async def test_dropping_the_pcc_ends_coverage_and_grants_in_the_medspa_at_once(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, owner_engine: AsyncEngine
) -> None:
    # Cody (Legacy's PCC) is out now; Sam covers his providers, phone and chat included.
    await _covered_now(
        owner_session, demo, pcc="cody@portrait.example", covering="sam@portrait.example"
    )
    kim = encode_global_id("Provider", demo.providers["kim@legacy.example"])
    before = await gql(PROVIDER_PCCS, {"id": kim}, as_="lena@legacy.example")
    assert {"relation": "COVERING", "pcc": {"fullName": "Sam Taylor"}} in before.data["node"][
        "pccs"
    ]
    assert "legacy" in {
        e["node"]["slug"]
        for e in (await gql(SLUGS, as_="sam@portrait.example")).data["medspas"]["edges"]
    }
    assert await _open_grants(owner_engine, demo.medspas["legacy"]) == 4

    answer = await gql(
        TRANSITION, {"m": _m(demo, "legacy"), "to": "LAUNCH", "keep": False}, as_=OPS
    )
    medspa = answer.data["transitionBusinessModel"]["medspa"]
    assert medspa["pccService"] is False
    assert medspa["feeLines"] == []
    assert {(i["kind"], i["status"], i["statusChangedOn"]) for i in medspa["integrations"]} == {
        ("OPENPHONE_LINE", "MARKED_FOR_RELEASE", _today()),
        ("TIGERCONNECT_CHANNEL", "DEACTIVATED", _today()),
        ("ACUITY_CALENDAR", "REVOKED", _today()),
    }
    # At once: the coverer reads nothing of Legacy, the provider no longer lists it, and no
    # phone or chat grant stays open; assignments are over too.
    sam = await gql(SLUGS, as_="sam@portrait.example")
    assert "legacy" not in {e["node"]["slug"] for e in sam.data["medspas"]["edges"]}
    after = await gql(PROVIDER_PCCS, {"id": kim}, as_="lena@legacy.example")
    assert after.data["node"]["pccs"] == []
    assert await _open_grants(owner_engine, demo.medspas["legacy"]) == 0
    assert await _open_assignments(owner_engine, demo.medspas["legacy"]) == 0
    async with owner_engine.connect() as conn:
        revoked_on = (
            (
                await conn.execute(
                    text(
                        "SELECT DISTINCT (revoked_at AT TIME ZONE 'UTC')::date FROM"
                        " channel_access_grant WHERE medspa_id = :m"
                    ),
                    {"m": demo.medspas["legacy"]},
                )
            )
            .scalars()
            .all()
        )
    assert [d.isoformat() for d in revoked_on] == [_today()]


async def test_dropping_the_pcc_leaves_other_medspas_coverage_alone(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, owner_engine: AsyncEngine
) -> None:
    await _covered_now(
        owner_session, demo, pcc="vera@portrait.example", covering="sam@portrait.example"
    )
    glow_grants = await _open_grants(owner_engine, demo.medspas["glow"])
    await gql(TRANSITION, {"m": _m(demo, "legacy"), "to": "FLEX", "keep": False}, as_=OPS)
    assert await _open_grants(owner_engine, demo.medspas["glow"]) == glow_grants > 0
    assert "glow" in {
        e["node"]["slug"]
        for e in (await gql(SLUGS, as_="sam@portrait.example")).data["medspas"]["edges"]
    }


async def test_acuity_is_revoked_whenever_a_medspa_leaves_legacy(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(TRANSITION, {"m": _m(demo, "legacy"), "to": "FLEX", "keep": True}, as_=OPS)
    medspa = answer.data["transitionBusinessModel"]["medspa"]
    statuses = {i["kind"]: (i["status"], i["statusChangedOn"]) for i in medspa["integrations"]}
    assert statuses["ACUITY_CALENDAR"] == ("REVOKED", _today())
    assert statuses["OPENPHONE_LINE"][0] == statuses["TIGERCONNECT_CHANNEL"][0] == "ACTIVE"
    assert medspa["feeLines"] == [{**PCC_FEE, "startsOn": _today(), "endsOn": None}]


async def test_a_refused_transition_changes_nothing(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    await gql(EHR, {"m": _m(demo, "legacy"), "uses": False}, as_=OPS)
    refused = await gql(
        TRANSITION, {"m": _m(demo, "legacy"), "to": "LAUNCH", "keep": True}, as_=OPS
    )
    assert refused.data["transitionBusinessModel"]["errors"] == [
        {"code": "PCC_NOT_ELIGIBLE", "field": "keepPcc"}
    ]
    medspa = (await gql(MEDSPA, {"m": _m(demo, "legacy")}, as_=OPS)).data["node"]
    assert medspa["businessModel"] == "LEGACY"
    assert {i["status"] for i in medspa["integrations"] if i["kind"] == "ACUITY_CALENDAR"} == {
        "ACTIVE"
    }


# --- the PCC fee line follows the service -----------------------------------------------


async def test_demo_launch_and_flex_medspas_with_the_pcc_carry_the_fee(
    gql: Gql, demo: DemoIds
) -> None:
    for slug in ("glow", "radiance"):
        medspa = (await gql(MEDSPA, {"m": _m(demo, slug)}, as_=OPS)).data["node"]
        assert medspa["pccService"] is True
        assert [{k: v for k, v in f.items() if k in PCC_FEE} for f in medspa["feeLines"]] == [
            PCC_FEE
        ]
        assert medspa["feeLines"][0]["endsOn"] is None
    legacy = (await gql(MEDSPA, {"m": _m(demo, "legacy")}, as_=OPS)).data["node"]
    assert legacy["feeLines"] == []  # the PCC is part of the Legacy contract


async def test_turning_the_service_off_ends_fee_assignments_coverage_and_lines(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, owner_engine: AsyncEngine
) -> None:
    await _covered_now(
        owner_session, demo, pcc="vera@portrait.example", covering="sam@portrait.example"
    )
    off = await gql(SERVICE, {"m": _m(demo, "glow"), "on": False}, as_=OPS)
    medspa = off.data["setPccService"]["medspa"]
    assert off.data["setPccService"]["errors"] == []
    assert medspa["pccService"] is False
    [fee] = medspa["feeLines"]
    assert fee["endsOn"] == _today()
    assert {(i["kind"], i["status"], i["statusChangedOn"]) for i in medspa["integrations"]} == {
        ("OPENPHONE_LINE", "MARKED_FOR_RELEASE", _today()),
        ("TIGERCONNECT_CHANNEL", "DEACTIVATED", _today()),
    }
    assert await _open_assignments(owner_engine, demo.medspas["glow"]) == 0
    assert await _open_grants(owner_engine, demo.medspas["glow"]) == 0
    for pcc in ("vera@portrait.example", "sam@portrait.example"):
        assert (await gql(SLUGS, as_=pcc)).data["medspas"]["edges"] == [], pcc
    # No PCC can be assigned while the service is off.
    assign = {
        "pcc": encode_global_id("Pcc", demo.pccs["vera@portrait.example"]),
        "p": encode_global_id("Provider", demo.providers["nina@glow.example"]),
    }
    refused = await gql(ASSIGN, assign, as_="maria@portrait.example")
    assert [e["code"] for e in refused.data["assignPcc"]["errors"]] == ["PCC_NOT_ELIGIBLE"]

    on = await gql(SERVICE, {"m": _m(demo, "glow"), "on": True}, as_=OPS)
    medspa = on.data["setPccService"]["medspa"]
    assert medspa["pccService"] is True
    # The ended line stays on record; a new one runs from today.
    assert sorted((f["startsOn"], f["endsOn"]) for f in medspa["feeLines"]) == [
        (fee["startsOn"], _today()),
        (_today(), None),
    ]
    assert {i["status"] for i in medspa["integrations"]} == {"ACTIVE"}
    assert (await gql(ASSIGN, assign, as_="maria@portrait.example")).data["assignPcc"][
        "errors"
    ] == []
    # Asking again for the state it is in adds nothing.
    again = await gql(SERVICE, {"m": _m(demo, "glow"), "on": True}, as_=OPS)
    assert len(again.data["setPccService"]["medspa"]["feeLines"]) == 2


async def test_the_service_on_legacy_carries_no_fee(gql: Gql, demo: DemoIds) -> None:
    await gql(SERVICE, {"m": _m(demo, "legacy"), "on": False}, as_=OPS)
    on = await gql(SERVICE, {"m": _m(demo, "legacy"), "on": True}, as_=OPS)
    assert on.data["setPccService"]["medspa"]["pccService"] is True
    assert on.data["setPccService"]["medspa"]["feeLines"] == []


# --- Portrait's EHR ---------------------------------------------------------------------


async def test_leaving_portraits_ehr_ends_the_pcc_service(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    assert (await gql(SLUGS, as_="dean@portrait.example")).data["medspas"]["edges"] != []
    answer = await gql(EHR, {"m": _m(demo, "radiance"), "uses": False}, as_=OPS)
    medspa = answer.data["setUsesPortraitEhr"]["medspa"]
    assert (medspa["usesPortraitEhr"], medspa["pccService"]) == (False, False)
    assert medspa["feeLines"][0]["endsOn"] == _today()
    # Dean, designated at Radiance, reaches nothing there any more, nor is he listed.
    assert (await gql(SLUGS, as_="dean@portrait.example")).data["medspas"]["edges"] == []
    lee = encode_global_id("Provider", demo.providers["lee@radiance.example"])
    listed = await gql(PROVIDER_PCCS, {"id": lee}, as_="ruth@radiance.example")
    assert listed.data["node"]["pccs"] == []
    # Not eligible: the service cannot be turned on, nor a PCC assigned.
    refused = await gql(SERVICE, {"m": _m(demo, "radiance"), "on": True}, as_=OPS)
    assert refused.data["setPccService"]["errors"] == [{"code": "PCC_NOT_ELIGIBLE", "field": "on"}]
    assign = await gql(
        ASSIGN,
        {
            "pcc": encode_global_id("Pcc", demo.pccs["sam@portrait.example"]),
            "p": encode_global_id("Provider", demo.providers["lee@radiance.example"]),
        },
        as_="maria@portrait.example",
    )
    assert [e["code"] for e in assign.data["assignPcc"]["errors"]] == ["PCC_NOT_ELIGIBLE"]
    # Back on Portrait's EHR: eligible again, the service stays off until turned on.
    back = await gql(EHR, {"m": _m(demo, "radiance"), "uses": True}, as_=OPS)
    assert back.data["setUsesPortraitEhr"]["medspa"]["pccService"] is False
    on = await gql(SERVICE, {"m": _m(demo, "radiance"), "on": True}, as_=OPS)
    assert on.data["setPccService"]["medspa"]["pccService"] is True
    assert (await gql(SLUGS, as_="dean@portrait.example")).data["medspas"]["edges"] != []


async def test_an_upcoming_window_in_the_medspa_never_opens_after_the_pcc_is_dropped(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, owner_engine: AsyncEngine
) -> None:
    """Coverage arranged for later is ended too: when its time comes, the coverer gets no
    access to the medspa that dropped its PCC."""
    now = datetime.now(UTC)
    ooo = await absence(
        owner_session,
        demo,
        pcc="cody@portrait.example",
        starts=now + timedelta(days=2),
        ends=now + timedelta(days=3),
        covering="sam@portrait.example",
    )
    await gql(TRANSITION, {"m": _m(demo, "legacy"), "to": "LAUNCH", "keep": False}, as_=OPS)
    # Time passes: the window is now under way.
    async with owner_engine.begin() as conn:
        for table in ("out_of_office", "coverage"):
            await conn.execute(
                text(
                    f"UPDATE {table} SET starts_at = now() - interval '1 hour',"  # noqa: S608
                    " ends_at = now() + interval '5 hours'"
                    f" WHERE {'id' if table == 'out_of_office' else 'ooo_id'} = :o"
                ),
                {"o": ooo["id"]},
            )
    sam = await gql(SLUGS, as_="sam@portrait.example")
    assert "legacy" not in {e["node"]["slug"] for e in sam.data["medspas"]["edges"]}
    kim = encode_global_id("Provider", demo.providers["kim@legacy.example"])
    listed = await gql(PROVIDER_PCCS, {"id": kim}, as_="lena@legacy.example")
    assert listed.data["node"]["pccs"] == []


# --- creation -----------------------------------------------------------------------------

CREATE = f"""mutation($i: CreateMedspaInput!) {{ createMedspa(input: $i) {{ {CONTRACT} }} }}"""


def _new(slug: str, model: str, **extra: object) -> dict[str, object]:
    return {
        "i": {
            "name": f"New {slug}",
            "slug": slug,
            "businessModel": model,
            "timeZone": "America/Denver",
            **extra,
        }
    }


async def test_a_medspa_created_with_the_pcc_on_launch_or_flex_carries_the_fee(
    gql: Gql, audit: Audit
) -> None:
    for slug, model in (("new-launch", "LAUNCH"), ("new-flex", "FLEX")):
        answer = await gql(CREATE, _new(slug, model, pccService=True), as_=OPS)
        medspa = answer.data["createMedspa"]["medspa"]
        assert answer.data["createMedspa"]["errors"] == []
        assert medspa["pccService"] is True
        assert medspa["feeLines"] == [{**PCC_FEE, "startsOn": _today(), "endsOn": None}]
    without = await gql(CREATE, _new("new-no-pcc", "LAUNCH"), as_=OPS)
    assert without.data["createMedspa"]["medspa"]["feeLines"] == []
    legacy = await gql(CREATE, _new("new-legacy", "LEGACY", pccService=True), as_=OPS)
    assert legacy.data["createMedspa"]["medspa"]["pccService"] is True
    assert legacy.data["createMedspa"]["medspa"]["feeLines"] == []  # in the Legacy contract
    assert len(await audit.rows(action="medspa.create", outcome="ALLOWED")) == 4


async def test_medspa_creation_refusals_change_nothing(gql: Gql, owner_engine: AsyncEngine) -> None:
    async def count() -> int:
        async with owner_engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM medspa"))).scalar_one())

    before = await count()
    cases = [
        (_new("no-ehr", "LAUNCH", pccService=True, usesPortraitEhr=False), "PCC_NOT_ELIGIBLE"),
        (_new("glow", "LAUNCH"), "SLUG_TAKEN"),
        (_new("Bad Slug", "LAUNCH"), "VALIDATION"),
        (_new("x" * 64, "LAUNCH"), "VALIDATION"),
        (_new("zone", "LAUNCH", timeZone="Mars/Olympus"), "VALIDATION"),
        (_new("legacy-own", "LEGACY", gfeRouting="DO_NOT_ROUTE"), "VALIDATION"),
        ({"i": {**_new("blank", "FLEX")["i"], "name": "  "}}, "VALIDATION"),  # type: ignore[dict-item]
    ]
    for variables, code in cases:
        answer = await gql(CREATE, variables, as_=OPS)
        assert [e["code"] for e in answer.data["createMedspa"]["errors"]] == [code], variables
    assert await count() == before
