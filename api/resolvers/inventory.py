"""Inventory ordering (issue 18): the supplier catalogue, quoting and placing an order, the
inventory team's review, and the order history.

Pricing happens in one place, `price_order`: each line at the product's price on the medspa's
price list (its business model when priced), the savings against the market price, and the
delivery charge of the chosen date. Placing an order is cart-free and two-step: the front-end
asks `inventoryOrderQuote` for the lines (subtotal, savings) and then with a delivery date and
payment method (delivery charge, total), and places the order with the total it showed
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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, false, select
from strawberry.dataloader import DataLoader

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.events.emit import EventKind, emit
from api.resolvers import onboarding
from api.resolvers.batching import many_per_key, rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    AuditOutcome,
    BusinessModel,
    InventoryOrder,
    InventoryOrderEvent,
    InventoryOrderLine,
    InventoryOrderStatus,
    InventoryPaymentMethod,
    Medspa,
    NotificationKind,
    NotificationOutbox,
    Supplier,
    SupplierProduct,
)

if TYPE_CHECKING:
    from api.context import Context

MAX_LINES = 50
MAX_QUANTITY = 1_000
MAX_REASON = 2_000
MAX_NAME = 200
MAX_TEXT = 5_000
MAX_PRICE_CENTS = 10_000_000  # 100,000 USD a unit: anything above is a typo
# Delivery (a fixed schedule, in the medspa's time zone): the earliest date is two days out,
# the latest 60; a date within five days ships expedited; standard shipping is free from a
# subtotal of 1,000 USD.
EARLIEST_DELIVERY_DAYS = 2
LATEST_DELIVERY_DAYS = 60
EXPEDITED_WITHIN_DAYS = 5
STANDARD_DELIVERY_CENTS = 1_500
EXPEDITED_DELIVERY_CENTS = 4_500
FREE_DELIVERY_FROM_CENTS = 100_000
# The keys a complete address has: onboarding's required fields, and the country.
ADDRESS_KEYS = (
    *(key for key, (required, _) in onboarding.ADDRESS_FIELDS.items() if required),
    "country",
)
REVIEWABLE = (InventoryOrderStatus.PLACED, InventoryOrderStatus.MODIFIED)


def _own_orders(principal: Principal) -> ColumnElement[bool]:
    if principal.user_id is None:
        return false()
    return InventoryOrder.placed_by_user_id == principal.user_id


def _principal_medspa(column: Any) -> Any:
    """Rows of the medspa the principal works in. For ASSIGNED on orders: the medspa a
    designated PCC is designated to (DESIGN §5: designated PCCs order for their medspa), not
    the medspas of providers it may cover for a virtual PCC."""

    def clause(principal: Principal) -> ColumnElement[bool]:
        if principal.medspa_id is None:
            return false()
        result: ColumnElement[bool] = column == principal.medspa_id
        return result

    return clause


ORDER_ANCHOR = register(
    InventoryOrder,
    Anchor(
        medspa=InventoryOrder.medspa_id,
        own=_own_orders,
        assigned=_principal_medspa(InventoryOrder.medspa_id),
    ),
    read=Action.INVENTORY_ORDER_READ,
    name="InventoryOrder",
)
# The medspa an order is placed for: the caller's own (TENANT, OWN: the medspa they work in;
# ASSIGNED: a designated PCC's), any for platform staff.
ORDERING_MEDSPA = Anchor(
    medspa=Medspa.id,
    own=_principal_medspa(Medspa.id),
    assigned=_principal_medspa(Medspa.id),
)
ORDER_SORT = SortKey(
    (InventoryOrder.placed_at, InventoryOrder.id), ("placed_at", "id"), descending=True
)


# --- the catalogue --------------------------------------------------------------------------


async def list_suppliers(ctx: Context) -> list[Supplier]:
    ctx.authorize(Action.SUPPLIER_PRODUCT_READ, resource_type="Supplier")
    rows = await ctx.session.execute(select(Supplier).order_by(Supplier.name, Supplier.id))
    return list(rows.scalars())


async def products_by_supplier(
    ctx: Context, supplier_ids: Sequence[uuid.UUID]
) -> list[list[SupplierProduct]]:
    if not ctx.principal.permissions.allows(Action.SUPPLIER_PRODUCT_READ):
        return [[] for _ in supplier_ids]
    rows = await ctx.session.execute(
        select(SupplierProduct)
        .where(SupplierProduct.supplier_id.in_(supplier_ids))
        .order_by(SupplierProduct.name, SupplierProduct.id)
    )
    return many_per_key(supplier_ids, rows.scalars(), lambda r: r.supplier_id)


async def products_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[SupplierProduct | None]:
    if not ctx.principal.permissions.allows(Action.SUPPLIER_PRODUCT_READ):
        return [None for _ in ids]
    rows: list[SupplierProduct | None] = await rows_by_ids(
        ctx, SupplierProduct, ids, SupplierProduct.id.isnot(None)
    )
    return rows


@dataclass(frozen=True)
class ProductChanges:
    name: str | None = None
    description: str | None = None
    unit: str | None = None
    market_price_cents: int | None = None
    legacy_price_cents: int | None = None
    launch_price_cents: int | None = None
    flex_price_cents: int | None = None
    active: bool | None = None


def _clean_name(field: str, value: str, limit: int = MAX_NAME) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > limit:
        raise invalid(field, f"Give a name of 1 to {limit} characters.")
    return cleaned


def _clean_text(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_TEXT:
        raise invalid(field, f"At most {MAX_TEXT} characters.")
    return value.strip() or None


def _check_price(field: str, cents: int | None) -> None:
    if cents is not None and not 0 <= cents <= MAX_PRICE_CENTS:
        raise invalid(field, f"A price is 0 to {MAX_PRICE_CENTS} cents.")


async def create_supplier(ctx: Context, *, name: str, disclaimer: str | None) -> Supplier:
    clean = _clean_name("name", name, 120)
    taken = await ctx.session.scalar(select(Supplier.id).where(Supplier.name == clean))
    if taken is not None:
        raise invalid("name", "A supplier of that name exists.", DomainErrorCode.NAME_TAKEN)
    supplier = Supplier(
        id=uuid.uuid4(), name=clean, disclaimer=_clean_text("disclaimer", disclaimer), active=True
    )
    ctx.session.add(supplier)
    await ctx.session.flush()
    ctx.allowed(
        Action.SUPPLIER_PRODUCT_MANAGE,
        resource_type="Supplier",
        resource_id=supplier.id,
    )
    return supplier


def _check_changes(changes: ProductChanges) -> None:
    for field, cents in (
        ("marketPriceCents", changes.market_price_cents),
        ("legacyPriceCents", changes.legacy_price_cents),
        ("launchPriceCents", changes.launch_price_cents),
        ("flexPriceCents", changes.flex_price_cents),
    ):
        _check_price(field, cents)


async def create_supplier_product(
    ctx: Context, *, supplier_id: uuid.UUID | None, changes: ProductChanges
) -> SupplierProduct:
    supplier = await ctx.session.get(Supplier, supplier_id) if supplier_id else None
    if supplier is None:
        raise invalid("supplierId", "No such supplier.", DomainErrorCode.NOT_FOUND)
    _check_changes(changes)
    prices = (
        changes.market_price_cents,
        changes.legacy_price_cents,
        changes.launch_price_cents,
        changes.flex_price_cents,
    )
    if changes.name is None or any(p is None for p in prices):
        raise invalid("input", "A new product needs a name, a market price and three prices.")
    name = _clean_name("name", changes.name)
    await _product_name_free(ctx, supplier.id, name, None)
    product = SupplierProduct(
        id=uuid.uuid4(),
        supplier_id=supplier.id,
        name=name,
        description=_clean_text("description", changes.description),
        unit=_clean_name("unit", changes.unit or "unit", 40),
        market_price_cents=changes.market_price_cents,
        legacy_price_cents=changes.legacy_price_cents,
        launch_price_cents=changes.launch_price_cents,
        flex_price_cents=changes.flex_price_cents,
        active=True if changes.active is None else changes.active,
    )
    ctx.session.add(product)
    await ctx.session.flush()
    _audit_product(ctx, product)
    return product


async def update_supplier_product(
    ctx: Context, *, product_id: uuid.UUID | None, changes: ProductChanges
) -> SupplierProduct:
    product = await ctx.session.get(SupplierProduct, product_id) if product_id else None
    if product is None:
        raise invalid("id", "No such product.", DomainErrorCode.NOT_FOUND)
    _check_changes(changes)
    if changes.name is not None:
        name = _clean_name("name", changes.name)
        await _product_name_free(ctx, product.supplier_id, name, product.id)
        product.name = name
    if changes.description is not None:
        product.description = _clean_text("description", changes.description)
    if changes.unit is not None:
        product.unit = _clean_name("unit", changes.unit, 40)
    for attribute in (
        "market_price_cents",
        "legacy_price_cents",
        "launch_price_cents",
        "flex_price_cents",
        "active",
    ):
        value = getattr(changes, attribute)
        if value is not None:
            setattr(product, attribute, value)
    await ctx.session.flush()
    _audit_product(ctx, product)
    return product


async def _product_name_free(
    ctx: Context, supplier_id: uuid.UUID, name: str, product_id: uuid.UUID | None
) -> None:
    stmt = select(SupplierProduct.id).where(
        SupplierProduct.supplier_id == supplier_id, SupplierProduct.name == name
    )
    if product_id is not None:
        stmt = stmt.where(SupplierProduct.id != product_id)
    if await ctx.session.scalar(stmt) is not None:
        raise invalid(
            "name", "The supplier has a product of that name.", DomainErrorCode.NAME_TAKEN
        )


def _audit_product(ctx: Context, product: SupplierProduct) -> None:
    ctx.allowed(
        Action.SUPPLIER_PRODUCT_MANAGE,
        resource_type="SupplierProduct",
        resource_id=product.id,
    )


# --- pricing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRequest:
    product_id: uuid.UUID | None
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    product: SupplierProduct
    supplier: Supplier
    quantity: int
    unit_market_price_cents: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity

    @property
    def savings_cents(self) -> int:
        return max(self.unit_market_price_cents - self.unit_price_cents, 0) * self.quantity


@dataclass(frozen=True)
class Quote:
    """An order's prices, computed once: what the quote shows and what an order stores."""

    medspa: Medspa
    price_list: BusinessModel
    lines: list[PricedLine]
    delivery_date: date | None
    payment_method: InventoryPaymentMethod | None
    delivery_charge_cents: int | None

    @property
    def subtotal_cents(self) -> int:
        return sum(line.total_cents for line in self.lines)

    @property
    def savings_cents(self) -> int:
        return sum(line.savings_cents for line in self.lines)

    @property
    def total_cents(self) -> int | None:
        if self.delivery_charge_cents is None:
            return None
        return self.subtotal_cents + self.delivery_charge_cents


def medspa_today(medspa: Medspa, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(medspa.time_zone)).date()


def delivery_charge(*, medspa: Medspa, delivery_date: date, subtotal_cents: int) -> int:
    """The delivery charge of `delivery_date` (checked to lie in the delivery window)."""
    today = medspa_today(medspa)
    earliest = today + timedelta(days=EARLIEST_DELIVERY_DAYS)
    latest = today + timedelta(days=LATEST_DELIVERY_DAYS)
    if not earliest <= delivery_date <= latest:
        raise invalid(
            "deliveryDate",
            f"Choose a delivery date from {earliest.isoformat()} to {latest.isoformat()}.",
        )
    if delivery_date < today + timedelta(days=EXPEDITED_WITHIN_DAYS):
        return EXPEDITED_DELIVERY_CENTS
    return 0 if subtotal_cents >= FREE_DELIVERY_FROM_CENTS else STANDARD_DELIVERY_CENTS


async def price_lines(
    ctx: Context, *, price_list: BusinessModel, lines: Sequence[LineRequest]
) -> list[PricedLine]:
    """Each requested line at its product's price on `price_list`; bad lines refuse all."""
    if not lines:
        raise invalid("lines", "Choose at least one product.")
    if len(lines) > MAX_LINES:
        raise invalid("lines", f"An order has at most {MAX_LINES} lines.")
    problems: list[Problem] = []
    seen: set[uuid.UUID] = set()
    for index, line in enumerate(lines):
        if line.product_id is None:
            problems.append(_line_problem(index, "productId", "No such product."))
        elif line.product_id in seen:
            problems.append(_line_problem(index, "productId", "Each product once per order."))
        else:
            seen.add(line.product_id)
        if not 1 <= line.quantity <= MAX_QUANTITY:
            problems.append(_line_problem(index, "quantity", f"A quantity is 1 to {MAX_QUANTITY}."))
    if problems:
        raise DomainError(*problems)
    found = {
        product.id: (product, supplier)
        for product, supplier in (
            await ctx.session.execute(
                select(SupplierProduct, Supplier)
                .join(Supplier, Supplier.id == SupplierProduct.supplier_id)
                .where(SupplierProduct.id.in_(seen))
            )
        ).all()
    }
    priced: list[PricedLine] = []
    for index, line in enumerate(lines):
        assert line.product_id is not None
        pair = found.get(line.product_id)
        if pair is None:
            problems.append(_line_problem(index, "productId", "No such product."))
            continue
        product, supplier = pair
        if not (product.active and supplier.active):
            problems.append(_line_problem(index, "productId", f"{product.name} is not available."))
            continue
        priced.append(
            PricedLine(
                product=product,
                supplier=supplier,
                quantity=line.quantity,
                unit_market_price_cents=product.market_price_cents,
                unit_price_cents=product.price_for(price_list),
            )
        )
    if problems:
        raise DomainError(*problems)
    return priced


def _line_problem(index: int, field: str, message: str) -> Problem:
    return Problem(DomainErrorCode.VALIDATION, message, f"lines[{index}].{field}")


async def ordering_medspa(ctx: Context, medspa_id: uuid.UUID | None) -> Medspa:
    """The medspa an order is for: the one named (platform staff), else the caller's own;
    one outside the caller's inventory_order.create scope is absent."""
    target = medspa_id or ctx.principal.medspa_id
    if target is None:
        raise invalid("medspaId", "Name the medspa the order is for.")
    medspa = (
        await ctx.session.execute(
            select(Medspa).where(
                Medspa.id == target, ctx.scope(Action.INVENTORY_ORDER_CREATE, ORDERING_MEDSPA)
            )
        )
    ).scalar_one_or_none()
    if medspa is None:
        ctx.audit(
            Action.INVENTORY_ORDER_CREATE.value,
            AuditOutcome.DENIED,
            resource_type="Medspa",
            resource_id=target,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("Medspa not found.")
    return medspa


def shipping_address(medspa: Medspa) -> dict[str, str]:
    """The medspa's complete shipping address, or the refusal that says it is missing."""
    address = medspa.shipping_address
    if not address or any(not str(address.get(key) or "").strip() for key in ADDRESS_KEYS):
        raise DomainError(
            Problem(
                DomainErrorCode.SHIPPING_ADDRESS_REQUIRED,
                "Add the medspa's shipping address before ordering inventory.",
                "shippingAddress",
            )
        )
    return dict(address)


async def quote(
    ctx: Context,
    *,
    medspa: Medspa,
    lines: Sequence[LineRequest],
    delivery_date: date | None,
    payment_method: InventoryPaymentMethod | None,
) -> Quote:
    """Step 1 (lines: subtotal, savings) and step 2 (with a delivery date: the delivery
    charge and the total) of an order, on the medspa's current price list."""
    price_list = medspa.business_model
    priced = await price_lines(ctx, price_list=price_list, lines=lines)
    subtotal = sum(line.total_cents for line in priced)
    charge = (
        delivery_charge(medspa=medspa, delivery_date=delivery_date, subtotal_cents=subtotal)
        if delivery_date is not None
        else None
    )
    return Quote(
        medspa=medspa,
        price_list=price_list,
        lines=priced,
        delivery_date=delivery_date,
        payment_method=payment_method,
        delivery_charge_cents=charge,
    )


async def quote_for_query(
    ctx: Context,
    *,
    medspa_id: uuid.UUID | None,
    lines: Sequence[LineRequest],
    delivery_date: date | None,
    payment_method: InventoryPaymentMethod | None,
) -> Quote | DomainError:
    """`inventoryOrderQuote`: the quote, or the problems that would refuse the order."""
    ctx.authorize(Action.INVENTORY_ORDER_CREATE, resource_type="InventoryOrder")
    try:
        return await quote(
            ctx,
            medspa=await ordering_medspa(ctx, medspa_id),
            lines=lines,
            delivery_date=delivery_date,
            payment_method=payment_method,
        )
    except DomainError as exc:
        return exc


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
