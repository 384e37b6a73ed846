"""Locations of a medspa; active ones with a booking slug are public."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from db.models import Location

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(
    medspa=Location.medspa_id,
    public=Location.active_for_scheduling.is_(True) & Location.booking_slug.is_not(None),
)
SORT = SortKey((Location.name, Location.id), ("name", "id"))


async def locations_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Location | None]:
    return await rows_by_ids(ctx, Location, ids, ctx.scope(Action.LOCATION_READ, ANCHOR))


async def locations_by_medspa(
    ctx: Context, keys: Sequence[tuple[uuid.UUID, int | None, str | None]]
) -> list[Page[Location]]:
    """Location pages for many medspas in one statement per distinct (first, after)."""
    stmt = select(Location).where(ctx.scope(Action.LOCATION_READ, ANCHOR))
    return await paginate_grouped(
        ctx.session,
        stmt,
        entity=Location,
        group_by=Location.medspa_id,
        group_attribute="medspa_id",
        keys=keys,
        sort=SORT,
    )
