"""Staff documents (issue 19): a staff member's headshot, photo ID, signature and licence.

Uploading is two steps: `request_upload` (staff_document.manage on the person) writes a
PENDING row and answers a short-lived signed upload URL bound to that row, its content type
and its declared size; the upload route (api/http/staff_files.py) stores the bytes and makes
the row READY, superseding the previous document of that kind. Reading a document is a
signed download URL, minted only for rows in the caller's staff_document.read scope.
A provider reaches only their own documents, an admin the medspa's staff, platform admins any.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, false, select

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import DomainErrorCode, invalid, not_found
from api.resolvers.pagination import Page, SortKey, paginate
from api.signed_urls import Claims, sign, url_for
from api.storage import build_storage, document_key
from db.models import (
    AuditOutcome,
    Membership,
    StaffDocument,
    StaffDocumentKind,
    StaffDocumentStatus,
)

if TYPE_CHECKING:
    from api.context import Context
    from api.settings import Settings

IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
# What each kind may be: pictures, and for identity papers also a scanned PDF.
CONTENT_TYPES: dict[StaffDocumentKind, frozenset[str]] = {
    StaffDocumentKind.HEADSHOT: IMAGES,
    StaffDocumentKind.SIGNATURE: IMAGES,
    StaffDocumentKind.PHOTO_ID: IMAGES | {"application/pdf"},
    StaffDocumentKind.LICENSE: IMAGES | {"application/pdf"},
}


def _own(principal: Principal) -> ColumnElement[bool]:
    if principal.user_id is None:
        return false()
    return StaffDocument.user_id == principal.user_id


def _own_membership(principal: Principal) -> ColumnElement[bool]:
    if principal.user_id is None:
        return false()
    return Membership.user_id == principal.user_id


ANCHOR = register(
    StaffDocument,
    Anchor(medspa=StaffDocument.medspa_id, own=_own),
    read=Action.STAFF_DOCUMENT_READ,
)
# Whose documents a caller may manage: memberships in the action's scope (OWN: their own).
MEMBER_ANCHOR = Anchor(medspa=Membership.medspa_id, own=_own_membership)
SORT = SortKey((StaffDocument.created_at, StaffDocument.id), ("created_at", "id"), descending=True)


@dataclass(frozen=True)
class UploadTicket:
    document: StaffDocument
    url: str
    expires_at: datetime


def download_url(settings: Settings, document: StaffDocument) -> tuple[str, datetime] | None:
    """A signed, short-lived URL serving a READY document (None before its upload)."""
    if document.status is not StaffDocumentStatus.READY:
        return None
    expires = int(time.time()) + settings.document_url_ttl_s
    token = sign(
        Claims(
            purpose="get",
            key=document.storage_key,
            content_type=document.content_type,
            expires_at=expires,
        ),
        key=settings.document_signing_key(),
    )
    return url_for(token, purpose="get", base=settings.public_api_base_url), datetime.fromtimestamp(
        expires, UTC
    )


async def list_staff_documents(
    ctx: Context,
    *,
    user_id: uuid.UUID | None,
    kind: StaffDocumentKind | None,
    include_superseded: bool,
    first: int | None,
    after: str | None,
) -> Page[StaffDocument]:
    ctx.authorize(Action.STAFF_DOCUMENT_READ)
    stmt = select(StaffDocument).where(ctx.scope(Action.STAFF_DOCUMENT_READ, ANCHOR))
    if user_id is not None:
        stmt = stmt.where(StaffDocument.user_id == user_id)
    if kind is not None:
        stmt = stmt.where(StaffDocument.kind == kind)
    if not include_superseded:
        stmt = stmt.where(StaffDocument.superseded_at.is_(None))
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


async def documents_by_ids(ctx: Context, ids: list[uuid.UUID]) -> list[StaffDocument | None]:
    rows = (
        await ctx.session.execute(
            select(StaffDocument).where(
                StaffDocument.id.in_(ids), ctx.scope(Action.STAFF_DOCUMENT_READ, ANCHOR)
            )
        )
    ).scalars()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def request_upload(
    ctx: Context,
    *,
    user_id: uuid.UUID | None,
    medspa_id: uuid.UUID | None,
    kind: StaffDocumentKind,
    content_type: str,
    byte_size: int,
) -> UploadTicket:
    """A PENDING document and its signed upload URL, for a staff member the caller manages.

    The person defaults to the caller, the medspa to the caller's (platform admins name it).
    A person outside the caller's staff_document.manage scope is absent (NOT_FOUND).
    """
    settings = ctx.settings
    target_user = user_id or ctx.principal.user_id
    target_medspa = medspa_id or ctx.principal.medspa_id
    if target_medspa is None:
        raise invalid("medspaId", "Name the medspa the document belongs to.")
    allowed = CONTENT_TYPES[kind]
    if content_type not in allowed:
        raise invalid(
            "contentType", f"A {kind.value} must be one of: {', '.join(sorted(allowed))}."
        )
    if not 0 < byte_size <= settings.document_max_bytes:
        raise invalid(
            "byteSize",
            f"Between 1 byte and {settings.document_max_bytes} bytes.",
            DomainErrorCode.VALIDATION,
        )
    member = (
        await ctx.session.execute(
            select(Membership.id)
            .where(
                Membership.user_id == target_user,
                Membership.medspa_id == target_medspa,
                ctx.scope(Action.STAFF_DOCUMENT_MANAGE, MEMBER_ANCHOR),
            )
            .limit(1)
        )
    ).first()
    if member is None or target_user is None:
        ctx.audit(
            Action.STAFF_DOCUMENT_MANAGE.value,
            AuditOutcome.DENIED,
            resource_type="User",
            resource_id=target_user,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("Staff member not found.")
    uploader = ctx.principal.user_id
    assert uploader is not None, "only users hold staff_document.manage"
    document_id = uuid.uuid4()
    document = StaffDocument(
        id=document_id,
        medspa_id=target_medspa,
        user_id=target_user,
        kind=kind,
        status=StaffDocumentStatus.PENDING,
        content_type=content_type,
        byte_size=byte_size,
        storage_key=document_key(
            medspa_id=target_medspa, user_id=target_user, document_id=document_id
        ),
        uploaded_by_user_id=uploader,
    )
    ctx.session.add(document)
    await ctx.session.flush()
    expires = int(time.time()) + settings.document_url_ttl_s
    token = sign(
        Claims(
            purpose="put",
            key=document.storage_key,
            content_type=content_type,
            expires_at=expires,
            document_id=str(document.id),
            medspa_id=str(target_medspa),
            max_bytes=byte_size,
        ),
        key=settings.document_signing_key(),
    )
    ctx.allowed(
        Action.STAFF_DOCUMENT_MANAGE,
        resource_type="StaffDocument",
        resource_id=document.id,
        medspa_id=target_medspa,
        detail={"operation": "request_upload", "kind": kind.value, "userId": str(target_user)},
    )
    return UploadTicket(
        document=document,
        url=url_for(token, purpose="put", base=settings.public_api_base_url),
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


async def delete_staff_document(ctx: Context, *, document_id: uuid.UUID | None) -> uuid.UUID:
    """Delete a staff document: its row and its stored bytes (a photo ID or a licence is not
    kept once its owner or their admin removes it; the audit trail keeps that it existed).
    The bytes go first, inside the transaction: if storage refuses, nothing changes, and a
    commit that fails afterwards leaves a row whose link answers 404, never orphaned bytes."""
    document = await ctx.find(
        StaffDocument, document_id, Action.STAFF_DOCUMENT_MANAGE, for_update=True
    )
    await build_storage(ctx.settings).delete(document.storage_key)
    await ctx.session.delete(document)
    await ctx.session.flush()
    ctx.allowed(
        Action.STAFF_DOCUMENT_MANAGE,
        resource_type="StaffDocument",
        resource_id=document.id,
        medspa_id=document.medspa_id,
        detail={
            "operation": "delete",
            "kind": document.kind.value,
            "userId": str(document.user_id),
        },
    )
    return document.id
