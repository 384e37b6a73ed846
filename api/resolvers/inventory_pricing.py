"""Pricing an inventory order (issue 18), in one place: each line at the product's price on
the medspa's price list, the savings against the market price, and the delivery charge of the
chosen date; the quote the front-end shows before placing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, false, select

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers import onboarding
from db.models import (
    AuditOutcome,
    BusinessModel,
    InventoryPaymentMethod,
    Medspa,
    Supplier,
    SupplierProduct,
)

if TYPE_CHECKING:
    from api.context import Context


MAX_LINES = 50
MAX_QUANTITY = 1_000
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


def principal_medspa(column: Any) -> Any:
    """Rows of the medspa the principal works in. For ASSIGNED on orders: the medspa a
    designated PCC is designated to (DESIGN §5: designated PCCs order for their medspa), not
    the medspas of providers it may cover for a virtual PCC."""

    def clause(principal: Principal) -> ColumnElement[bool]:
        if principal.medspa_id is None:
            return false()
        result: ColumnElement[bool] = column == principal.medspa_id
        return result

    return clause


# The medspa an order is placed for: the caller's own (TENANT, OWN: the medspa they work in;
# ASSIGNED: a designated PCC's), any for platform staff.
ORDERING_MEDSPA = Anchor(
    medspa=Medspa.id,
    own=principal_medspa(Medspa.id),
    assigned=principal_medspa(Medspa.id),
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


def delivery_charge(*, medspa: Medspa, delivery_date: date, subtotal_cents: int) -> int:
    """The delivery charge of `delivery_date` (checked to lie in the delivery window)."""
    today = medspa.today()
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
