"""Service documents: the versioned consents and care messages of the catalogue, and their
root fields (a service's required versions are set through `setServiceDocuments`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import service_document
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]

ServiceDocumentKind = strawberry.enum(models.ServiceDocumentKind)


@strawberry.type(description="One version of a medspa's consent or care message.")
class ServiceDocument(Node):
    kind: ServiceDocumentKind  # type: ignore[valid-type]
    lineage_id: strawberry.ID = strawberry.field(
        description="Shared by every version of this document."
    )
    version: int
    title: str
    body: str
    from_library: bool = strawberry.field(description="Copied from Portrait's library: locked.")
    created_at: datetime
    row: Private[models.ServiceDocument]

    @classmethod
    def from_row(cls, row: models.ServiceDocument) -> ServiceDocument:
        return cls(
            id=encode_global_id("ServiceDocument", row.id),
            kind=row.kind,
            lineage_id=encode_global_id("ServiceDocument", row.lineage_id),
            version=row.version,
            title=row.title,
            body=row.body,
            from_library=row.library_service_id is not None,
            created_at=row.created_at,
            row=row,
        )


@strawberry.type
class ServiceDocumentPayload(Payload):
    document: ServiceDocument | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(document=ServiceDocument.from_row(result))


@strawberry.type
class ServiceDocumentQuery:
    @strawberry.field(description="Consent and care message versions of the catalogue.")
    async def service_documents(
        self,
        info: Info,
        kind: ServiceDocumentKind | None = None,  # type: ignore[valid-type]
        lineage_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ServiceDocument]:
        page = await service_document.list_documents(
            info.context,
            kind=kind,
            lineage_id=decode_id_of(lineage_id, "ServiceDocument") if lineage_id else None,
            first=first,
            after=after,
        )
        return Connection.from_page(page, ServiceDocument.from_row)


@strawberry.type
class ServiceDocumentMutation:
    @strawberry.mutation(description="A new consent or care message, version 1 (LAUNCH/FLEX).")
    async def create_service_document(
        self,
        info: Info,
        kind: ServiceDocumentKind,  # type: ignore[valid-type]
        title: str,
        body: str,
    ) -> ServiceDocumentPayload:
        return await ServiceDocumentPayload.run(
            info,
            Action.SERVICE_MANAGE,
            lambda: service_document.create_document(
                info.context, kind=kind, title=title, body=body
            ),
        )

    @strawberry.mutation(
        description="A new version of a document; the old version stays. With"
        " applyToServices, services requiring an older version move to this one."
    )
    async def revise_service_document(
        self,
        info: Info,
        id: strawberry.ID,
        title: str,
        body: str,
        apply_to_services: bool = False,
    ) -> ServiceDocumentPayload:
        return await ServiceDocumentPayload.run(
            info,
            Action.SERVICE_MANAGE,
            lambda: service_document.revise_document(
                info.context,
                document_id=decode_id_of(id, "ServiceDocument"),
                title=title,
                body=body,
                apply_to_services=apply_to_services,
            ),
        )


async def _fetch_document(ctx: Context, id_: uuid.UUID) -> ServiceDocument | None:
    row = await ctx.loaders.services.document_by_id.load(id_)
    return ServiceDocument.from_row(row) if row else None


node_type("ServiceDocument", _fetch_document)
