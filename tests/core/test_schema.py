"""The committed SDL, the GraphQL limits and the error conventions (DESIGN §6.5, §6.9, §6.10)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from api.app import build_services, create_app
from api.schema.schema import build_schema
from api.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_SETTINGS, Gql

SDL_PATH = PROJECT_ROOT / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    committed = Path(SDL_PATH).read_text()
    generated = build_schema(TEST_SETTINGS).as_str() + "\n"
    assert committed == generated, "schema.graphql drifted: run `make schema` and commit it"


def test_cli_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    from api.cli import main

    assert main(["schema"]) == 0
    assert capsys.readouterr().out == build_schema(TEST_SETTINGS).as_str() + "\n"


def _app(engine: AsyncEngine, settings: Settings) -> Starlette:
    return create_app(settings, services=build_services(settings, engine=engine))


async def _post(engine: AsyncEngine, settings: Settings, body: object) -> httpx.Response:
    app = _app(engine, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.post("/graphql", json=body)


INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_only_in_development(app_engine: AsyncEngine, demo: object) -> None:
    dev = Settings(MEDSPA_ENV="dev")  # type: ignore[call-arg]
    prod = Settings(MEDSPA_ENV="prod", MEDSPA_JWT_SECRET="s" * 40)  # type: ignore[call-arg]
    allowed = await _post(app_engine, dev, {"query": INTROSPECTION})
    refused = await _post(app_engine, prod, {"query": INTROSPECTION})
    assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert refused.json().get("data") is None
    assert "introspection" in refused.json()["errors"][0]["message"].lower()


async def test_field_suggestions_only_in_development(app_engine: AsyncEngine, demo: object) -> None:
    dev = Settings(MEDSPA_ENV="dev")  # type: ignore[call-arg]
    prod = Settings(MEDSPA_ENV="prod", MEDSPA_JWT_SECRET="s" * 40)  # type: ignore[call-arg]
    query = {"query": "{ viewr { kind } }"}
    dev_message = (await _post(app_engine, dev, query)).json()["errors"][0]["message"]
    prod_message = (await _post(app_engine, prod, query)).json()["errors"][0]["message"]
    assert "Did you mean" in dev_message
    assert "Did you mean" not in prod_message


async def test_graphiql_only_in_development(app_engine: AsyncEngine, demo: object) -> None:
    dev = Settings(MEDSPA_ENV="dev")  # type: ignore[call-arg]
    prod = Settings(MEDSPA_ENV="prod", MEDSPA_JWT_SECRET="s" * 40)  # type: ignore[call-arg]
    # Production serves no IDE: an HTML-only client is answered 406 in the protocol's shape.
    for settings, expected in ((dev, 200), (prod, 406)):
        app = _app(app_engine, settings)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c:
            response = await c.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == expected
        if expected == 200:
            assert "graphiql" in response.text.lower()


async def test_batched_requests_are_refused(gql: Gql) -> None:
    response = await gql.http.post(
        "/graphql", json=[{"query": "{ viewer { kind } }"}, {"query": "{ viewer { kind } }"}]
    )
    assert response.status_code == 400


async def test_depth_limit(gql: Gql) -> None:
    selection = "name"
    for _ in range(4):
        selection = f"medspa {{ locations {{ edges {{ node {{ {selection} }} }} }} }}"
    deep = f"{{ viewer {{ activeMedspa {{ slug }} provider {{ {selection} }} }} }}"
    answer = await gql(deep, as_="dana@glow.example")
    assert answer.data is None
    assert "nested 19 levels deep; at most 10" in answer.errors[0]["message"]


async def test_alias_limit(gql: Gql) -> None:
    aliases = " ".join(f"a{i}: viewer {{ kind }}" for i in range(40))
    answer = await gql("{ " + aliases + " }", as_="dana@glow.example")
    assert answer.data is None
    assert "aliases" in answer.errors[0]["message"].lower()


async def test_token_limit(gql: Gql) -> None:
    fields = " ".join("kind" for _ in range(2500))
    answer = await gql("{ viewer { " + fields + " } }", as_="dana@glow.example")
    assert answer.data is None
    assert "token" in answer.errors[0]["message"].lower()


async def test_every_error_carries_a_request_id(gql: Gql) -> None:
    answer = await gql("{ medspas { edges { node { slug } } } }")
    [error] = answer.errors
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert len(error["extensions"]["requestId"]) >= 8


async def test_given_request_id_is_echoed(gql: Gql) -> None:
    answer = await gql("{ medspas { edges { cursor } } }", headers={"X-Request-Id": "req-12345678"})
    assert answer.errors[0]["extensions"]["requestId"] == "req-12345678"


async def test_unexpected_errors_are_masked_and_roll_back(
    gql: Gql, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from api.schema import viewer as viewer_module

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(viewer_module.Viewer, "of", classmethod(lambda cls, ctx: explode()))
    answer = await gql("{ viewer { kind } }", as_="dana@glow.example")
    [error] = answer.errors
    assert error["message"] == "Unexpected error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "hunter2" not in str(answer.body)
    assert "Traceback" not in str(answer.body)
    # The operator's log has the traceback (one JSON line at ERROR), the client never does.
    # The operator's log line (JSON, at ERROR) holds the traceback; the client never does.
    from api.http.logs import json_formatter

    lines = [json_formatter().format(r) for r in caplog.records if r.levelname == "ERROR"]
    assert any("hunter2" in line and "Traceback" in line for line in lines)
