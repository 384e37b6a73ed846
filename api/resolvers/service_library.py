"""Portrait's service library (DESIGN §7): reads for signed-in callers
(`service_library.read`), the platform admins' writes (`service_library.manage`), and a
medspa importing library services.

`import_into` is the one way a medspa's copy of a library service (its group, the service and
its documents) comes to exist: the `importLibraryServices` mutation and the demo seed both
call it. Library edits reach the imported copies, except their price.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import Action
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers.batching import rows_by_ids
from api.resolvers.service import (
    _audit,
    _check_price,
    _clean_name,
    _manageable_medspa,
    _name_free,
    _require_documents,
)
from api.resolvers.service_document import _check_document
from db.models import (
    LibraryService,
    LibraryServiceGroup,
    Medspa,
    Service,
    ServiceDocument,
    ServiceDocumentKind,
    ServiceDocumentRequirement,
    ServiceGroup,
)

if TYPE_CHECKING:
    from api.context import Context


def library_documents(row: LibraryService) -> list[tuple[ServiceDocumentKind, str, str]]:
    """A library service's consents and care messages as (kind, title, body)."""
    return [(ServiceDocumentKind.CONSENT, d["title"], d["body"]) for d in row.consents] + [
        (ServiceDocumentKind.CARE_MESSAGE, d["title"], d["body"]) for d in row.care_messages
    ]


async def import_into(
    session: AsyncSession, *, medspa_id: uuid.UUID, library: LibraryService, active: bool
) -> Service:
    """The medspa's copy of a library service (group, service, documents), found or made."""
    found = (
        await session.execute(
            select(Service).filter_by(medspa_id=medspa_id, library_service_id=library.id)
        )
    ).scalar_one_or_none()
    if found is not None:
        return found
    group = (
        await session.execute(
            select(ServiceGroup).filter_by(medspa_id=medspa_id, library_group_id=library.group_id)
        )
    ).scalar_one_or_none()
    if group is None:
        library_group = await session.get(LibraryServiceGroup, library.group_id)
        assert library_group is not None
        group = ServiceGroup(
            id=uuid.uuid4(),
            medspa_id=medspa_id,
            name=library_group.name,
            library_group_id=library_group.id,
        )
        session.add(group)
        await session.flush()
    service = Service(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        group_id=group.id,
        library_service_id=library.id,
        library_version=library.version,
        name=library.name,
        description=library.description,
        price_cents=library.default_price_cents,
        standing_orders=library.standing_orders,
        active=active,
    )
    session.add(service)
    await session.flush()
    for kind, title, body in library_documents(library):
        document_id = uuid.uuid4()
        session.add(
            ServiceDocument(
                id=document_id,
                medspa_id=medspa_id,
                lineage_id=document_id,
                version=1,
                kind=kind,
                title=title,
                body=body,
                library_service_id=library.id,
            )
        )
        await session.flush()
        session.add(
            ServiceDocumentRequirement(
                medspa_id=medspa_id, service_id=service.id, document_id=document_id
            )
        )
    await session.flush()
    return service


def _reads_library(ctx: Context) -> bool:
    """The library is Portrait's catalogue, for signed-in callers (service_library.read)."""
    return ctx.principal.permissions.allows(Action.SERVICE_LIBRARY_READ)


async def library_services_by_ids(
    ctx: Context, ids: Sequence[uuid.UUID]
) -> list[LibraryService | None]:
    if not _reads_library(ctx):
        return [None for _ in ids]
    return await rows_by_ids(ctx, LibraryService, ids, true())


async def library_services_by_group(
    ctx: Context, group_ids: Sequence[uuid.UUID]
) -> list[list[LibraryService]]:
    if not _reads_library(ctx):
        return [[] for _ in group_ids]
    rows = (
        await ctx.session.execute(
            select(LibraryService)
            .where(LibraryService.group_id.in_(group_ids))
            .order_by(LibraryService.name, LibraryService.id)
        )
    ).scalars()
    grouped: dict[uuid.UUID, list[LibraryService]] = defaultdict(list)
    for row in rows:
        grouped[row.group_id].append(row)
    return [grouped.get(i, []) for i in group_ids]


async def list_library(ctx: Context) -> list[LibraryServiceGroup]:
    ctx.authorize(Action.SERVICE_LIBRARY_READ, resource_type="LibraryService")
    rows = await ctx.session.execute(
        select(LibraryServiceGroup).order_by(LibraryServiceGroup.name, LibraryServiceGroup.id)
    )
    return list(rows.scalars())


async def import_library_services(
    ctx: Context, *, library_service_ids: Sequence[uuid.UUID | None]
) -> list[Service]:
    medspa = await _manageable_medspa(ctx, custom=False)
    if not library_service_ids or any(i is None for i in library_service_ids):
        raise invalid("libraryServiceIds", "Choose library services to import.")
    ids = [i for i in library_service_ids if i is not None]
    library = {
        r.id: r
        for r in (
            await ctx.session.execute(select(LibraryService).where(LibraryService.id.in_(ids)))
        ).scalars()
    }
    if len(library) != len(set(ids)):
        raise invalid("libraryServiceIds", "Unknown library service.")
    already = (
        (
            await ctx.session.execute(
                select(Service.name).where(
                    Service.medspa_id == medspa.id, Service.library_service_id.in_(ids)
                )
            )
        )
        .scalars()
        .all()
    )
    if already:
        raise DomainError(
            Problem(
                DomainErrorCode.ALREADY_IMPORTED,
                f"Already in the catalogue: {', '.join(sorted(already))}.",
                "libraryServiceIds",
            )
        )
    for row in library.values():
        await _name_free(ctx, medspa_id=medspa.id, name=row.name, own_id=None)
    services = [
        await import_into(ctx.session, medspa_id=medspa.id, library=library[i], active=False)
        for i in dict.fromkeys(ids)
    ]
    for service in services:
        _audit(ctx, Action.SERVICE_MANAGE, service, "Service", operation="import")
    return services


@dataclass(frozen=True)
class LibraryDocumentData:
    title: str
    body: str


@dataclass(frozen=True)
class LibraryChanges:
    name: str | None = None
    description: str | None = None
    default_price_cents: int | None = None
    standing_orders: str | None = None
    consents: Sequence[LibraryDocumentData] | None = None
    care_messages: Sequence[LibraryDocumentData] | None = None


def _documents_json(docs: Sequence[LibraryDocumentData], field: str) -> list[dict[str, str]]:
    out = []
    for d in docs:
        try:
            title, body = _check_document(d.title, d.body)
        except DomainError as exc:
            raise invalid(field, exc.problems[0].message) from exc
        out.append({"title": title, "body": body})
    return out


async def create_library_group(
    ctx: Context, *, name: str, description: str | None
) -> LibraryServiceGroup:
    clean = _clean_name(name)
    taken = (
        await ctx.session.execute(
            select(LibraryServiceGroup.id).where(
                func.lower(LibraryServiceGroup.name) == clean.lower()
            )
        )
    ).first()
    if taken is not None:
        raise DomainError(
            Problem(DomainErrorCode.NAME_TAKEN, "A library group with that name exists.", "name")
        )
    group = LibraryServiceGroup(
        id=uuid.uuid4(), name=clean, description=(description or "").strip() or None
    )
    ctx.session.add(group)
    await ctx.session.flush()
    await ctx.session.refresh(group)
    _audit(ctx, Action.SERVICE_LIBRARY_MANAGE, group, "LibraryServiceGroup", operation="create")
    return group


async def create_library_service(
    ctx: Context, *, group_id: uuid.UUID | None, changes: LibraryChanges
) -> LibraryService:
    group = await ctx.session.get(LibraryServiceGroup, group_id) if group_id else None
    if group is None:
        raise invalid("groupId", "Unknown library group.")
    if changes.name is None or changes.default_price_cents is None:
        raise invalid("name", "A name and a default price are required.")
    name = _clean_name(changes.name)
    await _library_name_free(ctx, name=name, own_id=None)
    row = LibraryService(
        id=uuid.uuid4(),
        group_id=group.id,
        name=name,
        description=(changes.description or "").strip() or None,
        default_price_cents=_check_price(changes.default_price_cents),
        standing_orders=(changes.standing_orders or "").strip() or None,
        consents=_documents_json(changes.consents or (), "consents"),
        care_messages=_documents_json(changes.care_messages or (), "careMessages"),
        version=1,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await ctx.session.refresh(row)
    _audit(ctx, Action.SERVICE_LIBRARY_MANAGE, row, "LibraryService", operation="create")
    return row


async def _library_name_free(ctx: Context, *, name: str, own_id: uuid.UUID | None) -> None:
    taken = (
        await ctx.session.execute(
            select(LibraryService.id).where(
                func.lower(LibraryService.name) == name.lower(),
                *([LibraryService.id != own_id] if own_id else []),
            )
        )
    ).first()
    if taken is not None:
        raise DomainError(
            Problem(DomainErrorCode.NAME_TAKEN, "A library service with that name exists.", "name")
        )


async def update_library_service(
    ctx: Context, *, library_service_id: uuid.UUID | None, changes: LibraryChanges
) -> LibraryService:
    """Edit the library; every imported copy follows, keeping its medspa's price."""
    row = await ctx.session.get(LibraryService, library_service_id) if library_service_id else None
    if row is None:
        raise not_found("Library service not found.")
    if changes.name is not None:
        name = _clean_name(changes.name)
        await _library_name_free(ctx, name=name, own_id=row.id)
        clash = (
            (
                await ctx.session.execute(
                    select(Medspa.name)
                    .join(Service, Service.medspa_id == Medspa.id)
                    .where(
                        func.lower(Service.name) == name.lower(),
                        Service.library_service_id.is_distinct_from(row.id),
                        Service.medspa_id.in_(
                            select(Service.medspa_id).where(Service.library_service_id == row.id)
                        ),
                    )
                )
            )
            .scalars()
            .all()
        )
        if clash:
            raise DomainError(
                Problem(
                    DomainErrorCode.NAME_TAKEN,
                    f"Importing medspas already have a service of that name: {', '.join(clash)}.",
                    "name",
                )
            )
        row.name = name
    if changes.description is not None:
        row.description = changes.description.strip() or None
    if changes.standing_orders is not None:
        row.standing_orders = changes.standing_orders.strip() or None
    if changes.default_price_cents is not None:
        row.default_price_cents = _check_price(changes.default_price_cents)
    documents_changed = changes.consents is not None or changes.care_messages is not None
    if changes.consents is not None:
        row.consents = _documents_json(changes.consents, "consents")
    if changes.care_messages is not None:
        row.care_messages = _documents_json(changes.care_messages, "careMessages")
    row.version += 1
    row.updated_at = func.now()
    await ctx.session.flush()
    # The imported copies follow; their price (the medspa's) is left alone.
    await ctx.session.execute(
        update(Service)
        .where(Service.library_service_id == row.id)
        .values(
            name=row.name,
            description=row.description,
            standing_orders=row.standing_orders,
            library_version=row.version,
            updated_at=func.now(),
        )
    )
    if documents_changed:
        await _propagate_documents(ctx, row)
    await ctx.session.refresh(row)
    _audit(
        ctx,
        Action.SERVICE_LIBRARY_MANAGE,
        row,
        "LibraryService",
        operation="update",
        version=row.version,
    )
    return row


async def _propagate_documents(ctx: Context, row: LibraryService) -> None:
    """Each importing medspa gets new versions of the library's documents; old ones stay."""
    imported = list(
        (
            await ctx.session.execute(select(Service).where(Service.library_service_id == row.id))
        ).scalars()
    )
    for service in imported:
        current = list(
            (
                await ctx.session.execute(
                    select(ServiceDocument)
                    .join(
                        ServiceDocumentRequirement,
                        ServiceDocumentRequirement.document_id == ServiceDocument.id,
                    )
                    .where(ServiceDocumentRequirement.service_id == service.id)
                    .order_by(ServiceDocument.created_at, ServiceDocument.title)
                )
            ).scalars()
        )
        by_kind: dict[ServiceDocumentKind, list[ServiceDocument]] = defaultdict(list)
        for d in current:
            by_kind[d.kind].append(d)
        documents: list[ServiceDocument] = []
        position: dict[ServiceDocumentKind, int] = defaultdict(int)
        for kind, title, body in library_documents(row):
            index = position[kind]
            position[kind] += 1
            previous = by_kind[kind][index] if index < len(by_kind[kind]) else None
            if previous is not None and (previous.title, previous.body) == (title, body):
                documents.append(previous)
                continue
            document_id = uuid.uuid4()
            document = ServiceDocument(
                id=document_id,
                medspa_id=service.medspa_id,
                lineage_id=previous.lineage_id if previous else document_id,
                version=previous.version + 1 if previous else 1,
                kind=kind,
                title=title,
                body=body,
                library_service_id=row.id,
                created_by_user_id=ctx.principal.actor_user_id,
            )
            ctx.session.add(document)
            documents.append(document)
        await ctx.session.flush()
        await _require_documents(ctx, service=service, documents=documents)
