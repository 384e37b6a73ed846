"""Inventory ordering in the schema (issue 18): the two-step cart-free order
(`inventoryOrderQuote`, then `placeInventoryOrder`), the inventory team's review mutations and
the order history (`inventoryOrders`, `node`). Portrait's supplier catalogue is
`supplier_catalogue`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Self, cast

import strawberry
from strawberry import Private
from strawberry.scalars import JSON

from api.authz.actions import Action
from api.context import Context
from api.errors import DomainError, invalid
from api.ids import decode_id_of
from api.resolvers import inventory, inventory_pricing
from api.schema.connection import Connection
from api.schema.enums import BusinessModel
from api.schema.medspa import Medspa
from api.schema.node import Node, encode_global_id, node_type
from api.schema.onboarding import ShippingAddress
from api.schema.payload import Payload, UserError
from db import models

Info = strawberry.Info[Context, None]

InventoryOrderStatus = strawberry.enum(
    models.InventoryOrderStatus, description="Where an inventory order stands in its review."
)
InventoryPaymentMethod = strawberry.enum(
    models.InventoryPaymentMethod, description="How the medspa pays for an inventory order."
)


@strawberry.type(description="One product of an order or a quote, at the prices it was priced.")
class InventoryOrderLine:
    product_id: strawberry.ID
    product_name: str
    supplier_name: str
    quantity: int
    unit_market_price_cents: int
    unit_price_cents: int
    total_cents: int
    savings_cents: int

    @classmethod
    def from_row(cls, row: models.InventoryOrderLine) -> InventoryOrderLine:
        return cls(
            product_id=strawberry.ID(encode_global_id("SupplierProduct", row.supplier_product_id)),
            product_name=row.product_name,
            supplier_name=row.supplier_name,
            quantity=row.quantity,
            unit_market_price_cents=row.unit_market_price_cents,
            unit_price_cents=row.unit_price_cents,
            total_cents=row.unit_price_cents * row.quantity,
            savings_cents=max(row.unit_market_price_cents - row.unit_price_cents, 0) * row.quantity,
        )

    @classmethod
    def priced(cls, line: inventory_pricing.PricedLine) -> InventoryOrderLine:
        return cls(
            product_id=strawberry.ID(encode_global_id("SupplierProduct", line.product.id)),
            product_name=line.product.name,
            supplier_name=line.supplier.name,
            quantity=line.quantity,
            unit_market_price_cents=line.unit_market_price_cents,
            unit_price_cents=line.unit_price_cents,
            total_cents=line.total_cents,
            savings_cents=line.savings_cents,
        )


@strawberry.type(description="One step of an order's history.")
class InventoryOrderStep:
    status: InventoryOrderStatus  # type: ignore[valid-type]
    at: datetime
    reason: str | None
    changes: JSON | None = strawberry.field(
        description="For a modification: the lines before and after (product ids, quantities)."
    )

    @classmethod
    def from_row(cls, row: models.InventoryOrderEvent) -> InventoryOrderStep:
        changes = row.changes
        if changes is not None:
            changes = {
                side: [
                    {
                        "productId": encode_global_id(
                            "SupplierProduct", uuid.UUID(item["supplierProductId"])
                        ),
                        "quantity": item["quantity"],
                    }
                    for item in changes.get(side, [])
                ]
                for side in ("before", "after")
            }
        return cls(
            status=row.status,
            at=row.created_at,
            reason=row.reason,
            changes=cast(JSON, changes),
        )


@strawberry.type(description="A medspa's inventory order.")
class InventoryOrder(Node):
    status: InventoryOrderStatus  # type: ignore[valid-type]
    price_list: BusinessModel = strawberry.field(
        description="The business model whose prices the order was priced with."
    )
    delivery_date: date
    payment_method: InventoryPaymentMethod  # type: ignore[valid-type]
    shipping_address: ShippingAddress
    currency: str
    subtotal_cents: int
    savings_cents: int
    delivery_charge_cents: int
    total_cents: int
    placed_at: datetime
    updated_at: datetime
    row: Private[models.InventoryOrder]

    @classmethod
    def from_row(cls, row: models.InventoryOrder) -> InventoryOrder:
        return cls(
            id=encode_global_id("InventoryOrder", row.id),
            status=row.status,
            price_list=row.price_list,
            delivery_date=row.delivery_date,
            payment_method=row.payment_method,
            shipping_address=ShippingAddress.stored(row.shipping_address),
            currency=row.currency,
            subtotal_cents=row.subtotal_cents,
            savings_cents=row.savings_cents,
            delivery_charge_cents=row.delivery_charge_cents,
            total_cents=row.total_cents,
            placed_at=row.placed_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="The medspa ordering (null when outside medspa.read).")
    async def medspa(self, info: Info) -> Medspa | None:
        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None

    @strawberry.field
    async def lines(self, info: Info) -> list[InventoryOrderLine]:
        rows = await info.context.loaders.inventory.lines_by_order.load(self.row.id)
        return [InventoryOrderLine.from_row(r) for r in rows]

    @strawberry.field(description="Every step of the order, oldest first.")
    async def history(self, info: Info) -> list[InventoryOrderStep]:
        rows = await info.context.loaders.inventory.events_by_order.load(self.row.id)
        return [InventoryOrderStep.from_row(r) for r in rows]


@strawberry.type(
    description="The prices of an order before it is placed; `errors` say what would refuse it."
)
class InventoryOrderQuote:
    price_list: BusinessModel | None = None
    lines: list[InventoryOrderLine] = strawberry.field(default_factory=list)
    subtotal_cents: int | None = None
    savings_cents: int | None = None
    delivery_date: date | None = None
    payment_method: InventoryPaymentMethod | None = None  # type: ignore[valid-type]
    delivery_charge_cents: int | None = strawberry.field(
        default=None, description="Known once a delivery date is chosen."
    )
    total_cents: int | None = None
    earliest_delivery_date: date | None = None
    latest_delivery_date: date | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: inventory_pricing.Quote | DomainError) -> InventoryOrderQuote:
        if isinstance(result, DomainError):
            return cls(errors=[UserError.of(p) for p in result.problems])
        today = result.medspa.today()
        return cls(
            price_list=result.price_list,
            lines=[InventoryOrderLine.priced(line) for line in result.lines],
            subtotal_cents=result.subtotal_cents,
            savings_cents=result.savings_cents,
            delivery_date=result.delivery_date,
            payment_method=result.payment_method,
            delivery_charge_cents=result.delivery_charge_cents,
            total_cents=result.total_cents,
            earliest_delivery_date=date.fromordinal(
                today.toordinal() + inventory_pricing.EARLIEST_DELIVERY_DAYS
            ),
            latest_delivery_date=date.fromordinal(
                today.toordinal() + inventory_pricing.LATEST_DELIVERY_DAYS
            ),
        )


@strawberry.input
class InventoryOrderLineInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input(description="An order: lines, and (to place it) a delivery date and payment.")
class InventoryOrderInput:
    lines: list[InventoryOrderLineInput]
    delivery_date: date | None = None
    payment_method: InventoryPaymentMethod | None = None  # type: ignore[valid-type]
    medspa_id: strawberry.ID | None = strawberry.field(
        default=None, description="Platform staff name the medspa; others order for their own."
    )
    expected_total_cents: int | None = strawberry.field(
        default=None,
        description="The total the quote showed: a different total refuses with PRICE_CHANGED.",
    )


@strawberry.type
class InventoryOrderPayload(Payload):
    order: InventoryOrder | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(order=InventoryOrder.from_row(result))


def _lines(lines: list[InventoryOrderLineInput]) -> list[inventory_pricing.LineRequest]:
    return [
        inventory_pricing.LineRequest(
            product_id=decode_id_of(line.product_id, "SupplierProduct"), quantity=line.quantity
        )
        for line in lines
    ]


def _medspa_id(input: InventoryOrderInput) -> uuid.UUID | None:
    if input.medspa_id is None:
        return None
    # An id that is not a medspa's is a medspa nobody reaches (NOT_FOUND), not "my own".
    return decode_id_of(input.medspa_id, "Medspa") or uuid.UUID(int=0)


async def _place(info: Info, input: InventoryOrderInput) -> models.InventoryOrder:
    ctx = info.context
    if input.delivery_date is None:
        raise invalid("deliveryDate", "Choose a delivery date.")
    if input.payment_method is None:
        raise invalid("paymentMethod", "Choose a payment method.")
    return await inventory.place_order(
        ctx,
        medspa_id=_medspa_id(input),
        lines=_lines(input.lines),
        delivery_date=input.delivery_date,
        payment_method=input.payment_method,
        expected_total_cents=input.expected_total_cents,
    )


async def _fetch_order(ctx: Context, id_: uuid.UUID) -> InventoryOrder | None:
    row = await ctx.loaders.inventory.order_by_id.load(id_)
    return InventoryOrder.from_row(row) if row else None


@strawberry.type
class InventoryQuery:
    @strawberry.field(
        description="Price an order before placing it: lines give the subtotal and savings; "
        "a delivery date adds the delivery charge and the total (inventory_order.create)."
    )
    async def inventory_order_quote(
        self, info: Info, input: InventoryOrderInput
    ) -> InventoryOrderQuote:
        result = await inventory_pricing.quote_for_query(
            info.context,
            medspa_id=_medspa_id(input),
            lines=_lines(input.lines),
            delivery_date=input.delivery_date,
            payment_method=input.payment_method,
        )
        return InventoryOrderQuote.of(result)

    @strawberry.field(description="Inventory orders, newest first (inventory_order.read).")
    async def inventory_orders(
        self,
        info: Info,
        status: InventoryOrderStatus | None = None,  # type: ignore[valid-type]
        medspa_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[InventoryOrder]:
        medspa = None
        if medspa_id is not None:
            medspa = decode_id_of(medspa_id, "Medspa") or uuid.UUID(int=0)
        page = await inventory.list_orders(
            info.context, status=status, medspa_id=medspa, first=first, after=after
        )
        return Connection.from_page(page, InventoryOrder.from_row)


@strawberry.type
class InventoryMutation:
    @strawberry.mutation(
        description="Place an inventory order (step 2 of ordering): it ships to the medspa's "
        "shipping address and waits for the inventory team's review."
    )
    async def place_inventory_order(
        self, info: Info, input: InventoryOrderInput
    ) -> InventoryOrderPayload:
        return await InventoryOrderPayload.run(
            info, Action.INVENTORY_ORDER_CREATE, lambda: _place(info, input)
        )

    @strawberry.mutation(description="Approve an order (inventory team).")
    async def approve_inventory_order(self, info: Info, id: strawberry.ID) -> InventoryOrderPayload:
        return await InventoryOrderPayload.run(
            info,
            Action.INVENTORY_ORDER_REVIEW,
            lambda: inventory.approve_order(
                info.context, order_id=decode_id_of(id, "InventoryOrder")
            ),
        )

    @strawberry.mutation(
        description="Change an order's lines, with a reason (inventory team); it stays to be "
        "approved."
    )
    async def modify_inventory_order(
        self, info: Info, id: strawberry.ID, lines: list[InventoryOrderLineInput], reason: str
    ) -> InventoryOrderPayload:
        return await InventoryOrderPayload.run(
            info,
            Action.INVENTORY_ORDER_REVIEW,
            lambda: inventory.modify_order(
                info.context,
                order_id=decode_id_of(id, "InventoryOrder"),
                lines=_lines(lines),
                reason=reason,
            ),
        )

    @strawberry.mutation(description="Reject an order, with a reason (inventory team).")
    async def reject_inventory_order(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> InventoryOrderPayload:
        return await InventoryOrderPayload.run(
            info,
            Action.INVENTORY_ORDER_REVIEW,
            lambda: inventory.reject_order(
                info.context, order_id=decode_id_of(id, "InventoryOrder"), reason=reason
            ),
        )


node_type("InventoryOrder", _fetch_order)

INVENTORY_TYPES = [InventoryOrder]
