"""Masquerade sessions: start, end, list (DESIGN §4, §5)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.auth import mint_masquerade_token
from api.authz.actions import Action, Scope
from api.authz.masquerade import masquerade_duration
from api.authz.scopes import Anchor
from api.errors import ApiError, DomainError, ErrorCode, Problem, invalid, not_found
from api.resolvers import provider as provider_resolvers
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import AuditOutcome, MasqueradeSession, Provider

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=MasqueradeSession.medspa_id, provider=MasqueradeSession.provider_id)
SORT = SortKey(
    (MasqueradeSession.started_at, MasqueradeSession.id), ("started_at", "id"), descending=True
)
# Who may be masqueraded as: the provider rows in the starter's masquerade.start scope.
TARGET_ANCHOR = Anchor(medspa=Provider.medspa_id)


@dataclass(frozen=True)
class StartedMasquerade:
    session: MasqueradeSession
    token: str


async def start_masquerade(
    ctx: Context, *, provider_id: uuid.UUID | None, reason: str | None, minutes: int | None
) -> StartedMasquerade:
    grant = ctx.authorize(
        Action.MASQUERADE_START, resource_type="Provider", resource_id=provider_id
    )
    provider = None
    if provider_id is not None:
        provider = (
            await ctx.session.execute(
                select(Provider).where(
                    Provider.id == provider_id,
                    ctx.scope(Action.MASQUERADE_START, TARGET_ANCHOR),
                    ctx.scope(Action.PROVIDER_READ, provider_resolvers.ANCHOR),
                )
            )
        ).scalar_one_or_none()
    if provider is None:
        ctx.audit(
            Action.MASQUERADE_START.value,
            AuditOutcome.DENIED,
            resource_type="Provider",
            resource_id=provider_id,
            detail={"reason": "provider not found or outside scope"},
        )
        raise not_found("Provider not found.")

    reason_text = (reason or "").strip()
    if grant.scope is Scope.ANY and not reason_text:
        raise invalid("reason", "Platform admins must give a reason to masquerade.")
    if len(reason_text) > 2000:
        raise invalid("reason", "The reason is limited to 2,000 characters.")
    if provider.user_id == ctx.principal.user_id:
        raise DomainError(
            Problem("CANNOT_MASQUERADE_AS_SELF", "You cannot masquerade as yourself.", "providerId")
        )
    if not provider.active:
        raise DomainError(
            Problem("PROVIDER_INACTIVE", "Only active providers can be masqueraded.", "providerId")
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
    ctx.audit(
        Action.MASQUERADE_START.value,
        AuditOutcome.ALLOWED,
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
    principal = ctx.principal
    target_id = session_id or principal.masquerade_session_id
    if principal.user_id is None:
        ctx.audit(
            "masquerade.end",
            AuditOutcome.DENIED,
            resource_type="MasqueradeSession",
            resource_id=target_id,
            detail={"reason": "not signed in as a user"},
        )
        if not principal.is_authenticated:
            raise ApiError(ErrorCode.UNAUTHENTICATED, "Authentication required.")
        raise ApiError(ErrorCode.FORBIDDEN, "Only users have masquerade sessions.")
    row = None
    if target_id is not None:
        # A masquerade token ends only its own session; otherwise only the actor may.
        row = (
            await ctx.session.execute(
                select(MasqueradeSession).where(MasqueradeSession.id == target_id)
            )
        ).scalar_one_or_none()
        if principal.is_masquerading:
            ours = row is not None and row.id == principal.masquerade_session_id
        else:
            ours = row is not None and row.actor_user_id == principal.user_id
        if not ours:
            row = None
    if row is None:
        ctx.audit(
            "masquerade.end",
            AuditOutcome.DENIED,
            resource_type="MasqueradeSession",
            resource_id=target_id,
            detail={"reason": "session not found or not yours"},
        )
        raise not_found("Masquerade session not found.")
    if row.ended_at is None:
        row.ended_at = datetime.now(UTC)
    ctx.audit(
        "masquerade.end",
        AuditOutcome.ALLOWED,
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
