"""Partner webhook endpoints: registered by an API client (or the medspa's admin for one of
its clients), listed with their delivery log, paused or resumed, and redelivered.

Reach (policy.csv): a partner key manages and reads its own endpoints (OWN: the endpoint's
`api_client_id` is the key's); a medspa admin every endpoint of the medspa (TENANT); the
platform reads every one (ANY). The signing secret is returned once, at creation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, false, func, select

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import invalid, not_found
from api.events.emit import EventKind
from api.events.queue import WEBHOOK_TASK, defer_jobs
from api.events.webhooks import check_url, new_secret
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    ApiClient,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)

if TYPE_CHECKING:
    from api.context import Context

MAX_ENDPOINTS_PER_CLIENT = 10


def _own_endpoint(principal: Principal) -> ColumnElement[bool]:
    if principal.api_client_id is None:
        return false()
    return WebhookEndpoint.api_client_id == principal.api_client_id


ANCHOR = register(
    WebhookEndpoint,
    Anchor(medspa=WebhookEndpoint.medspa_id, own=_own_endpoint),
    read=Action.WEBHOOK_ENDPOINT_READ,
)
SORT = SortKey(
    (WebhookEndpoint.created_at, WebhookEndpoint.id), ("created_at", "id"), descending=True
)
DELIVERY_SORT = SortKey(
    (WebhookDelivery.created_at, WebhookDelivery.id), ("created_at", "id"), descending=True
)


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str


def _check(ctx: Context, url: str, event_types: Sequence[EventKind]) -> tuple[str, list[str]]:
    clean = url.strip()
    problem = check_url(clean, loopback_allowed=ctx.settings.webhook_loopback_allowed)
    if problem:
        raise invalid("url", problem)
    if not event_types:
        raise invalid("eventTypes", "Subscribe to at least one event type.")
    return clean, sorted({e.value for e in event_types})


async def create_endpoint(
    ctx: Context,
    *,
    url: str,
    event_types: Sequence[EventKind],
    api_client_id: uuid.UUID | None,
) -> CreatedEndpoint:
    principal = ctx.principal
    if principal.api_client_id is not None:
        if api_client_id not in (None, principal.api_client_id):
            raise invalid("apiClientId", "A key registers endpoints for itself only.")
        client_id = principal.api_client_id
    else:
        if api_client_id is None:
            raise invalid("apiClientId", "Name the API client the endpoint belongs to.")
        client_id = api_client_id
    # The client must be one whose endpoints the caller may manage (its own medspa's).
    client = await ctx.session.scalar(
        select(ApiClient).where(
            ApiClient.id == client_id,
            ApiClient.revoked_at.is_(None),
            ctx.scope(
                Action.WEBHOOK_ENDPOINT_MANAGE,
                Anchor(medspa=ApiClient.medspa_id, own=_own_client),
            ),
        )
    )
    if client is None:
        raise not_found("API client not found.")
    clean, kinds = _check(ctx, url, event_types)
    count = await ctx.session.scalar(
        select(func.count(WebhookEndpoint.id)).where(WebhookEndpoint.api_client_id == client.id)
    )
    if (count or 0) >= MAX_ENDPOINTS_PER_CLIENT:
        raise invalid(
            "url", f"An API client may have at most {MAX_ENDPOINTS_PER_CLIENT} endpoints."
        )
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        medspa_id=client.medspa_id,
        api_client_id=client.id,
        url=clean,
        event_types=kinds,
        secret=secret,
        active=True,
    )
    ctx.session.add(endpoint)
    await ctx.session.flush()
    await ctx.session.refresh(endpoint)
    _audit(ctx, endpoint, "create")
    return CreatedEndpoint(endpoint, secret)


def _own_client(principal: Principal) -> ColumnElement[bool]:
    if principal.api_client_id is None:
        return false()
    return ApiClient.id == principal.api_client_id


async def update_endpoint(
    ctx: Context,
    *,
    endpoint_id: uuid.UUID | None,
    url: str | None,
    event_types: Sequence[EventKind] | None,
    active: bool | None,
) -> WebhookEndpoint:
    endpoint = await ctx.find(
        WebhookEndpoint, endpoint_id, Action.WEBHOOK_ENDPOINT_MANAGE, for_update=True
    )
    clean, kinds = _check(
        ctx,
        endpoint.url if url is None else url,
        [EventKind(k) for k in endpoint.event_types] if event_types is None else event_types,
    )
    endpoint.url = clean
    endpoint.event_types = kinds
    if active is not None:
        endpoint.active = active
    await ctx.session.flush()
    _audit(ctx, endpoint, "update")
    return endpoint


async def delete_endpoint(ctx: Context, *, endpoint_id: uuid.UUID | None) -> uuid.UUID:
    """Delete an endpoint: nothing more is delivered to it (a queued delivery finds no row),
    and its delivery log goes with it; the audit trail keeps that it existed and where."""
    endpoint = await ctx.find(
        WebhookEndpoint, endpoint_id, Action.WEBHOOK_ENDPOINT_MANAGE, for_update=True
    )
    _audit(ctx, endpoint, "delete", url=endpoint.url)
    await ctx.session.delete(endpoint)
    await ctx.session.flush()
    return endpoint.id


async def redeliver(ctx: Context, *, delivery_id: uuid.UUID | None) -> tuple[WebhookDelivery, str]:
    """A new delivery of the same event to the same endpoint (the same `webhook-id`)."""
    found = None
    if delivery_id is not None:
        found = await ctx.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        )
    endpoint_id = found.endpoint_id if found is not None else None
    endpoint = await ctx.find(WebhookEndpoint, endpoint_id, Action.WEBHOOK_ENDPOINT_MANAGE)
    assert found is not None
    again = WebhookDelivery(
        id=uuid.uuid4(),
        medspa_id=endpoint.medspa_id,
        endpoint_id=endpoint.id,
        event_id=found.event_id,
        status=WebhookDeliveryStatus.PENDING,
    )
    ctx.session.add(again)
    await ctx.session.flush()
    await defer_jobs(ctx.session, WEBHOOK_TASK, [again.id])
    await ctx.session.refresh(again)
    _audit(ctx, endpoint, "redeliver")
    kind = await ctx.session.scalar(
        select(WebhookEvent.kind).where(
            WebhookEvent.medspa_id == again.medspa_id, WebhookEvent.id == again.event_id
        )
    )
    return again, kind or ""


def _audit(ctx: Context, endpoint: WebhookEndpoint, operation: str, **detail: str) -> None:
    ctx.allowed(
        Action.WEBHOOK_ENDPOINT_MANAGE,
        resource_type="WebhookEndpoint",
        resource_id=endpoint.id,
        medspa_id=endpoint.medspa_id,
        detail={"operation": operation, **detail},
    )


async def list_endpoints(
    ctx: Context, *, first: int | None, after: str | None
) -> Page[WebhookEndpoint]:
    ctx.authorize(Action.WEBHOOK_ENDPOINT_READ)
    stmt = select(WebhookEndpoint).where(ctx.scope(Action.WEBHOOK_ENDPOINT_READ, ANCHOR))
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


async def list_deliveries(
    ctx: Context, *, endpoint: WebhookEndpoint, first: int | None, after: str | None
) -> Page[tuple[WebhookDelivery, str]]:
    """The endpoint's log, newest first (the endpoint was read through its scope)."""
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.medspa_id == endpoint.medspa_id,
        WebhookDelivery.endpoint_id == endpoint.id,
    )
    page = await paginate(ctx.session, stmt, sort=DELIVERY_SORT, first=first, after=after)
    found = await ctx.session.execute(
        select(WebhookEvent.id, WebhookEvent.kind).where(
            WebhookEvent.medspa_id == endpoint.medspa_id,
            WebhookEvent.id.in_({d.event_id for d in page.rows}),
        )
    )
    kinds: dict[uuid.UUID, str] = dict(found.all())
    return Page(
        rows=[(d, kinds.get(d.event_id, "")) for d in page.rows],
        cursors=page.cursors,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
    )
