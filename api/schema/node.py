"""Relay global ids and the `Node` interface.

A global id is base64("<TypeName>:<uuid>"). `node(id)` decodes it and asks the type's
registered fetcher, which goes through the same scoped loader as every other path, so an id
outside the principal's scope answers exactly like an id that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from api.context import Context
from api.errors import ApiError, ErrorCode
from api.ids import decode_global_id, decode_id_of, encode_global_id

Info = strawberry.Info[Context, None]

__all__ = ["Node", "decode_global_id", "decode_id_of", "encode_global_id", "node_type"]


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID


NodeFetcher = Callable[["Context", uuid.UUID], Awaitable[Any]]
NODE_FETCHERS: dict[str, NodeFetcher] = {}


def node_type(type_name: str, fetcher: NodeFetcher) -> None:
    """Register how `node(id)` fetches (scoped) and wraps a type's row."""
    NODE_FETCHERS[type_name] = fetcher


async def resolve_node(ctx: Context, global_id: str) -> Any:
    decoded = decode_global_id(global_id)
    if decoded is None:
        return None
    fetcher = NODE_FETCHERS.get(decoded[0])
    if fetcher is None:
        return None
    return await fetcher(ctx, decoded[1])


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by global id; null when absent or out of scope.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info.context, id)  # type: ignore[no-any-return]

    @strawberry.field
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            raise ApiError(ErrorCode.BAD_USER_INPUT, "At most 100 ids at once.")
        return [await resolve_node(info.context, i) for i in ids]
