"""Appointment types: the bookable catalogue of a medspa, its locations and its providers."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import aliased

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.resolvers import location as location_resolvers
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from api.resolvers.scheduling import require_scheduling, tenant_of
from api.resolvers.scheduling_settings import settings_of
from db.models import (
    AppointmentType,
    AppointmentTypeLocation,
    Location,
    ProviderAppointmentType,
)

if TYPE_CHECKING:
    from api.context import Context


def _offered_at_locations(principal: Principal) -> ColumnElement[bool]:
    # An alias, correlated to the type only: the outer query may join the same table.
    offered = aliased(AppointmentTypeLocation)
    return (
        exists()
        .where(
            offered.medspa_id == AppointmentType.medspa_id,
            offered.appointment_type_id == AppointmentType.id,
            offered.location_id.in_(sorted(principal.location_ids or ())),
        )
        .correlate_except(offered)
    )


ANCHOR = register(
    AppointmentType,
    Anchor(
        medspa=AppointmentType.medspa_id,
        public=AppointmentType.active.is_(True) & AppointmentType.archived_at.is_(None),
        # A key limited to locations reaches the types offered at one of them.
        location=_offered_at_locations,
    ),
    read=Action.APPOINTMENT_TYPE_READ,
)
SORT = SortKey((AppointmentType.name, AppointmentType.id), ("name", "id"))


async def appointment_types_by_ids(
    ctx: Context, ids: Sequence[uuid.UUID]
) -> list[AppointmentType | None]:
    return await rows_by_ids(
        ctx, AppointmentType, ids, ctx.scope(Action.APPOINTMENT_TYPE_READ, ANCHOR)
    )


async def appointment_types_by_medspa(
    ctx: Context, keys: Sequence[tuple[uuid.UUID, int | None, str | None]]
) -> list[Page[AppointmentType]]:
    stmt = select(AppointmentType).where(ctx.scope(Action.APPOINTMENT_TYPE_READ, ANCHOR))
    return await paginate_grouped(
        ctx.session,
        stmt,
        entity=AppointmentType,
        group_by=AppointmentType.medspa_id,
        group_attribute="medspa_id",
        keys=keys,
        sort=SORT,
    )


async def appointment_types_by_location(
    ctx: Context, location_ids: Sequence[uuid.UUID]
) -> list[list[AppointmentType]]:
    rows = (
        await ctx.session.execute(
            select(AppointmentTypeLocation.location_id, AppointmentType)
            .join(
                AppointmentType, AppointmentType.id == AppointmentTypeLocation.appointment_type_id
            )
            .where(
                AppointmentTypeLocation.location_id.in_(location_ids),
                ctx.scope(Action.APPOINTMENT_TYPE_READ, ANCHOR),
            )
            .order_by(AppointmentType.name, AppointmentType.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[AppointmentType]] = defaultdict(list)
    for location_id, row in rows:
        grouped[location_id].append(row)
    return [grouped.get(i, []) for i in location_ids]


async def appointment_types_by_provider(
    ctx: Context, provider_ids: Sequence[uuid.UUID]
) -> list[list[AppointmentType]]:
    rows = (
        await ctx.session.execute(
            select(ProviderAppointmentType.provider_id, AppointmentType)
            .join(
                AppointmentType, AppointmentType.id == ProviderAppointmentType.appointment_type_id
            )
            .where(
                ProviderAppointmentType.provider_id.in_(provider_ids),
                ctx.scope(Action.APPOINTMENT_TYPE_READ, ANCHOR),
            )
            .order_by(AppointmentType.name, AppointmentType.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[AppointmentType]] = defaultdict(list)
    for provider_id, row in rows:
        grouped[provider_id].append(row)
    return [grouped.get(i, []) for i in provider_ids]


async def locations_by_appointment_type(
    ctx: Context, type_ids: Sequence[uuid.UUID]
) -> list[list[Location]]:
    rows = (
        await ctx.session.execute(
            select(AppointmentTypeLocation.appointment_type_id, Location)
            .join(Location, Location.id == AppointmentTypeLocation.location_id)
            .where(
                AppointmentTypeLocation.appointment_type_id.in_(type_ids),
                ctx.scope(Action.LOCATION_READ, location_resolvers.ANCHOR),
            )
            .order_by(Location.name, Location.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[Location]] = defaultdict(list)
    for type_id, row in rows:
        grouped[type_id].append(row)
    return [grouped.get(i, []) for i in type_ids]


# --- writes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentTypeChanges:
    """Fields to set; None means "leave as is" (create requires the non-optional ones)."""

    name: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    price_cents: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    deposit_cents: int | None = None
    cancellation_fee_cents: int | None = None
    clear_deposit: bool = False
    clear_cancellation_fee: bool = False
    location_ids: Sequence[uuid.UUID | None] | None = None


async def _check(ctx: Context, row: AppointmentType, changes: AppointmentTypeChanges) -> None:
    if changes.name is not None:
        name = changes.name.strip()
        if not name or len(name) > 120:
            raise invalid("name", "Name must be 1 to 120 characters.")
        taken = (
            await ctx.session.execute(
                select(AppointmentType.id).where(
                    AppointmentType.medspa_id == row.medspa_id,
                    AppointmentType.name == name,
                    AppointmentType.id != row.id,
                )
            )
        ).first()
        if taken is not None:
            raise DomainError(
                Problem(DomainErrorCode.NAME_TAKEN, "A type with that name exists.", "name")
            )
        row.name = name
    if changes.description is not None:
        row.description = changes.description.strip() or None
    if changes.duration_minutes is not None:
        if not 5 <= changes.duration_minutes <= 720 or changes.duration_minutes % 5:
            raise invalid("durationMinutes", "A multiple of 5 minutes, from 5 to 720.")
        row.duration_minutes = changes.duration_minutes
    if changes.price_cents is not None:
        if changes.price_cents < 0:
            raise invalid("priceCents", "The price cannot be negative.")
        row.price_cents = changes.price_cents
    for attribute, field in (
        ("buffer_before_minutes", "bufferBeforeMinutes"),
        ("buffer_after_minutes", "bufferAfterMinutes"),
    ):
        value = getattr(changes, attribute)
        if value is not None:
            if not 0 <= value <= 240:
                raise invalid(field, "Buffers are 0 to 240 minutes.")
            setattr(row, attribute, value)
    settings = await settings_of(ctx, row.medspa_id)
    if changes.clear_deposit:
        row.deposit_cents = None
    elif changes.deposit_cents is not None:
        if not settings.deposits_enabled:
            raise invalid("depositCents", "Deposits are off in this medspa's scheduling settings.")
        if changes.deposit_cents < 0:
            raise invalid("depositCents", "The deposit cannot be negative.")
        row.deposit_cents = changes.deposit_cents
    if changes.clear_cancellation_fee:
        row.cancellation_fee_cents = None
    elif changes.cancellation_fee_cents is not None:
        if not settings.cancellation_fees_enabled:
            raise invalid(
                "cancellationFeeCents",
                "Cancellation fees are off in this medspa's scheduling settings.",
            )
        if changes.cancellation_fee_cents < 0:
            raise invalid("cancellationFeeCents", "The fee cannot be negative.")
        row.cancellation_fee_cents = changes.cancellation_fee_cents
    if row.deposit_cents is not None and row.deposit_cents > row.price_cents:
        raise invalid("depositCents", "The deposit cannot exceed the price.")


async def _set_locations(
    ctx: Context, row: AppointmentType, location_ids: Sequence[uuid.UUID | None]
) -> None:
    wanted = set(location_ids)
    if None in wanted:
        raise invalid("locationIds", "Unknown location id.", code=DomainErrorCode.NOT_FOUND)
    found = set(
        (
            await ctx.session.execute(
                select(Location.id).where(
                    Location.id.in_([i for i in wanted if i is not None]),
                    Location.medspa_id == row.medspa_id,
                )
            )
        ).scalars()
    )
    if found != wanted:
        raise invalid("locationIds", "Unknown location id.", code=DomainErrorCode.NOT_FOUND)
    await ctx.session.execute(
        delete(AppointmentTypeLocation).where(AppointmentTypeLocation.appointment_type_id == row.id)
    )
    ctx.session.add_all(
        AppointmentTypeLocation(medspa_id=row.medspa_id, appointment_type_id=row.id, location_id=i)
        for i in sorted(found)
    )


async def create_appointment_type(
    ctx: Context, *, changes: AppointmentTypeChanges
) -> AppointmentType:
    medspa_id = tenant_of(ctx)
    await require_scheduling(ctx, medspa_id)
    for value, field in (
        (changes.name, "name"),
        (changes.duration_minutes, "durationMinutes"),
        (changes.price_cents, "priceCents"),
    ):
        if value is None:
            raise invalid(field, "Required when creating a type.")
    row = AppointmentType(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        active=True,
    )
    await _check(ctx, row, changes)
    ctx.session.add(row)
    await ctx.session.flush()
    if changes.location_ids is not None:
        await _set_locations(ctx, row, changes.location_ids)
        await ctx.session.flush()
    ctx.allowed(
        Action.APPOINTMENT_TYPE_MANAGE,
        resource_type="AppointmentType",
        resource_id=row.id,
        detail={"operation": "create"},
    )
    return row


async def _managed_type(ctx: Context, type_id: uuid.UUID | None) -> AppointmentType:
    row: AppointmentType = await ctx.find(AppointmentType, type_id, Action.APPOINTMENT_TYPE_MANAGE)
    await require_scheduling(ctx, row.medspa_id)
    return row


async def update_appointment_type(
    ctx: Context, *, type_id: uuid.UUID | None, changes: AppointmentTypeChanges
) -> AppointmentType:
    row = await _managed_type(ctx, type_id)
    await _check(ctx, row, changes)
    if changes.location_ids is not None:
        await _set_locations(ctx, row, changes.location_ids)
    await ctx.session.flush()
    ctx.allowed(
        Action.APPOINTMENT_TYPE_MANAGE,
        resource_type="AppointmentType",
        resource_id=row.id,
        detail={"operation": "update"},
    )
    return row


async def set_appointment_type_state(
    ctx: Context, *, type_id: uuid.UUID | None, active: bool | None, archived: bool | None
) -> AppointmentType:
    """Activate/deactivate (hidden from booking) or archive/unarchive (retired) a type."""
    row = await _managed_type(ctx, type_id)
    if active is not None:
        row.active = active
    if archived is not None:
        row.archived_at = (row.archived_at or datetime.now(UTC)) if archived else None
    await ctx.session.flush()
    ctx.allowed(
        Action.APPOINTMENT_TYPE_MANAGE,
        resource_type="AppointmentType",
        resource_id=row.id,
        detail={
            "operation": "set_state",
            "active": row.active,
            "archived": row.archived_at is not None,
        },
    )
    return row
