"""Staff documents (issue 19): the StaffDocument type, its upload mutation and list field.

A document's bytes are never in GraphQL: `url` is a short-lived signed link (minted only for
rows the caller may read), and an upload is a signed PUT URL answered by the mutation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import staff_document as documents
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models
from db.models import StaffDocumentKind, StaffDocumentStatus

if TYPE_CHECKING:
    from api.schema.user import User

Info = strawberry.Info[Context, None]
LazyUser = Annotated["User", strawberry.lazy("api.schema.user")]

strawberry.enum(StaffDocumentKind, description="Which staff document: headshot, photo ID, ...")
strawberry.enum(StaffDocumentStatus)


def _named(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    """The id an optional argument names; a malformed one names nothing that exists."""
    if value is None:
        return None
    return decode_id_of(value, type_name) or uuid.UUID(int=0)


@strawberry.type(description="A staff member's document (headshot, photo ID, signature, licence).")
class StaffDocument(Node):
    kind: StaffDocumentKind
    status: StaffDocumentStatus
    content_type: str
    byte_size: int
    created_at: datetime
    uploaded_at: datetime | None
    superseded_at: datetime | None
    row: Private[models.StaffDocument]

    @classmethod
    def from_row(cls, row: models.StaffDocument) -> StaffDocument:
        return cls(
            id=encode_global_id("StaffDocument", row.id),
            kind=row.kind,
            status=row.status,
            content_type=row.content_type,
            byte_size=row.byte_size,
            created_at=row.created_at,
            uploaded_at=row.uploaded_at,
            superseded_at=row.superseded_at,
            row=row,
        )

    @strawberry.field(description="Whose document it is.")
    async def user(self, info: Info) -> LazyUser | None:
        from api.schema.user import User

        row = await info.context.loaders.user_by_id.load(self.row.user_id)
        return User.from_row(row) if row else None

    @strawberry.field(
        description="A signed link serving the file, valid for MEDSPA_DOCUMENT_URL_TTL_S seconds"
        " (null until uploaded)."
    )
    def url(self, info: Info) -> str | None:
        signed = documents.download_url(info.context.settings, self.row)
        return signed[0] if signed else None


@strawberry.type
class RequestStaffDocumentUploadPayload(Payload):
    document: StaffDocument | None = None
    upload_url: str | None = strawberry.field(
        default=None,
        description="PUT the file's bytes here with the declared Content-Type; single use.",
    )
    upload_expires_at: datetime | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(
            document=StaffDocument.from_row(result.document),
            upload_url=result.url,
            upload_expires_at=result.expires_at,
        )


@strawberry.type
class DeleteStaffDocumentPayload(Payload):
    deleted_document_id: strawberry.ID | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(deleted_document_id=encode_global_id("StaffDocument", result))


@strawberry.input
class RequestStaffDocumentUploadInput:
    kind: StaffDocumentKind
    content_type: str = strawberry.field(
        description="image/jpeg, image/png or image/webp; PHOTO_ID and LICENSE also"
        " application/pdf."
    )
    byte_size: int = strawberry.field(description="The file's size; the upload may not exceed it.")
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Whose document (default: yours)."
    )
    medspa_id: strawberry.ID | None = strawberry.field(
        default=None, description="Platform admins: the medspa (default: the active one)."
    )


@strawberry.type
class DocumentQuery:
    @strawberry.field(
        description="Staff documents in the caller's staff_document.read scope, newest first."
    )
    async def staff_documents(
        self,
        info: Info,
        user_id: strawberry.ID | None = None,
        kind: StaffDocumentKind | None = None,
        include_superseded: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StaffDocument]:
        page = await documents.list_staff_documents(
            info.context,
            user_id=_named(user_id, "User"),
            kind=kind,
            include_superseded=include_superseded,
            first=first,
            after=after,
        )
        return Connection.from_page(page, StaffDocument.from_row)


@strawberry.type
class DocumentMutation:
    @strawberry.mutation(
        description="Start uploading a staff document: answers a short-lived signed upload URL."
    )
    async def request_staff_document_upload(
        self, info: Info, input: RequestStaffDocumentUploadInput
    ) -> RequestStaffDocumentUploadPayload:
        return await RequestStaffDocumentUploadPayload.run(
            info,
            Action.STAFF_DOCUMENT_MANAGE,
            lambda: documents.request_upload(
                info.context,
                user_id=_named(input.user_id, "User"),
                medspa_id=_named(input.medspa_id, "Medspa"),
                kind=input.kind,
                content_type=input.content_type,
                byte_size=input.byte_size,
            ),
        )

    @strawberry.mutation(
        description="Delete a staff document and its stored file (the audit trail keeps that"
        " it existed)."
    )
    async def delete_staff_document(
        self, info: Info, id: strawberry.ID
    ) -> DeleteStaffDocumentPayload:
        return await DeleteStaffDocumentPayload.run(
            info,
            Action.STAFF_DOCUMENT_MANAGE,
            lambda: documents.delete_staff_document(
                info.context, document_id=decode_id_of(id, "StaffDocument")
            ),
        )


async def _fetch_document(ctx: Context, id_: uuid.UUID) -> StaffDocument | None:
    rows = await documents.documents_by_ids(ctx, [id_])
    return StaffDocument.from_row(rows[0]) if rows[0] else None


node_type("StaffDocument", _fetch_document)

DOCUMENT_TYPES = [StaffDocument]
