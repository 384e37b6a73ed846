"""The live calendar (issue 17 item 3): `calendarChanged` over graphql-transport-ws, fanned out
across real `medspa-api serve` processes through LISTEN/NOTIFY, each event rechecked against
the subscriber's scope; the protocol's limits and refusals; masquerade end and token expiry
ending the connection."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api.ids import encode_global_id
from api.settings import Settings
from api.tokens import mint_user_token
from db.models.enums import Dashboard
from db.seed.demo import DemoIds
from tests.conftest import ALL_TABLES, StatementLog
from tests.core.served import Served, serve
from tests.scheduling.helpers import BOOK, booking

DEV = Settings(MEDSPA_ENV="dev")  # type: ignore[call-arg]
PROTOCOL = "graphql-transport-ws"
WINDOW = """subscription($from: DateTime!, $to: DateTime!, $p: [ID!]) {
    calendarChanged(from: $from, to: $to, providerIds: $p) {
    appointmentId removed appointment { id status startsAt provider { displayName } } } }"""


def _token(demo: DemoIds, email: str, **kwargs: Any) -> str:
    ttl = kwargs.pop("ttl", timedelta(minutes=10))
    return mint_user_token(DEV, user_id=demo.users[email], ttl=ttl, **kwargs)


def _window() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=60)).isoformat(),
    }


@pytest.fixture
def written(statement_log: StatementLog) -> AsyncIterator[None]:
    yield
    statement_log.written.add(ALL_TABLES)  # the servers wrote through their own connections


def _ws(served: Served) -> str:
    return served.url.replace("http://", "ws://") + "/graphql"


async def _connect(served: Served, bearer: str | None, **init: Any) -> ClientConnection:
    ws = await connect(_ws(served), subprotocols=[PROTOCOL])  # type: ignore[list-item]
    payload = {"Authorization": f"Bearer {bearer}", **init} if bearer else init
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack == {"type": "connection_ack"}
    return ws


async def _subscribe(ws: ClientConnection, sub_id: str, variables: dict[str, Any]) -> None:
    await ws.send(
        json.dumps(
            {
                "id": sub_id,
                "type": "subscribe",
                "payload": {"query": WINDOW, "variables": variables},
            }
        )
    )
    # A pong answers after the subscription is registered: what commits next reaches it.
    await ws.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}


async def _next(ws: ClientConnection, wait: float) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), wait))  # type: ignore[no-any-return]


async def _silent(ws: ClientConnection) -> None:
    """Nothing was sent to `ws` (a ping is answered by its pong first)."""
    await ws.send(json.dumps({"type": "ping"}))
    assert await _next(ws, 5) == {"type": "pong"}


async def _post(served: Served, bearer: str, query: str, variables: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{served.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {bearer}"},
        )
    return answer.json()


async def _closed_with(ws: ClientConnection, wait: float = 5) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), wait)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_a_booking_on_one_process_reaches_a_subscriber_on_another(
    database_url: str, demo: DemoIds, owner_engine: AsyncEngine, written: None
) -> None:
    with serve(database_url) as a, serve(database_url) as b:
        dana = await _connect(b, _token(demo, "dana@glow.example"))
        nina = await _connect(b, _token(demo, "nina@glow.example"))
        omar = await _connect(b, _token(demo, "omar@glow.example"))
        ruth = await _connect(b, _token(demo, "ruth@radiance.example"))
        omar_only = {"p": [encode_global_id("Provider", demo.providers["omar@glow.example"])]}
        dana_omar = await _connect(b, _token(demo, "dana@glow.example"))
        for ws, extra in ((dana, {}), (nina, {}), (omar, {}), (ruth, {}), (dana_omar, omar_only)):
            await _subscribe(ws, "cal", {**_window(), **extra})

        booked = await _post(
            a, _token(demo, "dana@glow.example"), BOOK, await booking(owner_engine, demo)
        )
        payload = booked["data"]["bookAppointment"]
        assert payload["errors"] == [], booked
        appointment = payload["appointment"]

        # Committed before A answered: B's subscriber hears of it within a second of that.
        answered = time.monotonic()
        seen = await _next(dana, 1.0)
        assert time.monotonic() - answered < 1.0
        assert seen["type"] == "next" and seen["id"] == "cal"
        change = seen["payload"]["data"]["calendarChanged"]
        assert change["removed"] is False
        assert change["appointmentId"] == appointment["id"]
        assert change["appointment"]["provider"] == {"displayName": "Nina Patel"}
        assert change["appointment"]["status"] == appointment["status"]
        # Nina sees her own booking; Omar (OWN), Radiance's admin (another tenant) and a
        # window of Omar's column do not.
        mine = await _next(nina, 1.0)
        assert mine["payload"]["data"]["calendarChanged"]["appointmentId"] == appointment["id"]
        for ws in (omar, ruth, dana_omar):
            await _silent(ws)

        # Cancelled: still on the calendar, with its new status, to everyone who sees it.
        cancelled = await _post(
            a,
            _token(demo, "dana@glow.example"),
            """mutation($id: ID!) { cancelAppointment(id: $id, reason: "patient asked") {
                errors { code } } }""",
            {"id": appointment["id"]},
        )
        assert cancelled["data"]["cancelAppointment"]["errors"] == [], cancelled
        update = await _next(dana, 2.0)
        assert update["payload"]["data"]["calendarChanged"]["appointment"]["status"] == "CANCELLED"
        for ws in (dana, nina, omar, ruth, dana_omar):
            await ws.close()


async def test_the_protocol_and_its_limits(
    database_url: str, demo: DemoIds, owner_engine: AsyncEngine, written: None
) -> None:
    settings = {
        "MEDSPA_MAX_SUBSCRIPTIONS": "2",
        "MEDSPA_WS_INIT_TIMEOUT_S": "1",
        "MEDSPA_SUBSCRIPTION_RECHECK_S": "0.5",
        "MEDSPA_MAX_BODY_BYTES": "4096",
    }
    with serve(database_url, **settings) as served:
        dana_token = _token(demo, "dana@glow.example")
        # Without the subprotocol the handshake is refused.
        with pytest.raises(InvalidStatus):
            await connect(_ws(served))
        # No connection_init in time; a subscribe before it; a bad token; no token.
        ws = await connect(_ws(served), subprotocols=[PROTOCOL])  # type: ignore[list-item]
        assert await _closed_with(ws, 5) == 4408
        ws = await connect(_ws(served), subprotocols=[PROTOCOL])  # type: ignore[list-item]
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": WINDOW}}))
        assert await _closed_with(ws) == 4401
        for payload in ({"Authorization": "Bearer nonsense"}, {}, {"Authorization": 7}):
            ws = await connect(_ws(served), subprotocols=[PROTOCOL])  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            assert await _closed_with(ws) == 4403
        # A second connection_init; not JSON; an unknown type; too big.
        for message in (
            json.dumps({"type": "connection_init"}),
            "{not json",
            json.dumps({"type": "launch"}),
            json.dumps({"type": "ping", "payload": "x" * 5000}),
        ):
            ws = await _connect(served, dana_token)
            await ws.send(message)
            code = await _closed_with(ws)
            assert code in {4429, 4400, 1009}, (message[:30], code)

        ws = await _connect(served, dana_token)
        # Refused before it starts, with the same codes as over HTTP.
        refusals = [
            ({"query": "{ viewer { roles } }"}, "BAD_REQUEST"),
            ({"query": "subscription { nope }"}, "GRAPHQL_VALIDATION_FAILED"),
            ({"query": WINDOW}, "BAD_USER_INPUT"),  # variables missing
            (
                {
                    "query": WINDOW,
                    "variables": {"from": "2026-01-01T00:00Z", "to": "2026-06-01T00:00Z"},
                },
                "BAD_USER_INPUT",  # more than 62 days
            ),
        ]
        for i, (payload, code) in enumerate(refusals):
            await ws.send(json.dumps({"id": f"r{i}", "type": "subscribe", "payload": payload}))
            answer = await _next(ws, 5)
            assert answer["type"] == "error" and answer["id"] == f"r{i}", answer
            assert answer["payload"][0]["extensions"]["code"] == code, answer
        # Two at once at most; a third is refused; completing one makes room.
        await _subscribe(ws, "a", _window())
        await _subscribe(ws, "b", _window())
        await ws.send(
            json.dumps(
                {
                    "id": "c",
                    "type": "subscribe",
                    "payload": {"query": WINDOW, "variables": _window()},
                }
            )
        )
        third = await _next(ws, 5)
        assert third["type"] == "error" and third["id"] == "c"
        assert "At most 2 subscriptions" in third["payload"][0]["message"]
        await ws.send(json.dumps({"id": "a", "type": "complete"}))
        await _subscribe(ws, "c", _window())
        # A duplicate id closes the connection.
        await ws.send(
            json.dumps(
                {
                    "id": "b",
                    "type": "subscribe",
                    "payload": {"query": WINDOW, "variables": _window()},
                }
            )
        )
        assert await _closed_with(ws) == 4409

        # A caller without appointment.read is refused at subscribe time.
        key_answer = await _post(
            served,
            dana_token,
            """mutation { createApiClient(name: "live", scopes: [CATALOG_READ]) { key
                errors { code } } }""",
            {},
        )
        key = key_answer["data"]["createApiClient"]["key"]
        ws = await _connect(served, key)
        await ws.send(
            json.dumps(
                {
                    "id": "k",
                    "type": "subscribe",
                    "payload": {"query": WINDOW, "variables": _window()},
                }
            )
        )
        refused = await _next(ws, 5)
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        await ws.close()


async def test_masquerade_end_and_token_expiry_end_the_connection(
    database_url: str, demo: DemoIds, written: None
) -> None:
    with serve(database_url, MEDSPA_SUBSCRIPTION_RECHECK_S="0.5") as served:
        dana_token = _token(demo, "dana@glow.example")
        started = await _post(
            served,
            dana_token,
            """mutation($p: ID!) { startMasquerade(providerId: $p, reason: "support") {
                token session { id } errors { code } } }""",
            {"p": encode_global_id("Provider", demo.providers["nina@glow.example"])},
        )
        masquerade = started["data"]["startMasquerade"]
        assert masquerade["errors"] == [], started
        ws = await _connect(served, masquerade["token"])
        await _subscribe(ws, "m", _window())
        ended = await _post(
            served,
            dana_token,
            "mutation($s: ID!) { endMasquerade(sessionId: $s) { errors { code } } }",
            {"s": masquerade["session"]["id"]},
        )
        assert ended["data"]["endMasquerade"]["errors"] == [], ended
        assert await _closed_with(ws, 5) == 4401

        short = _token(demo, "nina@glow.example", ttl=timedelta(seconds=2))
        ws = await _connect(served, short)
        await _subscribe(ws, "t", _window())
        assert await _closed_with(ws, 6) == 4401
        # A provider-dashboard token works like any other.
        provider = _token(demo, "dana@glow.example", dashboard=Dashboard.PROVIDER)
        ws = await _connect(served, provider)
        await _subscribe(ws, "p", _window())
        await _silent(ws)
        await ws.close()
