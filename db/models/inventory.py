"""Inventory ordering (issue 18): Portrait's supplier catalogue (platform rows) and each
medspa's orders (tenant rows) with their lines and the history of their review.

A supplier product carries its market price and one price per business model; an order
records the price list (business model) it was priced with, the shipping address it ships to
and its totals, computed once by `api/resolvers/inventory_pricing.py` and stored with its
lines. Every step of an order (placed, modified, approved, rejected) is an
`InventoryOrderEvent` row: the order history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk
from db.models.enums import BusinessModel


class InventoryOrderStatus(StrEnum):
    PLACED = "PLACED"  # waiting for the inventory team
    MODIFIED = "MODIFIED"  # the team changed lines (with a reason); still waiting for approval
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class InventoryPaymentMethod(StrEnum):
    CARD_ON_FILE = "CARD_ON_FILE"
    ACH_TRANSFER = "ACH_TRANSFER"
    INVOICE = "INVOICE"


class Supplier(Base):
    """A supplier of Portrait's catalogue; its disclaimer is shown with its products."""

    __tablename__ = "supplier"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    disclaimer: Mapped[str | None] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at()


class SupplierProduct(Base):
    """A product of the catalogue: the market price and Portrait's price per business model."""

    __tablename__ = "supplier_product"
    __table_args__ = (
        UniqueConstraint("supplier_id", "name"),
        CheckConstraint(
            "market_price_cents >= 0 AND legacy_price_cents >= 0 AND launch_price_cents >= 0"
            " AND flex_price_cents >= 0",
            name="prices_not_negative",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    supplier_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("supplier.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    unit: Mapped[str] = mapped_column(String(40), nullable=False, default="unit")
    market_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    legacy_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    launch_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    flex_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at()

    def price_for(self, model: BusinessModel) -> int:
        """Portrait's price of one unit on `model`'s price list."""
        return {
            BusinessModel.LEGACY: self.legacy_price_cents,
            BusinessModel.LAUNCH: self.launch_price_cents,
            BusinessModel.FLEX: self.flex_price_cents,
        }[model]


class InventoryOrder(TenantMixin, Base):
    """A medspa's order, priced on one price list, shipped to the address it records."""

    __tablename__ = "inventory_order"
    __table_args__ = (
        CheckConstraint(
            "subtotal_cents >= 0 AND savings_cents >= 0 AND delivery_charge_cents >= 0"
            " AND total_cents = subtotal_cents + delivery_charge_cents",
            name="totals_add_up",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    status: Mapped[InventoryOrderStatus] = mapped_column(
        Enum(InventoryOrderStatus, name="inventory_order_status"), nullable=False
    )
    price_list: Mapped[BusinessModel] = mapped_column(
        Enum(BusinessModel, name="business_model"), nullable=False
    )
    delivery_date: Mapped[date] = mapped_column(Date, nullable=False)
    payment_method: Mapped[InventoryPaymentMethod] = mapped_column(
        Enum(InventoryPaymentMethod, name="inventory_payment_method"), nullable=False
    )
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    subtotal_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    savings_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    delivery_charge_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    total_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    placed_by_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    placed_by_actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=True
    )
    placed_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = created_at()


class InventoryOrderLine(TenantMixin, Base):
    """One product of an order, with its prices as they were when priced."""

    __tablename__ = "inventory_order_line"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "order_id"],
            ["inventory_order.medspa_id", "inventory_order.id"],
            ondelete="CASCADE",
            name="fk_inventory_order_line_order",
        ),
        UniqueConstraint("medspa_id", "order_id", "supplier_product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    supplier_product_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("supplier_product.id", ondelete="RESTRICT"), nullable=False
    )
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    supplier_name: Mapped[str] = mapped_column(String(120), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_market_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class InventoryOrderEvent(TenantMixin, Base):
    """One step of an order's history: the state it entered, who moved it, why, and (for a
    modification) the lines before and after."""

    __tablename__ = "inventory_order_event"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "order_id"],
            ["inventory_order.medspa_id", "inventory_order.id"],
            ondelete="CASCADE",
            name="fk_inventory_order_event_order",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    status: Mapped[InventoryOrderStatus] = mapped_column(
        Enum(InventoryOrderStatus, name="inventory_order_status"), nullable=False
    )
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    actor_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    created_at: Mapped[datetime] = created_at()
