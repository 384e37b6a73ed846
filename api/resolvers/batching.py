"""Batch-loading helpers shared by every DataLoader: results come back in key order."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, select

if TYPE_CHECKING:
    from api.context import Context

RowT = TypeVar("RowT")


def one_per_key(
    keys: Sequence[Hashable], rows: Iterable[RowT], key: Callable[[RowT], Hashable]
) -> list[RowT | None]:
    """Each key's row, or None when the scoped query did not return it."""
    found = {key(row): row for row in rows}
    return [found.get(k) for k in keys]


def many_per_key(
    keys: Sequence[Hashable], rows: Iterable[RowT], key: Callable[[RowT], Hashable]
) -> list[list[RowT]]:
    """Each key's rows, in the order the query returned them."""
    grouped: dict[Hashable, list[RowT]] = {k: [] for k in keys}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return [grouped[k] for k in keys]


async def rows_by_ids(
    ctx: Context, model: Any, ids: Sequence[uuid.UUID], scope: ColumnElement[bool]
) -> list[Any]:
    """Rows of `model` by id within `scope` (the caller's scope clause), in key order."""
    rows = (await ctx.session.execute(select(model).where(model.id.in_(ids), scope))).scalars()
    return one_per_key(ids, rows, lambda row: row.id)
