"""GraphQL enums: the domain enums themselves, registered with strawberry (same names, values)."""

from __future__ import annotations

import strawberry

from api.authz import actions
from db.models import enums

BusinessModel = enums.BusinessModel
GfeRouting = enums.GfeRouting
PccKind = enums.PccKind
Dashboard = enums.Dashboard
AuditOutcome = enums.AuditOutcome
MembershipRole = enums.MembershipRole
Action = actions.Action
Scope = actions.Scope
ApiScope = actions.ApiScope

for _enum in (BusinessModel, GfeRouting, PccKind, Dashboard, AuditOutcome, MembershipRole):
    strawberry.enum(_enum)
strawberry.enum(Action, description="Every action the API authorizes.")
strawberry.enum(Scope, description="Which rows an allowed action reaches.")
strawberry.enum(ApiScope, description="Scopes a partner API key may carry.")

OooKind = enums.OooKind
OooReason = enums.OooReason
CoverageSource = enums.CoverageSource
Channel = enums.Channel
IntegrationKind = enums.IntegrationKind
IntegrationStatus = enums.IntegrationStatus
for _pcc_enum in (
    OooKind,
    OooReason,
    CoverageSource,
    Channel,
    IntegrationKind,
    IntegrationStatus,
):
    strawberry.enum(_pcc_enum)
