"""Shared look-ups and documents for the inventory ordering tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds

IVY = "ivy@portrait.example"
ORDER_FIELDS = """id status priceList deliveryDate paymentMethod currency subtotalCents
    savingsCents deliveryChargeCents totalCents
    shippingAddress { line1 city region postalCode country }
    lines { productId productName supplierName quantity unitMarketPriceCents unitPriceCents
        totalCents savingsCents }
    history { status reason at changes }"""
PLACE = (
    "mutation($input: InventoryOrderInput!) { placeInventoryOrder(input: $input) {"
    f" order {{ {ORDER_FIELDS} }} errors {{ code field message }} }} }}"
)
QUOTE = """query($input: InventoryOrderInput!) { inventoryOrderQuote(input: $input) {
    priceList subtotalCents savingsCents deliveryChargeCents totalCents earliestDeliveryDate
    lines { productId quantity unitPriceCents unitMarketPriceCents totalCents savingsCents }
    errors { code field } } }"""
MODIFY = (
    "mutation($id: ID!, $lines: [InventoryOrderLineInput!]!, $reason: String!) {"
    " modifyInventoryOrder(id: $id, lines: $lines, reason: $reason) {"
    f" order {{ {ORDER_FIELDS} }} errors {{ code field }} }} }}"
)
APPROVE = (
    "mutation($id: ID!) { approveInventoryOrder(id: $id) {"
    f" order {{ {ORDER_FIELDS} }} errors {{ code field }} }} }}"
)
REJECT = (
    "mutation($id: ID!, $reason: String!) { rejectInventoryOrder(id: $id, reason: $reason) {"
    f" order {{ {ORDER_FIELDS} }} errors {{ code field }} }} }}"
)
HISTORY = (
    "query($status: InventoryOrderStatus) { inventoryOrders(first: 100, status: $status) {"
    f" edges {{ node {{ {ORDER_FIELDS} }} }} }} }}"
)


def product(demo: DemoIds, name: str) -> str:
    return encode_global_id("SupplierProduct", demo.supplier_products[name])


def delivery_in(days: int, zone: str = "America/Los_Angeles") -> str:
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    return (today + timedelta(days=days)).isoformat()


def order_input(demo: DemoIds, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {
        "lines": [{"productId": product(demo, name), "quantity": qty} for name, qty in lines],
        "deliveryDate": delivery_in(10),
        "paymentMethod": "CARD_ON_FILE",
        **extra,
    }


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def set_address(engine: AsyncEngine, medspa_id: uuid.UUID, address: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE medspa SET shipping_address = CAST(:a AS jsonb) WHERE id = :m"),
            {"a": address, "m": medspa_id},
        )


def today_in(zone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
