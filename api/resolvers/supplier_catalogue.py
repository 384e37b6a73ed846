"""Portrait's supplier catalogue (issue 18): suppliers and their products, with a market
price and a price per business model; managed by platform staff and the inventory team."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.errors import DomainErrorCode, invalid
from api.resolvers.batching import many_per_key, rows_by_ids
from db.models import (
    Supplier,
    SupplierProduct,
)

if TYPE_CHECKING:
    from api.context import Context


MAX_NAME = 200
MAX_TEXT = 5_000
MAX_PRICE_CENTS = 10_000_000  # 100,000 USD a unit: anything above is a typo


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
