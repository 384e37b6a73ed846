"""Benchmark: the calendar and slots under a large dataset. Prints figures; never fails on time.

Seeds (once, idempotently) 10 extra medspas with 5 providers each (53 providers with the demo
ones) and 50,000 appointments over 17 weeks around the coming week, then measures through
GraphQL (the full app: auth, RLS, scopes, loaders) and prints p50/p95 latency and the SQL
statements per request for:
- the admin week calendar (about 300 appointments with provider, location, patient, type),
- a provider week calendar (about 60 appointments, same nesting),
- a week of `availableSlots` for one provider and type,
each beside a raw floor: the same rows fetched with one psycopg query and serialised to JSON
(no GraphQL, no authorization), as a ratio. Targets: week calendar within 3x its floor and at
most 6 statements for the data (authentication adds its own, shown separately).

With `--http` it measures the way users meet it instead: the API served by uvicorn in prod mode
(1 worker, then 2) with real admin and provider tokens, and the raw floor served the same way
(Starlette + psycopg + orjson, one SQL), in alternating rounds over the same data. It prints,
per case, unloaded p50/p95, req/s and p50 at concurrency 8 (measured by wrk), the ratios to
the floor, the server's CPU time per request (the figure a shared machine's load moves
least), the SQL statements and round trips per request (counted in-process on the same app),
and the peak RSS of each serving process. Figures only, never pass/fail.

Database: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the embedded server in .data/bench.
Usage: .venv/bin/python bench/calendar.py [--requests 100]
       .venv/bin/python bench/calendar.py --http [--requests 200] [--rounds 3] [--seconds 5]
           [--pin-load 1]  (wrk under `taskset -c 1`)
"""

# ruff: noqa: E402 - the path fix below must run before any import that reaches `calendar`

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder is sys.path[0], and this file would shadow the standard
# library's `calendar` module (imported by `email`, by psycopg): drop the folder first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from sqlalchemy import event, insert, select, text

from api.app import build_services, create_app
from api.ids import encode_global_id
from api.settings import PROJECT_ROOT, Settings
from api.tokens import mint_user_token
from db.embedded import embedded_server_url, to_sqlalchemy_url
from db.migrate import upgrade
from db.models import (
    Appointment,
    AppointmentType,
    AppointmentTypeLocation,
    BusinessModel,
    GfeRouting,
    Location,
    Medspa,
    Membership,
    MembershipRole,
    Patient,
    Provider,
    ProviderAppointmentType,
    ProviderLocation,
    User,
    WeeklyHours,
)
from db.seed.demo import seed_demo
from db.session import (
    create_app_engine,
    create_owner_engine,
    ensure_database,
    session_factory,
    set_tenant_settings,
)

MEDSPAS = 10
PROVIDERS = 5
PATIENTS = 200
WEEKS = 17  # 8 before the measured week, the week, 8 after
PER_DAY = 12  # 30-minute visits from 09:00, Monday to Friday
ZONE = ZoneInfo("America/New_York")

CALENDAR = """query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) {
    id startsAt endsAt status
    provider { displayName } location { name }
    patient { firstName lastName email } appointmentType { name durationMinutes } } }"""
SLOTS = """query($l: ID!, $t: ID!, $p: ID!, $f: DateTime!, $to: DateTime!) {
    availableSlots(locationId: $l, appointmentTypeId: $t, providerId: $p, from: $f, to: $to) {
        startsAt endsAt providerId } }"""

RAW_CALENDAR = """
SELECT a.id, a.starts_at, a.ends_at, a.status, p.display_name, l.name AS location,
       pt.first_name, pt.last_name, pt.email, t.name AS type, t.duration_minutes
FROM appointment a
JOIN provider p ON p.id = a.provider_id
JOIN location l ON l.id = a.location_id
JOIN patient pt ON pt.id = a.patient_id
JOIN appointment_type t ON t.id = a.appointment_type_id
WHERE a.medspa_id = %(m)s AND a.starts_at < %(t)s AND a.ends_at > %(f)s {extra}
ORDER BY a.starts_at, a.id"""
RAW_SLOT_INPUTS = """
SELECT 'hours' AS kind, weekday::text AS a, start_time::text AS b, end_time::text AS c
  FROM weekly_hours WHERE provider_id = %(p)s AND location_id = %(l)s
UNION ALL
SELECT 'busy', blocked_from::text, blocked_until::text, status::text FROM appointment
  WHERE provider_id = %(p)s AND status NOT IN ('CANCELLED', 'NO_SHOW')
    AND blocked_from < %(t)s AND blocked_until > %(f)s
UNION ALL
SELECT 'exception', kind::text, starts_at::text, ends_at::text FROM availability_exception
  WHERE provider_id = %(p)s AND starts_at < %(t)s AND ends_at > %(f)s"""


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        return ensure_database(to_sqlalchemy_url(url))
    return ensure_database(embedded_server_url(PROJECT_ROOT / ".data" / "bench", database="bench"))


def coming_monday() -> date:
    today = datetime.now(ZONE).date()
    return today - timedelta(days=today.weekday()) + timedelta(days=7)


async def seed_large(url: str) -> dict[str, Any]:
    """The bench medspas, found by slug or created; returns what the measurements need."""
    owner = create_owner_engine(url)
    monday = coming_monday()
    first_monday = monday - timedelta(weeks=WEEKS // 2)
    found: dict[str, Any] = {}
    async with session_factory(owner)() as session, session.begin():
        await seed_demo(session)
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        for m in range(MEDSPAS):
            slug = f"bench-{m:02d}"
            medspa = (
                await session.execute(select(Medspa).where(Medspa.slug == slug))
            ).scalar_one_or_none()
            if medspa is None:
                medspa = await _create_medspa(session, slug, first_monday)
            if m == 0:
                found["medspa"] = medspa.id
                found["admin"] = (
                    await session.execute(
                        select(User.id).where(User.email == f"admin@{slug}.example")
                    )
                ).scalar_one()
                provider = (
                    (
                        await session.execute(
                            select(Provider)
                            .where(Provider.medspa_id == medspa.id)
                            .order_by(Provider.display_name)
                        )
                    )
                    .scalars()
                    .first()
                )
                assert provider is not None
                found["provider"] = provider.id
                found["provider_user"] = provider.user_id
                found["location"] = (
                    await session.execute(
                        select(Location.id).where(Location.medspa_id == medspa.id)
                    )
                ).scalar_one()
                found["type"] = (
                    await session.execute(
                        select(AppointmentType.id).where(AppointmentType.medspa_id == medspa.id)
                    )
                ).scalar_one()
        total = (
            await session.execute(select(Appointment.id).where(Appointment.source == "STAFF"))
        ).all()
        found["appointments"] = len(total)
        found["providers"] = len((await session.execute(select(Provider.id))).all())
    # Fresh statistics, as autovacuum keeps them in production (test servers may run without
    # it): a planner that believes the week holds one appointment nests loops over patients.
    async with owner.begin() as conn:
        await conn.execute(text("ANALYZE"))
    await owner.dispose()
    found["monday"] = monday
    return found


async def _create_medspa(session: Any, slug: str, first_monday: date) -> Medspa:
    medspa = Medspa(
        id=uuid.uuid4(),
        name=f"Bench {slug}",
        slug=slug,
        business_model=BusinessModel.LAUNCH,
        time_zone=ZONE.key,
        gfe_routing=GfeRouting.DO_NOT_ROUTE,
        pcc_service=False,
        uses_portrait_ehr=True,
    )
    session.add(medspa)
    admin = User(id=uuid.uuid4(), email=f"admin@{slug}.example", full_name="Bench Admin")
    session.add(admin)
    await session.flush()
    session.add(
        Membership(
            id=uuid.uuid4(), medspa_id=medspa.id, user_id=admin.id, role=MembershipRole.MEDSPA_ADMIN
        )
    )
    location = Location(
        id=uuid.uuid4(),
        medspa_id=medspa.id,
        name="Main",
        address_line1="1 Bench St",
        city="New York",
        region="NY",
        postal_code="10001",
        country="US",
        time_zone=ZONE.key,
        active_for_scheduling=True,
        booking_slug=f"{slug}-main",
    )
    kind = AppointmentType(
        id=uuid.uuid4(),
        medspa_id=medspa.id,
        name="Consultation",
        duration_minutes=30,
        price_cents=10_000,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        active=True,
    )
    session.add_all([location, kind])
    await session.flush()
    session.add(
        AppointmentTypeLocation(
            medspa_id=medspa.id, appointment_type_id=kind.id, location_id=location.id
        )
    )
    patients = [
        {
            "id": uuid.uuid4(),
            "medspa_id": medspa.id,
            "first_name": f"P{i:03d}",
            "last_name": slug,
            "email": f"p{i:03d}@{slug}.example",
            "phone": None,
            "registration_status": "COMPLETED",
            "source": "STAFF",
        }
        for i in range(PATIENTS)
    ]
    await session.execute(insert(Patient), patients)
    rows = []
    for p in range(PROVIDERS):
        user = User(
            id=uuid.uuid4(), email=f"provider{p}@{slug}.example", full_name=f"Provider {p} {slug}"
        )
        session.add(user)
        await session.flush()
        session.add(
            Membership(
                id=uuid.uuid4(), medspa_id=medspa.id, user_id=user.id, role=MembershipRole.PROVIDER
            )
        )
        provider = Provider(
            id=uuid.uuid4(),
            medspa_id=medspa.id,
            user_id=user.id,
            display_name=f"Provider {p}",
            credentials="RN",
            active=True,
        )
        session.add(provider)
        await session.flush()
        session.add(
            ProviderLocation(medspa_id=medspa.id, provider_id=provider.id, location_id=location.id)
        )
        session.add(
            ProviderAppointmentType(
                medspa_id=medspa.id, provider_id=provider.id, appointment_type_id=kind.id
            )
        )
        await session.flush()
        for weekday in range(5):
            session.add(
                WeeklyHours(
                    id=uuid.uuid4(),
                    medspa_id=medspa.id,
                    provider_id=provider.id,
                    location_id=location.id,
                    weekday=weekday,
                    start_time=clock(9),
                    end_time=clock(17),
                )
            )
        for week in range(WEEKS):
            for weekday in range(5):
                day = first_monday + timedelta(weeks=week, days=weekday)
                for slot in range(PER_DAY):
                    start = datetime.combine(day, clock(9), tzinfo=ZONE).astimezone(
                        UTC
                    ) + timedelta(minutes=30 * slot + (30 if slot >= 6 else 0))
                    end = start + timedelta(minutes=30)
                    rows.append(
                        {
                            "id": uuid.uuid4(),
                            "medspa_id": medspa.id,
                            "provider_id": provider.id,
                            "location_id": location.id,
                            "patient_id": patients[
                                (p * 37 + week * 11 + weekday * 5 + slot) % PATIENTS
                            ]["id"],
                            "appointment_type_id": kind.id,
                            "starts_at": start,
                            "ends_at": end,
                            "blocked_from": start,
                            "blocked_until": end,
                            "status": "BOOKED",
                            "price_cents": 10_000,
                            "source": "STAFF",
                            "cancellation_fee_applies": False,
                        }
                    )
    await session.execute(insert(Appointment), rows)
    return medspa


async def timed(call: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    for _ in range(5):
        await call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.95) - 1, 0)]


async def main(requests: int) -> None:
    url = database_url()
    upgrade(url)
    data = await seed_large(url)
    print(f"dataset: {data['providers']} providers, {data['appointments']} staff appointments")

    settings = Settings(MEDSPA_ENV="test")  # type: ignore[call-arg]
    engine = create_app_engine(url, statement_timeout_ms=30_000)
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        statements.append(statement)

    app = create_app(settings, services=build_services(settings, engine=engine))
    monday = data["monday"]
    week_from = datetime.combine(monday, clock(0), tzinfo=ZONE).astimezone(UTC)
    week_to = week_from + timedelta(days=7)
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)

    def bearer(user_id: uuid.UUID) -> dict[str, str]:
        token = mint_user_token(settings, user_id=user_id, ttl=timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as http,
        await psycopg.AsyncConnection.connect(libpq) as raw,
    ):

        async def graphql(query: str, variables: dict[str, Any], headers: dict[str, str]) -> int:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body = response.json()
            assert not body.get("errors"), body
            return len(next(iter(body["data"].values())))

        async def floor(sql: str, params: dict[str, Any]) -> int:
            cursor = await raw.execute(sql, params)  # type: ignore[arg-type]
            names = [c.name for c in cursor.description or []]
            found = await cursor.fetchall()
            json.dumps([dict(zip(names, r, strict=True)) for r in found], default=str)
            return len(found)

        week = {"f": week_from.isoformat(), "t": week_to.isoformat()}
        raw_week = {"m": data["medspa"], "f": week_from, "t": week_to}
        cases = [
            (
                "admin week calendar",
                lambda: graphql(CALENDAR, week, bearer(data["admin"])),
                lambda: floor(RAW_CALENDAR.format(extra=""), raw_week),
            ),
            (
                "provider week calendar",
                lambda: graphql(CALENDAR, week, bearer(data["provider_user"])),
                lambda: floor(
                    RAW_CALENDAR.format(extra="AND a.provider_id = %(p)s"),
                    {**raw_week, "p": data["provider"]},
                ),
            ),
            (
                "week of availableSlots",
                lambda: graphql(
                    SLOTS,
                    {
                        "l": encode_global_id("Location", data["location"]),
                        "t": encode_global_id("AppointmentType", data["type"]),
                        "p": encode_global_id("Provider", data["provider"]),
                        "f": week_from.isoformat(),
                        "to": week_to.isoformat(),
                    },
                    bearer(data["admin"]),
                ),
                lambda: floor(
                    RAW_SLOT_INPUTS,
                    {"p": data["provider"], "l": data["location"], "f": week_from, "t": week_to},
                ),
            ),
        ]
        print(
            f"{'':<26}{'rows':>6}{'p50 ms':>9}{'p95 ms':>9}{'floor p50':>11}{'ratio':>8}"
            f"{'stmts':>7}{'(auth)':>8}"
        )
        for label, api_call, floor_call in cases:
            statements.clear()
            rows = await api_call()
            total = [
                s for s in statements if not s.lstrip().upper().startswith("SELECT SET_CONFIG")
            ]
            auth = sum(
                1
                for s in total
                if "app_user" in s
                or "membership" in s
                or "staff_member" in s
                or ("FROM medspa" in s and "calendar" not in s)
            )
            api50, api95 = summary(await timed(api_call, requests))
            raw50, _ = summary(await timed(floor_call, requests))
            print(
                f"{label:<26}{rows:>6}{api50:>9.2f}{api95:>9.2f}{raw50:>11.2f}"
                f"{api50 / raw50:>7.1f}x{len(total):>7}{auth:>8}"
            )
    print(
        f"requests per case: {requests}; statements exclude set_config; (auth) is the share"
        " spent authenticating"
    )
    await engine.dispose()


VIEWER = "{ viewer { kind } }"
BENCH_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"  # noqa: S105 - a local benchmark
CONCURRENCY = 8


async def count_round_trips(
    settings: Settings, url: str, cases: dict[str, tuple[str, dict[str, Any], dict[str, str]]]
) -> dict[str, tuple[int, int]]:
    """Per case: SQL statements (every cursor execution, settings calls included) and round
    trips (those plus BEGIN and COMMIT), counted on the app in-process."""
    engine = create_app_engine(url, statement_timeout_ms=30_000)
    counts = {"statements": 0, "transactions": 0}

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _statement(*_a: Any) -> None:
        counts["statements"] += 1

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(*_a: Any) -> None:
        counts["transactions"] += 1

    app = create_app(settings, services=build_services(settings, engine=engine))
    found = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        for label, (query, variables, headers) in cases.items():
            body = {"query": query, "variables": variables}
            await c.post("/graphql", json=body, headers=headers)  # warm the caches
            counts.update(statements=0, transactions=0)
            response = await c.post("/graphql", json=body, headers=headers)
            assert not response.json().get("errors"), response.text
            # BEGIN and COMMIT are one round trip each on top of the statements.
            found[label] = (counts["statements"], counts["statements"] + 2 * counts["transactions"])
    await engine.dispose()
    return found


def http_main(requests: int, rounds: int, seconds: int, pin: str | None = None) -> None:
    from bench import serving

    url = database_url()
    upgrade(url)
    data = asyncio.run(seed_large(url))
    print(f"dataset: {data['providers']} providers, {data['appointments']} staff appointments")
    settings = Settings(  # type: ignore[call-arg]
        MEDSPA_ENV="prod", MEDSPA_JWT_SECRET=BENCH_SECRET, DATABASE_URL=url
    )
    week_from = datetime.combine(data["monday"], clock(0), tzinfo=ZONE).astimezone(UTC)
    week = {"f": week_from.isoformat(), "t": (week_from + timedelta(days=7)).isoformat()}

    def bearer(user_id: uuid.UUID) -> dict[str, str]:
        token = mint_user_token(settings, user_id=user_id, ttl=timedelta(hours=2))
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    cases = {
        "admin week calendar": (CALENDAR, week, bearer(data["admin"])),
        "provider week calendar": (CALENDAR, week, bearer(data["provider_user"])),
        "viewer { kind }": (VIEWER, {}, bearer(data["admin"])),
    }
    floors = {
        "admin week calendar": {"m": str(data["medspa"]), "p": None, **week},
        "provider week calendar": {
            "m": str(data["medspa"]),
            "p": str(data["provider"]),
            **week,
        },
    }
    trips = asyncio.run(count_round_trips(settings, url, cases))

    def api_request(label: str) -> serving.Request:
        query, variables, headers = cases[label]
        body = json.dumps({"query": query, "variables": variables}).encode()
        return serving.Request("/graphql", body, headers)

    def floor_request(label: str) -> serving.Request:
        body = json.dumps(floors[label]).encode()
        return serving.Request("/calendar", body, {"Content-Type": "application/json"})

    env = {
        "MEDSPA_ENV": "prod",
        "MEDSPA_JWT_SECRET": BENCH_SECRET,
        "DATABASE_URL": url,
        "BENCH_FLOOR_URL": url.replace("postgresql+psycopg://", "postgresql://", 1),
        # The callers' cost budgets would answer 429 under wrk: this measures execution.
        "MEDSPA_BUDGET_PER_MINUTE": str(10**15),
    }
    servers = [
        serving.start_server("floor", "bench.serving:floor_app", workers=1, env=env),
        serving.start_server("api 1 worker", "bench.serving:api_app", workers=1, env=env),
        serving.start_server("api 2 workers", "bench.serving:api_app", workers=2, env=env),
    ]
    samples: dict[tuple[str, str], list[float]] = {}
    loads: dict[tuple[str, str], list[serving.Load]] = {}
    rows: dict[tuple[str, str], int] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    # Server CPU cores busy during the loaded runs: below the worker count, the machine (the
    # load generator, PostgreSQL, other processes) is the ceiling, not the workers.
    cores: dict[tuple[str, str], list[float]] = {}
    load_before = os.getloadavg()[0]
    with serving.serving(servers):
        for round_ in range(rounds):
            for label in cases:
                for server in servers:
                    if server.label == "floor" and label not in floors:
                        continue
                    make = floor_request if server.label == "floor" else api_request
                    request = make(label)
                    key = (label, server.label)
                    conn = serving.HTTPConnection("127.0.0.1", server.port, timeout=60)
                    rows[key] = serving.rows_of(request.send(conn))
                    conn.close()
                    if server.workers == 1:  # unloaded latency is one process's
                        before = server.cpu_seconds()
                        samples.setdefault(key, []).extend(
                            serving.unloaded(server.port, request, n=requests)
                        )
                        # Server CPU per request: the figure a busy machine moves least.
                        cpu.setdefault(key, []).append(
                            (server.cpu_seconds() - before) * 1000 / (requests + 5)
                        )
                    before, started = server.cpu_seconds(), time.monotonic()
                    loads.setdefault(key, []).append(
                        serving.loaded(
                            server.port, request, concurrency=CONCURRENCY, seconds=seconds, pin=pin
                        )
                    )
                    cores.setdefault(key, []).append(
                        (server.cpu_seconds() - before) / (time.monotonic() - started)
                    )
            print(f"round {round_ + 1}/{rounds} done", file=sys.stderr)
        rss = {server.label: server.peak_rss_mb() for server in servers}

    print(
        f"{'case':<24}{'server':<15}{'rows':>5}{'p50 ms':>8}{'p95 ms':>8}{'x floor':>8}"
        f"{'cpu ms':>8}{'req/s c8':>10}{'x floor':>8}{'p50 c8':>8}{'cores':>6}{'stmts':>6}"
        f"{'trips':>6}"
    )
    for label in cases:
        floor_p50 = floor_rps = None
        for server in servers:
            key = (label, server.label)
            if key not in loads:
                continue
            rps = statistics.median(load.requests_per_second for load in loads[key])
            p50_c8 = statistics.median(load.p50_ms for load in loads[key])
            p50 = p95 = None
            if key in samples:
                p50, p95 = summary(samples[key])
            if server.label == "floor":
                floor_p50, floor_rps = p50, rps
            ratio_lat = f"{p50 / floor_p50:.1f}x" if p50 and floor_p50 else ""
            ratio_rps = f"{rps / floor_rps:.2f}x" if floor_rps else ""
            stmts, round_trips = trips[label] if server.label != "floor" else (1, 1)
            cpu_ms = statistics.median(cpu[key]) if key in cpu else float("nan")
            busy = statistics.median(cores[key])
            print(
                f"{label:<24}{server.label:<15}{rows[key]:>5}"
                f"{p50 if p50 is not None else float('nan'):>8.2f}"
                f"{p95 if p95 is not None else float('nan'):>8.2f}{ratio_lat:>8}{cpu_ms:>8.2f}"
                f"{rps:>10.1f}{ratio_rps:>8}{p50_c8:>8.1f}{busy:>6.2f}{stmts:>6}{round_trips:>6}"
            )
    one = statistics.median(
        x.requests_per_second for x in loads[(next(iter(cases)), "api 1 worker")]
    )
    two = statistics.median(
        x.requests_per_second for x in loads[(next(iter(cases)), "api 2 workers")]
    )
    print(f"2 workers / 1 worker, admin week calendar throughput: {two / one:.2f}x")
    refused = sum(load.errors for found in loads.values() for load in found)
    if refused:
        print(f"WARNING: {refused} responses under load were not HTTP 2xx/3xx")
    for label, mbs in rss.items():
        print(f"peak RSS {label}: " + ", ".join(f"{mb:.0f} MB" for mb in mbs))
    print(
        f"{rounds} alternating rounds; unloaded: {requests} sequential requests per round on one"
        f" keep-alive connection; loaded: wrk, {CONCURRENCY} connections, {seconds} s per round;"
        f" {os.cpu_count()} CPUs (shared: figures move with the machine's load; load average"
        f" {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
        + (f"; wrk pinned to CPU {pin}" if pin else "")
    )
    print(
        "cores: server CPU time per second of the loaded runs (1 worker can use at most 1;"
        " the load generator, PostgreSQL and other processes share the same CPUs)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--http", action="store_true", help="measure through uvicorn and wrk")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument(
        "--pin-load", default=None, help="taskset CPU list for wrk (e.g. 1): the load generator"
    )
    args = parser.parse_args()
    if args.http:
        http_main(args.requests, args.rounds, args.seconds, args.pin_load)
    else:
        asyncio.run(main(args.requests))
