"""Providers (practitioners) of a medspa.

Provider configuration: the locations a provider works at and the types they offer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from api.authz.actions import Action
from api.authz.scopes import Anchor, register
from api.errors import DomainErrorCode, invalid
from api.resolvers import location as location_resolvers
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from api.resolvers.scheduling import provider_at_locations, require_scheduling
from db.models import (
    AppointmentType,
    Location,
    Provider,
    ProviderAppointmentType,
    ProviderLocation,
)

if TYPE_CHECKING:
    from api.context import Context
# Anonymous visitors see providers by name only, through the public booking page's own
# type; the full `Provider` type has no PUBLIC rows (credentials, licence stay private).
PUBLIC_ROWS = Provider.active.is_(True)
ANCHOR = register(
    Provider,
    Anchor(medspa=Provider.medspa_id, provider=Provider.id, location=provider_at_locations),
    read=Action.PROVIDER_READ,
)
SORT = SortKey((Provider.display_name, Provider.id), ("display_name", "id"))


async def providers_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Provider | None]:
    return await rows_by_ids(ctx, Provider, ids, ctx.scope(Action.PROVIDER_READ, ANCHOR))


async def providers_by_medspa(
    ctx: Context, keys: Sequence[tuple[uuid.UUID, int | None, str | None]]
) -> list[Page[Provider]]:
    stmt = select(Provider).where(ctx.scope(Action.PROVIDER_READ, ANCHOR))
    return await paginate_grouped(
        ctx.session,
        stmt,
        entity=Provider,
        group_by=Provider.medspa_id,
        group_attribute="medspa_id",
        keys=keys,
        sort=SORT,
    )


async def locations_by_provider(
    ctx: Context, provider_ids: Sequence[uuid.UUID]
) -> list[list[Location]]:
    rows = (
        await ctx.session.execute(
            select(ProviderLocation.provider_id, Location)
            .join(Location, Location.id == ProviderLocation.location_id)
            .where(
                ProviderLocation.provider_id.in_(provider_ids),
                ctx.scope(Action.LOCATION_READ, location_resolvers.ANCHOR),
            )
            .order_by(Location.name, Location.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[Location]] = defaultdict(list)
    for provider_id, row in rows:
        grouped[provider_id].append(row)
    return [grouped.get(i, []) for i in provider_ids]


async def providers_by_location(
    ctx: Context, location_ids: Sequence[uuid.UUID]
) -> list[list[Provider]]:
    rows = (
        await ctx.session.execute(
            select(ProviderLocation.location_id, Provider)
            .join(Provider, Provider.id == ProviderLocation.provider_id)
            .where(
                ProviderLocation.location_id.in_(location_ids),
                ctx.scope(Action.PROVIDER_READ, ANCHOR),
            )
            .order_by(Provider.display_name, Provider.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[Provider]] = defaultdict(list)
    for location_id, row in rows:
        grouped[location_id].append(row)
    return [grouped.get(i, []) for i in location_ids]


async def configure_provider(
    ctx: Context,
    *,
    provider_id: uuid.UUID | None,
    location_ids: Sequence[uuid.UUID | None] | None,
    appointment_type_ids: Sequence[uuid.UUID | None] | None,
) -> Provider:
    """Replace the provider's locations and/or offered types (None leaves one as is).

    Removing a location also removes the provider's weekly hours there (foreign key cascade).
    """
    provider: Provider = await ctx.find(Provider, provider_id, Action.PROVIDER_CONFIGURE)
    await require_scheduling(ctx, provider.medspa_id)
    if location_ids is not None:
        wanted = await _ids_in_medspa(ctx, Location, location_ids, provider, "locationIds")
        await ctx.session.execute(
            delete(ProviderLocation).where(
                ProviderLocation.provider_id == provider.id,
                ProviderLocation.location_id.not_in(wanted),
            )
        )
        existing = set(
            (
                await ctx.session.execute(
                    select(ProviderLocation.location_id).where(
                        ProviderLocation.provider_id == provider.id
                    )
                )
            ).scalars()
        )
        ctx.session.add_all(
            ProviderLocation(medspa_id=provider.medspa_id, provider_id=provider.id, location_id=i)
            for i in sorted(wanted - existing)
        )
    if appointment_type_ids is not None:
        wanted = await _ids_in_medspa(
            ctx, AppointmentType, appointment_type_ids, provider, "appointmentTypeIds"
        )
        await ctx.session.execute(
            delete(ProviderAppointmentType).where(
                ProviderAppointmentType.provider_id == provider.id
            )
        )
        ctx.session.add_all(
            ProviderAppointmentType(
                medspa_id=provider.medspa_id, provider_id=provider.id, appointment_type_id=i
            )
            for i in sorted(wanted)
        )
    await ctx.session.flush()
    ctx.allowed(
        Action.PROVIDER_CONFIGURE,
        resource_type="Provider",
        resource_id=provider.id,
        medspa_id=provider.medspa_id,
        detail={
            "locationIds": None if location_ids is None else [str(i) for i in location_ids],
            "appointmentTypeIds": (
                None if appointment_type_ids is None else [str(i) for i in appointment_type_ids]
            ),
        },
    )
    return provider


async def _ids_in_medspa(
    ctx: Context,
    model: type[Location] | type[AppointmentType],
    ids: Sequence[uuid.UUID | None],
    provider: Provider,
    field: str,
) -> set[uuid.UUID]:
    wanted = set(ids)
    if None in wanted:
        raise invalid(field, "Unknown id.", code=DomainErrorCode.NOT_FOUND)
    found = set(
        (
            await ctx.session.execute(
                select(model.id).where(
                    model.id.in_([i for i in wanted if i is not None]),
                    model.medspa_id == provider.medspa_id,
                )
            )
        ).scalars()
    )
    if found != wanted:
        raise invalid(field, "Unknown id.", code=DomainErrorCode.NOT_FOUND)
    return found
