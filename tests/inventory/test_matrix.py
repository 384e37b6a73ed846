"""Role x tenant matrix for inventory ordering: every caller tries every root field.

Expectations come from the policy (api/authz/policy.csv, issue 18): the catalogue
(supplier_product.read) is for whoever may order and platform staff; orders
(inventory_order.read / create) are ANY for platform admins, the designated PCC's medspa,
the admin's TENANT and a provider's OWN; review is the inventory team's alone (tried in
test_inventory.py, the team being no matrix caller); catalogue management is platform staff's.
Glow and Radiance have shipping addresses in the demo data, Legacy has none.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.inventory.helpers import order_input, product, rows, scalar
from tests.matrix import OK, expect
from tests.services.helpers import assert_denied

GLOW_ORDERERS = {
    "dana@glow.example",
    "dana@glow.example:PROVIDER",
    "nina@glow.example",
    "omar@glow.example",
    "masquerade",
}
RADIANCE_ORDERERS = {"dean@portrait.example", "ruth@radiance.example", "lee@radiance.example"}
LEGACY_ORDERERS = {"lena@legacy.example", "kim@legacy.example"}
ORDERERS = GLOW_ORDERERS | RADIANCE_ORDERERS | LEGACY_ORDERERS
# supplier_product.read and inventory_order.read / create are held by the same callers.
HOLDERS = {"ops@portrait.example", *ORDERERS}


def _denial(who: str) -> str:
    return "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"


def _table(allowed: dict[str, str]) -> dict[str, str]:
    return expect(
        {who: allowed.get(who, _denial(who)) for who in ALL_CALLERS},
    )


CATALOGUE = _table(dict.fromkeys(HOLDERS, OK))
# ops names no medspa: the quote and the order say which field is missing.
QUOTE = _table({**dict.fromkeys(ORDERERS, OK), "ops@portrait.example": "VALIDATION"})
PLACE = _table(
    {
        **dict.fromkeys(GLOW_ORDERERS | RADIANCE_ORDERERS, OK),
        **dict.fromkeys(LEGACY_ORDERERS, "SHIPPING_ADDRESS_REQUIRED"),
        "ops@portrait.example": "VALIDATION",
    }
)
HISTORY = _table(dict.fromkeys(HOLDERS, OK))
REVIEW = _table({})  # the inventory team only
MANAGE = _table({"ops@portrait.example": OK})
# Who sees the demo orders (Glow's were placed by Dana, Radiance's by Dean and Ruth).
SEES_GLOW_DEMO = {"ops@portrait.example", "dana@glow.example", "dana@glow.example:PROVIDER"}
SEES_RADIANCE_DEMO = {"ops@portrait.example", "dean@portrait.example", "ruth@radiance.example"}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_supplier_catalogue(gql: Gql, principals: Principals, audit: Audit, who: str) -> None:
    answer = await gql(
        "{ supplierCatalogue { name products { name prices { businessModel priceCents } } } }",
        bearer=await principals.bearer(who),
    )
    if CATALOGUE[who] != OK:
        await assert_denied(answer, audit, CATALOGUE[who])
        return
    assert answer.errors == [], answer.body
    assert len(answer.data["supplierCatalogue"]) == 3


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_inventory_order_quote(
    gql: Gql, principals: Principals, audit: Audit, demo: DemoIds, who: str
) -> None:
    answer = await gql(
        """query($input: InventoryOrderInput!) { inventoryOrderQuote(input: $input) {
            priceList totalCents errors { code field } } }""",
        {"input": order_input(demo, [("Dysport 300U", 1)])},
        bearer=await principals.bearer(who),
    )
    expected = QUOTE[who]
    if expected in {"FORBIDDEN", "UNAUTHENTICATED"}:
        await assert_denied(answer, audit, expected)
        return
    assert answer.errors == [], answer.body
    quote = answer.data["inventoryOrderQuote"]
    if expected != OK:
        assert [e["code"] for e in quote["errors"]] == [expected]
        return
    model = "LAUNCH" if who in GLOW_ORDERERS else "FLEX" if who in RADIANCE_ORDERERS else "LEGACY"
    assert quote["priceList"] == model and quote["errors"] == []


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_inventory_orders(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    answer = await gql(
        "{ inventoryOrders(first: 100) { edges { node { id medspa { slug } } } } }",
        bearer=await principals.bearer(who),
    )
    if HISTORY[who] != OK:
        await assert_denied(answer, audit, HISTORY[who])
        return
    assert answer.errors == [], answer.body
    seen = {e["node"]["id"] for e in answer.data["inventoryOrders"]["edges"]}
    demo_orders = await rows(
        owner_engine,
        "SELECT o.id, m.slug FROM inventory_order o JOIN medspa m ON m.id = o.medspa_id",
    )
    by_slug: dict[str, set[str]] = {}
    for order_id, slug in demo_orders:
        by_slug.setdefault(slug, set()).add(encode_global_id("InventoryOrder", order_id))
    assert (by_slug["glow"] <= seen) is (who in SEES_GLOW_DEMO), who
    assert (by_slug["radiance"] <= seen) is (who in SEES_RADIANCE_DEMO), who
    assert not (by_slug["glow"] & seen) or who in SEES_GLOW_DEMO
    assert not (by_slug["radiance"] & seen) or who in SEES_RADIANCE_DEMO


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_place_inventory_order(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    before = await scalar(owner_engine, "SELECT count(*) FROM inventory_order")
    answer = await gql(
        """mutation($input: InventoryOrderInput!) { placeInventoryOrder(input: $input) {
            order { id priceList medspa { slug } } errors { code field } } }""",
        {"input": order_input(demo, [("Alcohol prep pads", 2)])},
        bearer=await principals.bearer(who),
    )
    expected = PLACE[who]
    after = await scalar(owner_engine, "SELECT count(*) FROM inventory_order")
    if expected in {"FORBIDDEN", "UNAUTHENTICATED"}:
        await assert_denied(answer, audit, expected)
        assert after == before
        return
    assert answer.errors == [], answer.body
    payload = answer.data["placeInventoryOrder"]
    if expected != OK:
        assert [e["code"] for e in payload["errors"]] == [expected]
        assert after == before
        return
    assert payload["errors"] == [] and after == before + 1
    slug = "glow" if who in GLOW_ORDERERS else "radiance"
    assert payload["order"]["medspa"] == {"slug": slug}


async def _radiance_placed(owner_engine: AsyncEngine, demo: DemoIds) -> Any:
    return await scalar(
        owner_engine,
        "SELECT id FROM inventory_order WHERE medspa_id = :m AND status = 'PLACED'",
        m=demo.medspas["radiance"],
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_review_mutations(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    order_id = await _radiance_placed(owner_engine, demo)
    gid = encode_global_id("InventoryOrder", order_id)
    bearer = await principals.bearer(who)
    documents = (
        ("mutation($id: ID!) { approveInventoryOrder(id: $id) { errors { code } } }", {}),
        (
            "mutation($id: ID!, $r: String!) { rejectInventoryOrder(id: $id, reason: $r) {"
            " errors { code } } }",
            {"r": "No."},
        ),
        (
            "mutation($id: ID!, $l: [InventoryOrderLineInput!]!, $r: String!) {"
            " modifyInventoryOrder(id: $id, lines: $l, reason: $r) { errors { code } } }",
            {"l": [{"productId": product(demo, "Sculptra"), "quantity": 1}], "r": "Swap."},
        ),
    )
    for document, variables in documents:
        answer = await gql(document, {"id": gid, **variables}, bearer=bearer)
        await assert_denied(answer, audit, REVIEW[who])
    status = await scalar(
        owner_engine, "SELECT status::text FROM inventory_order WHERE id = :id", id=order_id
    )
    assert status == "PLACED"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_catalogue_management(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    suppliers = await scalar(owner_engine, "SELECT count(*) FROM supplier")
    products = await scalar(owner_engine, "SELECT count(*) FROM supplier_product")
    supplier = await gql(
        'mutation { createSupplier(name: "Matrix supplier") { supplier { id } errors { code } } }',
        bearer=bearer,
    )
    created = await gql(
        """mutation($s: ID!) { createSupplierProduct(supplierId: $s, input: {name: "Matrix",
            marketPriceCents: 100, legacyPriceCents: 80, launchPriceCents: 85,
            flexPriceCents: 90}) { product { id } errors { code } } }""",
        {
            "s": encode_global_id(
                "Supplier", await scalar(owner_engine, "SELECT min(id::text)::uuid FROM supplier")
            )
        },
        bearer=bearer,
    )
    updated = await gql(
        """mutation($id: ID!) { updateSupplierProduct(id: $id, input: {flexPriceCents: 1}) {
            product { id } errors { code } } }""",
        {"id": product(demo, "Sculptra")},
        bearer=bearer,
    )
    flex = await scalar(
        owner_engine,
        "SELECT flex_price_cents FROM supplier_product WHERE id = :id",
        id=demo.supplier_products["Sculptra"],
    )
    if MANAGE[who] == OK:
        for answer, field in (
            (supplier, "createSupplier"),
            (created, "createSupplierProduct"),
            (updated, "updateSupplierProduct"),
        ):
            assert answer.errors == [] and answer.data[field]["errors"] == [], answer.body
        assert flex == 1
        assert await scalar(owner_engine, "SELECT count(*) FROM supplier") == suppliers + 1
        assert await scalar(owner_engine, "SELECT count(*) FROM supplier_product") == products + 1
        return
    for answer in (supplier, created, updated):
        await assert_denied(answer, audit, MANAGE[who])
    assert flex == 40_500
    assert await scalar(owner_engine, "SELECT count(*) FROM supplier") == suppliers
    assert await scalar(owner_engine, "SELECT count(*) FROM supplier_product") == products
