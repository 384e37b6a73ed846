"""Support tickets: a medspa opens a PCC-upgrade ticket that Portrait resolves (the PCC's kind
changes through the PCC use case, audited); the other medspas never see it; bad input changes
nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.scheduling.helpers import rows, snapshot
from tests.support.helpers import ASSIGN, COMMENT, OPEN, RESOLVE, TICKETS, gid, ticket_row

OPS = "ops@portrait.example"
DANA = "dana@glow.example"
VERA = "vera@portrait.example"


async def test_a_pcc_upgrade_ticket_resolved_by_portrait_changes_the_pccs_kind(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    opened = await gql(
        OPEN,
        {
            "input": {
                "kind": "PCC_UPGRADE",
                "subject": "In-office PCC",
                "body": "We would like Vera in office three days a week.",
                "pccId": gid("Pcc", demo.pccs[VERA]),
            }
        },
        as_=DANA,
    )
    payload = opened.data["openSupportTicket"]
    assert payload["errors"] == [], opened.body
    ticket = payload["ticket"]
    assert ticket["status"] == "OPEN"
    assert ticket["medspa"] == {"slug": "glow"}
    assert ticket["openedBy"] == {"email": DANA}

    # Portrait sees it in the queue, takes it, answers, and resolves it.
    queue = await gql(TICKETS, {"status": "OPEN"}, as_=OPS)
    assert [e["node"]["id"] for e in queue.data["supportTickets"]["edges"]] == [ticket["id"]]
    assigned = await gql(ASSIGN, {"id": ticket["id"]}, as_=OPS)
    assert assigned.data["assignSupportTicket"]["ticket"]["assignee"] == {"email": OPS}
    assert assigned.data["assignSupportTicket"]["ticket"]["status"] == "IN_PROGRESS"
    commented = await gql(COMMENT, {"id": ticket["id"], "body": "On it."}, as_=OPS)
    assert commented.data["commentOnSupportTicket"]["ticket"]["comments"] == [
        {"body": "On it.", "author": {"email": OPS}}
    ]
    resolved = await gql(RESOLVE, {"id": ticket["id"], "r": "Vera is in office."}, as_=OPS)
    answer = resolved.data["resolveSupportTicket"]
    assert answer["errors"] == [], resolved.body
    assert answer["ticket"]["status"] == "RESOLVED"
    assert answer["ticket"]["pcc"]["kind"] == "DESIGNATED"
    assert answer["ticket"]["pcc"]["designatedMedspa"] == {"slug": "glow"}

    [pcc] = await rows(
        owner_engine, "SELECT kind, designated_medspa_id FROM pcc WHERE id = :p", p=demo.pccs[VERA]
    )
    assert pcc == {"kind": "DESIGNATED", "designated_medspa_id": demo.medspas["glow"]}
    [change] = await audit.rows(action="pcc.change_kind", outcome="ALLOWED")
    assert change["detail"]["to"]["kind"] == "DESIGNATED"
    works = await audit.rows(action="support_ticket.work", outcome="ALLOWED")
    assert [w["detail"]["operation"] for w in works] == ["assign", "resolve"]
    assert works[-1]["detail"]["effect"] == {
        "action": "pcc.change_kind",
        "pccId": str(demo.pccs[VERA]),
    }
    # The admin sees the outcome; nobody at another medspa sees the ticket at all.
    mine = await gql(TICKETS, {}, as_=DANA)
    assert [e["node"]["status"] for e in mine.data["supportTickets"]["edges"]] == ["RESOLVED"]
    for other in ("ruth@radiance.example", "lena@legacy.example", "lee@radiance.example"):
        theirs = await gql(TICKETS, {}, as_=other)
        assert theirs.data["supportTickets"]["edges"] == [], other
        node = await gql(
            "query($id: ID!) { node(id: $id) { id } }", {"id": ticket["id"]}, as_=other
        )
        assert node.data == {"node": None}


async def test_resolving_twice_or_an_ineligible_upgrade_changes_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    # A PCC-upgrade ticket naming no PCC: Portrait must name one when resolving.
    ticket = await ticket_row(
        owner_engine,
        medspa_id=demo.medspas["glow"],
        opened_by=demo.users[DANA],
        kind="PCC_UPGRADE",
    )
    unnamed = await gql(RESOLVE, {"id": gid("SupportTicket", ticket), "r": "Done"}, as_=OPS)
    assert [e["field"] for e in unnamed.data["resolveSupportTicket"]["errors"]] == ["pccId"]
    # A medspa without the PCC service cannot get an in-office PCC: the resolution fails
    # whole (the ticket stays open, the PCC unchanged).
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE medspa SET pcc_service = false WHERE id = :m"), {"m": demo.medspas["glow"]}
        )
    before = await snapshot(owner_engine, "pcc", "support_ticket", "pcc_assignment")
    ineligible = await gql(
        RESOLVE,
        {"id": gid("SupportTicket", ticket), "r": "Done", "p": gid("Pcc", demo.pccs[VERA])},
        as_=OPS,
    )
    assert [e["code"] for e in ineligible.data["resolveSupportTicket"]["errors"]] == [
        "PCC_NOT_ELIGIBLE"
    ]
    assert await snapshot(owner_engine, "pcc", "support_ticket", "pcc_assignment") == before


RESOLVE_PHYSICIAN = """mutation($id: ID!, $p: PhysicianUserInput) {
  resolveSupportTicket(id: $id, resolution: "Invited.", physician: $p) {
  ticket { id status } errors { code field message } } }"""
PHYSICIAN = {"email": "dr.rao@example.com", "fullName": "Asha Rao", "credentials": "MD"}


async def test_a_physician_user_ticket_invites_the_physician_as_a_provider(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    ticket = await ticket_row(
        owner_engine,
        medspa_id=demo.medspas["glow"],
        opened_by=demo.users[DANA],
        kind="MEDICAL_DIRECTOR_PHYSICIAN_USER",
    )
    resolved = await gql(
        RESOLVE_PHYSICIAN, {"id": gid("SupportTicket", ticket), "p": PHYSICIAN}, as_=OPS
    )
    assert resolved.data["resolveSupportTicket"]["errors"] == [], resolved.body
    assert resolved.data["resolveSupportTicket"]["ticket"]["status"] == "RESOLVED"
    [invitation] = await rows(
        owner_engine,
        "SELECT id, medspa_id, as_admin, as_provider, credentials FROM invitation"
        " WHERE email = 'dr.rao@example.com'",
    )
    assert invitation["medspa_id"] == demo.medspas["glow"]
    assert (invitation["as_admin"], invitation["as_provider"]) == (False, True)
    assert invitation["credentials"] == "MD"
    # The invitation email is queued for the physician; the effect is audited twice: the
    # invitation by its own use case, and named on the ticket's resolution.
    [email] = await rows(
        owner_engine,
        "SELECT payload->>'to' AS to FROM notification_outbox WHERE invitation_id = :i",
        i=invitation["id"],
    )
    assert email == {"to": "dr.rao@example.com"}
    assert await audit.rows(action="invitation.manage", outcome="ALLOWED")
    [resolution] = [
        w
        for w in await audit.rows(action="support_ticket.work", outcome="ALLOWED")
        if w["detail"]["operation"] == "resolve"
    ]
    assert resolution["detail"]["effect"] == {
        "action": "invitation.manage",
        "invitationId": str(invitation["id"]),
    }


@pytest.mark.parametrize(
    ("kind", "physician", "field"),
    [
        ("MEDICAL_DIRECTOR_PHYSICIAN_USER", None, "physician"),
        (
            "MEDICAL_DIRECTOR_PHYSICIAN_USER",
            {**PHYSICIAN, "credentials": "NP"},
            "physician.credentials",
        ),
        ("MEDICAL_DIRECTOR_PHYSICIAN_USER", {**PHYSICIAN, "email": "not-an-email"}, "email"),
        ("QUESTION", PHYSICIAN, "physician"),
    ],
)
async def test_a_physician_user_resolution_needs_a_physician_and_changes_nothing_otherwise(
    gql: Gql,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    kind: str,
    physician: dict[str, str] | None,
    field: str,
) -> None:
    ticket = await ticket_row(
        owner_engine, medspa_id=demo.medspas["glow"], opened_by=demo.users[DANA], kind=kind
    )
    before = await snapshot(owner_engine, "support_ticket", "invitation", "notification_outbox")
    refused = await gql(
        RESOLVE_PHYSICIAN, {"id": gid("SupportTicket", ticket), "p": physician}, as_=OPS
    )
    assert [e["field"] for e in refused.data["resolveSupportTicket"]["errors"]] == [field]
    assert (
        await snapshot(owner_engine, "support_ticket", "invitation", "notification_outbox")
        == before
    )


RESOLVE_PRICE = """mutation($id: ID!, $c: PriceCorrectionInput) {
  resolveSupportTicket(id: $id, resolution: "Corrected.", priceCorrection: $c) {
  ticket { id status } errors { code field message } } }"""
PRICES = (
    "SELECT market_price_cents, legacy_price_cents, launch_price_cents, flex_price_cents"
    " FROM supplier_product WHERE id = :p"
)


async def test_a_pricing_correction_corrects_the_price_the_medspas_model_pays(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    product = demo.supplier_products["Alcohol prep pads"]
    [model] = await rows(
        owner_engine,
        "SELECT business_model::text AS m FROM medspa WHERE id = :m",
        m=demo.medspas["glow"],
    )
    column = f"{model['m'].lower()}_price_cents"
    [before] = await rows(owner_engine, PRICES, p=product)
    ticket = await ticket_row(
        owner_engine,
        medspa_id=demo.medspas["glow"],
        opened_by=demo.users[DANA],
        kind="PRICING_CORRECTION",
    )
    corrected = before[column] + 111
    resolved = await gql(
        RESOLVE_PRICE,
        {
            "id": gid("SupportTicket", ticket),
            "c": {"supplierProductId": gid("SupplierProduct", product), "priceCents": corrected},
        },
        as_=OPS,
    )
    assert resolved.data["resolveSupportTicket"]["errors"] == [], resolved.body
    [after] = await rows(owner_engine, PRICES, p=product)
    # Only the price of the medspa's own business model changed.
    assert after == {**before, column: corrected}
    assert await audit.rows(action="supplier_product.manage", outcome="ALLOWED")
    [resolution] = [
        w
        for w in await audit.rows(action="support_ticket.work", outcome="ALLOWED")
        if w["detail"]["operation"] == "resolve"
    ]
    assert resolution["detail"]["effect"] == {
        "action": "supplier_product.manage",
        "supplierProductId": str(product),
        "businessModel": model["m"],
        "priceCents": str(corrected),
    }


@pytest.mark.parametrize(
    ("kind", "correction", "field"),
    [
        ("PRICING_CORRECTION", None, "priceCorrection"),
        ("PRICING_CORRECTION", {"priceCents": -1}, "priceCorrection.priceCents"),
        ("PRICING_CORRECTION", {"priceCents": 10**9}, "priceCorrection.priceCents"),
        ("PRICING_CORRECTION", {"supplierProductId": "nope"}, "priceCorrection.supplierProductId"),
        ("QUESTION", {}, "priceCorrection"),
    ],
)
async def test_a_pricing_correction_needs_a_product_and_a_price_and_changes_nothing_otherwise(
    gql: Gql,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    kind: str,
    correction: dict[str, object] | None,
    field: str,
) -> None:
    ticket = await ticket_row(
        owner_engine, medspa_id=demo.medspas["glow"], opened_by=demo.users[DANA], kind=kind
    )
    variables: dict[str, object] = {"id": gid("SupportTicket", ticket), "c": None}
    if correction is not None:
        variables["c"] = {
            "supplierProductId": gid(
                "SupplierProduct", demo.supplier_products["Alcohol prep pads"]
            ),
            "priceCents": 500,
            **correction,
        }
    before = await snapshot(owner_engine, "support_ticket", "supplier_product")
    refused = await gql(RESOLVE_PRICE, variables, as_=OPS)
    assert [e["field"] for e in refused.data["resolveSupportTicket"]["errors"]] == [field]
    assert await snapshot(owner_engine, "support_ticket", "supplier_product") == before


async def test_a_question_resolves_once(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    ticket = gid(
        "SupportTicket",
        await ticket_row(owner_engine, medspa_id=demo.medspas["glow"], opened_by=demo.users[DANA]),
    )
    first = await gql(RESOLVE, {"id": ticket, "r": "Answered by email."}, as_=OPS)
    assert first.data["resolveSupportTicket"]["errors"] == []
    again = await gql(RESOLVE, {"id": ticket, "r": "Again"}, as_=OPS)
    assert [e["code"] for e in again.data["resolveSupportTicket"]["errors"]] == [
        "INVALID_TRANSITION"
    ]
    named = await gql(
        ASSIGN, {"id": ticket, "a": gid("User", demo.users[DANA])}, as_=OPS
    )  # resolved: no longer assignable
    assert [e["code"] for e in named.data["assignSupportTicket"]["errors"]] == [
        "INVALID_TRANSITION"
    ]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"kind": "QUESTION", "subject": "  ", "body": "x"}, "subject"),
        ({"kind": "QUESTION", "subject": "s" * 201, "body": "x"}, "subject"),
        ({"kind": "QUESTION", "subject": "s", "body": "b" * 5001}, "body"),
        ({"kind": "QUESTION", "subject": "s", "body": ""}, "body"),
        ({"kind": "QUESTION", "subject": "s", "body": "b", "pccId": "PCC"}, "pccId"),
        ({"kind": "PCC_UPGRADE", "subject": "s", "body": "b", "pccId": "not-an-id"}, "pccId"),
    ],
)
async def test_bad_tickets_are_refused_and_change_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, variables: dict[str, str], field: str
) -> None:
    if variables.get("pccId") == "PCC":
        variables = {**variables, "pccId": gid("Pcc", demo.pccs[VERA])}
    before = await snapshot(owner_engine, "support_ticket")
    answer = await gql(OPEN, {"input": variables}, as_=DANA)
    assert [e["field"] for e in answer.data["openSupportTicket"]["errors"]] == [field]
    assert await snapshot(owner_engine, "support_ticket") == before


async def test_an_upgrade_cannot_name_another_medspas_pcc(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    # Cody works for Legacy's providers only: Glow's admin cannot see him, so he is absent.
    before = await snapshot(owner_engine, "support_ticket")
    answer = await gql(
        OPEN,
        {
            "input": {
                "kind": "PCC_UPGRADE",
                "subject": "s",
                "body": "b",
                "pccId": gid("Pcc", demo.pccs["cody@portrait.example"]),
            }
        },
        as_=DANA,
    )
    assert [e["code"] for e in answer.data["openSupportTicket"]["errors"]] == ["NOT_FOUND"]
    assert await snapshot(owner_engine, "support_ticket") == before


async def test_a_provider_sees_only_the_tickets_they_opened(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    await ticket_row(owner_engine, medspa_id=demo.medspas["glow"], opened_by=demo.users[DANA])
    nina = await ticket_row(
        owner_engine, medspa_id=demo.medspas["glow"], opened_by=demo.users["nina@glow.example"]
    )
    seen = await gql(TICKETS, {}, as_="nina@glow.example")
    assert [e["node"]["id"] for e in seen.data["supportTickets"]["edges"]] == [
        gid("SupportTicket", nina)
    ]
    admin = await gql(TICKETS, {}, as_=DANA)
    assert len(admin.data["supportTickets"]["edges"]) == 2
