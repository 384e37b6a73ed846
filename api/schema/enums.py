"""GraphQL enums, one per domain enum (same names and values)."""

from __future__ import annotations

import strawberry

from api.authz.actions import Action as ActionEnum
from api.authz.actions import ApiScope as ApiScopeEnum
from api.authz.actions import Scope as ScopeEnum
from db.models import enums

BusinessModel = strawberry.enum(enums.BusinessModel)
GfeRouting = strawberry.enum(enums.GfeRouting)
PccKind = strawberry.enum(enums.PccKind)
Dashboard = strawberry.enum(enums.Dashboard)
AuditOutcome = strawberry.enum(enums.AuditOutcome)
MembershipRole = strawberry.enum(enums.MembershipRole)
Action = strawberry.enum(ActionEnum, description="Every action the API authorizes.")
Scope = strawberry.enum(ScopeEnum, description="Which rows an allowed action reaches.")
ApiScope = strawberry.enum(ApiScopeEnum, description="Scopes a partner API key may carry.")
