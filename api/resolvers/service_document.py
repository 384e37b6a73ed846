"""Consents and care messages of a medspa's services (DESIGN §7): versioned documents. Revising
one adds a row to its lineage; a service requires exact versions, so old versions stay as they
were signed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from api.authz.actions import Action
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.service import (
    DOCUMENT_ANCHOR,
    _audit,
    _clean_name,
    _documents_of,
    _find_service,
    _manageable_medspa,
    _require_custom,
    _require_documents,
)
from db.models import (
    Medspa,
    Service,
    ServiceDocument,
    ServiceDocumentKind,
    ServiceDocumentRequirement,
)

if TYPE_CHECKING:
    from api.context import Context

DOCUMENT_SORT = SortKey(
    (ServiceDocument.title, ServiceDocument.version, ServiceDocument.id),
    ("title", "version", "id"),
)


async def documents_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[ServiceDocument | None]:
    clause = ctx.scope(Action.SERVICE_READ, DOCUMENT_ANCHOR)
    return await rows_by_ids(ctx, ServiceDocument, ids, clause)


async def documents_by_service(
    ctx: Context, service_ids: Sequence[uuid.UUID]
) -> list[list[ServiceDocument]]:
    rows = (
        await ctx.session.execute(
            select(ServiceDocumentRequirement.service_id, ServiceDocument)
            .join(ServiceDocument, ServiceDocument.id == ServiceDocumentRequirement.document_id)
            .where(
                ServiceDocumentRequirement.service_id.in_(service_ids),
                ctx.scope(Action.SERVICE_READ, DOCUMENT_ANCHOR),
            )
            .order_by(ServiceDocument.kind, ServiceDocument.title, ServiceDocument.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[ServiceDocument]] = defaultdict(list)
    for service_id, document in rows:
        grouped[service_id].append(document)
    return [grouped.get(i, []) for i in service_ids]


async def list_documents(
    ctx: Context,
    *,
    kind: ServiceDocumentKind | None,
    lineage_id: uuid.UUID | None,
    first: int | None,
    after: str | None,
) -> Page[ServiceDocument]:
    ctx.authorize(Action.SERVICE_READ)
    stmt = select(ServiceDocument).where(ctx.scope(Action.SERVICE_READ, DOCUMENT_ANCHOR))
    if kind is not None:
        stmt = stmt.where(ServiceDocument.kind == kind)
    if lineage_id is not None:
        stmt = stmt.where(ServiceDocument.lineage_id == lineage_id)
    return await paginate(ctx.session, stmt, sort=DOCUMENT_SORT, first=first, after=after)


def _check_document(title: str, body: str) -> tuple[str, str]:
    clean_title = _clean_name(title, "title", 200)
    clean_body = body.strip()
    if not clean_body or len(clean_body) > 50_000:
        raise invalid("body", "1 to 50,000 characters.")
    return clean_title, clean_body


async def create_document(
    ctx: Context, *, kind: ServiceDocumentKind, title: str, body: str
) -> ServiceDocument:
    medspa = await _manageable_medspa(ctx, custom=True)
    clean_title, clean_body = _check_document(title, body)
    document_id = uuid.uuid4()
    document = ServiceDocument(
        id=document_id,
        medspa_id=medspa.id,
        lineage_id=document_id,
        version=1,
        kind=kind,
        title=clean_title,
        body=clean_body,
        created_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(document)
    await ctx.session.flush()
    await ctx.session.refresh(document)
    _audit(ctx, Action.SERVICE_MANAGE, document, "ServiceDocument", operation="create_document")
    return document


async def revise_document(
    ctx: Context,
    *,
    document_id: uuid.UUID | None,
    title: str,
    body: str,
    apply_to_services: bool,
) -> ServiceDocument:
    """A new version of the document's lineage; the old version stays as it was."""
    previous: ServiceDocument = await ctx.find(ServiceDocument, document_id, Action.SERVICE_MANAGE)
    if previous.library_service_id is not None:
        raise DomainError(
            Problem(
                DomainErrorCode.LIBRARY_FIELD_LOCKED,
                "Library documents follow Portrait's library.",
                "id",
            )
        )
    medspa = await ctx.session.get(Medspa, previous.medspa_id)
    assert medspa is not None
    _require_custom(medspa)
    clean_title, clean_body = _check_document(title, body)
    latest = (
        await ctx.session.execute(
            select(func.max(ServiceDocument.version)).where(
                ServiceDocument.medspa_id == previous.medspa_id,
                ServiceDocument.lineage_id == previous.lineage_id,
            )
        )
    ).scalar_one()
    document = ServiceDocument(
        id=uuid.uuid4(),
        medspa_id=previous.medspa_id,
        lineage_id=previous.lineage_id,
        version=int(latest) + 1,
        kind=previous.kind,
        title=clean_title,
        body=clean_body,
        created_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(document)
    await ctx.session.flush()
    if apply_to_services:
        # Requirements are rows of (service, version): moving a service to the new version
        # replaces its row (the app role never rewrites one in place).
        older = select(ServiceDocument.id).where(
            ServiceDocument.medspa_id == previous.medspa_id,
            ServiceDocument.lineage_id == previous.lineage_id,
            ServiceDocument.id != document.id,
        )
        moved = (
            (
                await ctx.session.execute(
                    delete(ServiceDocumentRequirement)
                    .where(ServiceDocumentRequirement.document_id.in_(older))
                    .returning(ServiceDocumentRequirement.service_id)
                )
            )
            .scalars()
            .all()
        )
        ctx.session.add_all(
            ServiceDocumentRequirement(
                medspa_id=previous.medspa_id, service_id=service_id, document_id=document.id
            )
            for service_id in moved
        )
        await ctx.session.flush()
    await ctx.session.refresh(document)
    _audit(
        ctx,
        Action.SERVICE_MANAGE,
        document,
        "ServiceDocument",
        operation="revise_document",
        version=document.version,
    )
    return document


async def set_service_documents(
    ctx: Context, *, service_id: uuid.UUID | None, document_ids: Sequence[uuid.UUID | None]
) -> Service:
    service = await _find_service(ctx, service_id)
    if service.imported:
        raise DomainError(
            Problem(
                DomainErrorCode.LIBRARY_FIELD_LOCKED,
                "Library services require the library's documents.",
                "documentIds",
            )
        )
    medspa = await ctx.session.get(Medspa, service.medspa_id)
    assert medspa is not None
    _require_custom(medspa)
    documents = await _documents_of(ctx, medspa_id=service.medspa_id, document_ids=document_ids)
    await _require_documents(ctx, service=service, documents=documents)
    _audit(ctx, Action.SERVICE_MANAGE, service, "Service", operation="set_documents")
    return service
