"""Portrait's supplier catalogue in the schema (issue 18): suppliers and their products, with
the market price and a price per business model, and the platform's mutations that keep it."""

from __future__ import annotations

import uuid
from typing import Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import supplier_catalogue
from api.schema.enums import BusinessModel
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type(description="What a product costs on one business model's price list.")
class SupplierPrice:
    business_model: BusinessModel
    price_cents: int
    savings_cents: int = strawberry.field(description="Market price minus this price.")


@strawberry.type(description="A product of Portrait's supplier catalogue.")
class SupplierProduct(Node):
    name: str
    description: str | None
    unit: str
    market_price_cents: int
    active: bool
    row: Private[models.SupplierProduct]

    @classmethod
    def from_row(cls, row: models.SupplierProduct) -> SupplierProduct:
        return cls(
            id=encode_global_id("SupplierProduct", row.id),
            name=row.name,
            description=row.description,
            unit=row.unit,
            market_price_cents=row.market_price_cents,
            active=row.active,
            row=row,
        )

    @strawberry.field(description="The price on each business model's price list.")
    def prices(self) -> list[SupplierPrice]:
        return [
            SupplierPrice(
                business_model=model,
                price_cents=self.row.price_for(model),
                savings_cents=max(self.row.market_price_cents - self.row.price_for(model), 0),
            )
            for model in models.BusinessModel
        ]


@strawberry.type(description="A supplier of Portrait's catalogue, with its disclaimer.")
class Supplier(Node):
    name: str
    disclaimer: str | None
    active: bool
    row: Private[models.Supplier]

    @classmethod
    def from_row(cls, row: models.Supplier) -> Supplier:
        return cls(
            id=encode_global_id("Supplier", row.id),
            name=row.name,
            disclaimer=row.disclaimer,
            active=row.active,
            row=row,
        )

    @strawberry.field
    async def products(self, info: Info) -> list[SupplierProduct]:
        rows = await info.context.loaders.inventory.products_by_supplier.load(self.row.id)
        return [SupplierProduct.from_row(r) for r in rows]


@strawberry.input
class SupplierProductInput:
    name: str | None = None
    description: str | None = None
    unit: str | None = None
    market_price_cents: int | None = None
    legacy_price_cents: int | None = None
    launch_price_cents: int | None = None
    flex_price_cents: int | None = None
    active: bool | None = None


@strawberry.type
class SupplierPayload(Payload):
    supplier: Supplier | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(supplier=Supplier.from_row(result))


@strawberry.type
class SupplierProductPayload(Payload):
    product: SupplierProduct | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(product=SupplierProduct.from_row(result))


def _changes(data: SupplierProductInput) -> supplier_catalogue.ProductChanges:
    return supplier_catalogue.ProductChanges(
        name=data.name,
        description=data.description,
        unit=data.unit,
        market_price_cents=data.market_price_cents,
        legacy_price_cents=data.legacy_price_cents,
        launch_price_cents=data.launch_price_cents,
        flex_price_cents=data.flex_price_cents,
        active=data.active,
    )


async def _fetch_product(ctx: Context, id_: uuid.UUID) -> SupplierProduct | None:
    row = await ctx.loaders.inventory.product_by_id.load(id_)
    return SupplierProduct.from_row(row) if row else None


@strawberry.type
class SupplierCatalogueQuery:
    @strawberry.field(description="Portrait's supplier catalogue (supplier_product.read).")
    async def supplier_catalogue(self, info: Info) -> list[Supplier]:
        return [Supplier.from_row(r) for r in await supplier_catalogue.list_suppliers(info.context)]


@strawberry.type
class SupplierCatalogueMutation:
    @strawberry.mutation(description="A supplier of the catalogue (platform staff).")
    async def create_supplier(
        self, info: Info, name: str, disclaimer: str | None = None
    ) -> SupplierPayload:
        return await SupplierPayload.run(
            info,
            Action.SUPPLIER_PRODUCT_MANAGE,
            lambda: supplier_catalogue.create_supplier(
                info.context, name=name, disclaimer=disclaimer
            ),
        )

    @strawberry.mutation(description="A product of the catalogue (platform staff).")
    async def create_supplier_product(
        self, info: Info, supplier_id: strawberry.ID, input: SupplierProductInput
    ) -> SupplierProductPayload:
        return await SupplierProductPayload.run(
            info,
            Action.SUPPLIER_PRODUCT_MANAGE,
            lambda: supplier_catalogue.create_supplier_product(
                info.context,
                supplier_id=decode_id_of(supplier_id, "Supplier"),
                changes=_changes(input),
            ),
        )

    @strawberry.mutation(
        description="Edit a product (platform staff); placed orders keep their prices."
    )
    async def update_supplier_product(
        self, info: Info, id: strawberry.ID, input: SupplierProductInput
    ) -> SupplierProductPayload:
        return await SupplierProductPayload.run(
            info,
            Action.SUPPLIER_PRODUCT_MANAGE,
            lambda: supplier_catalogue.update_supplier_product(
                info.context,
                product_id=decode_id_of(id, "SupplierProduct"),
                changes=_changes(input),
            ),
        )


node_type("SupplierProduct", _fetch_product)

SUPPLIER_CATALOGUE_TYPES = [Supplier, SupplierProduct]
