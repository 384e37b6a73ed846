"""Authentication: bearer token, API key or masquerade token -> Principal (DESIGN §4).

Runs once per request, inside the request's transaction. It first tells row-level security
which identity rows the caller may see (its own user ids or key hash), loads them, decides the
active medspa, role and dashboard, builds the permission set from the policy engine, and
finally sets the tenant settings every later query runs under.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import ApiScope, Role
from api.authz.enforcer import PermissionSet, PolicyEngine
from api.authz.masquerade import MASQUERADE_FORBIDDEN, MASQUERADE_FORBIDDEN_REASON
from api.authz.principal import CoverageInfo, MembershipInfo, Principal, PrincipalKind
from api.errors import ApiError, AuthenticationError, ErrorCode, bad_request
from api.ids import decode_global_id
from api.resolvers.coverage import coverage_infos, covering_reach
from api.settings import Settings
from db.models import (
    ApiClient,
    Dashboard,
    MasqueradeSession,
    Medspa,
    Membership,
    MembershipRole,
    Pcc,
    PccAssignment,
    PccKind,
    Provider,
    StaffMember,
    StaffRole,
    User,
)
from db.session import set_auth_settings, set_tenant_settings

API_KEY_PREFIX = "msk_"
PLATFORM_DOMAIN = "*"


# --- tokens -----------------------------------------------------------------------------


def mint_user_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    ttl: timedelta,
    medspa_id: uuid.UUID | None = None,
    dashboard: Dashboard | None = None,
) -> str:
    """A user token (`sub`), optionally preselecting a medspa and dashboard."""
    claims: dict[str, Any] = {"sub": str(user_id)}
    if medspa_id:
        claims["mid"] = str(medspa_id)
    if dashboard:
        claims["dash"] = dashboard.value
    return _sign(settings, claims, ttl)


def mint_masquerade_token(
    settings: Settings,
    *,
    provider_user_id: uuid.UUID,
    actor_user_id: uuid.UUID,
    session_id: uuid.UUID,
    medspa_id: uuid.UUID,
    expires_at: datetime,
) -> str:
    """`sub` is the provider, `act.sub` the real admin (RFC 8693), `sid` the session."""
    claims = {
        "sub": str(provider_user_id),
        "act": {"sub": str(actor_user_id)},
        "sid": str(session_id),
        "mid": str(medspa_id),
    }
    return _sign(settings, claims, expires_at - datetime.now(UTC))


def _sign(settings: Settings, claims: dict[str, Any], ttl: timedelta) -> str:
    now = datetime.now(UTC)
    payload = {
        **claims,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, settings.signing_key(), algorithm=settings.jwt_algorithm)


def _verify(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.verification_key(),
            algorithms=[settings.jwt_algorithm],  # pinned: no alg confusion
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationError from exc
    return claims


def hash_api_key(key: str) -> str:
    """Keys are random 256-bit secrets, so one SHA-256 is the right (fast, unsalted) hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def _uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise AuthenticationError from exc


# --- headers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestCredentials:
    """What the HTTP request says about who it is."""

    bearer: str | None
    medspa: str | None
    dashboard: str | None
    request_id: str

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], *, request_id: str) -> RequestCredentials:
        authorization = headers.get("authorization")
        bearer = None
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationError
            bearer = value.strip()
        return cls(
            bearer=bearer,
            medspa=(headers.get("x-medspa-id") or "").strip() or None,
            dashboard=(headers.get("x-dashboard") or "").strip().upper() or None,
            request_id=request_id,
        )


# --- the principal ----------------------------------------------------------------------


class Authenticator:
    """Turns request credentials into a Principal. One per process (holds no request state)."""

    def __init__(self, settings: Settings, policy: PolicyEngine) -> None:
        self.settings = settings
        self.policy = policy

    async def authenticate(self, session: AsyncSession, creds: RequestCredentials) -> Principal:
        if creds.bearer is None:
            return await self._anonymous(session, creds)
        if creds.bearer.startswith(API_KEY_PREFIX):
            return await self._api_client(session, creds)
        return await self._user(session, creds, _verify(self.settings, creds.bearer))

    async def _anonymous(self, session: AsyncSession, creds: RequestCredentials) -> Principal:
        await set_tenant_settings(session, medspa_ids=(), platform=False)
        subjects = (Role.PUBLIC.value,)
        return Principal(
            kind=PrincipalKind.ANONYMOUS,
            subjects=subjects,
            domain=PLATFORM_DOMAIN,
            permissions=self.policy.permissions_for(subjects, PLATFORM_DOMAIN),
            request_id=creds.request_id,
        )

    async def _api_client(self, session: AsyncSession, creds: RequestCredentials) -> Principal:
        assert creds.bearer is not None
        key_hash = hash_api_key(creds.bearer)
        await set_auth_settings(session, api_key_hash=key_hash)
        client = (
            await session.execute(select(ApiClient).where(ApiClient.key_hash == key_hash))
        ).scalar_one_or_none()
        if client is None or client.revoked_at is not None:
            raise AuthenticationError
        await set_tenant_settings(session, medspa_ids=(client.medspa_id,), platform=False)
        await session.execute(
            update(ApiClient)
            .where(ApiClient.id == client.id)
            .values(last_used_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        known = {s.value for s in ApiScope}
        scopes = tuple(sorted(s for s in client.scopes if s in known))
        subjects = tuple(ApiScope(s).subject for s in scopes)
        domain = str(client.medspa_id)
        return Principal(
            kind=PrincipalKind.API_CLIENT,
            subjects=subjects,
            domain=domain,
            permissions=self.policy.permissions_for(subjects, domain),
            request_id=creds.request_id,
            medspa_id=client.medspa_id,
            api_client_id=client.id,
            api_scopes=scopes,
            rls_medspa_ids=frozenset({client.medspa_id}),
        )

    async def _user(
        self, session: AsyncSession, creds: RequestCredentials, claims: dict[str, Any]
    ) -> Principal:
        user_id = _uuid(claims["sub"])
        act = claims.get("act")
        actor_id = _uuid(act.get("sub")) if isinstance(act, dict) else None
        if act is not None and actor_id is None:
            raise AuthenticationError
        identity_ids = [user_id] + ([actor_id] if actor_id else [])
        await set_auth_settings(session, user_ids=identity_ids)

        users = {
            u.id: u
            for u in (
                await session.execute(select(User).where(User.id.in_(identity_ids)))
            ).scalars()
        }
        if any(i not in users or not users[i].active for i in identity_ids):
            raise AuthenticationError

        if actor_id is not None:
            return await self._masquerade(session, creds, claims, user_id, actor_id)

        staff = await session.get(StaffMember, user_id)
        if staff is not None:
            return await self._staff(session, creds, user_id, staff.role)
        return await self._member(session, creds, claims, user_id)

    async def _staff(
        self, session: AsyncSession, creds: RequestCredentials, user_id: uuid.UUID, role: StaffRole
    ) -> Principal:
        if role is not StaffRole.PCC:
            await set_tenant_settings(session, medspa_ids=(), platform=True)
            subjects = (role.value,)
            return Principal(
                kind=PrincipalKind.USER,
                subjects=subjects,
                domain=PLATFORM_DOMAIN,
                permissions=self.policy.permissions_for(subjects, PLATFORM_DOMAIN),
                request_id=creds.request_id,
                user_id=user_id,
                actor_user_id=user_id,
                rls_platform=True,
            )

        pcc = (
            await session.execute(select(Pcc).where(Pcc.user_id == user_id))
        ).scalar_one_or_none()
        if pcc is None:
            raise AuthenticationError
        reach = await assigned_reach(session, pcc)
        subjects = (
            Role.PCC_DESIGNATED.value if pcc.kind is PccKind.DESIGNATED else Role.PCC_VIRTUAL.value,
        )
        await set_tenant_settings(session, medspa_ids=reach.medspa_ids, platform=False)
        return Principal(
            kind=PrincipalKind.USER,
            subjects=subjects,
            domain=PLATFORM_DOMAIN,
            permissions=self.policy.permissions_for(subjects, PLATFORM_DOMAIN),
            request_id=creds.request_id,
            user_id=user_id,
            actor_user_id=user_id,
            medspa_id=pcc.designated_medspa_id,
            pcc_id=pcc.id,
            pcc_kind=pcc.kind,
            assigned_provider_ids=reach.provider_ids,
            assigned_medspa_ids=reach.medspa_ids,
            coverage=reach.coverage,
            rls_medspa_ids=reach.medspa_ids,
        )

    async def _member(
        self,
        session: AsyncSession,
        creds: RequestCredentials,
        claims: dict[str, Any],
        user_id: uuid.UUID,
    ) -> Principal:
        rows = (
            await session.execute(
                select(Membership.medspa_id, Membership.role).where(Membership.user_id == user_id)
            )
        ).all()
        roles_by_medspa: dict[uuid.UUID, set[MembershipRole]] = {}
        for medspa_id, role in rows:
            roles_by_medspa.setdefault(medspa_id, set()).add(role)
        if not roles_by_medspa:
            raise AuthenticationError  # a user with no role anywhere has nothing to reach

        # The user reaches each medspa they belong to; RLS lets us read those medspas now.
        await set_tenant_settings(session, medspa_ids=roles_by_medspa, platform=False)
        medspas = {
            m.id: m
            for m in (
                await session.execute(select(Medspa).where(Medspa.id.in_(roles_by_medspa)))
            ).scalars()
        }
        memberships = tuple(
            MembershipInfo(
                medspa_id=m.id,
                medspa_name=m.name,
                medspa_slug=m.slug,
                roles=tuple(sorted(roles_by_medspa[m.id])),
            )
            for m in sorted(medspas.values(), key=lambda m: m.name)
        )

        medspa_id = _choose_medspa(creds.medspa or claims.get("mid"), medspas)
        held = roles_by_medspa[medspa_id]
        dashboard = _choose_dashboard(creds.dashboard or claims.get("dash"), held)
        role = (
            MembershipRole.MEDSPA_ADMIN if dashboard is Dashboard.ADMIN else MembershipRole.PROVIDER
        )
        provider_id = None
        if dashboard is Dashboard.PROVIDER:
            provider_id = (
                await session.execute(
                    select(Provider.id).where(
                        Provider.medspa_id == medspa_id, Provider.user_id == user_id
                    )
                )
            ).scalar_one_or_none()
            if provider_id is None:
                raise ApiError(ErrorCode.FORBIDDEN, "You have no provider profile in this medspa.")

        await set_tenant_settings(session, medspa_ids=(medspa_id,), platform=False)
        subjects = (role.value,)
        domain = str(medspa_id)
        return Principal(
            kind=PrincipalKind.USER,
            subjects=subjects,
            domain=domain,
            permissions=self.policy.permissions_for(subjects, domain),
            request_id=creds.request_id,
            user_id=user_id,
            actor_user_id=user_id,
            medspa_id=medspa_id,
            dashboard=dashboard,
            provider_id=provider_id,
            memberships=memberships,
            rls_medspa_ids=frozenset({medspa_id}),
        )

    async def _masquerade(
        self,
        session: AsyncSession,
        creds: RequestCredentials,
        claims: dict[str, Any],
        user_id: uuid.UUID,
        actor_id: uuid.UUID,
    ) -> Principal:
        session_id = _uuid(claims.get("sid"))
        masquerade = (
            await session.execute(
                select(MasqueradeSession).where(
                    MasqueradeSession.id == session_id,
                    MasqueradeSession.actor_user_id == actor_id,
                )
            )
        ).scalar_one_or_none()
        now = datetime.now(UTC)
        if masquerade is None or masquerade.ended_at is not None or masquerade.expires_at <= now:
            raise AuthenticationError
        medspa_id = masquerade.medspa_id

        # The actor must still be allowed to masquerade here: an admin of this medspa, or a
        # platform admin. Demoted mid-session -> the very next request is refused.
        actor_staff = await session.get(StaffMember, actor_id)
        if actor_staff is None or actor_staff.role is not StaffRole.PLATFORM_ADMIN:
            still_admin = (
                await session.execute(
                    select(Membership.id).where(
                        Membership.user_id == actor_id,
                        Membership.medspa_id == medspa_id,
                        Membership.role == MembershipRole.MEDSPA_ADMIN,
                    )
                )
            ).first()
            if still_admin is None:
                raise AuthenticationError

        await set_tenant_settings(session, medspa_ids=(medspa_id,), platform=False)
        provider = (
            await session.execute(
                select(Provider).where(
                    Provider.id == masquerade.provider_id, Provider.medspa_id == medspa_id
                )
            )
        ).scalar_one_or_none()
        if provider is None or provider.user_id != user_id or not provider.active:
            raise AuthenticationError

        subjects = (Role.PROVIDER.value,)
        domain = str(medspa_id)
        permissions: PermissionSet = self.policy.permissions_for(subjects, domain).without(
            MASQUERADE_FORBIDDEN, MASQUERADE_FORBIDDEN_REASON
        )
        medspa = await session.get(Medspa, medspa_id)
        assert medspa is not None
        return Principal(
            kind=PrincipalKind.USER,
            subjects=subjects,
            domain=domain,
            permissions=permissions,
            request_id=creds.request_id,
            user_id=user_id,
            actor_user_id=actor_id,
            medspa_id=medspa_id,
            dashboard=Dashboard.PROVIDER,
            provider_id=provider.id,
            masquerade_session_id=masquerade.id,
            memberships=(
                MembershipInfo(
                    medspa_id=medspa.id,
                    medspa_name=medspa.name,
                    medspa_slug=medspa.slug,
                    roles=(MembershipRole.PROVIDER,),
                ),
            ),
            rls_medspa_ids=frozenset({medspa_id}),
        )


@dataclass(frozen=True, slots=True)
class AssignedReach:
    provider_ids: frozenset[uuid.UUID]
    medspa_ids: frozenset[uuid.UUID]
    coverage: tuple[CoverageInfo, ...]


async def assigned_reach(session: AsyncSession, pcc: Pcc) -> AssignedReach:
    """The ASSIGNED scope of a PCC right now.

    VIRTUAL: the providers with a current assignment. DESIGNATED: every provider of the medspa
    it sits in. Both: plus the providers it covers right now (an active coverage window), so
    access follows coverage in time with nothing to revoke.
    """
    now = datetime.now(UTC)
    rows = (
        await session.execute(
            select(PccAssignment.provider_id, PccAssignment.medspa_id).where(
                PccAssignment.pcc_id == pcc.id,
                PccAssignment.starts_at <= now,
                (PccAssignment.ends_at.is_(None)) | (PccAssignment.ends_at > now),
            )
        )
    ).all()
    provider_ids = {r.provider_id for r in rows}
    medspa_ids = {r.medspa_id for r in rows}
    if pcc.kind is PccKind.DESIGNATED and pcc.designated_medspa_id is not None:
        medspa_ids.add(pcc.designated_medspa_id)
        await set_tenant_settings(session, medspa_ids=medspa_ids, platform=False)
        provider_ids.update(
            (
                await session.execute(
                    select(Provider.id).where(Provider.medspa_id == pcc.designated_medspa_id)
                )
            ).scalars()
        )
    covered = await covering_reach(session, pcc.id, now)
    provider_ids.update(provider for provider, _medspa, _until in covered)
    medspa_ids.update(medspa for _provider, medspa, _until in covered)
    return AssignedReach(frozenset(provider_ids), frozenset(medspa_ids), coverage_infos(covered))


def _choose_medspa(asked: object, medspas: Mapping[uuid.UUID, Medspa]) -> uuid.UUID:
    if asked is None:
        if len(medspas) == 1:
            return next(iter(medspas))
        raise bad_request("X-Medspa-Id is required: you belong to more than one medspa.")
    text_value = str(asked)
    for medspa in medspas.values():
        if text_value in (str(medspa.id), medspa.slug):
            return medspa.id
    decoded = decode_global_id(text_value)
    if decoded is not None and decoded[0] == "Medspa" and decoded[1] in medspas:
        return decoded[1]
    raise ApiError(ErrorCode.FORBIDDEN, "You do not belong to that medspa.")


def _choose_dashboard(asked: object, held: set[MembershipRole]) -> Dashboard:
    can_admin = MembershipRole.MEDSPA_ADMIN in held
    can_provide = MembershipRole.PROVIDER in held
    if asked is None:
        return Dashboard.ADMIN if can_admin else Dashboard.PROVIDER
    try:
        dashboard = Dashboard(str(asked))
    except ValueError as exc:
        raise bad_request("X-Dashboard must be ADMIN or PROVIDER.") from exc
    if (dashboard is Dashboard.ADMIN and not can_admin) or (
        dashboard is Dashboard.PROVIDER and not can_provide
    ):
        raise ApiError(ErrorCode.FORBIDDEN, "You do not hold that dashboard in this medspa.")
    return dashboard
