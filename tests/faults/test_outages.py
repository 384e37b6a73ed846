"""Real faults under load: a `medspa-api serve` process on a PostgreSQL of the test's own,
which the test restarts, stops and freezes while clients write and read (issue 13).

What must hold whatever the database does (README "Operations"):
- every answer is JSON with a code (no plain-text 500), a 5xx is TIMEOUT or
  SERVICE_UNAVAILABLE with `Retry-After`, and the HTTP connection stays usable;
- no confirmed write is lost and no write retried with its idempotency key appears twice;
- every write has its audit row; an attempt the database could not record is in the log;
- `/readyz` reports the outage within a second, and no answer waits past the deadline;
- cheap requests answer in under a second while 20 heavy ones run;
- `serve` waits for a database that is not up yet, and SIGTERM ends within the grace period
  with no transaction left open.

Bounded: about two minutes in all.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from api.ids import decode_id_of
from api.settings import Settings
from api.tokens import mint_user_token
from tests.faults.processes import Cluster, Server, postgres_bin, run_cli

REQUEST_TIMEOUT_S = 4.0
READINESS_TIMEOUT_S = 0.5
SHUTDOWN_GRACE_S = 3.0
HEAVY_FROM = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
    days=400
)
HEAVY_TO = HEAVY_FROM + timedelta(days=62)

CREATE = """mutation($i: PatientInput!) { createPatient(input: $i) {
  patient { id } replayed errors { code } } }"""
CHEAP = "{ viewer { kind } }"
HEAVY = """query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) {
  id startsAt endsAt status provider { displayName } patient { firstName lastName }
  appointmentType { name } location { name } } }"""
RETRYABLE = {"TIMEOUT", "SERVICE_UNAVAILABLE", "RATE_LIMITED"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql) and apt-get failed")
    own = Cluster(binaries)
    own.init()
    yield own
    own.destroy()


@pytest.fixture(scope="module")
def env(cluster: Cluster) -> dict[str, str]:
    return {
        "DATABASE_URL": cluster.url(),
        "MEDSPA_ENV": "test",
        "MEDSPA_STATEMENT_TIMEOUT_MS": "2000",
        "MEDSPA_REQUEST_TIMEOUT_MS": str(int(REQUEST_TIMEOUT_S * 1000)),
        "MEDSPA_READINESS_TIMEOUT_S": str(READINESS_TIMEOUT_S),
        "MEDSPA_SHUTDOWN_GRACE_S": str(SHUTDOWN_GRACE_S),
        "MEDSPA_DB_CONNECT_TIMEOUT_S": "2",
        "MEDSPA_DB_WAIT_S": "60",
        "MEDSPA_POOL_SIZE": "10",
    }


@dataclass
class People:
    """Tokens of demo users of the cluster's database."""

    users: dict[str, uuid.UUID]

    def token(self, email: str) -> str:
        settings = Settings(MEDSPA_ENV="test")  # type: ignore[call-arg]
        return mint_user_token(settings, user_id=self.users[email], ttl=timedelta(hours=1))


@pytest.fixture(scope="module")
def people(cluster: Cluster, env: dict[str, str]) -> People:
    return prepare(cluster, env)


def prepare(cluster: Cluster, env: dict[str, str]) -> People:
    """Migrate and seed the cluster's database, plus the heavy window (bench/under_load.py
    uses it too)."""
    run_cli(env, "db", "upgrade")
    run_cli(env, "seed", "demo")
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        # 1,860 appointments in a 62-day window of Glow's (beyond the demo's): the heavy call.
        conn.execute(
            """
            INSERT INTO appointment (id, medspa_id, provider_id, location_id, patient_id,
                appointment_type_id, starts_at, ends_at, blocked_from, blocked_until, status,
                price_cents, source, cancellation_fee_applies)
            SELECT gen_random_uuid(), a.medspa_id, a.provider_id, a.location_id, a.patient_id,
                a.appointment_type_id, t, t + interval '20 minutes', t,
                t + interval '20 minutes', 'BOOKED', a.price_cents, a.source, false
            FROM (SELECT DISTINCT ON (provider_id) a.* FROM appointment a
                  JOIN medspa m ON m.id = a.medspa_id WHERE m.slug = 'glow'
                  ORDER BY provider_id, starts_at) a
            CROSS JOIN generate_series(%(f)s::timestamptz, %(t)s::timestamptz - interval '1 minute',
                                       interval '30 minutes') AS t
            WHERE extract(hour FROM t AT TIME ZONE 'UTC') BETWEEN 9 AND 13
            """,
            {"f": HEAVY_FROM, "t": HEAVY_TO},
        )
        users = dict(conn.execute("SELECT email, id FROM app_user").fetchall())
    return People(users)


@pytest.fixture(scope="module")
def server(cluster: Cluster, env: dict[str, str], people: People) -> Iterator[Server]:
    serving = Server(env, cluster.root / "serve.log")
    serving.start()
    serving.wait_healthy()
    yield serving
    serving.stop()


# --- clients ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer at all (a transport error)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    transport_error: str | None = None

    @property
    def codes(self) -> list[str]:
        errors = (self.body or {}).get("errors") or [] if isinstance(self.body, dict) else []
        return [e.get("extensions", {}).get("code") for e in errors]

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> Answer:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    try:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    except httpx.HTTPError as exc:
        return Answer(None, seconds=time.monotonic() - started, transport_error=repr(exc))
    seconds = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, body, dict(response.headers), seconds)


def assert_well_formed(answer: Answer) -> None:
    """JSON with data, or errors that each carry a code and the request id; a 5xx is a
    retryable database fault with Retry-After."""
    assert answer.transport_error is None, answer.transport_error
    assert isinstance(answer.body, dict), (answer.status, answer.body)
    errors = answer.body.get("errors") or []
    for error in errors:
        assert error.get("extensions", {}).get("code"), answer.body
        assert error["extensions"].get("requestId") == answer.request_id, answer.body
    if not errors:
        assert answer.body.get("data") is not None, answer.body
    assert answer.status is not None
    if answer.status >= 500:
        assert answer.status == 503, answer.body
        assert set(answer.codes) <= {"TIMEOUT", "SERVICE_UNAVAILABLE"}, answer.body
        assert answer.headers.get("retry-after"), answer.headers


@dataclass
class Readiness:
    """Polls /readyz every 0.1 s, noting when each answer arrived and what it said."""

    base_url: str
    seen: list[tuple[float, int | None, float]] = field(default_factory=list)
    running: bool = True

    async def poll(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            while self.running:
                started = time.monotonic()
                try:
                    status: int | None = (await http.get("/readyz")).status_code
                except httpx.HTTPError:
                    status = None
                now = time.monotonic()
                self.seen.append((now, status, now - started))
                await asyncio.sleep(0.1)

    def first(self, status: int, *, after: float) -> float | None:
        return next((t for t, s, _ in self.seen if t >= after and s == status), None)


@dataclass
class Writers:
    """Clients creating patients, each retrying with the same idempotency key until a
    definite answer, as the README tells a client to."""

    base_url: str
    token: str
    answers: list[tuple[str, Answer]] = field(default_factory=list)
    confirmed: dict[str, str] = field(default_factory=dict)  # key -> patient id
    keys: list[str] = field(default_factory=list)
    running: bool = True

    async def write(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as http:
            while self.running:
                key = str(uuid.uuid4())
                self.keys.append(key)
                data = {
                    "firstName": "Fault",
                    "lastName": "Tolerant",
                    "email": f"{key}@faults.example",
                    "idempotencyKey": key,
                }
                for _ in range(150):
                    answer = await post(http, CREATE, {"i": data}, self.token)
                    self.answers.append((key, answer))
                    payload = ((answer.body or {}).get("data") or {}).get("createPatient")
                    if answer.status == 200 and payload and not payload["errors"]:
                        self.confirmed[key] = str(decode_id_of(payload["patient"]["id"], "Patient"))
                        break
                    await asyncio.sleep(0.2)


def _database_rows(cluster: Cluster, query: str, params: dict[str, Any]) -> list[Any]:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def assert_writes_kept_once_and_audited(cluster: Cluster, writers: Writers, log: str) -> None:
    assert writers.confirmed, "no write was confirmed at all"
    rows = _database_rows(
        cluster,
        "SELECT idempotency_key, id::text, count(*) OVER (PARTITION BY idempotency_key)"
        " FROM patient WHERE idempotency_key = ANY(%(keys)s)",
        {"keys": writers.keys},
    )
    stored = {key: (pid, n) for key, pid, n in rows}
    for key, patient_id in writers.confirmed.items():
        assert stored.get(key) == (patient_id, 1), (key, stored.get(key))
    assert all(n == 1 for _, n in stored.values())  # nothing unanswered appears twice
    audited = _database_rows(
        cluster,
        "SELECT resource_id, count(*) FROM audit_event WHERE action = 'patient.create'"
        " AND outcome = 'ALLOWED' AND NOT (detail ? 'replayed') AND resource_id = ANY(%(ids)s)"
        " GROUP BY resource_id",
        {"ids": [pid for pid, _ in stored.values()]},
    )
    assert dict(audited) == {pid: 1 for pid, _ in stored.values()}
    # Every attempt that did not succeed left an audit row, or (the database being gone)
    # its request id in the log.
    failed_ids = {a.request_id for _, a in writers.answers if a.status != 200 or a.codes}
    failed_ids.discard(None)
    in_audit = {
        r[0]
        for r in _database_rows(
            cluster,
            "SELECT request_id FROM audit_event WHERE request_id = ANY(%(ids)s)",
            {"ids": list(failed_ids)},
        )
    }
    unrecorded = {rid for rid in failed_ids - in_audit if rid not in log}
    assert not unrecorded, sorted(unrecorded)[:5]


def _logged(server: Server, answer: Answer) -> list[str]:
    """The server's log lines about one request (for a failure's message)."""
    rid = answer.request_id or "-"
    return [line for line in server.log().splitlines() if rid in line][-5:]


# --- the faults -------------------------------------------------------------------------


async def test_restarts_and_a_stop_lose_no_confirmed_write_and_duplicate_none(
    server: Server, cluster: Cluster, people: People
) -> None:
    writers = Writers(server.base_url, people.token("dana@glow.example"))
    readiness = Readiness(server.base_url)
    tasks = [asyncio.create_task(writers.write()) for _ in range(4)]
    tasks.append(asyncio.create_task(readiness.poll()))
    await asyncio.sleep(2)
    await asyncio.to_thread(cluster.restart, "fast")
    await asyncio.sleep(2)
    await asyncio.to_thread(cluster.restart, "immediate")  # a crash: recovery from WAL
    await asyncio.sleep(2)
    await asyncio.to_thread(cluster.stop, "fast")
    stopped = time.monotonic()
    await asyncio.sleep(3)
    await asyncio.to_thread(cluster.start)
    started = time.monotonic()
    await asyncio.sleep(3)
    writers.running = False
    await asyncio.wait_for(asyncio.gather(*tasks[:-1]), timeout=60)
    readiness.running = False
    await tasks[-1]

    for _, answer in writers.answers:
        assert_well_formed(answer)
    codes = {c for _, a in writers.answers for c in a.codes}
    assert "SERVICE_UNAVAILABLE" in codes  # the outage was seen, and answered as such
    assert codes <= RETRYABLE, codes
    flipped = readiness.first(503, after=stopped)
    assert flipped is not None and flipped - stopped < 1.0, readiness.seen
    assert readiness.first(200, after=started) is not None
    assert_writes_kept_once_and_audited(cluster, writers, server.log())


async def test_a_frozen_database_bounds_every_answer_and_readiness_flips_within_a_second(
    server: Server, cluster: Cluster, people: People
) -> None:
    writers = Writers(server.base_url, people.token("dana@glow.example"))
    readiness = Readiness(server.base_url)
    readers: list[Answer] = []

    async def read() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            while writers.running:
                readers.append(await post(http, CHEAP, {}, people.token("nina@glow.example")))
                await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(writers.write()) for _ in range(3)]
    tasks += [asyncio.create_task(read()), asyncio.create_task(readiness.poll())]
    await asyncio.sleep(1.5)
    cluster.freeze()
    frozen = time.monotonic()
    try:
        await asyncio.sleep(6)
    finally:
        cluster.thaw()
    thawed = time.monotonic()
    for _ in range(100):  # up to 20 s for the pool to recover
        if readiness.first(200, after=thawed) is not None:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)
    writers.running = False
    await asyncio.wait_for(asyncio.gather(*tasks[:-1]), timeout=60)
    readiness.running = False
    await tasks[-1]

    flipped = readiness.first(503, after=frozen)
    assert flipped is not None and flipped - frozen < 1.0, readiness.seen
    assert max(seconds for _, _, seconds in readiness.seen) < READINESS_TIMEOUT_S + 0.5
    assert readiness.first(200, after=thawed) is not None
    answers = [a for _, a in writers.answers] + readers
    for answer in answers:
        assert_well_formed(answer)
        # The deadline, plus the unwinding quarter second, plus the test's own scheduling.
        assert answer.seconds < REQUEST_TIMEOUT_S + 1.5, (answer.seconds, answer.body)
    assert {c for a in answers for c in a.codes} & {"TIMEOUT", "SERVICE_UNAVAILABLE"}
    assert_writes_kept_once_and_audited(cluster, writers, server.log())


async def test_cheap_requests_answer_within_a_second_while_20_heavy_ones_run(
    server: Server, people: People
) -> None:
    dana = people.token("dana@glow.example")
    variables = {"f": HEAVY_FROM.isoformat(), "t": HEAVY_TO.isoformat()}
    cheap: list[Answer] = []

    async def heavy() -> Answer:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            return await post(http, HEAVY, variables, dana)

    # Warm the process up (plans, caches, pool). On a loaded CI machine the first heavy
    # answer may itself pass the deadline; that is a retryable code, so try again.
    warmed: list[Answer] = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as warm:
        for _ in range(4):
            warmed.append(await post(warm, HEAVY, variables, dana))
            assert_well_formed(warmed[-1])
            assert set(warmed[-1].codes) <= RETRYABLE, warmed[-1].body
            if not warmed[-1].codes:
                break
    assert not warmed[-1].codes, [a.codes for a in warmed]
    assert len(warmed[-1].body["data"]["calendar"]) == 1860
    heavies = [asyncio.create_task(heavy()) for _ in range(20)]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        await asyncio.sleep(0.3)
        while not all(h.done() for h in heavies):
            cheap.append(await post(http, CHEAP, {}, people.token("nina@glow.example")))
            cheap.append(await post(http, CHEAP, {}, None))
            await asyncio.sleep(0.1)
    done = [h.result() for h in heavies]
    # Heavy ones ran, one at a time: how many finish before the deadline depends on the
    # machine (the warm-up showed one completes); the rest answer a retryable code.
    for answer in done:
        assert_well_formed(answer)
        assert set(answer.codes) <= RETRYABLE, (answer.body, _logged(server, answer))
        if not answer.codes:
            assert len(answer.body["data"]["calendar"]) == 1860
    assert len(cheap) >= 4
    for answer in cheap:
        assert_well_formed(answer)
        assert answer.codes == [], answer.body
        assert answer.seconds < 1.0, [round(a.seconds, 3) for a in cheap]


async def test_serve_waits_for_the_database_and_sigterm_ends_within_the_grace_period(
    cluster: Cluster, env: dict[str, str], people: People, server: Server
) -> None:
    server.stop()  # the only client of the cluster is the server under test
    await asyncio.to_thread(cluster.stop, "fast")
    serving = Server(env, cluster.root / "serve-sigterm.log")
    serving.start()
    try:
        await asyncio.sleep(3)
        assert serving.process is not None and serving.process.poll() is None
        assert "waiting for the database" in serving.log()
        await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(serving.wait_healthy)

        variables = {"f": HEAVY_FROM.isoformat(), "t": HEAVY_TO.isoformat()}
        callers = ["dana@glow.example", "nina@glow.example", "omar@glow.example"]

        async def heavy(n: int) -> Answer:
            async with httpx.AsyncClient(base_url=serving.base_url, timeout=30) as http:
                return await post(http, HEAVY, variables, people.token(callers[n % 3]))

        in_flight = [asyncio.create_task(heavy(n)) for n in range(24)]
        await asyncio.sleep(0.5)
        os.kill(serving.process.pid, signal.SIGTERM)
        sent = time.monotonic()
        code = await asyncio.to_thread(serving.process.wait, 30)
        took = time.monotonic() - sent
        # The grace period, then cancelling and closing the pool.
        assert took < SHUTDOWN_GRACE_S + 2.0, (took, serving.log()[-3000:])
        assert code in (0, -signal.SIGTERM), serving.log()[-3000:]
        answers = await asyncio.wait_for(asyncio.gather(*in_flight), timeout=10)
        for answer in answers:
            if answer.transport_error is None:  # answered before the connection closed
                assert_well_formed(answer)
        assert "Exception in ASGI application" not in serving.log()
        left = _database_rows(
            cluster,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'medspa'"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            {},
        )
        assert left == [(0,)]  # every transaction ended with the process
    finally:
        serving.stop()
        # The module's server again, for the tests that run after this one (any order).
        if cluster.data.joinpath("postmaster.pid").exists():
            server.start()
            await asyncio.to_thread(server.wait_healthy)
