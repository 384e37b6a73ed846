"""Authentication: bearer token, API key or masquerade token -> Principal (DESIGN §4).

Runs once per request, inside the request's transaction. It first tells row-level security
which identity rows the caller may see (its own user ids or key hash), loads them, decides the
active medspa, role and dashboard, builds the permission set from the policy engine (a PCC's
reach comes from `api.authz.reach`), and finally sets the tenant settings every later query
runs under.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import ApiScope, Role
from api.authz.enforcer import PermissionSet, PolicyEngine
from api.authz.masquerade import MASQUERADE_FORBIDDEN, MASQUERADE_FORBIDDEN_REASON
from api.authz.principal import MembershipInfo, Principal, PrincipalKind
from api.authz.principal_cache import PrincipalCache
from api.authz.reach import assigned_reach
from api.errors import ApiError, AuthenticationError, ErrorCode, bad_request
from api.ids import decode_global_id
from api.oidc import OidcVerifier, user_for_email
from api.settings import Settings
from api.tokens import API_KEY_PREFIX, hash_api_key, verify_token
from db.models import (
    ApiClient,
    Dashboard,
    MasqueradeSession,
    Medspa,
    Membership,
    MembershipRole,
    Pcc,
    PccKind,
    Provider,
    StaffMember,
    StaffRole,
    User,
)
from db.session import set_auth_settings, set_tenant_settings

PLATFORM_DOMAIN = "*"


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
        self.cache = PrincipalCache()
        self.oidc = OidcVerifier(settings)

    async def authenticate(self, session: AsyncSession, creds: RequestCredentials) -> Principal:
        if creds.bearer is None:
            return await self._anonymous(session, creds)
        # The policy's version is part of the key: a reload makes every entry unreachable.
        key = PrincipalCache.key(
            creds.bearer, creds.medspa, creds.dashboard, policy_version=self.policy.version
        )
        known = self.cache.get(key, request_id=creds.request_id)
        if known is not None:
            # A token seen within the minute, no identity change since: only the
            # transaction's row-level-security settings remain to be sent.
            await set_tenant_settings(
                session, medspa_ids=known.rls_medspa_ids, platform=known.rls_platform
            )
            return known
        expiry: float | None = None
        if creds.bearer.startswith(API_KEY_PREFIX):
            principal = await self._api_client(session, creds)
        elif self.oidc.issued_token(creds.bearer):
            # The identity provider's ID token: the user with its verified email, then as
            # with the API's own token for that user (api/oidc.py).
            email, expiry = await self.oidc.verified_email(creds.bearer)
            user_id = await user_for_email(session, email)
            principal = await self._user(session, creds, {"sub": str(user_id)})
        else:
            claims = verify_token(self.settings, creds.bearer)
            expiry = float(claims["exp"])
            principal = await self._user(session, creds, claims)
        self.cache.put(key, principal, token_expiry=expiry)
        return principal

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
            location_ids=frozenset(client.location_ids) if client.location_ids else None,
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
        await set_tenant_settings(session, medspa_ids=reach.rls_medspa_ids, platform=False)
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
            rls_medspa_ids=reach.rls_medspa_ids,
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
                select(Membership.medspa_id, Membership.role).where(
                    Membership.user_id == user_id,
                    # A deactivated membership lets no one in (its row is history).
                    Membership.deactivated_at.is_(None),
                )
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
                        Membership.deactivated_at.is_(None),
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
