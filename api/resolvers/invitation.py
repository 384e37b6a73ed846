"""Invitations (issue 19): admins and providers join a medspa by email.

An admin of the medspa (or a platform admin, for any medspa) invites an email address with
one or both roles. The token is random, returned once as a path (`/invitation/<token>`) and
written once into the invitation email (the notification outbox); only its SHA-256 is
stored, as for registration links (api/resolvers/patient_registration.py). An invitation is
single-use, expires after `INVITATION_TTL`, and may be revoked or resent (a resend replaces
the token and extends the expiry). Inviting an address that has an outstanding invitation
revokes that one.

Accepting is anonymous, with the token: the invitation's medspa is found through the global
look-up `invitation_token` (`app_invitation_medspa`), the user with that email is linked (or
created), and the memberships (and, for a provider, the provider profile) are created or
reactivated. Signing in stays token-based: `medspa-api token EMAIL`, or an identity
provider's token matched by its verified email (README "Signing in").
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from api.authz.actions import Action
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    AuditOutcome,
    Invitation,
    Medspa,
    Membership,
    MembershipRole,
    NotificationKind,
    NotificationOutbox,
    Provider,
    StaffMember,
    User,
)

if TYPE_CHECKING:
    from api.context import Context

INVITATION_TTL = timedelta(days=7)
ACCEPT_PATH = "/invitation/"
MAX_TOKEN_LENGTH = 200
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

ANCHOR = register(Invitation, Anchor(medspa=Invitation.medspa_id), read=Action.INVITATION_MANAGE)
MEDSPA_ANCHOR = Anchor(medspa=Medspa.id)
SORT = SortKey((Invitation.sent_at, Invitation.id), ("sent_at", "id"), descending=True)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_email(value: str, field: str = "email") -> str:
    email = value.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise invalid(field, "A valid email address, at most 254 characters.")
    return email


def check_full_name(value: str | None, field: str = "fullName") -> str | None:
    if value is None:
        return None
    name = value.strip()
    if not name or len(name) > 200:
        raise invalid(field, "1 to 200 characters.")
    return name


def check_credentials(value: str | None, field: str = "credentials") -> str | None:
    if value is None:
        return None
    credentials = value.strip().upper()
    if not credentials or len(credentials) > 40:
        raise invalid(field, "1 to 40 characters (e.g. MD, DO, NP, RN, PA).")
    return credentials


async def medspa_in_scope(ctx: Context, medspa_id: uuid.UUID | None, action: Action) -> Medspa:
    """The medspa named (or, when none is named, the active one) on which the principal may
    `action`; an audited NOT_FOUND otherwise (invisible equals absent)."""
    target = medspa_id or ctx.principal.medspa_id
    row = None
    if target is not None:
        row = (
            await ctx.session.execute(
                select(Medspa).where(Medspa.id == target, ctx.scope(action, MEDSPA_ANCHOR))
            )
        ).scalar_one_or_none()
    if row is None:
        ctx.audit(
            action.value,
            AuditOutcome.DENIED,
            resource_type="Medspa",
            resource_id=target,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("Medspa not found.")
    return row


def invitation_roles(invitation: Invitation) -> list[MembershipRole]:
    roles = []
    if invitation.as_admin:
        roles.append(MembershipRole.MEDSPA_ADMIN)
    if invitation.as_provider:
        roles.append(MembershipRole.PROVIDER)
    return roles


@dataclass(frozen=True)
class NewInvitation:
    email: str
    roles: tuple[MembershipRole, ...]
    full_name: str | None = None
    credentials: str | None = None
    medspa_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    accept_path: str  # carries the token: shown once, never stored


async def invite_staff(ctx: Context, *, data: NewInvitation) -> SentInvitation:
    """Invite `data.email` into the medspa with `data.roles`; the email goes to the outbox."""
    ctx.authorize(Action.INVITATION_MANAGE, resource_type="Invitation")
    medspa = await medspa_in_scope(ctx, data.medspa_id, Action.INVITATION_MANAGE)
    return await send_invitation(ctx, medspa=medspa, data=data)


async def send_invitation(ctx: Context, *, medspa: Medspa, data: NewInvitation) -> SentInvitation:
    """The invitation itself, for a medspa the caller was already checked to reach (also used
    by `createMedspa` for its first admin)."""
    email = check_email(data.email)
    full_name = check_full_name(data.full_name)
    credentials = check_credentials(data.credentials)
    if not data.roles:
        raise invalid("roles", "Invite as MEDSPA_ADMIN, PROVIDER or both.")
    if credentials and MembershipRole.PROVIDER not in data.roles:
        raise invalid("credentials", "Only a provider has credentials.")
    user = (
        await ctx.session.execute(select(User).where(func.lower(User.email) == email))
    ).scalar_one_or_none()
    if user is not None:
        if await ctx.session.get(StaffMember, user.id) is not None:
            raise invalid("email", "Portrait staff reach medspas through their role.")
        held = set(
            (
                await ctx.session.execute(
                    select(Membership.role).where(
                        Membership.medspa_id == medspa.id,
                        Membership.user_id == user.id,
                        Membership.deactivated_at.is_(None),
                    )
                )
            ).scalars()
        )
        if set(data.roles) <= held:
            raise invalid(
                "email",
                "This person already holds these roles here.",
                DomainErrorCode.ALREADY_MEMBER,
            )
    now = datetime.now(UTC)
    # An outstanding invitation of the same address is replaced by this one.
    await ctx.session.execute(
        update(Invitation)
        .where(
            Invitation.medspa_id == medspa.id,
            func.lower(Invitation.email) == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    assert ctx.principal.user_id is not None  # only people invite
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        id=uuid.uuid4(),
        medspa_id=medspa.id,
        email=email,
        full_name=full_name,
        as_admin=MembershipRole.MEDSPA_ADMIN in data.roles,
        as_provider=MembershipRole.PROVIDER in data.roles,
        credentials=credentials,
        token_hash=hash_token(token),
        invited_by_user_id=ctx.principal.user_id,
        invited_by_actor_user_id=ctx.principal.actor_user_id,
        sent_at=now,
        expires_at=now + INVITATION_TTL,
        send_count=1,
    )
    ctx.session.add(invitation)
    await ctx.session.flush()
    _queue_email(ctx, medspa, invitation, token)
    await ctx.session.flush()
    ctx.allowed(
        Action.INVITATION_MANAGE,
        resource_type="Invitation",
        resource_id=invitation.id,
        medspa_id=medspa.id,
        detail={"verb": "invite", "roles": [r.value for r in invitation_roles(invitation)]},
    )
    return SentInvitation(invitation, ACCEPT_PATH + token)


def _queue_email(ctx: Context, medspa: Medspa, invitation: Invitation, token: str) -> None:
    """The invitation email, for the notification sender (DESIGN §6.14)."""
    ctx.session.add(
        NotificationOutbox(
            id=uuid.uuid4(),
            medspa_id=medspa.id,
            invitation_id=invitation.id,
            kind=NotificationKind.STAFF_INVITATION,
            deliver_at=invitation.sent_at,
            payload={
                "to": invitation.email,
                "fullName": invitation.full_name,
                "medspaName": medspa.name,
                "roles": [r.name for r in invitation_roles(invitation)],
                # Absolute: the email is read outside the front-end.
                "acceptUrl": ctx.settings.app_base_url.rstrip("/") + ACCEPT_PATH + token,
                "expiresAt": invitation.expires_at.isoformat(),
            },
        )
    )


def _outstanding(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise _problem(DomainErrorCode.INVITATION_USED, "This invitation was already accepted.")
    if invitation.revoked_at is not None:
        raise _problem(DomainErrorCode.INVITATION_REVOKED, "This invitation was revoked.")


def _problem(code: DomainErrorCode, message: str, field: str = "id") -> DomainError:
    return DomainError(Problem(code, message, field))


async def resend_invitation(ctx: Context, *, invitation_id: uuid.UUID | None) -> SentInvitation:
    """A new token (the previous one stops working) and a fresh expiry, emailed again."""
    ctx.authorize(Action.INVITATION_MANAGE, resource_type="Invitation", resource_id=invitation_id)
    invitation = await ctx.find(
        Invitation, invitation_id, Action.INVITATION_MANAGE, for_update=True
    )
    _outstanding(invitation)
    medspa = await ctx.session.get(Medspa, invitation.medspa_id)
    assert medspa is not None
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_TTL
    invitation.send_count += 1
    await ctx.session.flush()
    _queue_email(ctx, medspa, invitation, token)
    await ctx.session.flush()
    ctx.allowed(
        Action.INVITATION_MANAGE,
        resource_type="Invitation",
        resource_id=invitation.id,
        medspa_id=invitation.medspa_id,
        detail={"verb": "resend", "sendCount": invitation.send_count},
    )
    return SentInvitation(invitation, ACCEPT_PATH + token)


async def revoke_invitation(ctx: Context, *, invitation_id: uuid.UUID | None) -> Invitation:
    ctx.authorize(Action.INVITATION_MANAGE, resource_type="Invitation", resource_id=invitation_id)
    invitation = await ctx.find(
        Invitation, invitation_id, Action.INVITATION_MANAGE, for_update=True
    )
    _outstanding(invitation)
    invitation.revoked_at = datetime.now(UTC)
    await ctx.session.flush()
    ctx.allowed(
        Action.INVITATION_MANAGE,
        resource_type="Invitation",
        resource_id=invitation.id,
        medspa_id=invitation.medspa_id,
        detail={"verb": "revoke"},
    )
    return invitation


async def list_invitations(
    ctx: Context,
    *,
    medspa_id: uuid.UUID | None,
    outstanding_only: bool,
    first: int | None,
    after: str | None,
) -> Page[Invitation]:
    ctx.authorize(Action.INVITATION_MANAGE)
    stmt = select(Invitation).where(ctx.scope(Action.INVITATION_MANAGE, ANCHOR))
    if medspa_id is not None:
        stmt = stmt.where(Invitation.medspa_id == medspa_id)
    if outstanding_only:
        stmt = stmt.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


@dataclass(frozen=True)
class Acceptance:
    token: str
    full_name: str | None = None


@dataclass(frozen=True)
class Accepted:
    invitation: Invitation
    user: User
    medspa: Medspa


def _invalid_token() -> DomainError:
    return _problem(
        DomainErrorCode.INVITATION_INVALID, "This invitation link is not valid.", "token"
    )


async def accept_invitation(ctx: Context, *, data: Acceptance) -> Accepted:
    """Link (or create) the invited user and give them the invitation's roles in its medspa.
    Any refusal changes nothing."""
    token = data.token.strip().removeprefix(ACCEPT_PATH)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise _invalid_token()
    digest = hash_token(token)
    medspa_id = (
        await ctx.session.execute(select(func.app_invitation_medspa(digest)))
    ).scalar_one_or_none()
    invitation = None
    if medspa_id is not None:
        await ctx.reach_tenants((medspa_id,))
        invitation = (
            await ctx.session.execute(
                select(Invitation)
                .where(Invitation.token_hash == digest, Invitation.medspa_id == medspa_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
    if invitation is None:
        raise _invalid_token()
    if invitation.accepted_at is not None:
        raise _problem(
            DomainErrorCode.INVITATION_USED, "This invitation was already accepted.", "token"
        )
    if invitation.revoked_at is not None:
        raise _problem(DomainErrorCode.INVITATION_REVOKED, "This invitation was revoked.", "token")
    now = datetime.now(UTC)
    if invitation.expires_at <= now:
        raise _problem(
            DomainErrorCode.INVITATION_EXPIRED,
            "This invitation has expired; ask for a new one.",
            "token",
        )
    full_name = check_full_name(data.full_name)
    user = (
        await ctx.session.execute(
            select(User).where(func.lower(User.email) == invitation.email.lower())
        )
    ).scalar_one_or_none()
    if user is None:
        name = full_name or invitation.full_name
        if name is None:
            raise invalid("fullName", "Your full name is required to create your account.")
        user = User(id=uuid.uuid4(), email=invitation.email, full_name=name, active=True)
        ctx.session.add(user)
        await ctx.session.flush()
    elif not user.active:
        raise invalid("token", "This account is deactivated; contact Portrait.")
    elif await ctx.session.get(StaffMember, user.id) is not None:
        raise invalid("token", "Portrait staff reach medspas through their role.")
    for role in invitation_roles(invitation):
        await grant_membership(ctx, medspa_id=invitation.medspa_id, user=user, role=role)
    if invitation.as_provider:
        await ensure_provider(
            ctx, medspa_id=invitation.medspa_id, user=user, credentials=invitation.credentials
        )
    invitation.accepted_at = now
    invitation.accepted_user_id = user.id
    await ctx.session.flush()
    medspa = await ctx.session.get(Medspa, invitation.medspa_id)
    assert medspa is not None
    ctx.allowed(
        Action.INVITATION_ACCEPT,
        resource_type="Invitation",
        resource_id=invitation.id,
        medspa_id=invitation.medspa_id,
        detail={"userId": str(user.id)},
    )
    return Accepted(invitation, user, medspa)


async def grant_membership(
    ctx: Context, *, medspa_id: uuid.UUID, user: User, role: MembershipRole
) -> None:
    """The user holds `role` in the medspa: a new membership, or a deactivated one again."""
    membership = (
        await ctx.session.execute(
            select(Membership).where(
                Membership.medspa_id == medspa_id,
                Membership.user_id == user.id,
                Membership.role == role,
            )
        )
    ).scalar_one_or_none()
    if membership is None:
        ctx.session.add(
            Membership(id=uuid.uuid4(), medspa_id=medspa_id, user_id=user.id, role=role)
        )
    else:
        membership.deactivated_at = None
        membership.deactivated_by_user_id = None


async def ensure_provider(
    ctx: Context, *, medspa_id: uuid.UUID, user: User, credentials: str | None
) -> Provider:
    """The user's provider profile in the medspa, created or made active again (its history,
    licence and configuration kept)."""
    provider = (
        await ctx.session.execute(
            select(Provider).where(Provider.medspa_id == medspa_id, Provider.user_id == user.id)
        )
    ).scalar_one_or_none()
    if provider is None:
        provider = Provider(
            id=uuid.uuid4(),
            medspa_id=medspa_id,
            user_id=user.id,
            display_name=user.full_name,
            credentials=credentials or "",
            licensed_to_self_clear=False,
            active=True,
        )
        ctx.session.add(provider)
    else:
        provider.active = True
        if credentials:
            provider.credentials = credentials
    await ctx.session.flush()
    return provider
