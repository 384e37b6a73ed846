"""Relay cursor connections, generic over the node type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from api.resolvers.pagination import Page

NodeT = TypeVar("NodeT")

# The optional lower bound of a connection over a time range (`from` is a Python keyword).
FromArgument = Annotated[datetime | None, strawberry.argument(name="from")]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[Any], wrap: Callable[[Any], NodeT]) -> Connection[NodeT]:
        edges = [Edge(cursor=c, node=wrap(r)) for r, c in zip(page.rows, page.cursors, strict=True)]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
        )
