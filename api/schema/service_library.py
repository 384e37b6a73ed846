"""Portrait's service library in the schema (DESIGN §7): its groups, services and documents, the
`serviceLibrary` root field (signed-in callers) and the platform admins' library mutations.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import service_library
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]

if TYPE_CHECKING:
    pass


@strawberry.type(description="A document of a library service (copied into importing medspas).")
class LibraryDocument:
    title: str
    body: str


@strawberry.type(description="A service of Portrait's library.")
class LibraryService(Node):
    name: str
    description: str | None
    default_price_cents: int
    standing_orders: str | None
    version: int = strawberry.field(description="Bumped by every library edit.")
    consents: list[LibraryDocument]
    care_messages: list[LibraryDocument]
    updated_at: datetime
    row: Private[models.LibraryService]

    @classmethod
    def from_row(cls, row: models.LibraryService) -> LibraryService:
        return cls(
            id=encode_global_id("LibraryService", row.id),
            name=row.name,
            description=row.description,
            default_price_cents=row.default_price_cents,
            standing_orders=row.standing_orders,
            version=row.version,
            consents=[LibraryDocument(title=d["title"], body=d["body"]) for d in row.consents],
            care_messages=[
                LibraryDocument(title=d["title"], body=d["body"]) for d in row.care_messages
            ],
            updated_at=row.updated_at,
            row=row,
        )


@strawberry.type(description="A group of Portrait's library, e.g. Neuromodulators.")
class LibraryServiceGroup(Node):
    name: str
    description: str | None
    row: Private[models.LibraryServiceGroup]

    @classmethod
    def from_row(cls, row: models.LibraryServiceGroup) -> LibraryServiceGroup:
        return cls(
            id=encode_global_id("LibraryServiceGroup", row.id),
            name=row.name,
            description=row.description,
            row=row,
        )

    @strawberry.field
    async def services(self, info: Info) -> list[LibraryService]:
        rows = await info.context.loaders.services.library_services_by_group.load(self.row.id)
        return [LibraryService.from_row(r) for r in rows]


@strawberry.input
class LibraryDocumentInput:
    title: str
    body: str


@strawberry.input
class LibraryServiceInput:
    name: str | None = None
    description: str | None = None
    default_price_cents: int | None = None
    standing_orders: str | None = None
    consents: list[LibraryDocumentInput] | None = None
    care_messages: list[LibraryDocumentInput] | None = None


@strawberry.type
class LibraryServicePayload(Payload):
    library_service: LibraryService | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(library_service=LibraryService.from_row(result))


@strawberry.type
class LibraryServiceGroupPayload(Payload):
    group: LibraryServiceGroup | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(group=LibraryServiceGroup.from_row(result))


def _library_changes(data: LibraryServiceInput) -> service_library.LibraryChanges:
    def docs(
        items: list[LibraryDocumentInput] | None,
    ) -> list[service_library.LibraryDocumentData] | None:
        if items is None:
            return None
        return [service_library.LibraryDocumentData(title=d.title, body=d.body) for d in items]

    return service_library.LibraryChanges(
        name=data.name,
        description=data.description,
        default_price_cents=data.default_price_cents,
        standing_orders=data.standing_orders,
        consents=docs(data.consents),
        care_messages=docs(data.care_messages),
    )


async def _fetch_library_service(ctx: Context, id_: uuid.UUID) -> LibraryService | None:
    row = await ctx.loaders.services.library_service_by_id.load(id_)
    return LibraryService.from_row(row) if row else None


@strawberry.type
class LibraryQuery:
    @strawberry.field(description="Portrait's service library, by group.")
    async def service_library(self, info: Info) -> list[LibraryServiceGroup]:
        return [
            LibraryServiceGroup.from_row(r)
            for r in await service_library.list_library(info.context)
        ]


@strawberry.type
class LibraryMutation:
    @strawberry.mutation(description="A group of Portrait's library (platform admins).")
    async def create_library_service_group(
        self, info: Info, name: str, description: str | None = None
    ) -> LibraryServiceGroupPayload:
        return await LibraryServiceGroupPayload.run(
            info,
            Action.SERVICE_LIBRARY_MANAGE,
            lambda: service_library.create_library_group(
                info.context, name=name, description=description
            ),
        )

    @strawberry.mutation(description="A service of Portrait's library (platform admins).")
    async def create_library_service(
        self, info: Info, group_id: strawberry.ID, input: LibraryServiceInput
    ) -> LibraryServicePayload:
        return await LibraryServicePayload.run(
            info,
            Action.SERVICE_LIBRARY_MANAGE,
            lambda: service_library.create_library_service(
                info.context,
                group_id=decode_id_of(group_id, "LibraryServiceGroup"),
                changes=_library_changes(input),
            ),
        )

    @strawberry.mutation(
        description="Edit a library service; imported copies follow, keeping their price."
    )
    async def update_library_service(
        self, info: Info, id: strawberry.ID, input: LibraryServiceInput
    ) -> LibraryServicePayload:
        return await LibraryServicePayload.run(
            info,
            Action.SERVICE_LIBRARY_MANAGE,
            lambda: service_library.update_library_service(
                info.context,
                library_service_id=decode_id_of(id, "LibraryService"),
                changes=_library_changes(input),
            ),
        )


node_type("LibraryService", _fetch_library_service)

LIBRARY_TYPES = [LibraryService, LibraryServiceGroup]
