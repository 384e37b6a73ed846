"""Partner API client type and payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry

from api.authz.actions import Action
from api.authz.actions import ApiScope as ApiScopeValue
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import api_client
from api.schema.connection import Connection
from api.schema.enums import ApiScope
from api.schema.node import Node, encode_global_id
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type
class ApiClient(Node):
    name: str
    key_prefix: str = strawberry.field(
        description="The first characters of the key, to tell keys apart."
    )
    scopes: list[ApiScope]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    location_ids: list[strawberry.ID] | None = strawberry.field(
        description="The locations the key is limited to; null: every location."
    )

    @classmethod
    def from_row(cls, row: models.ApiClient) -> ApiClient:
        return cls(
            id=encode_global_id("ApiClient", row.id),
            name=row.name,
            key_prefix=row.key_prefix,
            scopes=[ApiScope(s) for s in row.scopes],
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            location_ids=[encode_global_id("Location", i) for i in row.location_ids]
            if row.location_ids
            else None,
        )


@strawberry.type
class CreateApiClientPayload(Payload):
    client: ApiClient | None = None
    key: str | None = strawberry.field(default=None, description="The secret key; shown only once.")

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(client=ApiClient.from_row(result.client), key=result.key)


@strawberry.type
class RevokeApiClientPayload(Payload):
    client: ApiClient | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(client=ApiClient.from_row(result))


@strawberry.type
class ApiClientQuery:
    @strawberry.field
    async def api_clients(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ApiClient]:
        page = await api_client.list_api_clients(info.context, first=first, after=after)
        return Connection.from_page(page, ApiClient.from_row)


@strawberry.type
class ApiClientMutation:
    @strawberry.mutation(description="Create a partner API key for your medspa; shown once.")
    async def create_api_client(
        self,
        info: Info,
        name: str,
        scopes: list[ApiScope],
        location_ids: list[strawberry.ID] | None = None,
    ) -> CreateApiClientPayload:
        return await CreateApiClientPayload.run(
            info,
            Action.API_CLIENT_MANAGE,
            lambda: api_client.create_api_client(
                info.context,
                name=name,
                scopes=[ApiScopeValue(s) for s in scopes],
                location_ids=[decode_id_of(i, "Location") for i in location_ids]
                if location_ids is not None
                else None,
            ),
        )

    @strawberry.mutation(description="Revoke a partner API key; effective on its next request.")
    async def revoke_api_client(self, info: Info, id: strawberry.ID) -> RevokeApiClientPayload:
        return await RevokeApiClientPayload.run(
            info,
            Action.API_CLIENT_MANAGE,
            lambda: api_client.revoke_api_client(
                info.context, client_id=decode_id_of(id, "ApiClient")
            ),
        )
