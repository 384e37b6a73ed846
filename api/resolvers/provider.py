"""Providers (practitioners) of a medspa."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from db.models import Provider

if TYPE_CHECKING:
    from api.context import Context

# Anonymous visitors see providers by name only, through the public booking page's own
# type; the full `Provider` type has no PUBLIC rows (credentials, licence stay private).
PUBLIC_ROWS = Provider.active.is_(True)
ANCHOR = Anchor(medspa=Provider.medspa_id, provider=Provider.id)
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
