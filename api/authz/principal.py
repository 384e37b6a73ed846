"""The Principal: who is asking, computed once per request, read by everything downstream."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from api.authz.actions import Action, Scope
from api.authz.enforcer import Grant, PermissionSet
from db.models.enums import Dashboard, MembershipRole, PccKind


class PrincipalKind(StrEnum):
    USER = "USER"
    API_CLIENT = "API_CLIENT"
    ANONYMOUS = "ANONYMOUS"


@dataclass(frozen=True, slots=True)
class MembershipInfo:
    medspa_id: uuid.UUID
    medspa_name: str
    medspa_slug: str
    roles: tuple[MembershipRole, ...]


@dataclass(frozen=True, slots=True)
class CoverageInfo:
    """An active coverage window that widens a PCC's ASSIGNED scope (PCC issue)."""

    provider_id: uuid.UUID
    until: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """The request's identity and reach. Immutable; built by `Authenticator`."""

    kind: PrincipalKind
    subjects: tuple[str, ...]
    domain: str
    permissions: PermissionSet
    request_id: str
    user_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None
    medspa_id: uuid.UUID | None = None
    dashboard: Dashboard | None = None
    provider_id: uuid.UUID | None = None
    pcc_id: uuid.UUID | None = None
    pcc_kind: PccKind | None = None
    api_client_id: uuid.UUID | None = None
    api_scopes: tuple[str, ...] = ()
    # A partner key limited to some locations: every scope reaches only their rows
    # (api/authz/scopes.py); None for everyone else.
    location_ids: frozenset[uuid.UUID] | None = None
    masquerade_session_id: uuid.UUID | None = None
    memberships: tuple[MembershipInfo, ...] = ()
    # ASSIGNED scope: the providers a PCC works for right now (assignments + coverage) and
    # the medspas they belong to.
    assigned_provider_ids: frozenset[uuid.UUID] = frozenset()
    assigned_medspa_ids: frozenset[uuid.UUID] = frozenset()
    coverage: tuple[CoverageInfo, ...] = ()
    # Row-level security: which tenants the database lets this request see at all.
    rls_medspa_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    rls_platform: bool = False

    @property
    def is_masquerading(self) -> bool:
        return self.masquerade_session_id is not None

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not PrincipalKind.ANONYMOUS

    @property
    def role(self) -> str:
        """The active role (first subject); partner keys report `partner`."""
        if self.kind is PrincipalKind.API_CLIENT:
            return "partner"
        return self.subjects[0]

    def grant(self, action: Action) -> Grant | None:
        return self.permissions.grant(action)

    def scope(self, action: Action) -> Scope | None:
        return self.permissions.scope(action)
