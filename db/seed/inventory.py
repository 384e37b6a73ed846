"""Portrait's supplier catalogue and demo inventory orders (issue 18), run by `seed_demo`.

Three suppliers (two with disclaimers) and their products, each with a market price and a
price per business model; shipping addresses for Glow and Radiance (Legacy has none yet, so
its orders are refused until onboarding sets one); and orders in every state: Radiance has
one PLACED by Dean, one MODIFIED and one APPROVED (after a modification) by the inventory team
(Ivy), one REJECTED with a reason; Glow one PLACED and one APPROVED. Idempotent: the catalogue
is found by name, and a medspa that has orders gets none added.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.resolvers.inventory_pricing import (
    FREE_DELIVERY_FROM_CENTS,
    STANDARD_DELIVERY_CENTS,
)
from db.models import (
    InventoryOrder,
    InventoryOrderEvent,
    InventoryOrderLine,
    InventoryOrderStatus,
    InventoryPaymentMethod,
    Medspa,
    Supplier,
    SupplierProduct,
)

INVENTORY_TEAM_EMAIL = "ivy@portrait.example"

# name, disclaimer, products: (name, description, unit, market, legacy, launch, flex)
ProductSpec = tuple[str, str, str, int, int, int, int]
CATALOGUE: tuple[tuple[str, str | None, tuple[ProductSpec, ...]], ...] = (
    (
        "Allergan Aesthetics",
        "Allergan products ship cold-chain from Allergan's distribution centre and cannot be"
        " returned once delivered.",
        (
            ("Botox Cosmetic 100U", "onabotulinumtoxinA, 100-unit vial.", "vial",
             62_000, 52_000, 54_500, 56_000),
            ("Juvederm Ultra XC", "Hyaluronic acid filler with lidocaine, 1 mL syringe.",
             "syringe", 32_000, 26_500, 27_800, 28_900),
            ("Juvederm Voluma XC", "Hyaluronic acid filler for the cheeks, 1 mL syringe.",
             "syringe", 36_000, 30_000, 31_500, 32_500),
        ),
    ),
    (
        "Galderma",
        None,
        (
            ("Dysport 300U", "abobotulinumtoxinA, 300-unit vial.", "vial",
             70_000, 58_000, 60_500, 62_500),
            ("Restylane Lyft", "Hyaluronic acid filler with lidocaine, 1 mL syringe.",
             "syringe", 33_000, 27_000, 28_500, 29_500),
            ("Sculptra", "Poly-L-lactic acid collagen stimulator, one vial.", "vial",
             45_000, 37_500, 39_000, 40_500),
        ),
    ),
    (
        "Medline Clinical Supplies",
        "Clinical supplies are not returnable once the box is opened.",
        (
            ("Nitrile exam gloves", "Powder-free, medium, box of 100.", "box",
             1_800, 1_350, 1_450, 1_500),
            ("30G 1/2in needles", "Sterile hypodermic needles, box of 100.", "box",
             2_400, 1_800, 1_900, 2_000),
            ("Alcohol prep pads", "70% isopropyl alcohol, box of 200.", "box",
             900, 650, 700, 750),
        ),
    ),
)  # fmt: skip

SHIPPING_ADDRESSES = {
    "glow": {
        "line1": "350 Broadway",
        "line2": "Suite 400",
        "city": "New York",
        "region": "NY",
        "postal_code": "10013",
        "country": "US",
    },
    "radiance": {
        "line1": "1400 Montana Ave",
        "line2": "Suite 200",
        "city": "Santa Monica",
        "region": "CA",
        "postal_code": "90403",
        "country": "US",
    },
}


@dataclass(frozen=True)
class DemoOrder:
    medspa: str
    placed_by: str
    days_ago: int
    lines: tuple[tuple[str, int], ...]
    # The review steps after PLACED: (status, reason, lines after a modification)
    steps: tuple[tuple[InventoryOrderStatus, str | None, tuple[tuple[str, int], ...] | None], ...]
    payment: InventoryPaymentMethod = InventoryPaymentMethod.CARD_ON_FILE


DEMO_ORDERS = (
    DemoOrder(
        "radiance",
        "dean@portrait.example",
        20,
        (("Dysport 300U", 4), ("Restylane Lyft", 10), ("Nitrile exam gloves", 6)),
        (
            (
                InventoryOrderStatus.MODIFIED,
                "Restylane Lyft is limited to 6 syringes a clinic this month.",
                (("Dysport 300U", 4), ("Restylane Lyft", 6), ("Nitrile exam gloves", 6)),
            ),
            (InventoryOrderStatus.APPROVED, None, None),
        ),
    ),
    DemoOrder(
        "radiance",
        "ruth@radiance.example",
        12,
        (("Sculptra", 20),),
        ((InventoryOrderStatus.REJECTED, "Sculptra needs a training record on file first.", None),),
        InventoryPaymentMethod.INVOICE,
    ),
    DemoOrder(
        "radiance",
        "ruth@radiance.example",
        3,
        (("Botox Cosmetic 100U", 2), ("30G 1/2in needles", 2)),
        (
            (
                InventoryOrderStatus.MODIFIED,
                "Botox Cosmetic ships in pairs; added needles to match.",
                (("Botox Cosmetic 100U", 2), ("30G 1/2in needles", 4)),
            ),
        ),
    ),
    DemoOrder(
        "radiance",
        "dean@portrait.example",
        1,
        (("Dysport 300U", 2), ("Alcohol prep pads", 3)),
        (),
        InventoryPaymentMethod.ACH_TRANSFER,
    ),
    DemoOrder(
        "glow",
        "dana@glow.example",
        15,
        (("Botox Cosmetic 100U", 3), ("Juvederm Ultra XC", 8)),
        ((InventoryOrderStatus.APPROVED, None, None),),
    ),
    DemoOrder(
        "glow",
        "dana@glow.example",
        2,
        (("Juvederm Voluma XC", 4), ("Alcohol prep pads", 2)),
        (),
    ),
)


async def seed_inventory(
    session: AsyncSession,
    *,
    medspa_ids: dict[str, uuid.UUID],
    users: dict[str, uuid.UUID],
    now: datetime,
) -> dict[str, uuid.UUID]:
    """The catalogue, the shipping addresses and the demo orders; the products' ids by name."""
    products: dict[str, SupplierProduct] = {}
    suppliers: dict[uuid.UUID, Supplier] = {}
    for name, disclaimer, items in CATALOGUE:
        supplier = (
            await session.execute(select(Supplier).where(Supplier.name == name))
        ).scalar_one_or_none()
        if supplier is None:
            supplier = Supplier(id=uuid.uuid4(), name=name, disclaimer=disclaimer, active=True)
            session.add(supplier)
            await session.flush()
        suppliers[supplier.id] = supplier
        for item, description, unit, market, legacy, launch, flex in items:
            product = (
                await session.execute(
                    select(SupplierProduct).where(
                        SupplierProduct.supplier_id == supplier.id, SupplierProduct.name == item
                    )
                )
            ).scalar_one_or_none()
            if product is None:
                product = SupplierProduct(
                    id=uuid.uuid4(),
                    supplier_id=supplier.id,
                    name=item,
                    description=description,
                    unit=unit,
                    market_price_cents=market,
                    legacy_price_cents=legacy,
                    launch_price_cents=launch,
                    flex_price_cents=flex,
                    active=True,
                )
                session.add(product)
            products[item] = product
    await session.flush()

    for slug, address in SHIPPING_ADDRESSES.items():
        medspa = await session.get(Medspa, medspa_ids[slug])
        assert medspa is not None
        if medspa.shipping_address is None:
            medspa.shipping_address = dict(address)
    await session.flush()

    reviewer = users[INVENTORY_TEAM_EMAIL]
    ordered = set(
        (
            await session.execute(
                select(InventoryOrder.medspa_id).where(
                    InventoryOrder.medspa_id.in_(medspa_ids.values())
                )
            )
        ).scalars()
    )
    for spec in DEMO_ORDERS:
        medspa_id = medspa_ids[spec.medspa]
        if medspa_id in ordered:
            continue
        medspa = await session.get(Medspa, medspa_id)
        assert medspa is not None and medspa.shipping_address is not None
        placed_at = (now - timedelta(days=spec.days_ago)).replace(microsecond=0)
        order = InventoryOrder(
            id=uuid.uuid4(),
            medspa_id=medspa_id,
            status=InventoryOrderStatus.PLACED,
            price_list=medspa.business_model,
            delivery_date=(placed_at + timedelta(days=7)).date(),
            payment_method=spec.payment,
            shipping_address=dict(medspa.shipping_address),
            currency="USD",
            subtotal_cents=0,
            savings_cents=0,
            delivery_charge_cents=0,
            total_cents=0,
            placed_by_user_id=users[spec.placed_by],
            placed_at=placed_at,
            updated_at=placed_at,
        )
        _price(order, products, suppliers, spec.lines)
        session.add(order)
        await session.flush()
        _lines(session, order, products, suppliers, spec.lines)
        session.add(_event(order, InventoryOrderStatus.PLACED, users[spec.placed_by], placed_at))
        at = placed_at
        for status, reason, new_lines in spec.steps:
            at = at + timedelta(hours=5)
            changes: dict[str, Any] | None = None
            if new_lines is not None:
                changes = {
                    "before": _summary(products, spec.lines),
                    "after": _summary(products, new_lines),
                }
                for line in (
                    await session.execute(
                        select(InventoryOrderLine).where(
                            InventoryOrderLine.medspa_id == medspa_id,
                            InventoryOrderLine.order_id == order.id,
                        )
                    )
                ).scalars():
                    await session.delete(line)
                await session.flush()
                _price(order, products, suppliers, new_lines)
                _lines(session, order, products, suppliers, new_lines)
            order.status = status
            order.updated_at = at
            session.add(_event(order, status, reviewer, at, reason=reason, changes=changes))
            await session.flush()
    await session.flush()
    return {name: product.id for name, product in products.items()}


def _price(
    order: InventoryOrder,
    products: dict[str, SupplierProduct],
    suppliers: dict[uuid.UUID, Supplier],
    lines: tuple[tuple[str, int], ...],
) -> None:
    subtotal = sum(products[name].price_for(order.price_list) * qty for name, qty in lines)
    savings = sum(
        (products[name].market_price_cents - products[name].price_for(order.price_list)) * qty
        for name, qty in lines
    )
    charge = 0 if subtotal >= FREE_DELIVERY_FROM_CENTS else STANDARD_DELIVERY_CENTS
    order.subtotal_cents = subtotal
    order.savings_cents = savings
    order.delivery_charge_cents = charge
    order.total_cents = subtotal + charge


def _lines(
    session: AsyncSession,
    order: InventoryOrder,
    products: dict[str, SupplierProduct],
    suppliers: dict[uuid.UUID, Supplier],
    lines: tuple[tuple[str, int], ...],
) -> None:
    for position, (name, qty) in enumerate(lines):
        product = products[name]
        session.add(
            InventoryOrderLine(
                id=uuid.uuid4(),
                medspa_id=order.medspa_id,
                order_id=order.id,
                supplier_product_id=product.id,
                product_name=product.name,
                supplier_name=suppliers[product.supplier_id].name,
                quantity=qty,
                unit_market_price_cents=product.market_price_cents,
                unit_price_cents=product.price_for(order.price_list),
                position=position,
            )
        )


def _summary(
    products: dict[str, SupplierProduct], lines: tuple[tuple[str, int], ...]
) -> list[dict[str, object]]:
    return [{"supplierProductId": str(products[name].id), "quantity": qty} for name, qty in lines]


def _event(
    order: InventoryOrder,
    status: InventoryOrderStatus,
    actor: uuid.UUID,
    at: datetime,
    *,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
) -> InventoryOrderEvent:
    return InventoryOrderEvent(
        id=uuid.uuid4(),
        medspa_id=order.medspa_id,
        order_id=order.id,
        status=status,
        reason=reason,
        changes=changes,
        actor_user_id=actor,
        created_at=at,
    )
