"""Masquerade session type and its mutations' payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import masquerade
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id
from api.schema.payload import Payload
from api.schema.provider import Provider
from api.schema.user import User
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
class StartMasqueradePayload(Payload):
    session: MasqueradeSession | None = None
    token: str | None = strawberry.field(
        default=None, description="Bearer token for the session; shown once."
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(session=MasqueradeSession.from_row(result.session), token=result.token)


@strawberry.type
class EndMasqueradePayload(Payload):
    session: MasqueradeSession | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(session=MasqueradeSession.from_row(result))


@strawberry.type
class MasqueradeQuery:
    @strawberry.field
    async def masquerade_sessions(
        self,
        info: Info,
        active_only: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[MasqueradeSession]:
        page = await masquerade.list_masquerade_sessions(
            info.context, active_only=active_only, first=first, after=after
        )
        return Connection.from_page(page, MasqueradeSession.from_row)


@strawberry.type
class MasqueradeMutation:
    @strawberry.mutation(description="Act as one of your providers (an audited, expiring session).")
    async def start_masquerade(
        self,
        info: Info,
        provider_id: strawberry.ID,
        reason: str | None = None,
        minutes: int | None = None,
    ) -> StartMasqueradePayload:
        return await StartMasqueradePayload.run(
            info,
            Action.MASQUERADE_START,
            lambda: masquerade.start_masquerade(
                info.context,
                provider_id=decode_id_of(provider_id, "Provider"),
                reason=reason,
                minutes=minutes,
            ),
        )

    @strawberry.mutation(description="End the current masquerade, or one you started.")
    async def end_masquerade(
        self, info: Info, session_id: strawberry.ID | None = None
    ) -> EndMasqueradePayload:
        sid = decode_id_of(session_id, "MasqueradeSession") if session_id else None
        return await EndMasqueradePayload.run(
            info,
            Action.MASQUERADE_END,
            lambda: masquerade.end_masquerade(info.context, session_id=sid),
        )
