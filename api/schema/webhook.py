"""Partner webhooks in the schema: endpoints, their delivery log, and the mutations that
register, pause/resume and redeliver (issue 17 §2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.events.emit import EventKind
from api.ids import decode_id_of, encode_global_id
from api.resolvers import webhook as webhook_resolvers
from api.schema.connection import Connection
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]

strawberry.enum(
    EventKind, name="WebhookEventType", description="Events a webhook endpoint may receive."
)
strawberry.enum(models.WebhookDeliveryStatus)
WebhookDeliveryStatus = models.WebhookDeliveryStatus


@strawberry.type(description="One attempt series of one event to one endpoint.")
class WebhookDelivery:
    id: strawberry.ID
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    response_status: int | None
    latency_ms: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def from_row(cls, pair: tuple[models.WebhookDelivery, str]) -> WebhookDelivery:
        row, kind = pair
        return cls(
            id=encode_global_id("WebhookDelivery", row.id),
            event_type=kind,
            status=row.status,
            attempts=row.attempts,
            response_status=row.response_status,
            latency_ms=row.latency_ms,
            last_error=row.last_error,
            created_at=row.created_at,
            last_attempt_at=row.last_attempt_at,
            next_attempt_at=row.next_attempt_at,
        )


@strawberry.type(description="Where a partner's key receives signed events.")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[EventKind]
    active: bool
    created_at: datetime
    api_client_id: strawberry.ID
    row: Private[models.WebhookEndpoint]

    @classmethod
    def from_row(cls, row: models.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=encode_global_id("WebhookEndpoint", row.id),
            url=row.url,
            event_types=[EventKind(k) for k in row.event_types],
            active=row.active,
            created_at=row.created_at,
            api_client_id=encode_global_id("ApiClient", row.api_client_id),
            row=row,
        )

    @strawberry.field(description="The delivery log, newest first.")
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        page = await webhook_resolvers.list_deliveries(
            info.context, endpoint=self.row, first=first, after=after
        )
        return Connection.from_page(page, WebhookDelivery.from_row)


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="https:// (plain http:// only to loopback in development)."
    )
    event_types: list[EventKind]
    api_client_id: strawberry.ID | None = strawberry.field(
        default=None, description="Whose endpoint (admins); a key registers its own."
    )


@strawberry.input
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[EventKind] | None = None
    active: bool | None = strawberry.field(default=None, description="false pauses deliveries.")


@strawberry.type
class CreateWebhookEndpointPayload(Payload):
    endpoint: WebhookEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret (whsec_...): shown only once."
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(endpoint=WebhookEndpoint.from_row(result.endpoint), secret=result.secret)


@strawberry.type
class UpdateWebhookEndpointPayload(Payload):
    endpoint: WebhookEndpoint | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(endpoint=WebhookEndpoint.from_row(result))


@strawberry.type
class RedeliverWebhookPayload(Payload):
    delivery: WebhookDelivery | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(delivery=WebhookDelivery.from_row(result))


@strawberry.type
class DeleteWebhookEndpointPayload(Payload):
    deleted_endpoint_id: strawberry.ID | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(deleted_endpoint_id=encode_global_id("WebhookEndpoint", result))


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Webhook endpoints in the caller's webhook_endpoint.read scope.")
    async def webhook_endpoints(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookEndpoint]:
        page = await webhook_resolvers.list_endpoints(info.context, first=first, after=after)
        return Connection.from_page(page, WebhookEndpoint.from_row)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointPayload:
        return await CreateWebhookEndpointPayload.run(
            info,
            Action.WEBHOOK_ENDPOINT_MANAGE,
            lambda: webhook_resolvers.create_endpoint(
                info.context,
                url=input.url,
                event_types=input.event_types,
                api_client_id=decode_id_of(input.api_client_id, "ApiClient")
                if input.api_client_id
                else None,
            ),
        )

    @strawberry.mutation
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> UpdateWebhookEndpointPayload:
        return await UpdateWebhookEndpointPayload.run(
            info,
            Action.WEBHOOK_ENDPOINT_MANAGE,
            lambda: webhook_resolvers.update_endpoint(
                info.context,
                endpoint_id=decode_id_of(input.id, "WebhookEndpoint"),
                url=input.url,
                event_types=input.event_types,
                active=input.active,
            ),
        )

    @strawberry.mutation(
        description="Delete an endpoint: no more deliveries, and its delivery log goes with it."
    )
    async def delete_webhook_endpoint(
        self, info: Info, id: strawberry.ID
    ) -> DeleteWebhookEndpointPayload:
        return await DeleteWebhookEndpointPayload.run(
            info,
            Action.WEBHOOK_ENDPOINT_MANAGE,
            lambda: webhook_resolvers.delete_endpoint(
                info.context, endpoint_id=decode_id_of(id, "WebhookEndpoint")
            ),
        )

    @strawberry.mutation(description="Send an event to its endpoint again (a new delivery).")
    async def redeliver_webhook(
        self, info: Info, delivery_id: strawberry.ID
    ) -> RedeliverWebhookPayload:
        return await RedeliverWebhookPayload.run(
            info,
            Action.WEBHOOK_ENDPOINT_MANAGE,
            lambda: webhook_resolvers.redeliver(
                info.context, delivery_id=decode_id_of(delivery_id, "WebhookDelivery")
            ),
        )


WEBHOOK_TYPES = [WebhookEndpoint, WebhookDelivery]
