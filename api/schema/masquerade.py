"""Masquerade session type and its mutations' payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry import Private

from api.context import Context
from api.schema.node import Node, encode_global_id
from api.schema.payload import UserError
from api.schema.types import Provider, User
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type
class MasqueradeSession(Node):
    reason: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    row: Private[models.MasqueradeSession]

    @classmethod
    def from_row(cls, row: models.MasqueradeSession) -> MasqueradeSession:
        return cls(
            id=encode_global_id("MasqueradeSession", row.id),
            reason=row.reason,
            started_at=row.started_at,
            expires_at=row.expires_at,
            ended_at=row.ended_at,
            row=row,
        )

    @classmethod
    async def current(cls, ctx: Context) -> MasqueradeSession | None:
        session_id = ctx.principal.masquerade_session_id
        if session_id is None:
            return None
        row = await ctx.session.get(models.MasqueradeSession, session_id)
        return cls.from_row(row) if row else None

    @strawberry.field
    def active(self) -> bool:
        return self.ended_at is None and self.expires_at > datetime.now(UTC)

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        row = await info.context.loaders.user_by_id.load(self.row.actor_user_id)
        return User.from_row(row) if row else None

    @strawberry.field
    async def provider(self, info: Info) -> Provider | None:
        row = await info.context.loaders.provider_by_id.load(self.row.provider_id)
        return Provider.from_row(row) if row else None


@strawberry.type
class StartMasqueradePayload:
    session: MasqueradeSession | None = None
    token: str | None = strawberry.field(
        default=None, description="Bearer token for the session; shown once."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EndMasqueradePayload:
    session: MasqueradeSession | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
