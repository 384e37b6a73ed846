"""Services: Portrait's library (platform admins) and each medspa's catalogue (its admins).

- Library rows belong to no medspa; `service_library.manage` (platform admins) writes them,
  and every edit reaches the services imported from it, except their price.
- A medspa imports library services (only the price is then the medspa's to edit; anything
  else is `LIBRARY_FIELD_LOCKED`), activates and deactivates them, and on LAUNCH/FLEX creates
  custom groups, services, consents and care messages (LEGACY: `FEATURE_UNAVAILABLE`).
- Consents and care messages are versioned: revising one adds a row to its lineage; a
  service requires exact versions, so old versions stay as they were signed.
- Only active services can be requested, cleared, charted or linked to appointment types.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, select, true, update

from api.authz.actions import Action, Scope
from api.authz.scopes import Anchor
from api.errors import ApiError, DomainError, ErrorCode, Problem, invalid, not_found
from api.resolvers import appointment_type as appointment_type_resolvers
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.scheduling import FEATURE_UNAVAILABLE, find_for_action, require_scheduling
from db.models import (
    AppointmentType,
    AppointmentTypeService,
    AuditOutcome,
    BusinessModel,
    LibraryService,
    LibraryServiceGroup,
    Medspa,
    Service,
    ServiceDocument,
    ServiceDocumentKind,
    ServiceDocumentRequirement,
    ServiceGroup,
)
from db.seed.services import import_into, library_documents

if TYPE_CHECKING:
    from api.context import Context

LIBRARY_FIELD_LOCKED = "LIBRARY_FIELD_LOCKED"
SERVICE_INACTIVE = "SERVICE_INACTIVE"

ANCHOR = Anchor(medspa=Service.medspa_id, public=Service.active.is_(True))
GROUP_ANCHOR = Anchor(
    medspa=ServiceGroup.medspa_id,
    public=exists().where(Service.group_id == ServiceGroup.id, Service.active.is_(True)),
)
DOCUMENT_ANCHOR = Anchor(medspa=ServiceDocument.medspa_id)
SORT = SortKey((Service.name, Service.id), ("name", "id"))
DOCUMENT_SORT = SortKey(
    (ServiceDocument.title, ServiceDocument.version, ServiceDocument.id),
    ("title", "version", "id"),
)


# --- reads --------------------------------------------------------------------------------


async def services_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Service | None]:
    return await rows_by_ids(ctx, Service, ids, ctx.scope(Action.SERVICE_READ, ANCHOR))


async def groups_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[ServiceGroup | None]:
    return await rows_by_ids(ctx, ServiceGroup, ids, ctx.scope(Action.SERVICE_READ, GROUP_ANCHOR))


async def documents_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[ServiceDocument | None]:
    clause = ctx.scope(Action.SERVICE_READ, DOCUMENT_ANCHOR)
    return await rows_by_ids(ctx, ServiceDocument, ids, clause)


def _reads_library(ctx: Context) -> bool:
    """The library is Portrait's catalogue: any signed-in caller who reads services sees it."""
    scope = ctx.principal.scope(Action.SERVICE_READ)
    return (scope is not None and scope is not Scope.PUBLIC) or ctx.principal.permissions.allows(
        Action.SERVICE_LIBRARY_MANAGE
    )


async def library_services_by_ids(
    ctx: Context, ids: Sequence[uuid.UUID]
) -> list[LibraryService | None]:
    if not _reads_library(ctx):
        return [None for _ in ids]
    return await rows_by_ids(ctx, LibraryService, ids, true())


async def services_by_group(ctx: Context, group_ids: Sequence[uuid.UUID]) -> list[list[Service]]:
    rows = (
        await ctx.session.execute(
            select(Service)
            .where(Service.group_id.in_(group_ids), ctx.scope(Action.SERVICE_READ, ANCHOR))
            .order_by(Service.name, Service.id)
        )
    ).scalars()
    grouped: dict[uuid.UUID, list[Service]] = defaultdict(list)
    for row in rows:
        grouped[row.group_id].append(row)
    return [grouped.get(i, []) for i in group_ids]


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


async def services_by_appointment_type(
    ctx: Context, type_ids: Sequence[uuid.UUID]
) -> list[list[Service]]:
    rows = (
        await ctx.session.execute(
            select(AppointmentTypeService.appointment_type_id, Service)
            .join(Service, Service.id == AppointmentTypeService.service_id)
            .where(
                AppointmentTypeService.appointment_type_id.in_(type_ids),
                ctx.scope(Action.SERVICE_READ, ANCHOR),
            )
            .order_by(Service.name, Service.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[Service]] = defaultdict(list)
    for type_id, service in rows:
        grouped[type_id].append(service)
    return [grouped.get(i, []) for i in type_ids]


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


async def list_services(
    ctx: Context,
    *,
    active_only: bool,
    group_id: uuid.UUID | None,
    first: int | None,
    after: str | None,
) -> Page[Service]:
    ctx.authorize(Action.SERVICE_READ)
    stmt = select(Service).where(ctx.scope(Action.SERVICE_READ, ANCHOR))
    if active_only:
        stmt = stmt.where(Service.active.is_(True))
    if group_id is not None:
        stmt = stmt.where(Service.group_id == group_id)
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


async def list_groups(ctx: Context) -> list[ServiceGroup]:
    ctx.authorize(Action.SERVICE_READ)
    rows = await ctx.session.execute(
        select(ServiceGroup)
        .where(ctx.scope(Action.SERVICE_READ, GROUP_ANCHOR))
        .order_by(ServiceGroup.name, ServiceGroup.id)
        .limit(500)
    )
    return list(rows.scalars())


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


async def list_library(ctx: Context) -> list[LibraryServiceGroup]:
    if not _reads_library(ctx):
        # Route the refusal through the one audited check (anonymous: UNAUTHENTICATED).
        if ctx.principal.scope(Action.SERVICE_READ) is Scope.PUBLIC:
            ctx.audit(
                Action.SERVICE_READ.value,
                AuditOutcome.DENIED,
                resource_type="LibraryService",
                detail={"reason": "the library is for signed-in callers"},
            )
            raise ApiError(ErrorCode.UNAUTHENTICATED, "Authentication required.")
        ctx.authorize(Action.SERVICE_LIBRARY_MANAGE, resource_type="LibraryService")
    rows = await ctx.session.execute(
        select(LibraryServiceGroup).order_by(LibraryServiceGroup.name, LibraryServiceGroup.id)
    )
    return list(rows.scalars())


# --- checks shared by the writes ----------------------------------------------------------


async def active_services(
    ctx: Context, *, medspa_id: uuid.UUID, service_ids: Sequence[uuid.UUID | None], field: str
) -> list[Service]:
    """The medspa's services named, all active; otherwise a domain error naming `field`."""
    if not service_ids:
        raise invalid(field, "Choose at least one service.")
    if any(i is None for i in service_ids) or len(set(service_ids)) != len(service_ids):
        raise invalid(field, "Unknown or repeated service.")
    rows = list(
        (
            await ctx.session.execute(
                select(Service).where(
                    Service.id.in_([i for i in service_ids if i is not None]),
                    Service.medspa_id == medspa_id,
                )
            )
        ).scalars()
    )
    if len(rows) != len(service_ids):
        raise invalid(field, "Unknown service.")
    inactive = [r.name for r in rows if not r.active]
    if inactive:
        raise DomainError(
            Problem(SERVICE_INACTIVE, f"Not active: {', '.join(sorted(inactive))}.", field)
        )
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in service_ids if i is not None]


async def _manageable_medspa(ctx: Context, *, custom: bool) -> Medspa:
    """The active medspa of a `service.manage` write; custom catalogue needs LAUNCH/FLEX."""
    ctx.authorize(
        Action.SERVICE_MANAGE, resource_type="Medspa", resource_id=ctx.principal.medspa_id
    )
    medspa = (
        await ctx.session.get(Medspa, ctx.principal.medspa_id) if ctx.principal.medspa_id else None
    )
    if medspa is None:
        raise not_found("Medspa not found.")
    if custom:
        _require_custom(medspa)
    return medspa


def _require_custom(medspa: Medspa) -> None:
    if medspa.business_model is BusinessModel.LEGACY:
        raise DomainError(
            Problem(
                FEATURE_UNAVAILABLE,
                "LEGACY medspas offer Portrait library services only.",
            )
        )


async def _find_service(ctx: Context, service_id: uuid.UUID | None) -> Service:
    ctx.authorize(Action.SERVICE_MANAGE, resource_type="Service", resource_id=service_id)
    row: Service = await find_for_action(
        ctx,
        model=Service,
        row_id=service_id,
        action=Action.SERVICE_MANAGE,
        anchor=ANCHOR,
        read_action=Action.SERVICE_READ,
        read_anchor=ANCHOR,
        resource_type="Service",
    )
    return row


def _clean_name(value: str, field: str = "name", limit: int = 120) -> str:
    name = value.strip()
    if not name or len(name) > limit:
        raise invalid(field, f"1 to {limit} characters.")
    return name


def _check_price(value: int) -> int:
    if value < 0 or value > 10_000_000:
        raise invalid("priceCents", "A price from 0 to 100,000.00.")
    return value


async def _name_free(
    ctx: Context, *, medspa_id: uuid.UUID, name: str, own_id: uuid.UUID | None
) -> None:
    taken = (
        await ctx.session.execute(
            select(Service.id).where(
                Service.medspa_id == medspa_id,
                func.lower(Service.name) == name.lower(),
                *([Service.id != own_id] if own_id else []),
            )
        )
    ).first()
    if taken is not None:
        raise DomainError(Problem("NAME_TAKEN", "A service with that name exists.", "name"))


async def _group_of(
    ctx: Context, *, medspa_id: uuid.UUID, group_id: uuid.UUID | None
) -> ServiceGroup:
    group = (
        (
            await ctx.session.execute(
                select(ServiceGroup).where(
                    ServiceGroup.id == group_id, ServiceGroup.medspa_id == medspa_id
                )
            )
        ).scalar_one_or_none()
        if group_id
        else None
    )
    if group is None:
        raise invalid("groupId", "Unknown service group.")
    return group


async def _documents_of(
    ctx: Context, *, medspa_id: uuid.UUID, document_ids: Sequence[uuid.UUID | None]
) -> list[ServiceDocument]:
    if any(i is None for i in document_ids) or len(set(document_ids)) != len(document_ids):
        raise invalid("documentIds", "Unknown or repeated document.")
    rows = list(
        (
            await ctx.session.execute(
                select(ServiceDocument).where(
                    ServiceDocument.id.in_([i for i in document_ids if i is not None]),
                    ServiceDocument.medspa_id == medspa_id,
                )
            )
        ).scalars()
    )
    if len(rows) != len(document_ids):
        raise invalid("documentIds", "Unknown document.")
    if len({r.lineage_id for r in rows}) != len(rows):
        raise invalid("documentIds", "A service requires one version of each document.")
    return rows


async def _require_documents(
    ctx: Context, *, service: Service, documents: Sequence[ServiceDocument]
) -> None:
    await ctx.session.execute(
        delete(ServiceDocumentRequirement).where(
            ServiceDocumentRequirement.service_id == service.id
        )
    )
    ctx.session.add_all(
        ServiceDocumentRequirement(
            medspa_id=service.medspa_id, service_id=service.id, document_id=d.id
        )
        for d in documents
    )
    await ctx.session.flush()


def _audit(ctx: Context, action: Action, row: Any, resource_type: str, **detail: Any) -> None:
    ctx.audit(
        action.value,
        AuditOutcome.ALLOWED,
        resource_type=resource_type,
        resource_id=row.id,
        medspa_id=getattr(row, "medspa_id", None),
        detail=detail or None,
    )


# --- medspa catalogue writes --------------------------------------------------------------


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
                "ALREADY_IMPORTED",
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
class ServiceChanges:
    """Fields to set; None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    price_cents: int | None = None
    standing_orders: str | None = None
    group_id: uuid.UUID | None = None


LOCKABLE_FIELDS = {
    "name": "name",
    "description": "description",
    "standing_orders": "standingOrders",
    "group_id": "groupId",
}


async def update_service(
    ctx: Context, *, service_id: uuid.UUID | None, changes: ServiceChanges
) -> Service:
    service = await _find_service(ctx, service_id)
    if service.imported:
        locked = [
            Problem(
                LIBRARY_FIELD_LOCKED,
                "Library services follow Portrait's library; only the price is yours to set.",
                graphql_name,
            )
            for attribute, graphql_name in LOCKABLE_FIELDS.items()
            if getattr(changes, attribute) is not None
        ]
        if locked:
            raise DomainError(*locked)
    else:
        medspa = await ctx.session.get(Medspa, service.medspa_id)
        assert medspa is not None
        _require_custom(medspa)
    if changes.name is not None:
        name = _clean_name(changes.name)
        await _name_free(ctx, medspa_id=service.medspa_id, name=name, own_id=service.id)
        service.name = name
    if changes.description is not None:
        service.description = changes.description.strip() or None
    if changes.standing_orders is not None:
        service.standing_orders = changes.standing_orders.strip() or None
    if changes.group_id is not None:
        group = await _group_of(ctx, medspa_id=service.medspa_id, group_id=changes.group_id)
        service.group_id = group.id
    if changes.price_cents is not None:
        service.price_cents = _check_price(changes.price_cents)
    service.updated_at = func.now()
    await ctx.session.flush()
    await ctx.session.refresh(service)
    _audit(ctx, Action.SERVICE_MANAGE, service, "Service", operation="update")
    return service


async def set_service_active(
    ctx: Context, *, service_id: uuid.UUID | None, active: bool
) -> Service:
    service = await _find_service(ctx, service_id)
    if service.active is not active:
        service.active = active
        await ctx.session.flush()
    _audit(
        ctx,
        Action.SERVICE_MANAGE,
        service,
        "Service",
        operation="activate" if active else "deactivate",
    )
    return service


async def create_service_group(ctx: Context, *, name: str) -> ServiceGroup:
    medspa = await _manageable_medspa(ctx, custom=True)
    clean = _clean_name(name)
    taken = (
        await ctx.session.execute(
            select(ServiceGroup.id).where(
                ServiceGroup.medspa_id == medspa.id,
                func.lower(ServiceGroup.name) == clean.lower(),
            )
        )
    ).first()
    if taken is not None:
        raise DomainError(Problem("NAME_TAKEN", "A group with that name exists.", "name"))
    group = ServiceGroup(id=uuid.uuid4(), medspa_id=medspa.id, name=clean)
    ctx.session.add(group)
    await ctx.session.flush()
    await ctx.session.refresh(group)
    _audit(ctx, Action.SERVICE_MANAGE, group, "ServiceGroup", operation="create_group")
    return group


@dataclass(frozen=True)
class NewService:
    group_id: uuid.UUID | None
    name: str
    price_cents: int
    description: str | None = None
    standing_orders: str | None = None
    document_ids: Sequence[uuid.UUID | None] = ()


async def create_service(ctx: Context, *, data: NewService) -> Service:
    medspa = await _manageable_medspa(ctx, custom=True)
    group = await _group_of(ctx, medspa_id=medspa.id, group_id=data.group_id)
    name = _clean_name(data.name)
    await _name_free(ctx, medspa_id=medspa.id, name=name, own_id=None)
    documents = await _documents_of(ctx, medspa_id=medspa.id, document_ids=data.document_ids)
    service = Service(
        id=uuid.uuid4(),
        medspa_id=medspa.id,
        group_id=group.id,
        name=name,
        description=(data.description or "").strip() or None,
        price_cents=_check_price(data.price_cents),
        standing_orders=(data.standing_orders or "").strip() or None,
        active=False,
    )
    ctx.session.add(service)
    await ctx.session.flush()
    await _require_documents(ctx, service=service, documents=documents)
    await ctx.session.refresh(service)
    _audit(ctx, Action.SERVICE_MANAGE, service, "Service", operation="create")
    return service


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
    ctx.authorize(Action.SERVICE_MANAGE, resource_type="ServiceDocument", resource_id=document_id)
    previous: ServiceDocument = await find_for_action(
        ctx,
        model=ServiceDocument,
        row_id=document_id,
        action=Action.SERVICE_MANAGE,
        anchor=DOCUMENT_ANCHOR,
        read_action=Action.SERVICE_READ,
        read_anchor=DOCUMENT_ANCHOR,
        resource_type="ServiceDocument",
    )
    if previous.library_service_id is not None:
        raise DomainError(
            Problem(LIBRARY_FIELD_LOCKED, "Library documents follow Portrait's library.", "id")
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
                LIBRARY_FIELD_LOCKED,
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


async def set_appointment_type_services(
    ctx: Context,
    *,
    appointment_type_id: uuid.UUID | None,
    service_ids: Sequence[uuid.UUID | None],
) -> AppointmentType:
    """The services an appointment type delivers (active ones only); may be none."""
    ctx.authorize(
        Action.APPOINTMENT_TYPE_MANAGE,
        resource_type="AppointmentType",
        resource_id=appointment_type_id,
    )
    row: AppointmentType = await find_for_action(
        ctx,
        model=AppointmentType,
        row_id=appointment_type_id,
        action=Action.APPOINTMENT_TYPE_MANAGE,
        anchor=appointment_type_resolvers.ANCHOR,
        read_action=Action.APPOINTMENT_TYPE_READ,
        read_anchor=appointment_type_resolvers.ANCHOR,
        resource_type="AppointmentType",
    )
    await require_scheduling(ctx, row.medspa_id)
    services = (
        await active_services(
            ctx, medspa_id=row.medspa_id, service_ids=service_ids, field="serviceIds"
        )
        if service_ids
        else []
    )
    await ctx.session.execute(
        delete(AppointmentTypeService).where(AppointmentTypeService.appointment_type_id == row.id)
    )
    ctx.session.add_all(
        AppointmentTypeService(medspa_id=row.medspa_id, appointment_type_id=row.id, service_id=s.id)
        for s in services
    )
    await ctx.session.flush()
    _audit(
        ctx,
        Action.APPOINTMENT_TYPE_MANAGE,
        row,
        "AppointmentType",
        operation="set_services",
        serviceIds=[str(s.id) for s in services],
    )
    return row


# --- library writes (platform admins) -----------------------------------------------------


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
    ctx.authorize(Action.SERVICE_LIBRARY_MANAGE, resource_type="LibraryServiceGroup")
    clean = _clean_name(name)
    taken = (
        await ctx.session.execute(
            select(LibraryServiceGroup.id).where(
                func.lower(LibraryServiceGroup.name) == clean.lower()
            )
        )
    ).first()
    if taken is not None:
        raise DomainError(Problem("NAME_TAKEN", "A library group with that name exists.", "name"))
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
    ctx.authorize(Action.SERVICE_LIBRARY_MANAGE, resource_type="LibraryService")
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
        raise DomainError(Problem("NAME_TAKEN", "A library service with that name exists.", "name"))


async def update_library_service(
    ctx: Context, *, library_service_id: uuid.UUID | None, changes: LibraryChanges
) -> LibraryService:
    """Edit the library; every imported copy follows, keeping its medspa's price."""
    ctx.authorize(
        Action.SERVICE_LIBRARY_MANAGE,
        resource_type="LibraryService",
        resource_id=library_service_id,
    )
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
                    "NAME_TAKEN",
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
