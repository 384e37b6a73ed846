"""Webhooks: who receives an event (the scope mechanism, decided when it is built), the
endpoint's URL rules, and hostile targets and answers at delivery (no SSRF, a time limit, a
size cap, retries for a day then FAILED)."""

from __future__ import annotations

import ipaddress
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from api.authz.enforcer import PolicyRow, build_domain_policy
from api.events import webhooks
from api.events.webhooks import UnsafeTarget, deliver, resolve
from api.settings import Settings
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import Gql, Principals
from tests.events.sinks import webhook_receiver
from tests.inventory.helpers import PLACE, order_input
from tests.scheduling.helpers import BOOK, GLOW_ADMIN, booking, rows, scalar

CREATE = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    errors { code field } secret endpoint { id } } }"""
EVENTS = ["APPOINTMENT_BOOKED", "PATIENT_CREATED"]


def _settings(**values: Any) -> Settings:
    return Settings(**{"MEDSPA_ENV": "test", **values})


PROD = _settings(MEDSPA_ENV="prod")


async def _received(owner_engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every delivery made: the endpoint's URL, the event's kind and payload."""
    return await rows(
        owner_engine,
        "SELECT w.url, e.kind, e.payload FROM webhook_delivery d"
        " JOIN webhook_endpoint w ON w.id = d.endpoint_id"
        " JOIN webhook_event e ON e.id = d.event_id",
    )


async def test_a_partner_receives_only_what_its_key_reaches(
    gql: Gql, principals: Principals, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    reader = await principals.api_key(scopes=("APPOINTMENTS_READ",))
    catalog = await principals.api_key(scopes=("CATALOG_READ",))
    radiance = await principals.api_key(
        scopes=("APPOINTMENTS_READ",), admin="ruth@radiance.example"
    )
    for n, key in enumerate((reader, catalog, radiance)):
        url = f"https://hooks{n}.partner.example/in"
        answer = await gql(CREATE, {"input": {"url": url, "eventTypes": EVENTS}}, bearer=key)
        assert answer.data["createWebhookEndpoint"]["errors"] == [], answer.body
    booked = await gql(BOOK, await booking(owner_engine, demo), as_=GLOW_ADMIN)
    assert booked.data["bookAppointment"]["errors"] == []
    received = await _received(owner_engine)
    # Only the Glow key with appointments:read: not the catalog key, not Radiance's key.
    assert [(r["url"], r["kind"]) for r in received] == [
        ("https://hooks0.partner.example/in", "appointment.booked")
    ]
    data = received[0]["payload"]["data"]
    assert data["id"] == booked.data["bookAppointment"]["appointment"]["id"]
    assert set(data) <= {
        "id", "status", "startsAt", "endsAt", "providerId", "locationId", "patientId",
        "appointmentTypeId",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.partner.example/in", "http to a public host"),
        ("ftp://hooks.partner.example/in", "not http(s)"),
        ("https://user:secret@hooks.partner.example/in", "credentials in the URL"),
        ("https://hooks.partner.example/" + "a" * 2100, "too long"),
        ("hooks.partner.example/in", "not absolute"),
    ],
)
async def test_endpoint_urls_are_checked(
    gql: Gql, principals: Principals, owner_engine: AsyncEngine, url: str, why: str
) -> None:
    key = await principals.api_key(scopes=("APPOINTMENTS_READ",))
    answer = await gql(CREATE, {"input": {"url": url, "eventTypes": EVENTS}}, bearer=key)
    assert answer.data["createWebhookEndpoint"]["errors"] == [
        {"code": "VALIDATION", "field": "url"}
    ], why
    assert await scalar(owner_engine, "SELECT count(*) FROM webhook_endpoint") == 0


async def test_an_endpoint_needs_an_event_type(gql: Gql, principals: Principals) -> None:
    key = await principals.api_key(scopes=("APPOINTMENTS_READ",))
    answer = await gql(
        CREATE, {"input": {"url": "https://hooks.partner.example/", "eventTypes": []}}, bearer=key
    )
    assert answer.data["createWebhookEndpoint"]["errors"] == [
        {"code": "VALIDATION", "field": "eventTypes"}
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "https://100.64.0.1/hook",  # carrier-grade NAT
        "https://0.0.0.0/hook",
        "https://127.0.0.1/hook",  # loopback: refused in production
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",  # an IPv4-mapped private address
        "http://127.0.0.1:8080/hook",  # plain http: never in production
    ],
)
async def test_delivery_refuses_private_and_link_local_addresses(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await resolve(url, loopback_allowed=PROD.webhook_loopback_allowed)


async def test_a_public_address_passes() -> None:
    address = await resolve("https://93.184.215.14/hook", loopback_allowed=False)
    assert address == ipaddress.ip_address("93.184.215.14")


async def _delivery(owner_engine: AsyncEngine, demo: DemoIds, url: str) -> tuple[uuid.UUID, str]:
    """An endpoint of a new Glow client with one queued delivery; its id and the secret."""
    medspa = demo.medspas["glow"]
    ids = {k: uuid.uuid4() for k in ("client", "endpoint", "event", "delivery")}
    secret = webhooks.new_secret()
    statements = [
        "INSERT INTO api_client (id, medspa_id, name, key_prefix, key_hash, scopes)"
        " VALUES (:client, :m, 'hostile test', 'msk_test', md5(CAST(:client AS text)),"
        " '{appointments:read}')",
        "INSERT INTO webhook_endpoint (id, medspa_id, api_client_id, url, event_types, secret)"
        " VALUES (:endpoint, :m, :client, :url, '{appointment.booked}', :secret)",
        "INSERT INTO webhook_event (id, medspa_id, kind, payload) VALUES"
        ' (:event, :m, \'appointment.booked\', \'{"type": "appointment.booked", "data": {}}\')',
        "INSERT INTO webhook_delivery (id, medspa_id, endpoint_id, event_id)"
        " VALUES (:delivery, :m, :endpoint, :event)",
    ]
    async with owner_engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), {**ids, "m": medspa, "url": url, "secret": secret})
    return ids["delivery"], secret


async def _row(owner_engine: AsyncEngine, delivery: uuid.UUID) -> dict[str, Any]:
    (row,) = await rows(
        owner_engine,
        "SELECT status, attempts, response_status, last_error, next_attempt_at"
        " FROM webhook_delivery WHERE id = :id",
        id=delivery,
    )
    return row


async def test_an_unsafe_target_fails_at_once(owner_engine: AsyncEngine, demo: DemoIds) -> None:
    delivery, _ = await _delivery(owner_engine, demo, "https://169.254.169.254/hook")
    assert await deliver(session_factory(owner_engine), PROD, delivery) is None
    row = await _row(owner_engine, delivery)
    assert row["status"] == "FAILED" and row["attempts"] == 1
    assert "refused" in row["last_error"]


async def test_the_connected_address_is_checked_again(
    owner_engine: AsyncEngine, demo: DemoIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolver that answered a public address, then a connection that reached loopback
    (DNS rebinding): the address actually connected is refused."""
    with webhook_receiver() as receiver:
        delivery, _ = await _delivery(owner_engine, demo, receiver.url)

        async def rebinding(url: str, *, loopback_allowed: bool) -> Any:
            return ipaddress.ip_address("127.0.0.1")

        monkeypatch.setattr(webhooks, "resolve", rebinding)
        assert await deliver(session_factory(owner_engine), PROD, delivery) is None
    row = await _row(owner_engine, delivery)
    assert row["status"] == "FAILED"
    assert "refused address" in row["last_error"]


async def test_a_slow_receiver_times_out_and_is_retried(
    owner_engine: AsyncEngine, demo: DemoIds
) -> None:
    with webhook_receiver() as receiver:
        receiver.answer = lambda: (200, b"", 2.0)
        delivery, _ = await _delivery(owner_engine, demo, receiver.url)
        started = time.monotonic()
        delay = await deliver(
            session_factory(owner_engine), _settings(MEDSPA_WEBHOOK_TIMEOUT_S=0.3), delivery
        )
        assert time.monotonic() - started < 1.5
    assert delay == webhooks.RETRY_DELAYS_S[0]
    row = await _row(owner_engine, delivery)
    assert row["status"] == "PENDING" and row["attempts"] == 1
    assert "Timeout" in row["last_error"] and row["next_attempt_at"] is not None


async def test_a_huge_answer_is_read_only_up_to_the_cap(
    owner_engine: AsyncEngine, demo: DemoIds
) -> None:
    with webhook_receiver() as receiver:
        receiver.answer = lambda: (200, b"x" * (20 * 1024 * 1024), 0.0)
        delivery, secret = await _delivery(owner_engine, demo, receiver.url)
        started = time.monotonic()
        await deliver(
            session_factory(owner_engine),
            _settings(MEDSPA_WEBHOOK_MAX_RESPONSE_BYTES=1024),
            delivery,
        )
        assert time.monotonic() - started < 5
        hook = receiver.received[0]
    assert (await _row(owner_engine, delivery))["status"] == "SUCCEEDED"
    Webhook(secret).verify(hook.body, hook.headers)  # signed per Standard Webhooks


async def test_failures_are_retried_for_a_day_then_failed(
    owner_engine: AsyncEngine, demo: DemoIds
) -> None:
    with webhook_receiver() as receiver:
        receiver.answer = lambda: (500, b"down", 0.0)
        delivery, _ = await _delivery(owner_engine, demo, receiver.url)
        sessions = session_factory(owner_engine)
        settings = _settings()
        assert await deliver(sessions, settings, delivery) == 5
        assert await deliver(sessions, settings, delivery) == 300
        async with owner_engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE webhook_delivery SET created_at = now() - interval '25 hours'"
                    " WHERE id = :id"
                ),
                {"id": delivery},
            )
        assert await deliver(sessions, settings, delivery) is None
        assert len(receiver.received) == 3
    row = await _row(owner_engine, delivery)
    assert row["status"] == "FAILED" and row["attempts"] == 3 and row["response_status"] == 500


async def test_a_key_has_at_most_ten_endpoints(
    gql: Gql, principals: Principals, owner_engine: AsyncEngine
) -> None:
    key = await principals.api_key(scopes=("APPOINTMENTS_READ",))
    for n in range(webhooks_limit() + 1):
        answer = await gql(
            CREATE,
            {"input": {"url": f"https://h{n}.partner.example/", "eventTypes": EVENTS}},
            bearer=key,
        )
    assert answer.data["createWebhookEndpoint"]["errors"] == [
        {"code": "VALIDATION", "field": "url"}
    ]
    assert await scalar(owner_engine, "SELECT count(*) FROM webhook_endpoint") == webhooks_limit()


def webhooks_limit() -> int:
    from api.resolvers.webhook import MAX_ENDPOINTS_PER_CLIENT

    return MAX_ENDPOINTS_PER_CLIENT


async def test_inventory_order_steps_reach_only_keys_a_medspa_lets_read_orders(
    gql: Gql, principals: Principals, services: Any, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    """No baseline partner scope reads inventory orders, so by default nobody hears of them;
    a medspa's own policy row granting a scope `inventory_order.read` lets that key hear of
    every step of the medspa's orders, and only that key."""
    glow = str(demo.medspas["glow"])
    catalog = await principals.api_key(scopes=("CATALOG_READ",))
    reader = await principals.api_key(scopes=("APPOINTMENTS_READ",))
    for n, key in enumerate((catalog, reader)):
        answer = await gql(
            CREATE,
            {
                "input": {
                    "url": f"https://orders{n}.partner.example/in",
                    "eventTypes": ["INVENTORY_ORDER_STATE_CHANGED"],
                }
            },
            bearer=key,
        )
        assert answer.data["createWebhookEndpoint"]["errors"] == [], answer.body

    async def place() -> str:
        placed = await gql(
            PLACE, {"input": order_input(demo, [("Sculptra", 1)])}, as_="dana@glow.example"
        )
        payload = placed.data["placeInventoryOrder"]
        assert payload["errors"] == [], placed.body
        return str(payload["order"]["id"])

    await place()
    assert await scalar(owner_engine, "SELECT count(*) FROM webhook_delivery") == 0

    row = PolicyRow("p", ("scope:catalog:read", glow, "inventory_order", "read", "TENANT", "allow"))
    services.policy.install({glow: build_domain_policy(glow, [row])})
    try:
        order = await place()
    finally:
        services.policy.install({glow: None})
    received = await _received(owner_engine)
    assert [(r["url"], r["kind"]) for r in received] == [
        ("https://orders0.partner.example/in", "inventory_order.state_changed")
    ]
    data = received[0]["payload"]["data"]
    assert data["id"] == order
    assert data["status"] == "PLACED"
    assert set(data) == {"id", "status", "deliveryDate", "totalCents", "currency"}
