"""Inventory ordering (issue 18): placing an order, the inventory team's review, and the
order history. The catalogue is `supplier_catalogue`; pricing and the quote are
`inventory_pricing` (one place: each line at the product's price on the medspa's price list,
the savings against the market price, the delivery charge of the chosen date). Placing is
cart-free and two-step: the front-end asks `inventoryOrderQuote` for the lines and then with a
delivery date and payment method, and places the order with the total it showed
(`expectedTotalCents`): a price that changed in between (a model change, a catalogue edit)
refuses the order instead of charging a total nobody saw.

Who reaches an order (inventory_order.read): platform staff any; a medspa admin their medspa's;
a designated PCC the orders of the medspa it is designated to; a provider the orders they
placed. Each step (placed, modified, approved, rejected) is an event of the order's history
and a notice to the medspa in the notification outbox, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, delete, false, select
from strawberry.dataloader import DataLoader

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.events.emit import EventKind, emit
from api.resolvers.batching import many_per_key, rows_by_ids
from api.resolvers.inventory_pricing import (
    EXPEDITED_DELIVERY_CENTS,
    FREE_DELIVERY_FROM_CENTS,
    STANDARD_DELIVERY_CENTS,
    LineRequest,
    PricedLine,
    ordering_medspa,
    price_lines,
    principal_medspa,
    quote,
    shipping_address,
)
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.supplier_catalogue import products_by_ids, products_by_supplier
from db.models import (
    InventoryOrder,
    InventoryOrderEvent,
    InventoryOrderLine,
    InventoryOrderStatus,
    InventoryPaymentMethod,
    NotificationKind,
    NotificationOutbox,
    SupplierProduct,
)

if TYPE_CHECKING:
    from api.context import Context


MAX_REASON = 2_000


REVIEWABLE = (InventoryOrderStatus.PLACED, InventoryOrderStatus.MODIFIED)


def _own_orders(principal: Principal) -> ColumnElement[bool]:
    if principal.user_id is None:
        return false()
    return InventoryOrder.placed_by_user_id == principal.user_id


ORDER_ANCHOR = register(
    InventoryOrder,
    Anchor(
        medspa=InventoryOrder.medspa_id,
        own=_own_orders,
        assigned=principal_medspa(InventoryOrder.medspa_id),
    ),
    read=Action.INVENTORY_ORDER_READ,
    name="InventoryOrder",
)
ORDER_SORT = SortKey(
    (InventoryOrder.placed_at, InventoryOrder.id), ("placed_at", "id"), descending=True
)


# --- placing and reviewing ------------------------------------------------------------------


async def place_order(
    ctx: Context,
    *,
    medspa_id: uuid.UUID | None,
    lines: Sequence[LineRequest],
    delivery_date: date,
    payment_method: InventoryPaymentMethod,
    expected_total_cents: int | None,
) -> InventoryOrder:
    medspa = await ordering_medspa(ctx, medspa_id)
    address = shipping_address(medspa)
    priced = await quote(
        ctx,
        medspa=medspa,
        lines=lines,
        delivery_date=delivery_date,
        payment_method=payment_method,
    )
    total = priced.total_cents
    assert total is not None and priced.delivery_charge_cents is not None
    if expected_total_cents is not None and expected_total_cents != total:
        raise invalid(
            "expectedTotalCents",
            f"The total is now {total} cents (prices or the price list changed): review it.",
            DomainErrorCode.PRICE_CHANGED,
        )
    assert ctx.principal.user_id is not None
    now = datetime.now(UTC)
    order = InventoryOrder(
        id=uuid.uuid4(),
        medspa_id=medspa.id,
        status=InventoryOrderStatus.PLACED,
        price_list=priced.price_list,
        delivery_date=delivery_date,
        payment_method=payment_method,
        shipping_address=address,
        currency="USD",
        subtotal_cents=priced.subtotal_cents,
        savings_cents=priced.savings_cents,
        delivery_charge_cents=priced.delivery_charge_cents,
        total_cents=total,
        placed_by_user_id=ctx.principal.user_id,
        placed_by_actor_user_id=ctx.principal.actor_user_id,
        placed_at=now,
        updated_at=now,
    )
    ctx.session.add(order)
    await ctx.session.flush()
    _add_lines(ctx, order, priced.lines)
    await _record_step(ctx, order, InventoryOrderStatus.PLACED, reason=None, changes=None, at=now)
    return order


def _add_lines(ctx: Context, order: InventoryOrder, lines: Sequence[PricedLine]) -> None:
    for position, line in enumerate(lines):
        ctx.session.add(
            InventoryOrderLine(
                id=uuid.uuid4(),
                medspa_id=order.medspa_id,
                order_id=order.id,
                supplier_product_id=line.product.id,
                product_name=line.product.name,
                supplier_name=line.supplier.name,
                quantity=line.quantity,
                unit_market_price_cents=line.unit_market_price_cents,
                unit_price_cents=line.unit_price_cents,
                position=position,
            )
        )


NOTICE = {
    InventoryOrderStatus.PLACED: NotificationKind.INVENTORY_ORDER_PLACED,
    InventoryOrderStatus.MODIFIED: NotificationKind.INVENTORY_ORDER_MODIFIED,
    InventoryOrderStatus.APPROVED: NotificationKind.INVENTORY_ORDER_APPROVED,
    InventoryOrderStatus.REJECTED: NotificationKind.INVENTORY_ORDER_REJECTED,
}


async def _record_step(
    ctx: Context,
    order: InventoryOrder,
    status: InventoryOrderStatus,
    *,
    reason: str | None,
    changes: dict[str, Any] | None,
    at: datetime,
) -> None:
    """The order's history event and the medspa's notice of one step, with the audit row."""
    assert ctx.principal.user_id is not None
    ctx.session.add(
        InventoryOrderEvent(
            id=uuid.uuid4(),
            medspa_id=order.medspa_id,
            order_id=order.id,
            status=status,
            reason=reason,
            changes=changes,
            actor_user_id=ctx.principal.user_id,
            created_at=at,
        )
    )
    ctx.session.add(
        NotificationOutbox(
            medspa_id=order.medspa_id,
            inventory_order_id=order.id,
            kind=NOTICE[status],
            deliver_at=at,
            payload={
                "inventoryOrderId": str(order.id),
                "status": status.value,
                "reason": reason,
                "deliveryDate": order.delivery_date.isoformat(),
                "totalCents": order.total_cents,
                "currency": order.currency,
            },
        )
    )
    await ctx.session.flush()
    # Partners whose key reads the order (inventory_order.read, granted by a medspa's policy
    # rows: no baseline partner scope has it) hear of every step.
    await emit(ctx, EventKind.INVENTORY_ORDER_STATE_CHANGED, order)
    ctx.allowed(
        Action.INVENTORY_ORDER_CREATE
        if status is InventoryOrderStatus.PLACED
        else Action.INVENTORY_ORDER_REVIEW,
        resource_type="InventoryOrder",
        resource_id=order.id,
        medspa_id=order.medspa_id,
        detail={"status": status.value},
    )


async def _reviewable(ctx: Context, order_id: uuid.UUID | None) -> InventoryOrder:
    order = await ctx.find(InventoryOrder, order_id, Action.INVENTORY_ORDER_REVIEW, for_update=True)
    if order.status not in REVIEWABLE:
        raise DomainError(
            Problem(
                DomainErrorCode.INVALID_TRANSITION,
                f"The order is {order.status.value.lower()}; it can no longer be reviewed.",
                "id",
            )
        )
    return order


def _reason(reason: str | None, *, required: bool) -> str | None:
    cleaned = (reason or "").strip()
    if required and not cleaned:
        raise invalid("reason", "Give a reason.")
    if len(cleaned) > MAX_REASON:
        raise invalid("reason", f"A reason has at most {MAX_REASON} characters.")
    return cleaned or None


async def approve_order(ctx: Context, *, order_id: uuid.UUID | None) -> InventoryOrder:
    order = await _reviewable(ctx, order_id)
    return await _move(ctx, order, InventoryOrderStatus.APPROVED, reason=None, changes=None)


async def reject_order(ctx: Context, *, order_id: uuid.UUID | None, reason: str) -> InventoryOrder:
    cleaned = _reason(reason, required=True)
    order = await _reviewable(ctx, order_id)
    return await _move(ctx, order, InventoryOrderStatus.REJECTED, reason=cleaned, changes=None)


async def modify_order(
    ctx: Context, *, order_id: uuid.UUID | None, lines: Sequence[LineRequest], reason: str
) -> InventoryOrder:
    """Replace the order's lines (quantities changed, lines added or removed), priced on the
    order's own price list, with the reason and the lines before and after in its history."""
    cleaned = _reason(reason, required=True)
    order = await _reviewable(ctx, order_id)
    priced = await price_lines(ctx, price_list=order.price_list, lines=lines)
    before = await lines_of(ctx, order.id)
    subtotal = sum(line.total_cents for line in priced)
    charge = _review_delivery_charge(order, subtotal)
    await ctx.session.execute(
        delete(InventoryOrderLine).where(
            InventoryOrderLine.medspa_id == order.medspa_id,
            InventoryOrderLine.order_id == order.id,
        )
    )
    _add_lines(ctx, order, priced)
    order.subtotal_cents = subtotal
    order.savings_cents = sum(line.savings_cents for line in priced)
    order.delivery_charge_cents = charge
    order.total_cents = subtotal + charge
    changes = {
        "before": [_line_summary(line.supplier_product_id, line.quantity) for line in before],
        "after": [_line_summary(line.product.id, line.quantity) for line in priced],
    }
    return await _move(ctx, order, InventoryOrderStatus.MODIFIED, reason=cleaned, changes=changes)


def _review_delivery_charge(order: InventoryOrder, subtotal_cents: int) -> int:
    """A modification keeps the delivery date and its speed: expedited stays expedited; a
    standard delivery is free or not by the new subtotal."""
    if order.delivery_charge_cents == EXPEDITED_DELIVERY_CENTS:
        return EXPEDITED_DELIVERY_CENTS
    return 0 if subtotal_cents >= FREE_DELIVERY_FROM_CENTS else STANDARD_DELIVERY_CENTS


def _line_summary(product_id: uuid.UUID, quantity: int) -> dict[str, Any]:
    return {"supplierProductId": str(product_id), "quantity": quantity}


async def _move(
    ctx: Context,
    order: InventoryOrder,
    status: InventoryOrderStatus,
    *,
    reason: str | None,
    changes: dict[str, Any] | None,
) -> InventoryOrder:
    now = datetime.now(UTC)
    order.status = status
    order.updated_at = now
    await ctx.session.flush()
    await _record_step(ctx, order, status, reason=reason, changes=changes, at=now)
    return order


# --- reading --------------------------------------------------------------------------------


async def list_orders(
    ctx: Context,
    *,
    status: InventoryOrderStatus | None,
    medspa_id: uuid.UUID | None,
    first: int | None,
    after: str | None,
) -> Page[InventoryOrder]:
    """Orders the caller reaches, newest first."""
    ctx.authorize(Action.INVENTORY_ORDER_READ, resource_type="InventoryOrder")
    stmt = select(InventoryOrder).where(ctx.scope(Action.INVENTORY_ORDER_READ, ORDER_ANCHOR))
    if status is not None:
        stmt = stmt.where(InventoryOrder.status == status)
    if medspa_id is not None:
        stmt = stmt.where(InventoryOrder.medspa_id == medspa_id)
    return await paginate(ctx.session, stmt, sort=ORDER_SORT, first=first, after=after)


async def orders_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[InventoryOrder | None]:
    if not ctx.principal.permissions.allows(Action.INVENTORY_ORDER_READ):
        return [None for _ in ids]
    rows: list[InventoryOrder | None] = await rows_by_ids(
        ctx, InventoryOrder, ids, ctx.scope(Action.INVENTORY_ORDER_READ, ORDER_ANCHOR)
    )
    return rows


async def lines_of(ctx: Context, order_id: uuid.UUID) -> list[InventoryOrderLine]:
    return (await lines_by_order(ctx, [order_id]))[0]


async def lines_by_order(
    ctx: Context, order_ids: Sequence[uuid.UUID]
) -> list[list[InventoryOrderLine]]:
    """Lines of orders the caller already reached (the order was loaded through its scope)."""
    rows = await ctx.session.execute(
        select(InventoryOrderLine)
        .where(InventoryOrderLine.order_id.in_(order_ids))
        .order_by(InventoryOrderLine.order_id, InventoryOrderLine.position)
    )
    return many_per_key(order_ids, rows.scalars(), lambda r: r.order_id)


async def events_by_order(
    ctx: Context, order_ids: Sequence[uuid.UUID]
) -> list[list[InventoryOrderEvent]]:
    rows = await ctx.session.execute(
        select(InventoryOrderEvent)
        .where(InventoryOrderEvent.order_id.in_(order_ids))
        .order_by(InventoryOrderEvent.created_at, InventoryOrderEvent.id)
    )
    return many_per_key(order_ids, rows.scalars(), lambda r: r.order_id)


class InventoryLoaders:
    """The per-request loaders of inventory ordering (`Loaders.inventory`)."""

    def __init__(self, ctx: Context) -> None:
        self.order_by_id: DataLoader[uuid.UUID, InventoryOrder | None] = DataLoader(
            lambda ids: orders_by_ids(ctx, ids)
        )
        self.lines_by_order: DataLoader[uuid.UUID, list[InventoryOrderLine]] = DataLoader(
            lambda ids: lines_by_order(ctx, ids)
        )
        self.events_by_order: DataLoader[uuid.UUID, list[InventoryOrderEvent]] = DataLoader(
            lambda ids: events_by_order(ctx, ids)
        )
        self.products_by_supplier: DataLoader[uuid.UUID, list[SupplierProduct]] = DataLoader(
            lambda ids: products_by_supplier(ctx, ids)
        )
        self.product_by_id: DataLoader[uuid.UUID, SupplierProduct | None] = DataLoader(
            lambda ids: products_by_ids(ctx, ids)
        )
