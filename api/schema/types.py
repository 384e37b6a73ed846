"""Object types of the tenancy core. Each wraps its ORM row and lists every exposed field.

Scalars are plain attributes copied from the row; relations are async resolvers that go
through the request's scoped DataLoaders.
"""

from __future__ import annotations

import uuid

import strawberry
from strawberry import Private

from api.context import Context
from api.schema.connection import Connection
from api.schema.enums import BusinessModel, GfeRouting
from api.schema.node import Node, encode_global_id, node_type
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type
class User(Node):
    email: str
    full_name: str

    @classmethod
    def from_row(cls, row: models.User) -> User:
        return cls(id=encode_global_id("User", row.id), email=row.email, full_name=row.full_name)


@strawberry.type
class Medspa(Node):
    name: str
    slug: str
    business_model: BusinessModel
    time_zone: str
    gfe_routing: GfeRouting
    pcc_service: bool
    uses_portrait_ehr: bool
    row: Private[models.Medspa]

    @classmethod
    def from_row(cls, row: models.Medspa) -> Medspa:
        return cls(
            id=encode_global_id("Medspa", row.id),
            name=row.name,
            slug=row.slug,
            business_model=row.business_model,
            time_zone=row.time_zone,
            gfe_routing=row.gfe_routing,
            pcc_service=row.pcc_service,
            uses_portrait_ehr=row.uses_portrait_ehr,
            row=row,
        )

    @strawberry.field
    async def locations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Location]:
        page = await info.context.loaders.locations_by_medspa.load((self.row.id, first, after))
        return Connection.from_page(page, Location.from_row)

    @strawberry.field
    async def providers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Provider]:
        page = await info.context.loaders.providers_by_medspa.load((self.row.id, first, after))
        return Connection.from_page(page, Provider.from_row)


@strawberry.type
class Location(Node):
    name: str
    address_line1: str
    address_line2: str | None
    city: str
    region: str
    postal_code: str
    country: str
    time_zone: str
    active_for_scheduling: bool
    booking_slug: str | None
    row: Private[models.Location]

    @classmethod
    def from_row(cls, row: models.Location) -> Location:
        return cls(
            id=encode_global_id("Location", row.id),
            name=row.name,
            address_line1=row.address_line1,
            address_line2=row.address_line2,
            city=row.city,
            region=row.region,
            postal_code=row.postal_code,
            country=row.country,
            time_zone=row.time_zone,
            active_for_scheduling=row.active_for_scheduling,
            booking_slug=row.booking_slug,
            row=row,
        )

    @strawberry.field(description="The shareable public booking URL, when the slug is set.")
    def booking_path(self) -> str | None:
        return f"/book/{self.booking_slug}" if self.booking_slug else None

    @strawberry.field
    async def medspa(self, info: Info) -> Medspa | None:
        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None


@strawberry.type
class Provider(Node):
    display_name: str
    credentials: str
    licensed_to_self_clear: bool
    active: bool
    row: Private[models.Provider]

    @classmethod
    def from_row(cls, row: models.Provider) -> Provider:
        return cls(
            id=encode_global_id("Provider", row.id),
            display_name=row.display_name,
            credentials=row.credentials,
            licensed_to_self_clear=row.licensed_to_self_clear,
            active=row.active,
            row=row,
        )

    @strawberry.field
    async def medspa(self, info: Info) -> Medspa | None:
        row = await info.context.loaders.medspa_by_id.load(self.row.medspa_id)
        return Medspa.from_row(row) if row else None


async def _fetch_medspa(ctx: Context, id_: uuid.UUID) -> Medspa | None:
    row = await ctx.loaders.medspa_by_id.load(id_)
    return Medspa.from_row(row) if row else None


async def _fetch_location(ctx: Context, id_: uuid.UUID) -> Location | None:
    row = await ctx.loaders.location_by_id.load(id_)
    return Location.from_row(row) if row else None


async def _fetch_provider(ctx: Context, id_: uuid.UUID) -> Provider | None:
    row = await ctx.loaders.provider_by_id.load(id_)
    return Provider.from_row(row) if row else None


node_type("Medspa", _fetch_medspa)
node_type("Location", _fetch_location)
node_type("Provider", _fetch_provider)
