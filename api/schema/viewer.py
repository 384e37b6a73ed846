"""`viewer`: who is asking, as the API sees it, and what they may do."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.authz.actions import Action as ActionValue
from api.authz.principal import PrincipalKind
from api.context import Context
from api.resolvers import viewer as resolvers
from api.schema.enums import Action, Dashboard, MembershipRole, PccKind, Scope
from api.schema.masquerade import MasqueradeSession
from api.schema.medspa import Medspa
from api.schema.node import encode_global_id
from api.schema.provider import Provider
from api.schema.user import User

Info = strawberry.Info[Context, None]


@strawberry.type(description="The answer of `viewer.can`.")
class Permission:
    allowed: bool
    scope: Scope | None
    reason: str


@strawberry.type
class ViewerMembership:
    medspa_id: strawberry.ID
    medspa_name: str
    medspa_slug: str
    roles: list[MembershipRole]


@strawberry.type
class CoverageWindow:
    provider_id: strawberry.ID
    until: datetime


@strawberry.type
class Viewer:
    kind: str
    roles: list[str]
    dashboard: Dashboard | None
    pcc_kind: PccKind | None
    api_scopes: list[str]
    memberships: list[ViewerMembership]
    covering: list[CoverageWindow]

    @strawberry.field(description="The effective user (the provider, when masquerading).")
    async def user(self, info: Info) -> User | None:
        user_id = info.context.principal.user_id
        row = await info.context.loaders.user_by_id.load(user_id) if user_id else None
        return User.from_row(row) if row else None

    @strawberry.field(description="The real person acting; differs from `user` only in masquerade.")
    async def actor(self, info: Info) -> User | None:
        principal = info.context.principal
        if not principal.is_masquerading or principal.actor_user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(principal.actor_user_id)
        return User.from_row(row) if row else None

    @strawberry.field
    async def masquerade(self, info: Info) -> MasqueradeSession | None:
        return await MasqueradeSession.current(info.context)

    @strawberry.field
    async def active_medspa(self, info: Info) -> Medspa | None:
        medspa_id = info.context.principal.medspa_id
        row = await info.context.loaders.medspa_by_id.load(medspa_id) if medspa_id else None
        return Medspa.from_row(row) if row else None

    @strawberry.field(
        description="The provider profile the viewer acts as, on the provider dashboard."
    )
    async def provider(self, info: Info) -> Provider | None:
        provider_id = info.context.principal.provider_id
        row = await info.context.loaders.provider_by_id.load(provider_id) if provider_id else None
        return Provider.from_row(row) if row else None

    @strawberry.field(description="May the viewer do `action` (on `resourceId`, when given)?")
    async def can(
        self, info: Info, action: Action, resource_id: strawberry.ID | None = None
    ) -> Permission:
        decision = await resolvers.can(info.context, ActionValue(action), resource_id)
        return Permission(allowed=decision.allowed, scope=decision.scope, reason=decision.reason)

    @classmethod
    def of(cls, ctx: Context) -> Viewer:
        p = ctx.principal
        return cls(
            kind=p.kind.value,
            roles=[] if p.kind is PrincipalKind.ANONYMOUS else list(p.subjects),
            dashboard=p.dashboard,
            pcc_kind=p.pcc_kind,
            api_scopes=list(p.api_scopes),
            memberships=[
                ViewerMembership(
                    medspa_id=encode_global_id("Medspa", m.medspa_id),
                    medspa_name=m.medspa_name,
                    medspa_slug=m.medspa_slug,
                    roles=list(m.roles),
                )
                for m in p.memberships
            ],
            covering=[
                CoverageWindow(
                    provider_id=encode_global_id("Provider", c.provider_id), until=c.until
                )
                for c in p.coverage
            ],
        )


@strawberry.type
class ViewerQuery:
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        return Viewer.of(info.context)
