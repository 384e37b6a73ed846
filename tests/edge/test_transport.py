"""Transport details the hostile suite does not cover: GET queries, media types, WebSocket."""

from __future__ import annotations

import httpx
import pytest

from api.app import Services, create_app
from db.seed.demo import DemoIds
from tests.conftest import TEST_SETTINGS, token_for

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_a_query_over_get(client: httpx.AsyncClient, demo: DemoIds) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "query Me { viewer { kind } }", "operationName": "Me"},
        headers={"authorization": f"Bearer {token_for(demo, 'nina@glow.example')}"},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": {"kind": "USER"}}


async def test_the_answer_takes_the_accepted_media_type(client: httpx.AsyncClient) -> None:
    query = {"query": "{ viewer { kind } }"}
    preferred = await client.post("/graphql", json=query, headers={"accept": GRAPHQL_RESPONSE})
    legacy = await client.post("/graphql", json=query, headers={"accept": "application/json"})
    weighted = await client.post(
        "/graphql",
        json=query,
        headers={"accept": f"application/json;q=0.9, {GRAPHQL_RESPONSE};q=0.5"},
    )
    assert preferred.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert legacy.headers["content-type"] == "application/json; charset=utf-8"
    assert weighted.headers["content-type"] == "application/json; charset=utf-8"


async def test_validation_errors_are_200_under_json_and_400_under_graphql_response(
    client: httpx.AsyncClient,
) -> None:
    query = {"query": "{ viewer { noSuchField } }"}
    legacy = await client.post("/graphql", json=query, headers={"accept": "application/json"})
    modern = await client.post("/graphql", json=query, headers={"accept": GRAPHQL_RESPONSE})
    assert legacy.status_code == 200 and modern.status_code == 400
    for response in (legacy, modern):
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "data" not in response.json()


async def test_several_operations_need_an_operation_name(client: httpx.AsyncClient) -> None:
    document = "query A { viewer { kind } } query B { viewer { roles } }"
    missing = await client.post("/graphql", json={"query": document})
    chosen = await client.post("/graphql", json={"query": document, "operationName": "B"})
    unknown = await client.post("/graphql", json={"query": document, "operationName": "C"})
    assert missing.json()["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert chosen.json()["data"] == {"viewer": {"roles": []}}
    assert unknown.json()["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"


async def test_a_websocket_without_the_subprotocol_is_refused(services: Services) -> None:
    """Only graphql-transport-ws is spoken: any other socket is closed with 4406 before it
    is accepted (tests/scheduling/test_live_calendar.py covers the protocol itself)."""
    app = create_app(TEST_SETTINGS, services=services)
    scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "path": "/graphql",
        "raw_path": b"/graphql", "root_path": "", "query_string": b"", "headers": [],
        "client": ("127.0.0.1", 5000), "server": ("test", 80), "subprotocols": [],
    }  # fmt: skip
    incoming = [{"type": "websocket.connect"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent == [
        {"type": "websocket.close", "code": 4406, "reason": "Subprotocol not acceptable"}
    ]


async def test_a_failure_outside_execution_is_a_json_500_with_the_traceback_logged(
    services: Services, demo: DemoIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*_args: object, **_kwargs: object) -> None:
        # A bug, not the database: an unreachable database is a 503 (tests/faults).
        raise RuntimeError("cannot parse the reply of db-7.internal")

    monkeypatch.setattr(services.authenticator, "authenticate", unreachable)
    app = create_app(TEST_SETTINGS, services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post("/graphql", json={"query": "{ viewer { kind } }"})
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "db-7" not in response.text
