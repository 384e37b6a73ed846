"""Services: each medspa's catalogue (its admins). Portrait's library lives in
`service_library`, consents and care messages in `service_document`.

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

from sqlalchemy import delete, exists, func, select

from api.authz.actions import Action
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.scheduling import require_scheduling
from db.models import (
    AppointmentType,
    AppointmentTypeService,
    BusinessModel,
    Medspa,
    Service,
    ServiceDocument,
    ServiceDocumentRequirement,
    ServiceGroup,
)

if TYPE_CHECKING:
    from api.context import Context


ANCHOR = register(
    Service,
    Anchor(medspa=Service.medspa_id, public=Service.active.is_(True)),
    read=Action.SERVICE_READ,
)
GROUP_ANCHOR = Anchor(
    medspa=ServiceGroup.medspa_id,
    public=exists().where(Service.group_id == ServiceGroup.id, Service.active.is_(True)),
)
DOCUMENT_ANCHOR = register(
    ServiceDocument,
    Anchor(medspa=ServiceDocument.medspa_id),
    read=Action.SERVICE_READ,
)
SORT = SortKey((Service.name, Service.id), ("name", "id"))


# --- reads --------------------------------------------------------------------------------


async def services_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Service | None]:
    return await rows_by_ids(ctx, Service, ids, ctx.scope(Action.SERVICE_READ, ANCHOR))


async def groups_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[ServiceGroup | None]:
    return await rows_by_ids(ctx, ServiceGroup, ids, ctx.scope(Action.SERVICE_READ, GROUP_ANCHOR))


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
            Problem(
                DomainErrorCode.SERVICE_INACTIVE,
                f"Not active: {', '.join(sorted(inactive))}.",
                field,
            )
        )
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in service_ids if i is not None]


async def _manageable_medspa(ctx: Context, *, custom: bool) -> Medspa:
    """The active medspa of a `service.manage` write; custom catalogue needs LAUNCH/FLEX."""
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
                DomainErrorCode.FEATURE_UNAVAILABLE,
                "LEGACY medspas offer Portrait library services only.",
            )
        )


async def _find_service(ctx: Context, service_id: uuid.UUID | None) -> Service:
    row: Service = await ctx.find(Service, service_id, Action.SERVICE_MANAGE)
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
        raise DomainError(
            Problem(DomainErrorCode.NAME_TAKEN, "A service with that name exists.", "name")
        )


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
    ctx.allowed(
        action,
        resource_type=resource_type,
        resource_id=row.id,
        medspa_id=getattr(row, "medspa_id", None),
        detail=detail or None,
    )


# --- medspa catalogue writes --------------------------------------------------------------


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
                DomainErrorCode.LIBRARY_FIELD_LOCKED,
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
        raise DomainError(
            Problem(DomainErrorCode.NAME_TAKEN, "A group with that name exists.", "name")
        )
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


async def set_appointment_type_services(
    ctx: Context,
    *,
    appointment_type_id: uuid.UUID | None,
    service_ids: Sequence[uuid.UUID | None],
) -> AppointmentType:
    """The services an appointment type delivers (active ones only); may be none."""
    row: AppointmentType = await ctx.find(
        AppointmentType, appointment_type_id, Action.APPOINTMENT_TYPE_MANAGE
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
