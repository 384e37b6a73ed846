"""Medspas: the tenants, reachable per the principal's `medspa.read` scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import Medspa

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=Medspa.id)
SORT = SortKey((Medspa.name, Medspa.id), ("name", "id"))


async def medspas_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Medspa | None]:
    rows = (
        await ctx.session.execute(
            select(Medspa).where(Medspa.id.in_(ids), ctx.scope(Action.MEDSPA_READ, ANCHOR))
        )
    ).scalars()
    found = {m.id: m for m in rows}
    return [found.get(i) for i in ids]


async def list_medspas(ctx: Context, *, first: int | None, after: str | None) -> Page[Medspa]:
    ctx.authorize(Action.MEDSPA_READ)
    stmt = select(Medspa).where(ctx.scope(Action.MEDSPA_READ, ANCHOR))
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)
