"""Masquerade sessions: start, end, list (DESIGN §4, §5)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, false, select

from api.authz.actions import Action
from api.authz.masquerade import masquerade_duration
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.resolvers import provider as provider_resolvers  # noqa: F401  registers Provider
from api.resolvers.pagination import Page, SortKey, paginate
from api.tokens import mint_masquerade_token
from db.models import MasqueradeSession, Provider

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=MasqueradeSession.medspa_id, provider=MasqueradeSession.provider_id)
SORT = SortKey(
    (MasqueradeSession.started_at, MasqueradeSession.id), ("started_at", "id"), descending=True
)


def _own_session(principal: Principal) -> ColumnElement[bool]:
    """A masquerade token owns its own session; anyone else the sessions they started."""
    if principal.masquerade_session_id is not None:
        return MasqueradeSession.id == principal.masquerade_session_id
    if principal.user_id is None:
        return false()
    return MasqueradeSession.actor_user_id == principal.user_id


# Ending: a session that is not yours is absent (masquerade.end is OWN for every user).
register(MasqueradeSession, Anchor(medspa=None, own=_own_session), read=Action.MASQUERADE_END)


@dataclass(frozen=True)
class StartedMasquerade:
    session: MasqueradeSession
    token: str


async def start_masquerade(
    ctx: Context, *, provider_id: uuid.UUID | None, reason: str | None, minutes: int | None
) -> StartedMasquerade:
    provider = await ctx.find(Provider, provider_id, Action.MASQUERADE_START)

    reason_text = (reason or "").strip()
    # Acting as a provider outside one's own medspa (a platform admin) needs a reason on record.
    if provider.medspa_id != ctx.principal.medspa_id and not reason_text:
        raise invalid("reason", "Platform admins must give a reason to masquerade.")
    if len(reason_text) > 2000:
        raise invalid("reason", "The reason is limited to 2,000 characters.")
    if provider.user_id == ctx.principal.user_id:
        raise DomainError(
            Problem(
                DomainErrorCode.CANNOT_MASQUERADE_AS_SELF,
                "You cannot masquerade as yourself.",
                "providerId",
            )
        )
    if not provider.active:
        raise DomainError(
            Problem(
                DomainErrorCode.PROVIDER_INACTIVE,
                "Only active providers can be masqueraded.",
                "providerId",
            )
        )
    try:
        duration = masquerade_duration(
            minutes, default_minutes=ctx.settings.masquerade_default_minutes
        )
    except ValueError as exc:
        raise invalid("minutes", str(exc)) from exc

    assert ctx.principal.user_id is not None
    now = datetime.now(UTC)
    session = MasqueradeSession(
        id=uuid.uuid4(),
        medspa_id=provider.medspa_id,
        actor_user_id=ctx.principal.user_id,
        provider_id=provider.id,
        reason=reason_text,
        started_at=now,
        expires_at=now + duration,
    )
    ctx.session.add(session)
    await ctx.session.flush()
    ctx.allowed(
        Action.MASQUERADE_START,
        resource_type="MasqueradeSession",
        resource_id=session.id,
        medspa_id=provider.medspa_id,
        detail={
            "providerId": str(provider.id),
            "reason": reason_text,
            "minutes": int(duration.total_seconds() // 60),
        },
    )
    token = mint_masquerade_token(
        ctx.settings,
        provider_user_id=provider.user_id,
        actor_user_id=ctx.principal.user_id,
        session_id=session.id,
        medspa_id=provider.medspa_id,
        expires_at=session.expires_at,
    )
    return StartedMasquerade(session=session, token=token)


async def end_masquerade(ctx: Context, *, session_id: uuid.UUID | None) -> MasqueradeSession:
    """End the current masquerade (from its own token), or one the caller started."""
    target_id = session_id or ctx.principal.masquerade_session_id
    row = await ctx.find(MasqueradeSession, target_id, Action.MASQUERADE_END, for_update=True)
    if row.ended_at is None:
        row.ended_at = datetime.now(UTC)
    ctx.allowed(
        Action.MASQUERADE_END,
        resource_type="MasqueradeSession",
        resource_id=row.id,
        medspa_id=row.medspa_id,
    )
    await ctx.session.flush()
    return row


async def list_masquerade_sessions(
    ctx: Context, *, active_only: bool, first: int | None, after: str | None
) -> Page[MasqueradeSession]:
    ctx.authorize(Action.MASQUERADE_READ)
    stmt = select(MasqueradeSession).where(ctx.scope(Action.MASQUERADE_READ, ANCHOR))
    if active_only:
        now = datetime.now(UTC)
        stmt = stmt.where(MasqueradeSession.ended_at.is_(None), MasqueradeSession.expires_at > now)
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)
