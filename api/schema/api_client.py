"""Partner API client type and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.schema.enums import ApiScope
from api.schema.node import Node, encode_global_id
from api.schema.payload import UserError
from db import models


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
        )


@strawberry.type
class CreateApiClientPayload:
    client: ApiClient | None = None
    key: str | None = strawberry.field(default=None, description="The secret key; shown only once.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RevokeApiClientPayload:
    client: ApiClient | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
