"""Inventory ordering (issue 18): the catalogue, the two-step order, the inventory team's
review, the order history, and who sees which order.

Done when: Dean (designated PCC, Radiance) places an order that the inventory team modifies
and approves, and it shows in Radiance's order history with its states; none of it is
visible from another medspa; prices follow the business model.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.inventory.helpers import (
    APPROVE,
    HISTORY,
    IVY,
    MODIFY,
    PLACE,
    QUOTE,
    REJECT,
    delivery_in,
    order_input,
    product,
    rows,
    scalar,
    set_address,
)

DEAN = "dean@portrait.example"
RUTH = "ruth@radiance.example"
DANA = "dana@glow.example"
LENA = "lena@legacy.example"
# FLEX prices of the demo catalogue (db/seed/inventory.py)
DYSPORT = {"market": 70_000, "LEGACY": 58_000, "LAUNCH": 60_500, "FLEX": 62_500}
LYFT = {"market": 33_000, "LEGACY": 27_000, "LAUNCH": 28_500, "FLEX": 29_500}
GLOVES = {"market": 1_800, "LEGACY": 1_350, "LAUNCH": 1_450, "FLEX": 1_500}


def _order(answer: Any, field: str) -> dict[str, Any]:
    assert answer.errors == [], answer.body
    payload = answer.data[field]
    assert payload["errors"] == [], payload
    order: dict[str, Any] = payload["order"]
    return order


async def _count(engine: AsyncEngine, table: str) -> int:
    found: int = await scalar(engine, f"SELECT count(*) FROM {table}")  # noqa: S608
    return found


async def test_dean_orders_the_team_modifies_and_approves_and_radiance_sees_its_history(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    lines = [("Dysport 300U", 2), ("Restylane Lyft", 3)]
    # Step 1: the lines alone give the subtotal and the savings on Radiance's (FLEX) prices.
    step1 = await gql(
        QUOTE, {"input": {**order_input(demo, lines), "deliveryDate": None}}, as_=DEAN
    )
    quote = step1.data["inventoryOrderQuote"]
    assert quote["errors"] == [] and quote["priceList"] == "FLEX"
    subtotal = 2 * DYSPORT["FLEX"] + 3 * LYFT["FLEX"]
    savings = 2 * (DYSPORT["market"] - DYSPORT["FLEX"]) + 3 * (LYFT["market"] - LYFT["FLEX"])
    assert (quote["subtotalCents"], quote["savingsCents"]) == (subtotal, savings)
    assert quote["deliveryChargeCents"] is None and quote["totalCents"] is None
    # Step 2: a delivery date and a payment method add the delivery charge and the total.
    step2 = await gql(QUOTE, {"input": order_input(demo, lines)}, as_=DEAN)
    quote = step2.data["inventoryOrderQuote"]
    assert quote["deliveryChargeCents"] == 0  # standard delivery is free from 1,000 USD
    assert quote["totalCents"] == subtotal

    placed = _order(
        await gql(
            PLACE,
            {"input": order_input(demo, lines, expectedTotalCents=quote["totalCents"])},
            as_=DEAN,
        ),
        "placeInventoryOrder",
    )
    assert placed["status"] == "PLACED" and placed["priceList"] == "FLEX"
    assert placed["shippingAddress"]["city"] == "Santa Monica"
    assert [h["status"] for h in placed["history"]] == ["PLACED"]
    assert [(line["productName"], line["quantity"]) for line in placed["lines"]] == [
        ("Dysport 300U", 2),
        ("Restylane Lyft", 3),
    ]

    modified = _order(
        await gql(
            MODIFY,
            {
                "id": placed["id"],
                "lines": [
                    {"productId": product(demo, "Dysport 300U"), "quantity": 2},
                    {"productId": product(demo, "Restylane Lyft"), "quantity": 1},
                    {"productId": product(demo, "Nitrile exam gloves"), "quantity": 4},
                ],
                "reason": "Restylane Lyft is limited this month; gloves added.",
            },
            as_=IVY,
        ),
        "modifyInventoryOrder",
    )
    new_subtotal = 2 * DYSPORT["FLEX"] + LYFT["FLEX"] + 4 * GLOVES["FLEX"]
    assert modified["status"] == "MODIFIED"
    assert modified["subtotalCents"] == new_subtotal
    assert modified["totalCents"] == new_subtotal + modified["deliveryChargeCents"]
    assert modified["priceList"] == "FLEX"

    approved = _order(await gql(APPROVE, {"id": placed["id"]}, as_=IVY), "approveInventoryOrder")
    assert approved["status"] == "APPROVED"
    history = approved["history"]
    assert [h["status"] for h in history] == ["PLACED", "MODIFIED", "APPROVED"]
    assert history[1]["reason"] == "Restylane Lyft is limited this month; gloves added."
    assert history[1]["changes"]["before"] == [
        {"productId": product(demo, "Dysport 300U"), "quantity": 2},
        {"productId": product(demo, "Restylane Lyft"), "quantity": 3},
    ]
    assert len(history[1]["changes"]["after"]) == 3

    # Radiance's order history shows it with its states, to Ruth (admin) and Dean.
    for who in (RUTH, DEAN):
        listed = await gql(HISTORY, as_=who)
        assert listed.errors == [], listed.body
        found = [e["node"] for e in listed.data["inventoryOrders"]["edges"]]
        mine = [o for o in found if o["id"] == placed["id"]]
        assert len(mine) == 1 and mine[0]["status"] == "APPROVED"
        assert [h["status"] for h in mine[0]["history"]] == ["PLACED", "MODIFIED", "APPROVED"]
        assert {o["shippingAddress"]["city"] for o in found} == {"Santa Monica"}

    # None of it is visible from another medspa: not listed, and `node` answers null.
    for who in (DANA, "nina@glow.example", LENA):
        listed = await gql(HISTORY, as_=who)
        assert listed.errors == [], listed.body
        assert placed["id"] not in {
            e["node"]["id"] for e in listed.data["inventoryOrders"]["edges"]
        }
    for who in (DANA, "nina@glow.example", LENA, "vera@portrait.example"):
        node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": placed["id"]}, as_=who)
        assert node.data == {"node": None}, (who, node.body)

    # The medspa was notified of each step through the outbox; every step was audited.
    order_id = placed["id"]
    kinds = await rows(
        owner_engine,
        "SELECT kind, payload FROM notification_outbox o JOIN inventory_order i"
        " ON i.id = o.inventory_order_id WHERE i.medspa_id = :m AND o.patient_id IS NULL"
        " ORDER BY o.created_at, o.deliver_at",
        m=demo.medspas["radiance"],
    )
    mine = [k for k, p in kinds if encode_global_id("InventoryOrder", _uuid(p)) == order_id]
    assert mine == [
        "INVENTORY_ORDER_PLACED",
        "INVENTORY_ORDER_MODIFIED",
        "INVENTORY_ORDER_APPROVED",
    ]
    audited = await rows(
        owner_engine,
        "SELECT action, outcome FROM audit_event WHERE resource_type = 'InventoryOrder'"
        " AND outcome = 'ALLOWED' ORDER BY occurred_at",
    )
    assert [a for a, _ in audited][-3:] == [
        "inventory_order.create",
        "inventory_order.review",
        "inventory_order.review",
    ]


def _uuid(payload: Any) -> Any:
    import uuid

    data = payload if isinstance(payload, dict) else json.loads(payload)
    return uuid.UUID(data["inventoryOrderId"])


async def test_prices_follow_the_business_model_and_an_order_keeps_its_price_list(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    lines = [("Dysport 300U", 1)]
    await set_address(
        owner_engine,
        demo.medspas["legacy"],
        json.dumps(
            {
                "line1": "210 N Main St",
                "city": "Chicago",
                "region": "IL",
                "postal_code": "60602",
                "country": "US",
            }
        ),
    )
    for who, model in ((DANA, "LAUNCH"), (RUTH, "FLEX"), (LENA, "LEGACY")):
        answer = await gql(QUOTE, {"input": order_input(demo, lines)}, as_=who)
        quote = answer.data["inventoryOrderQuote"]
        assert quote["priceList"] == model, who
        assert quote["lines"][0]["unitPriceCents"] == DYSPORT[model]
        assert quote["lines"][0]["unitMarketPriceCents"] == DYSPORT["market"]
        assert quote["savingsCents"] == DYSPORT["market"] - DYSPORT[model]

    before = _order(
        await gql(PLACE, {"input": order_input(demo, lines)}, as_=LENA), "placeInventoryOrder"
    )
    legacy_quote = (await gql(QUOTE, {"input": order_input(demo, lines)}, as_=LENA)).data[
        "inventoryOrderQuote"
    ]
    # Legacy moves to LAUNCH (transitionBusinessModel): new quotes follow the new price list,
    # the placed order keeps the one it used, and a total quoted before the change is refused.
    async with owner_engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(
            text("UPDATE medspa SET business_model = 'LAUNCH' WHERE id = :m"),
            {"m": demo.medspas["legacy"]},
        )
    after = (await gql(QUOTE, {"input": order_input(demo, lines)}, as_=LENA)).data[
        "inventoryOrderQuote"
    ]
    assert after["priceList"] == "LAUNCH"
    assert after["lines"][0]["unitPriceCents"] == DYSPORT["LAUNCH"]
    stale = await gql(
        PLACE,
        {"input": order_input(demo, lines, expectedTotalCents=legacy_quote["totalCents"])},
        as_=LENA,
    )
    assert [e["code"] for e in stale.data["placeInventoryOrder"]["errors"]] == ["PRICE_CHANGED"]
    listed = await gql(HISTORY, as_=LENA)
    kept = next(
        e["node"]
        for e in listed.data["inventoryOrders"]["edges"]
        if e["node"]["id"] == before["id"]
    )
    assert kept["priceList"] == "LEGACY"
    assert kept["lines"][0]["unitPriceCents"] == DYSPORT["LEGACY"]


async def test_no_order_without_a_shipping_address(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    before = await _count(owner_engine, "inventory_order")
    refused = await gql(PLACE, {"input": order_input(demo, [("Sculptra", 1)])}, as_=LENA)
    payload = refused.data["placeInventoryOrder"]
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["SHIPPING_ADDRESS_REQUIRED"]
    # An address missing a required part is no address.
    await set_address(
        owner_engine,
        demo.medspas["legacy"],
        json.dumps({"line1": "210 N Main St", "city": "", "country": "US"}),
    )
    refused = await gql(PLACE, {"input": order_input(demo, [("Sculptra", 1)])}, as_=LENA)
    assert [e["code"] for e in refused.data["placeInventoryOrder"]["errors"]] == [
        "SHIPPING_ADDRESS_REQUIRED"
    ]
    assert await _count(owner_engine, "inventory_order") == before


async def test_bad_orders_are_refused_clearly_and_change_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    counts = [await _count(owner_engine, t) for t in ("inventory_order", "notification_outbox")]
    gloves = product(demo, "Nitrile exam gloves")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"lines": []}, ["lines"]),
        ({"lines": [{"productId": gloves, "quantity": 0}]}, ["lines[0].quantity"]),
        ({"lines": [{"productId": gloves, "quantity": 1001}]}, ["lines[0].quantity"]),
        (
            {"lines": [{"productId": gloves, "quantity": 1}, {"productId": gloves, "quantity": 2}]},
            ["lines[1].productId"],
        ),
        (
            {
                "lines": [
                    {"productId": encode_global_id("Service", demo.medspas["glow"]), "quantity": 1}
                ]
            },
            ["lines[0].productId"],
        ),
        ({"lines": [{"productId": gloves, "quantity": 1}] * 51}, ["lines"]),
        ({"deliveryDate": delivery_in(1)}, ["deliveryDate"]),
        ({"deliveryDate": delivery_in(61)}, ["deliveryDate"]),
        ({"paymentMethod": None}, ["paymentMethod"]),
        ({"deliveryDate": None}, ["deliveryDate"]),
    ]
    for change, fields in cases:
        answer = await gql(
            PLACE,
            {"input": {**order_input(demo, [("Nitrile exam gloves", 1)]), **change}},
            as_=RUTH,
        )
        assert answer.errors == [], answer.body
        payload = answer.data["placeInventoryOrder"]
        assert payload["order"] is None
        assert [e["field"] for e in payload["errors"]] == fields, (change, payload)
        assert {e["code"] for e in payload["errors"]} == {"VALIDATION"}
    # An inactive product cannot be ordered.
    await gql(
        "mutation($id: ID!) { updateSupplierProduct(id: $id, input: {active: false}) {"
        " errors { code } } }",
        {"id": gloves},
        as_=IVY,
    )
    answer = await gql(PLACE, {"input": order_input(demo, [("Nitrile exam gloves", 1)])}, as_=RUTH)
    assert [e["field"] for e in answer.data["placeInventoryOrder"]["errors"]] == [
        "lines[0].productId"
    ]
    assert [await _count(owner_engine, t) for t in ("inventory_order", "notification_outbox")] == (
        counts
    )


async def test_review_rules(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    placed = _order(
        await gql(PLACE, {"input": order_input(demo, [("Sculptra", 2)])}, as_=RUTH),
        "placeInventoryOrder",
    )
    # A rejection needs a reason; the medspa cannot review its own order; Ivy cannot order.
    no_reason = await gql(REJECT, {"id": placed["id"], "reason": "  "}, as_=IVY)
    assert [e["field"] for e in no_reason.data["rejectInventoryOrder"]["errors"]] == ["reason"]
    for who in (RUTH, DEAN, "ops@portrait.example"):
        denied = await gql(APPROVE, {"id": placed["id"]}, as_=who)
        assert denied.codes == ["FORBIDDEN"], who
    denied = await gql(PLACE, {"input": order_input(demo, [("Sculptra", 1)])}, as_=IVY)
    assert denied.codes == ["FORBIDDEN"]
    modify_no_reason = await gql(
        MODIFY,
        {
            "id": placed["id"],
            "lines": [{"productId": product(demo, "Sculptra"), "quantity": 1}],
            "reason": "",
        },
        as_=IVY,
    )
    assert [e["field"] for e in modify_no_reason.data["modifyInventoryOrder"]["errors"]] == [
        "reason"
    ]

    rejected = _order(
        await gql(REJECT, {"id": placed["id"], "reason": "Training record missing."}, as_=IVY),
        "rejectInventoryOrder",
    )
    assert rejected["status"] == "REJECTED"
    assert rejected["history"][-1] == {
        **rejected["history"][-1],
        "status": "REJECTED",
        "reason": "Training record missing.",
    }
    # A decided order is final.
    for document, variables, field in (
        (APPROVE, {"id": placed["id"]}, "approveInventoryOrder"),
        (REJECT, {"id": placed["id"], "reason": "again"}, "rejectInventoryOrder"),
    ):
        again = await gql(document, variables, as_=IVY)
        assert [e["code"] for e in again.data[field]["errors"]] == ["INVALID_TRANSITION"]
    notices = await scalar(
        owner_engine,
        "SELECT count(*) FROM notification_outbox WHERE kind = 'INVENTORY_ORDER_REJECTED'"
        " AND medspa_id = :m",
        m=demo.medspas["radiance"],
    )
    assert notices == 1
    # An unknown order is absent to the team too.
    missing = await gql(
        APPROVE, {"id": encode_global_id("InventoryOrder", demo.medspas["glow"])}, as_=IVY
    )
    assert missing.codes == ["NOT_FOUND"]


async def test_who_sees_which_order(gql: Gql, demo: DemoIds) -> None:
    nina = _order(
        await gql(
            PLACE, {"input": order_input(demo, [("Alcohol prep pads", 2)])}, as_="nina@glow.example"
        ),
        "placeInventoryOrder",
    )

    async def ids(who: str) -> set[str]:
        answer = await gql("{ inventoryOrders(first: 100) { edges { node { id } } } }", as_=who)
        assert answer.errors == [], (who, answer.body)
        return {e["node"]["id"] for e in answer.data["inventoryOrders"]["edges"]}

    # A provider reaches the orders they placed; the admin every order of the medspa; the
    # inventory team and platform admins every medspa's; nobody of another medspa.
    assert await ids("nina@glow.example") == {nina["id"]}
    assert await ids("omar@glow.example") == set()
    glow = await ids(DANA)
    radiance = await ids(RUTH)
    assert nina["id"] in glow and len(glow) == 3  # two demo orders and Nina's
    assert len(radiance) == 4 and not glow & radiance
    assert await ids(DEAN) == radiance
    assert await ids(IVY) >= glow | radiance
    assert await ids("ops@portrait.example") >= glow | radiance
    # The inventory team reads orders, not patients.
    patients = await gql("{ patients(first: 1) { edges { node { id } } } }", as_=IVY)
    assert patients.codes == ["FORBIDDEN"]


async def test_ordering_names_only_a_reachable_medspa(gql: Gql, demo: DemoIds) -> None:
    glow = encode_global_id("Medspa", demo.medspas["glow"])
    lines = [("Juvederm Ultra XC", 1)]
    for who in (DEAN, RUTH):
        answer = await gql(PLACE, {"input": order_input(demo, lines, medspaId=glow)}, as_=who)
        assert answer.codes == ["NOT_FOUND"], (who, answer.body)
    by_ops = _order(
        await gql(
            PLACE, {"input": order_input(demo, lines, medspaId=glow)}, as_="ops@portrait.example"
        ),
        "placeInventoryOrder",
    )
    assert by_ops["priceList"] == "LAUNCH"
    assert by_ops["shippingAddress"]["city"] == "New York"
    no_medspa = await gql(PLACE, {"input": order_input(demo, lines)}, as_="ops@portrait.example")
    assert [e["field"] for e in no_medspa.data["placeInventoryOrder"]["errors"]] == ["medspaId"]


async def test_the_catalogue_and_its_management(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    catalogue = await gql(
        "{ supplierCatalogue { name disclaimer products { id name marketPriceCents"
        " prices { businessModel priceCents savingsCents } } } }",
        as_=DEAN,
    )
    assert catalogue.errors == [], catalogue.body
    suppliers = {s["name"]: s for s in catalogue.data["supplierCatalogue"]}
    assert set(suppliers) == {"Allergan Aesthetics", "Galderma", "Medline Clinical Supplies"}
    assert suppliers["Allergan Aesthetics"]["disclaimer"]
    dysport = next(p for p in suppliers["Galderma"]["products"] if p["name"] == "Dysport 300U")
    assert {p["businessModel"]: p["priceCents"] for p in dysport["prices"]} == {
        "LEGACY": DYSPORT["LEGACY"],
        "LAUNCH": DYSPORT["LAUNCH"],
        "FLEX": DYSPORT["FLEX"],
    }

    made = await gql(
        'mutation { createSupplier(name: "Revance", disclaimer: "Ships Mondays.") {'
        " supplier { id name } errors { code } } }",
        as_=IVY,
    )
    supplier = made.data["createSupplier"]["supplier"]
    product_answer = await gql(
        """mutation($s: ID!) { createSupplierProduct(supplierId: $s, input: {name: "Daxxify",
            marketPriceCents: 50000, legacyPriceCents: 40000, launchPriceCents: 42000,
            flexPriceCents: 44000}) { product { id prices { businessModel priceCents } }
            errors { code field } } }""",
        {"s": supplier["id"]},
        as_=IVY,
    )
    assert product_answer.data["createSupplierProduct"]["errors"] == []
    taken = await gql(
        'mutation { createSupplier(name: "Revance") { errors { code } } }',
        as_="ops@portrait.example",
    )
    assert taken.data["createSupplier"]["errors"] == [{"code": "NAME_TAKEN"}]
    negative = await gql(
        """mutation($id: ID!) { updateSupplierProduct(id: $id, input: {flexPriceCents: -1}) {
            errors { code field } } }""",
        {"id": product(demo, "Dysport 300U")},
        as_=IVY,
    )
    assert negative.data["updateSupplierProduct"]["errors"] == [
        {"code": "VALIDATION", "field": "flexPriceCents"}
    ]
    # A price edit reaches new quotes; placed orders keep the prices they were placed at.
    placed_total = await scalar(
        owner_engine,
        "SELECT sum(unit_price_cents) FROM inventory_order_line WHERE medspa_id = :m",
        m=demo.medspas["radiance"],
    )
    edited = await gql(
        """mutation($id: ID!) { updateSupplierProduct(id: $id, input: {flexPriceCents: 61000}) {
            product { prices { businessModel priceCents } } errors { code } } }""",
        {"id": product(demo, "Dysport 300U")},
        as_=IVY,
    )
    assert edited.data["updateSupplierProduct"]["errors"] == []
    quote = await gql(QUOTE, {"input": order_input(demo, [("Dysport 300U", 1)])}, as_=RUTH)
    assert quote.data["inventoryOrderQuote"]["lines"][0]["unitPriceCents"] == 61_000
    assert (
        await scalar(
            owner_engine,
            "SELECT sum(unit_price_cents) FROM inventory_order_line WHERE medspa_id = :m",
            m=demo.medspas["radiance"],
        )
        == placed_total
    )


async def test_demo_orders_in_every_state(demo: DemoIds, owner_engine: AsyncEngine) -> None:
    states = await rows(
        owner_engine,
        "SELECT m.slug, o.status::text, count(*) FROM inventory_order o"
        " JOIN medspa m ON m.id = o.medspa_id GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert [tuple(r) for r in states] == [
        ("glow", "APPROVED", 1),
        ("glow", "PLACED", 1),
        ("radiance", "APPROVED", 1),
        ("radiance", "MODIFIED", 1),
        ("radiance", "PLACED", 1),
        ("radiance", "REJECTED", 1),
    ]
    addresses = await rows(
        owner_engine, "SELECT slug, shipping_address IS NOT NULL FROM medspa ORDER BY slug"
    )
    assert [tuple(r) for r in addresses] == [("glow", True), ("legacy", False), ("radiance", True)]


async def test_viewer_can_review_an_order(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    order_id = await scalar(
        owner_engine,
        "SELECT id FROM inventory_order WHERE medspa_id = :m AND status = 'PLACED'",
        m=demo.medspas["radiance"],
    )
    document = (
        "query($id: ID!) { viewer { review: can(action: INVENTORY_ORDER_REVIEW, resourceId: $id)"
        " { allowed } read: can(action: INVENTORY_ORDER_READ, resourceId: $id) { allowed } } }"
    )
    gid = encode_global_id("InventoryOrder", order_id)
    answers = {
        who: (await gql(document, {"id": gid}, as_=who)).data["viewer"]
        for who in (IVY, RUTH, DEAN, DANA)
    }
    assert answers[IVY] == {"review": {"allowed": True}, "read": {"allowed": True}}
    assert answers[RUTH] == {"review": {"allowed": False}, "read": {"allowed": True}}
    assert answers[DEAN] == {"review": {"allowed": False}, "read": {"allowed": True}}
    assert answers[DANA]["read"] == {"allowed": False}
