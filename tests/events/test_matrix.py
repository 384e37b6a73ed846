"""The role matrix of the webhook fields (issue 17 §2), written from policy.csv:
webhook_endpoint.read is ANY for the platform, TENANT for medspa admins and OWN for every
partner key; webhook_endpoint.manage is TENANT for medspa admins and OWN for partner keys.
A Glow key with every scope owns the endpoint the mutations aim at."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.matrix import OK, expect
from tests.scheduling.helpers import scalar

CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    errors { code } secret endpoint { id url } } }"""
UPDATE = """mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) {
    errors { code } endpoint { id active } } }"""
REDELIVER = """mutation($id: ID!) { redeliverWebhook(deliveryId: $id) {
    errors { code } delivery { id status eventType } } }"""
DELETE = """mutation($id: ID!) { deleteWebhookEndpoint(id: $id) {
    errors { code } deletedEndpointId } }"""
LIST = """{ webhookEndpoints { edges { node { id url eventTypes active
    deliveries { edges { node { status eventType attempts } } } } } } }"""

URL = "https://hooks.partner.example/medspa"
OTHER_TENANT = (
    "cody@portrait.example",
    "sam@portrait.example",
    "ruth@radiance.example",
    "lee@radiance.example",
    "lena@legacy.example",
    "kim@legacy.example",
)
PARTNER_KEYS = ("api_key", *(c for c in ALL_CALLERS if c.startswith("api_key:")))
ADMINS = ("dana@glow.example", "ruth@radiance.example", "lena@legacy.example")

READ = expect(
    {"ops@portrait.example": OK, **dict.fromkeys(ADMINS, OK), **dict.fromkeys(PARTNER_KEYS, OK)},
    default="FORBIDDEN",
) | {"anonymous": "UNAUTHENTICATED"}

# Creating names the Glow key's client: Radiance's and Legacy's admins cannot see it.
CREATE_EXPECT = expect(
    {
        "dana@glow.example": OK,
        "ruth@radiance.example": "NOT_FOUND",
        "lena@legacy.example": "NOT_FOUND",
        **dict.fromkeys(PARTNER_KEYS, OK),
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)

# The endpoint belongs to the full Glow key: other keys and tenants do not see it at all.
MANAGE_EXPECT = expect(
    {
        "dana@glow.example": OK,
        "api_key": OK,
        **{k: "NOT_FOUND" for k in PARTNER_KEYS if k != "api_key"},
        "ruth@radiance.example": "NOT_FOUND",
        "lena@legacy.example": "NOT_FOUND",
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)


async def _endpoint_with_delivery(
    gql: Gql, principals: Principals, demo: DemoIds, owner_engine: AsyncEngine
) -> tuple[str, str, str]:
    """The full Glow key's endpoint, one delivery to it, and the key's client id."""
    key = await principals.api_key()
    created = await gql(
        CREATE, {"input": {"url": URL, "eventTypes": ["APPOINTMENT_BOOKED"]}}, bearer=key
    )
    endpoint = created.data["createWebhookEndpoint"]["endpoint"]["id"]
    # An event and its delivery, as `emit` leaves them (tests/events/test_webhooks.py books).
    async with owner_engine.begin() as conn:
        delivery = (
            await conn.execute(
                text(
                    "WITH e AS (INSERT INTO webhook_event (id, medspa_id, kind, payload)"
                    " SELECT gen_random_uuid(), medspa_id, 'appointment.booked', '{}'"
                    " FROM webhook_endpoint RETURNING id, medspa_id)"
                    " INSERT INTO webhook_delivery (id, medspa_id, endpoint_id, event_id)"
                    " SELECT gen_random_uuid(), e.medspa_id, w.id, e.id"
                    " FROM e JOIN webhook_endpoint w ON w.medspa_id = e.medspa_id RETURNING id"
                )
            )
        ).scalar_one()
    client = await scalar(owner_engine, "SELECT api_client_id FROM webhook_endpoint")
    return (
        endpoint,
        str(encode_global_id("WebhookDelivery", delivery)),
        str(encode_global_id("ApiClient", client)),
    )


async def _ask(gql: Gql, principals: Principals, who: str, query: str, variables: Any) -> Any:
    return await gql(query, variables, bearer=await principals.bearer(who))


def _check(answer: Any, expected: str, field: str) -> dict[str, Any]:
    if expected != OK:
        assert answer.codes == [expected], answer.body
        return {}
    payload: dict[str, Any] = answer.data[field]
    assert payload.get("errors", []) == [], answer.body
    return payload


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_webhook_endpoints(
    gql: Gql, principals: Principals, demo: DemoIds, owner_engine: AsyncEngine, who: str
) -> None:
    await _endpoint_with_delivery(gql, principals, demo, owner_engine)
    answer = await _ask(gql, principals, who, LIST, {})
    payload = _check(answer, READ[who], "webhookEndpoints")
    if not payload:
        return
    nodes = [e["node"] for e in payload["edges"]]
    sees_it = who in {"ops@portrait.example", "dana@glow.example", "api_key"}
    assert len(nodes) == (1 if sees_it else 0), (who, nodes)
    if sees_it:
        (delivery,) = [e["node"] for e in nodes[0]["deliveries"]["edges"]]
        assert delivery["eventType"] == "appointment.booked"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_create_webhook_endpoint(
    gql: Gql, principals: Principals, demo: DemoIds, owner_engine: AsyncEngine, who: str
) -> None:
    await principals.api_key()
    client = await scalar(owner_engine, "SELECT id FROM api_client ORDER BY created_at LIMIT 1")
    variables: dict[str, Any] = {"url": URL, "eventTypes": ["PATIENT_CREATED"]}
    if not who.startswith("api_key"):
        variables["apiClientId"] = str(encode_global_id("ApiClient", client))
    answer = await _ask(gql, principals, who, CREATE, {"input": variables})
    payload = _check(answer, CREATE_EXPECT[who], "createWebhookEndpoint")
    count = await scalar(owner_engine, "SELECT count(*) FROM webhook_endpoint")
    assert count == (1 if payload else 0)
    if payload:
        assert payload["secret"].startswith("whsec_")


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_update_webhook_endpoint(
    gql: Gql, principals: Principals, demo: DemoIds, owner_engine: AsyncEngine, who: str
) -> None:
    endpoint, _, _ = await _endpoint_with_delivery(gql, principals, demo, owner_engine)
    answer = await _ask(gql, principals, who, UPDATE, {"input": {"id": endpoint, "active": False}})
    payload = _check(answer, MANAGE_EXPECT[who], "updateWebhookEndpoint")
    active = await scalar(owner_engine, "SELECT active FROM webhook_endpoint")
    assert active is (not payload)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_redeliver_webhook(
    gql: Gql,
    principals: Principals,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    audit: Audit,
    who: str,
) -> None:
    _, delivery, _ = await _endpoint_with_delivery(gql, principals, demo, owner_engine)
    answer = await _ask(gql, principals, who, REDELIVER, {"id": delivery})
    payload = _check(answer, MANAGE_EXPECT[who], "redeliverWebhook")
    count = await scalar(owner_engine, "SELECT count(*) FROM webhook_delivery")
    assert count == (2 if payload else 1)
    if payload:
        assert payload["delivery"]["status"] == "PENDING"
        assert payload["delivery"]["eventType"] == "appointment.booked"
    else:
        request_id = answer.errors[0]["extensions"]["requestId"]
        assert {r["outcome"] for r in await audit.rows(request_id=request_id)} == {"DENIED"}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_delete_webhook_endpoint(
    gql: Gql,
    principals: Principals,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    audit: Audit,
    who: str,
) -> None:
    endpoint, _, _ = await _endpoint_with_delivery(gql, principals, demo, owner_engine)
    answer = await _ask(gql, principals, who, DELETE, {"id": endpoint})
    payload = _check(answer, MANAGE_EXPECT[who], "deleteWebhookEndpoint")
    endpoints = await scalar(owner_engine, "SELECT count(*) FROM webhook_endpoint")
    deliveries = await scalar(owner_engine, "SELECT count(*) FROM webhook_delivery")
    if payload:
        assert payload["deletedEndpointId"] == endpoint
        # Its log went with it; the audit trail keeps where it pointed.
        assert (endpoints, deliveries) == (0, 0)
        [deleted] = [
            r
            for r in await audit.rows(action="webhook_endpoint.manage", outcome="ALLOWED")
            if r["detail"]["operation"] == "delete"
        ]
        assert deleted["detail"]["url"] == URL
    else:
        assert (endpoints, deliveries) == (1, 1)
        request_id = answer.errors[0]["extensions"]["requestId"]
        assert {r["outcome"] for r in await audit.rows(request_id=request_id)} == {"DENIED"}
