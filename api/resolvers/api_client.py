"""Partner API clients: created with their key shown once, listed, revoked."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action, ApiScope
from api.authz.scopes import Anchor
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers.pagination import Page, SortKey, paginate
from api.tokens import hash_api_key, new_api_key
from db.models import ApiClient, AuditOutcome, Location

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=ApiClient.medspa_id)
SORT = SortKey((ApiClient.created_at, ApiClient.id), ("created_at", "id"), descending=True)


@dataclass(frozen=True)
class CreatedApiClient:
    client: ApiClient
    key: str


MAX_KEY_LOCATIONS = 50


async def create_api_client(
    ctx: Context,
    *,
    name: str,
    scopes: Sequence[ApiScope],
    location_ids: Sequence[uuid.UUID | None] | None = None,
) -> CreatedApiClient:
    """A key of the caller's medspa; `location_ids` limits every scope to those locations."""
    medspa_id = ctx.principal.medspa_id
    assert medspa_id is not None, "api_client.manage is a TENANT grant"
    clean_name = name.strip()
    if not clean_name or len(clean_name) > 120:
        raise invalid("name", "Name must be 1 to 120 characters.")
    if not scopes:
        raise invalid("scopes", "Give the client at least one scope.")
    taken = (
        await ctx.session.execute(
            select(ApiClient.id).where(
                ApiClient.medspa_id == medspa_id, ApiClient.name == clean_name
            )
        )
    ).first()
    if taken is not None:
        raise DomainError(
            Problem(DomainErrorCode.NAME_TAKEN, "An API client with that name exists.", "name")
        )
    locations = await _own_locations(ctx, medspa_id, location_ids)
    key = new_api_key()
    client = ApiClient(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        name=clean_name,
        key_prefix=key[:10],
        key_hash=hash_api_key(key),
        scopes=sorted({s.value for s in scopes}),
        location_ids=locations,
        created_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(client)
    await ctx.session.flush()
    await ctx.session.refresh(client)
    ctx.allowed(
        Action.API_CLIENT_MANAGE,
        resource_type="ApiClient",
        resource_id=client.id,
        detail={
            "operation": "create",
            "scopes": client.scopes,
            "locationIds": [str(i) for i in locations] if locations else None,
        },
    )
    return CreatedApiClient(client=client, key=key)


async def _own_locations(
    ctx: Context, medspa_id: uuid.UUID, location_ids: Sequence[uuid.UUID | None] | None
) -> list[uuid.UUID] | None:
    if location_ids is None:
        return None
    if not location_ids or len(location_ids) > MAX_KEY_LOCATIONS:
        raise invalid("locationIds", f"Name 1 to {MAX_KEY_LOCATIONS} locations, or none.")
    wanted = {i for i in location_ids if i is not None}
    found = set(
        (
            await ctx.session.execute(
                select(Location.id).where(Location.medspa_id == medspa_id, Location.id.in_(wanted))
            )
        ).scalars()
    )
    if len(wanted) != len(location_ids) or found != wanted:
        raise invalid("locationIds", "Every location must be one of this medspa's, once.")
    return sorted(found)


async def revoke_api_client(ctx: Context, *, client_id: uuid.UUID | None) -> ApiClient:
    client = None
    if client_id is not None:
        client = (
            await ctx.session.execute(
                select(ApiClient).where(
                    ApiClient.id == client_id, ctx.scope(Action.API_CLIENT_MANAGE, ANCHOR)
                )
            )
        ).scalar_one_or_none()
    if client is None:
        ctx.audit(
            Action.API_CLIENT_MANAGE.value,
            AuditOutcome.DENIED,
            resource_type="ApiClient",
            resource_id=client_id,
            detail={"operation": "revoke", "reason": "not found or outside scope"},
        )
        raise not_found("API client not found.")
    if client.revoked_at is None:
        client.revoked_at = datetime.now(UTC)
    await ctx.session.flush()
    ctx.allowed(
        Action.API_CLIENT_MANAGE,
        resource_type="ApiClient",
        resource_id=client.id,
        detail={"operation": "revoke"},
    )
    return client


async def list_api_clients(
    ctx: Context, *, first: int | None, after: str | None
) -> Page[ApiClient]:
    ctx.authorize(Action.API_CLIENT_MANAGE)
    stmt = select(ApiClient).where(ctx.scope(Action.API_CLIENT_MANAGE, ANCHOR))
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)
