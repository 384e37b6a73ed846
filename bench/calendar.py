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

Database: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the embedded server in .data/bench.
Usage: .venv/bin/python bench/calendar.py [--requests 100]
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
from sqlalchemy import event, insert, select

from api.app import build_services, create_app
from api.auth import mint_user_token
from api.ids import encode_global_id
from api.settings import PROJECT_ROOT, Settings
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    asyncio.run(main(parser.parse_args().requests))
