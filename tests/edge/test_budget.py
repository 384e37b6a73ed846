"""Cost and budgets (DESIGN §6.10): the static cost is reported and capped per request, each
caller spends from a budget that refills per minute, an exhausted budget answers 429 with
`Retry-After` and the IETF RateLimit headers, the public booking limit lives on the same
store, and with Redis one budget spans every server process."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import build_services, create_app
from api.http.budget import client_address, trusted_networks
from api.settings import Settings
from db.seed.demo import DemoIds
from tests.conftest import token_for
from tests.edge.conftest import prod_token
from tests.edge.servers import Process, redis_server_binary, start_api, start_redis

VIEWER = "{ viewer { kind } }"  # costs 2: viewer and kind


def _settings(**values: object) -> Settings:
    return Settings(MEDSPA_ENV="test", **values)  # type: ignore[arg-type]


@pytest.fixture
async def small_budget(app_engine: AsyncEngine, demo: DemoIds) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose callers have 10 points a minute (anonymous: 6) and at most 8 per request."""
    settings = _settings(
        MEDSPA_BUDGET_PER_MINUTE=10,
        MEDSPA_ANONYMOUS_BUDGET_PER_MINUTE=6,
        MEDSPA_MAX_COST=8,
    )
    app = create_app(settings, services=build_services(settings, engine=app_engine))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


def _bearer(demo: DemoIds, email: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(demo, email)}"}


async def test_each_answer_reports_its_cost_and_the_budget(
    small_budget: httpx.AsyncClient, demo: DemoIds
) -> None:
    response = await small_budget.post(
        "/graphql", json={"query": VIEWER}, headers=_bearer(demo, "dana@glow.example")
    )
    cost = response.json()["extensions"]["cost"]
    assert cost["requested"] == 2
    assert cost["actual"] == 2
    assert cost["limit"] == 8
    assert cost["remaining"] == 8
    assert response.headers["RateLimit-Policy"] == '"cost";q=10;w=60'
    assert re.fullmatch(r'"cost";r=8;t=\d+', response.headers["RateLimit"])


async def test_over_budget_is_429_with_retry_after(
    small_budget: httpx.AsyncClient, demo: DemoIds
) -> None:
    headers = _bearer(demo, "nina@glow.example")
    statuses = [
        (await small_budget.post("/graphql", json={"query": VIEWER}, headers=headers)).status_code
        for _ in range(5)
    ]
    assert statuses == [200] * 5  # 5 x 2 = the 10 points of the minute
    refused = await small_budget.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit"].startswith('"cost";r=0;')
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["requestId"] == refused.headers["x-request-id"]
    # Another caller's budget is untouched.
    other = await small_budget.post(
        "/graphql", json={"query": VIEWER}, headers=_bearer(demo, "omar@glow.example")
    )
    assert other.status_code == 200


async def test_anonymous_callers_share_a_budget_per_address(
    small_budget: httpx.AsyncClient,
) -> None:
    answers = [await small_budget.post("/graphql", json={"query": VIEWER}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]


async def test_a_request_over_the_maximum_cost_is_refused_before_it_runs(
    small_budget: httpx.AsyncClient, demo: DemoIds
) -> None:
    query = "{ patients(first: 3) { edges { node { firstName } } } }"  # 1 + 3 x 3 = 10 > 8
    response = await small_budget.post(
        "/graphql",
        json={"query": query},
        headers={
            **_bearer(demo, "dana@glow.example"),
            "accept": "application/graphql-response+json",
        },
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"]["requested"] == 10
    # Nothing was charged for it.
    after = await small_budget.post(
        "/graphql", json={"query": VIEWER}, headers=_bearer(demo, "dana@glow.example")
    )
    assert after.json()["extensions"]["cost"]["remaining"] == 8


async def test_first_multiplies_and_the_calendar_by_its_window(
    small_budget: httpx.AsyncClient, demo: DemoIds
) -> None:
    from api.http.cost import PER_DAY

    headers = {**_bearer(demo, "dana@glow.example"), "accept": "application/graphql-response+json"}

    async def requested(query: str) -> int:
        response = await small_budget.post("/graphql", json={"query": query}, headers=headers)
        body = response.json()
        cost = body.get("extensions", {}).get("cost") or body["errors"][0]["extensions"]["cost"]
        return int(cost["requested"])

    one_day = await requested(
        '{ calendar(from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { id } }'
    )
    week = await requested(
        '{ calendar(from: "2026-01-01T00:00:00Z", to: "2026-01-08T00:00:00Z") { id } }'
    )
    assert one_day == 1 + PER_DAY["calendar"] * 1
    assert week == 1 + PER_DAY["calendar"] * 7
    assert await requested("{ patients(first: 7) { edges { node { id } } } }") == 1 + 7 * 3


def test_x_forwarded_for_is_honoured_only_from_a_trusted_proxy() -> None:
    trusted = trusted_networks("10.0.0.0/8")
    forwarded = {"x-forwarded-for": "203.0.113.9, 10.1.2.3"}
    assert client_address("10.0.0.5", forwarded, trusted=trusted) == "203.0.113.9"
    assert client_address("198.51.100.7", forwarded, trusted=trusted) == "198.51.100.7"
    assert client_address("10.0.0.5", {"x-forwarded-for": "bogus"}, trusted=trusted) == "10.0.0.5"
    assert client_address("10.0.0.5", forwarded, trusted=()) == "10.0.0.5"


# --- across processes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server is not installed and could not be installed with apt-get")
    process = start_redis(binary, tmp_path_factory.mktemp("redis") / "redis.log")
    yield process.url
    process.stop()


@pytest.fixture(scope="module")
def two_servers(
    redis_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Process, Process]]:
    logs: Path = tmp_path_factory.mktemp("two")
    env = {"MEDSPA_RATE_LIMIT_URL": redis_url, "MEDSPA_BUDGET_PER_MINUTE": "10"}
    first = start_api(database_url, logs / "first.log", **env)
    try:
        second = start_api(database_url, logs / "second.log", **env)
    except Exception:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


async def test_one_budget_spans_two_processes(
    two_servers: tuple[Process, Process], demo: DemoIds, server_writes: None
) -> None:
    first, second = two_servers
    headers = {"authorization": f"Bearer {prod_token(demo, 'lee@radiance.example')}"}
    statuses = []
    async with httpx.AsyncClient(timeout=10) as http:
        for i in range(5):  # 5 x 2 points, alternating processes
            server = first if i % 2 == 0 else second
            response = await http.post(
                server.url + "/graphql", json={"query": VIEWER}, headers=headers
            )
            statuses.append(response.status_code)
        # The budget was spent on both; either process now refuses.
        on_first = await http.post(first.url + "/graphql", json={"query": VIEWER}, headers=headers)
        on_second = await http.post(
            second.url + "/graphql", json={"query": VIEWER}, headers=headers
        )
    assert statuses == [200] * 5
    assert on_first.status_code == 429 and on_second.status_code == 429
    assert int(on_second.headers["Retry-After"]) >= 1
    assert on_second.headers["RateLimit-Policy"] == '"cost";q=10;w=60'


async def test_public_booking_attempts_are_counted_across_processes(
    two_servers: tuple[Process, Process], demo: DemoIds, server_writes: None
) -> None:
    """The booking limit (MEDSPA_PUBLIC_RATE, 30 a minute per address) uses the same store:
    attempts spread over two processes are refused after 30 in all."""
    mutation = """mutation($i: PublicBookAppointmentInput!) { publicBookAppointment(input: $i) {
        errors { code } } }"""
    attempt = {
        "bookingSlug": "no-such-location",
        "appointmentTypeId": "QXBwb2ludG1lbnRUeXBlOjA=",
        "providerId": "UHJvdmlkZXI6MA==",
        "startsAt": "2030-01-01T10:00:00Z",
        "patient": {"firstName": "Ann", "lastName": "Smith", "email": "ann@example.com"},
    }
    first, second = two_servers
    codes: list[str] = []
    async with httpx.AsyncClient(timeout=10) as http:
        for i in range(31):
            server = first if i % 2 == 0 else second
            response = await http.post(
                server.url + "/graphql", json={"query": mutation, "variables": {"i": attempt}}
            )
            payload = response.json()["data"]["publicBookAppointment"]
            codes.append(payload["errors"][0]["code"])
    assert "RATE_LIMITED" not in codes[:30]
    assert codes[30] == "RATE_LIMITED"
