"""`emit(ctx, kind, row)`: announce an event to the partners whose keys may read the row.

Called by a use case after its write, in the request's transaction: the event and one
delivery per subscribed, active endpoint are inserted there (a rolled-back write announces
nothing), and the delivery's job is queued with it (api/events/queue.py).

Reach is decided here, once, through the scope mechanism: for each endpoint the endpoint's
API client becomes a Principal (its scopes, the medspa's policy) and the row must pass
`scope_clause(principal, resource.read, resource.anchor)` in SQL, the same clause a query
of that partner would run. A model that is not a registered resource is reached through its
patient (`patient_id`); a row of neither kind reaches no partner.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select

from api.authz.actions import ApiScope
from api.authz.enforcer import PolicyEngine
from api.authz.principal import Principal, PrincipalKind
from api.authz.scopes import resource_of, scope_clause
from api.events.queue import WEBHOOK_TASK, defer_jobs
from api.ids import encode_global_id
from db.models import ApiClient, Patient, WebhookDelivery, WebhookEndpoint, WebhookEvent

if TYPE_CHECKING:
    from api.context import Context


class EventKind(StrEnum):
    """Webhook event types (the Standard Webhooks `type`)."""

    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_STATUS_CHANGED = "appointment.status_changed"
    PATIENT_CREATED = "patient.created"
    GFE_REQUESTED = "gfe.requested"
    GFE_CLEARED = "gfe.cleared"
    COVERAGE_STARTED = "coverage.started"
    COVERAGE_ENDED = "coverage.ended"
    INVENTORY_ORDER_STATE_CHANGED = "inventory_order.state_changed"


# What an event says about its row: ids and times, never names or contact details (the
# partner reads those through the API, under its own scopes, if it may).
_FIELDS: dict[str, tuple[str, ...]] = {
    "Appointment": (
        "status",
        "starts_at",
        "ends_at",
        "provider_id",
        "location_id",
        "patient_id",
        "appointment_type_id",
    ),
    "Patient": (),
    "GfeRequest": ("status", "patient_id", "provider_id"),
    "Clearance": ("patient_id", "service_id", "expires_at"),
    "Coverage": ("provider_id", "starts_at", "ends_at"),
    "InventoryOrder": ("status", "delivery_date", "total_cents", "currency"),
}
_ID_TYPES = {
    "provider_id": "Provider",
    "location_id": "Location",
    "patient_id": "Patient",
    "appointment_type_id": "AppointmentType",
    "service_id": "Service",
}


def event_data(row: Any) -> dict[str, Any]:
    """The `data` of an event about `row` (global ids, ISO times, enum values)."""
    name = type(row).__name__
    data: dict[str, Any] = {"id": encode_global_id(name, row.id)}
    for column in _FIELDS.get(name, ()):
        value = getattr(row, column, None)
        key = _camel(column)
        if column in _ID_TYPES:
            data[key] = encode_global_id(_ID_TYPES[column], value) if value else None
        elif isinstance(value, datetime | date):
            data[key] = value.isoformat()
        elif isinstance(value, StrEnum):
            data[key] = value.value
        else:
            data[key] = value
    return data


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@lru_cache(maxsize=1)
def _baseline_policy() -> PolicyEngine:
    return PolicyEngine()


def partner_principal(client: ApiClient, policy: PolicyEngine) -> Principal:
    """The Principal a request with `client`'s key would have (as api/authz/authenticate)."""
    known = {s.value for s in ApiScope}
    scopes = tuple(sorted(s for s in client.scopes if s in known))
    subjects = tuple(ApiScope(s).subject for s in scopes)
    domain = str(client.medspa_id)
    return Principal(
        kind=PrincipalKind.API_CLIENT,
        subjects=subjects,
        domain=domain,
        permissions=policy.permissions_for(subjects, domain),
        request_id="webhook",
        medspa_id=client.medspa_id,
        api_client_id=client.id,
        api_scopes=scopes,
        rls_medspa_ids=frozenset({client.medspa_id}),
    )


async def emit(ctx: Context, kind: EventKind, row: Any) -> WebhookEvent | None:
    """Queue `kind` about `row` for every active endpoint of the row's medspa that subscribed
    to it and whose key reaches the row. Returns the event, or None when nobody receives it."""
    medspa_id: uuid.UUID = row.medspa_id
    key = (medspa_id, kind.value)
    endpoints = ctx.event_endpoints.get(key)
    if endpoints is None:
        endpoints = ctx.event_endpoints[key] = await _endpoints(ctx, medspa_id, kind)
    if not endpoints:
        return None
    policy = ctx.policy or _baseline_policy()
    receivers: list[WebhookEndpoint] = []
    for endpoint, client in endpoints:
        if await _reaches(ctx, partner_principal(client, policy), row):
            receivers.append(endpoint)
    if not receivers:
        return None
    now = datetime.now(UTC)
    event = WebhookEvent(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        kind=kind.value,
        payload={"type": kind.value, "timestamp": now.isoformat(), "data": event_data(row)},
    )
    ctx.session.add(event)
    await ctx.session.flush()
    deliveries = [
        WebhookDelivery(id=uuid.uuid4(), medspa_id=medspa_id, endpoint_id=e.id, event_id=event.id)
        for e in receivers
    ]
    ctx.session.add_all(deliveries)
    await ctx.session.flush()
    await defer_jobs(ctx.session, WEBHOOK_TASK, [d.id for d in deliveries])
    return event


async def _endpoints(ctx: Context, medspa_id: uuid.UUID, kind: EventKind) -> list[Any]:
    """The medspa's active endpoints subscribed to `kind`, with their (unrevoked) clients."""
    found = await ctx.session.execute(
        select(WebhookEndpoint, ApiClient)
        .join(
            ApiClient,
            (ApiClient.medspa_id == WebhookEndpoint.medspa_id)
            & (ApiClient.id == WebhookEndpoint.api_client_id),
        )
        .where(
            WebhookEndpoint.medspa_id == medspa_id,
            WebhookEndpoint.active.is_(True),
            WebhookEndpoint.event_types.contains([kind.value]),
            ApiClient.revoked_at.is_(None),
        )
    )
    return list(found.all())


async def _reaches(ctx: Context, principal: Principal, row: Any) -> bool:
    model: Any = type(row)
    row_id = row.id
    try:
        resource = resource_of(model)
    except LookupError:
        patient_id = getattr(row, "patient_id", None)
        if patient_id is None:
            return False
        model, row_id, resource = Patient, patient_id, resource_of(Patient)
    clause = scope_clause(principal, resource.read, resource.anchor)
    found = await ctx.session.scalar(select(exists().where(model.id == row_id, clause)))
    return bool(found)
