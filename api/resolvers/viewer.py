"""`viewer.can`: what the principal may do, with the reason, so front-ends can hide the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from api.authz.actions import Action, Scope
from api.authz.scopes import Anchor, scope_clause
from api.ids import decode_global_id
from api.resolvers import (
    api_client,
    appointment,
    appointment_type,
    chart,
    coverage,
    gfe,
    inventory,
    location,
    masquerade,
    medspa,
    patient,
    pcc,
    provider,
    service,
)
from db.models import (
    ApiClient,
    Appointment,
    AppointmentType,
    GfeRequest,
    InventoryOrder,
    Location,
    MasqueradeSession,
    Medspa,
    OutOfOffice,
    Patient,
    Pcc,
    Provider,
    Service,
    ServiceDocument,
    ServiceVisit,
)

if TYPE_CHECKING:
    from api.context import Context

# Global-id type name -> (model, anchor) for object-level checks.
RESOURCE_ANCHORS: dict[str, tuple[Any, Anchor]] = {
    "Medspa": (Medspa, medspa.ANCHOR),
    "Location": (Location, location.ANCHOR),
    "Provider": (Provider, provider.ANCHOR),
    "ApiClient": (ApiClient, api_client.ANCHOR),
    "MasqueradeSession": (MasqueradeSession, masquerade.ANCHOR),
    "Appointment": (Appointment, appointment.ANCHOR),
    "AppointmentType": (AppointmentType, appointment_type.ANCHOR),
    "Patient": (Patient, patient.ANCHOR),
    "Pcc": (Pcc, pcc.ANCHOR),
    "OutOfOffice": (OutOfOffice, coverage.OOO_ANCHOR),
    "Service": (Service, service.ANCHOR),
    "ServiceDocument": (ServiceDocument, service.DOCUMENT_ANCHOR),
    "GfeRequest": (GfeRequest, gfe.REQUEST_ANCHOR),
    "ServiceVisit": (ServiceVisit, chart.ANCHOR),
    "InventoryOrder": (InventoryOrder, inventory.ORDER_ANCHOR),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    scope: Scope | None
    reason: str


async def can(ctx: Context, action: Action, resource_id: str | None) -> Decision:
    """Allowed or not, and why: the matching rule, or why no rule matched."""
    grant = ctx.principal.grant(action)
    if grant is None:
        return Decision(False, None, ctx.principal.permissions.reason(action))
    if resource_id is None:
        return Decision(True, grant.scope, grant.rule)
    decoded = decode_global_id(resource_id)
    target = RESOURCE_ANCHORS.get(decoded[0]) if decoded else None
    if decoded is None or target is None:
        return Decision(False, grant.scope, "unknown resource id")
    model, anchor = target
    found = (
        await ctx.session.execute(
            select(model.id).where(
                model.id == decoded[1], scope_clause(ctx.principal, action, anchor)
            )
        )
    ).first()
    if found is None:
        return Decision(
            False, grant.scope, f"{grant.rule}; but the resource is not within {grant.scope} scope"
        )
    return Decision(True, grant.scope, grant.rule)
