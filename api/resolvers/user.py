"""Users as other people see them: only through a relation the principal may already read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import User

if TYPE_CHECKING:
    from api.context import Context


async def users_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[User | None]:
    """Users are global identities; callers reach them only via rows already in scope."""
    rows = (await ctx.session.execute(select(User).where(User.id.in_(ids)))).scalars()
    found = {r.id: r for r in rows}
    return [found.get(i) for i in ids]
