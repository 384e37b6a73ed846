"""How the API answers when the database is slow, busy or gone (issue 13), in process.

Each test builds the application on an engine of its own (a short statement timeout, a tiny
pool, a dead server) and arranges the fault with a lock held from the owner's connection.
Expectations come from the README's operations section: TIMEOUT and SERVICE_UNAVAILABLE are
JSON errors with a code, the request id and `retryable`; unavailability is a 503 with
`Retry-After`; every mutation attempt leaves an audit row, failed ones included.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import build_services, create_app
from api.errors import ApiError
from api.resilience import CallerSlots, DeadlineExceeded, HeavyLane, within_deadline
from api.settings import Settings
from db.session import create_app_engine
from tests.conftest import ALL_TABLES, Audit, Gql, StatementLog, token_for

CREATE = """mutation($i: PatientInput!) { createPatient(input: $i) {
  patient { id firstName } replayed errors { code field } } }"""


def _settings(**env: Any) -> Settings:
    return Settings(MEDSPA_ENV="test", **env)  # type: ignore[call-arg]


def _patient(key: str | None = None, *, email: str | None = None) -> dict[str, Any]:
    return {
        "firstName": "Ada",
        "lastName": "Faults",
        "email": email or f"ada-{uuid.uuid4().hex[:8]}@faults.example",
        "idempotencyKey": key,
    }


@contextlib.asynccontextmanager
async def app_client(
    database_url: str, settings: Settings, *, statement_timeout_ms: int = 5_000, **engine: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    app_engine = create_app_engine(
        database_url, statement_timeout_ms=statement_timeout_ms, **engine
    )
    app = create_app(settings, services=build_services(settings, engine=app_engine))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://faults") as http:
            yield http, app_engine
    finally:
        await app_engine.dispose()


@contextlib.asynccontextmanager
async def patient_table_locked(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    """Every write to `patient` waits while this holds (as behind a long migration)."""
    async with owner_engine.connect() as conn:
        await conn.execute(text("LOCK TABLE patient IN EXCLUSIVE MODE"))
        yield
        await conn.rollback()


async def _post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


@pytest.fixture
def writes_traced_elsewhere(statement_log: StatementLog) -> None:
    """These tests write through engines of their own: restore every table after them."""
    statement_log.written.add(ALL_TABLES)


pytestmark = pytest.mark.usefixtures("writes_traced_elsewhere")


async def test_a_statement_timeout_is_a_retryable_timeout_and_the_attempt_is_audited_failed(
    database_url: str, owner_engine: AsyncEngine, gql: Gql, audit: Audit
) -> None:
    token = token_for(gql.demo, "dana@glow.example")
    async with (
        app_client(database_url, _settings(), statement_timeout_ms=300) as (http, _),
        patient_table_locked(owner_engine),
    ):
        response = await _post(http, CREATE, {"i": _patient()}, token)
    body = response.json()
    assert response.status_code == 200, body
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert error["extensions"]["retryable"] is True
    request_id = error["extensions"]["requestId"]
    assert response.headers["x-request-id"] == request_id
    assert response.headers["retry-after"] == "1"
    rows = await audit.rows(request_id=request_id)
    assert [(r["action"], r["outcome"]) for r in rows] == [("patient.create", "FAILED")]
    assert rows[0]["detail"] == {"error": "TIMEOUT"}
    async with owner_engine.connect() as conn:
        count = await conn.execute(text("SELECT count(*) FROM patient WHERE last_name = 'Faults'"))
        assert count.scalar_one() == 0


async def test_the_request_deadline_answers_on_time_and_audits_the_attempt(
    database_url: str, owner_engine: AsyncEngine, gql: Gql, audit: Audit
) -> None:
    token = token_for(gql.demo, "dana@glow.example")
    settings = _settings(MEDSPA_REQUEST_TIMEOUT_MS=400)
    async with (
        app_client(database_url, settings, statement_timeout_ms=10_000) as (http, _),
        patient_table_locked(owner_engine),
    ):
        started = asyncio.get_running_loop().time()
        response = await _post(http, CREATE, {"i": _patient()}, token)
        elapsed = asyncio.get_running_loop().time() - started
    body = response.json()
    assert response.status_code == 503, body
    assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert response.headers["retry-after"] == "1"
    # The deadline, plus at most the quarter second the cancelled work gets to unwind.
    assert elapsed < 0.4 + 0.25 + 0.5
    request_id = body["errors"][0]["extensions"]["requestId"]
    for _ in range(40):  # written just after the answer, in a transaction of its own
        rows = await audit.rows(request_id=request_id)
        if rows:
            break
        await asyncio.sleep(0.05)
    assert [(r["action"], r["outcome"]) for r in rows] == [("patient.create", "FAILED")]


async def test_an_unreachable_database_answers_503_json_even_while_authenticating(
    gql: Gql,
) -> None:
    token = token_for(gql.demo, "dana@glow.example")
    settings = _settings()
    dead = create_app_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/nothing", statement_timeout_ms=1000
    )
    app = create_app(settings, services=build_services(settings, engine=dead))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://faults") as http:
        for bearer in (token, None):
            response = await _post(http, "{ viewer { kind } }", {}, bearer)
            body = response.json()
            assert response.status_code == 503, body
            assert body["data"] is None
            [error] = body["errors"]
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert error["extensions"]["retryable"] is True
            assert error["extensions"]["requestId"] == response.headers["x-request-id"]
            assert response.headers["retry-after"] == "1"
    await dead.dispose()


async def test_no_free_pooled_connection_answers_503_after_the_pool_timeout(
    database_url: str, gql: Gql
) -> None:
    settings = _settings(MEDSPA_POOL_TIMEOUT_S=0.3)
    token = token_for(gql.demo, "nina@glow.example")
    async with app_client(database_url, settings, pool_size=1, pool_timeout_s=0.3) as (
        http,
        engine,
    ):
        async with engine.connect(), engine.connect():  # pool_size + max_overflow = 2
            response = await _post(http, "{ viewer { kind } }", {}, token)
        body = response.json()
        assert response.status_code == 503, body
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert response.headers["retry-after"] == "1"
        again = await _post(http, "{ viewer { kind } }", {}, token)
        assert again.json()["data"] == {"viewer": {"kind": "USER"}}


async def test_one_caller_cannot_take_more_than_its_share_of_requests(
    database_url: str, owner_engine: AsyncEngine, gql: Gql
) -> None:
    settings = _settings(MEDSPA_CALLER_CONCURRENCY=1, MEDSPA_POOL_TIMEOUT_S=0.3)
    dana = token_for(gql.demo, "dana@glow.example")
    nina = token_for(gql.demo, "nina@glow.example")
    async with (
        app_client(database_url, settings, statement_timeout_ms=3_000) as (http, _),
        patient_table_locked(owner_engine),
    ):
        stuck = asyncio.create_task(_post(http, CREATE, {"i": _patient()}, dana))
        await asyncio.sleep(0.3)  # Dana's first request holds her only slot
        second = await _post(http, "{ viewer { kind } }", {}, dana)
        other = await _post(http, "{ viewer { kind } }", {}, nina)
        stuck.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stuck
    assert second.status_code == 429, second.json()
    assert second.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert second.headers["retry-after"] == "1"
    assert other.json()["data"] == {"viewer": {"kind": "USER"}}


async def test_work_that_swallows_its_cancellation_is_still_past_the_deadline() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "an answer built after the cancellation"  # as a cancelled commit does
        return "on time"

    started = asyncio.get_running_loop().time()
    with pytest.raises(DeadlineExceeded):
        await within_deadline(stubborn(), seconds=0.05)
    assert asyncio.get_running_loop().time() - started < 0.05 + 0.25 + 0.2
    assert await within_deadline(asyncio.sleep(0, result="fast"), seconds=1) == "fast"


async def test_caller_slots_free_up_and_forget_idle_callers() -> None:
    slots = CallerSlots(limit=2, wait_seconds=0.05)
    async with slots.slot("a"), slots.slot("a"):
        assert slots.running("a") == 2
        with pytest.raises(Exception, match="At most 2"):
            async with slots.slot("a"):
                pass
        async with slots.slot("b"):  # another caller is not affected
            assert slots.running("b") == 1
    assert slots.running("a") == 0
    assert slots._slots == {}


async def test_the_heavy_lane_queues_expensive_requests_and_never_cheap_ones() -> None:
    lane = HeavyLane(limit=1, wait_seconds=0.05)
    async with lane.enter(heavy=True):
        assert lane.running == 1
        with pytest.raises(ApiError) as refused:
            async with lane.enter(heavy=True):
                pass
        assert refused.value.extensions == {
            "code": "SERVICE_UNAVAILABLE",
            "retryable": True,
            "retryAfter": 1,
        }
        async with lane.enter(heavy=False):  # a cheap request does not wait
            assert lane.running == 1
    assert lane.running == 0
    async with lane.enter(heavy=True):  # the turn was given back
        pass


async def test_a_refused_credential_is_a_security_event_counted_per_address(
    gql: Gql, audit: Audit
) -> None:
    bogus = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ"
    first = await gql("{ viewer { kind } }", bearer=bogus)
    second = await gql("{ viewer { kind } }", bearer=bogus)
    for answer in (first, second):
        assert answer.status == 401
        assert answer.codes == ["UNAUTHENTICATED"]
    rows = await audit.rows(action="authentication.failed")
    assert [r["outcome"] for r in rows] == ["DENIED", "DENIED"]
    assert [r["request_id"] for r in rows] == [
        first.errors[0]["extensions"]["requestId"],
        second.errors[0]["extensions"]["requestId"],
    ]
    assert [r["detail"]["attemptsLastMinute"] for r in rows] == [1, 2]
    assert {r["detail"]["clientAddress"] for r in rows} == {"127.0.0.1"}
    for row in rows:
        assert bogus not in str(row)
        assert "c2VjcmV0" not in str(row)


async def test_create_patient_with_an_idempotency_key_creates_one_patient(
    gql: Gql, owner_engine: AsyncEngine, audit: Audit
) -> None:
    key = str(uuid.uuid4())
    data = _patient(key)
    answers = await asyncio.gather(
        *(gql(CREATE, {"i": data}, as_="dana@glow.example") for _ in range(4))
    )
    payloads = [a.data["createPatient"] for a in answers]
    assert all(p["errors"] == [] for p in payloads), payloads
    assert len({p["patient"]["id"] for p in payloads}) == 1
    assert sorted(p["replayed"] for p in payloads) == [False, True, True, True]
    async with owner_engine.connect() as conn:
        count = await conn.execute(
            text("SELECT count(*) FROM patient WHERE idempotency_key = :k"), {"k": key}
        )
        assert count.scalar_one() == 1
    rows = await audit.rows(action="patient.create", outcome="ALLOWED")
    assert sorted(bool(r["detail"].get("replayed")) for r in rows) == [False, True, True, True]

    other = await gql(CREATE, {"i": {**data, "firstName": "Grace"}}, as_="dana@glow.example")
    assert other.data["createPatient"]["errors"] == [
        {"code": "IDEMPOTENCY_KEY_REUSED", "field": "idempotencyKey"}
    ]
    short = await gql(CREATE, {"i": _patient("short")}, as_="dana@glow.example")
    assert short.data["createPatient"]["errors"] == [
        {"code": "VALIDATION", "field": "idempotencyKey"}
    ]
    # The key is per medspa: Radiance may use the same one.
    radiance = await gql(CREATE, {"i": _patient(key)}, as_="ruth@radiance.example")
    assert radiance.data["createPatient"]["replayed"] is False
