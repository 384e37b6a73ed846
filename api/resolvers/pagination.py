"""Keyset (cursor) pagination shared by every connection, capped at 100 rows a page.

A cursor is the opaque, base64-encoded sort key of a row, so pages stay stable while rows are
added, and a page costs one statement whatever its position. `paginate_grouped` pages many
parents' children in one statement (window function), which is what DataLoaders use.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError, ErrorCode

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


@dataclass(frozen=True)
class SortKey:
    """The ordered columns a connection sorts by; the last one must be unique (the id)."""

    columns: tuple[SQLColumnExpression[Any], ...]
    attributes: tuple[str, ...]
    descending: bool = False

    def order_by(self) -> list[SQLColumnExpression[Any]]:
        return [c.desc() if self.descending else c.asc() for c in self.columns]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        left = tuple_(*self.columns)
        right = tuple_(*values)
        return left < right if self.descending else left > right

    def cursor_of(self, row: Any) -> str:
        return encode_cursor([getattr(row, a) for a in self.attributes])


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise ApiError(ErrorCode.BAD_USER_INPUT, f"first must be between 0 and {MAX_PAGE_SIZE}.")
    return first


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict) and "u" in value:
        return uuid.UUID(value["u"])
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_jsonable(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong cursor shape")
        return [_from_jsonable(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(ErrorCode.BAD_USER_INPUT, "Invalid cursor.") from exc


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    sort: SortKey,
    first: int | None,
    after: str | None,
) -> Page[Any]:
    """One page of `stmt` (a select of one entity) after `after`, in one statement."""
    size = page_size(first)
    if after is not None:
        stmt = stmt.where(sort.after(decode_cursor(after, width=len(sort.columns))))
    rows = list((await session.execute(stmt.order_by(*sort.order_by()).limit(size + 1))).scalars())
    has_next = len(rows) > size
    rows = rows[:size]
    return Page(rows, [sort.cursor_of(r) for r in rows], has_next, after is not None)


async def paginate_grouped(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    entity: Any,
    group_by: SQLColumnExpression[Any],
    group_attribute: str,
    keys: Sequence[tuple[Hashable, int | None, str | None]],
    sort: SortKey,
) -> list[Page[Any]]:
    """Pages for many parents at once: keys are (parent id, first, after), answered in order.

    Keys sharing (first, after) are answered by one statement with a window function, so a
    list of N parents each showing its children costs one statement, not N.
    """
    by_args: dict[tuple[int | None, str | None], list[Hashable]] = defaultdict(list)
    for parent, first, after in keys:
        by_args[(first, after)].append(parent)

    results: dict[tuple[Hashable, int | None, str | None], Page[Any]] = {}
    for (first, after), parents in by_args.items():
        size = page_size(first)
        inner = stmt.where(group_by.in_(parents))
        if after is not None:
            inner = inner.where(sort.after(decode_cursor(after, width=len(sort.columns))))
        row_number = (
            func.row_number().over(partition_by=group_by, order_by=sort.order_by()).label("rn")
        )
        subquery = inner.add_columns(row_number).subquery()
        aliased_entity = _aliased(entity, subquery)
        rows = (
            await session.execute(
                select(aliased_entity, subquery.c.rn)
                .where(subquery.c.rn <= size + 1)
                .order_by(subquery.c[group_attribute], subquery.c.rn)
            )
        ).all()
        grouped: dict[Hashable, list[Any]] = defaultdict(list)
        for row, _rn in rows:
            grouped[getattr(row, group_attribute)].append(row)
        for parent in parents:
            children = grouped.get(parent, [])
            page_rows = children[:size]
            results[(parent, first, after)] = Page(
                page_rows,
                [sort.cursor_of(r) for r in page_rows],
                len(children) > size,
                after is not None,
            )
    return [results[k] for k in keys]


def _aliased(entity: Any, subquery: Any) -> Any:
    from sqlalchemy.orm import aliased

    return aliased(entity, subquery)
