"""Shared arrangements for the scheduling tests: ids, times, table snapshots, the matrix."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from db.seed.scheduling import DEMO_WEEKS
from tests.conftest import Answer, Audit, Gql, Principals

OK = "ok"
NEW_YORK = ZoneInfo("America/New_York")

# Callers of the matrix and what each is: the roles of every demo medspa, Portrait staff, a
# masquerade session (dana as nina), a partner key with every scope, and no token.
GLOW_ADMIN = "dana@glow.example"
GLOW_PROVIDER = "nina@glow.example"
OTHER_ADMIN = "ruth@radiance.example"
LEGACY_ADMIN = "lena@legacy.example"

# Expected answer of a Glow-admin-only scheduling-settings mutation aimed at a Glow row.
ADMIN_ONLY_ON_GLOW: dict[str, str] = {
    "ops@portrait.example": "FORBIDDEN",
    "maria@portrait.example": "FORBIDDEN",
    "vera@portrait.example": "FORBIDDEN",
    "dean@portrait.example": "FORBIDDEN",
    "cody@portrait.example": "FORBIDDEN",
    "sam@portrait.example": "FORBIDDEN",
    "dana@glow.example": OK,
    "nina@glow.example": "FORBIDDEN",
    "omar@glow.example": "FORBIDDEN",
    "ruth@radiance.example": "NOT_FOUND",
    "lee@radiance.example": "FORBIDDEN",
    "lena@legacy.example": "NOT_FOUND",
    "kim@legacy.example": "FORBIDDEN",
    "covering": "FORBIDDEN",
    "dana@glow.example:PROVIDER": "FORBIDDEN",
    "masquerade": "FORBIDDEN",
    "api_key": "FORBIDDEN",
    "api_key:APPOINTMENTS_READ": "FORBIDDEN",
    "api_key:APPOINTMENTS_WRITE": "FORBIDDEN",
    "api_key:PATIENTS_READ": "FORBIDDEN",
    "api_key:CATALOG_READ": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}


BOOK = """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
    replayed errors { code field message }
    appointment { id status startsAt endsAt provider { displayName } patient { email } } } }"""


def gid(type_name: str, id_: uuid.UUID) -> str:
    return str(encode_global_id(type_name, id_))


def next_week(weekday: int, wall: time, tz: ZoneInfo = NEW_YORK) -> datetime:
    """A wall-clock time on a weekday (0 = Monday) of the first week after the demo's seeded
    weeks (an empty calendar to book in), as an aware UTC instant."""
    today = datetime.now(tz).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=DEMO_WEEKS.stop)
    return datetime.combine(monday + timedelta(days=weekday), wall, tzinfo=tz).astimezone(UTC)


def next_clock_change(*, forward: bool, tz: ZoneInfo = NEW_YORK) -> date:
    """The local day of the next daylight-saving change in `tz` (clocks `forward` in spring,
    back in autumn), at least two weeks from today: computed from the clock, so a test that
    uses it never runs out of dates, and clear of the seeded current week."""
    day = datetime.now(tz).date() + timedelta(days=14)
    for _ in range(400):
        before = datetime.combine(day - timedelta(days=1), time(12), tzinfo=tz).utcoffset()
        after = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        assert before is not None and after is not None
        if after != before and (after > before) is forward:
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{tz} has no daylight-saving change within a year")


def local(day: date, wall: time, tz: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql), params)]


async def snapshot(engine: AsyncEngine, *tables: str) -> dict[str, str]:
    """A fingerprint of every row of the tables (owner connection, platform visibility)."""
    found = {}
    async with engine.connect() as conn:
        await conn.execute(text("SELECT set_config('app.platform', 'on', false)"))
        for table in tables:
            found[table] = (
                await conn.execute(
                    text(
                        f"SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"  # noqa: S608
                        f" FROM {table} t"
                    )
                )
            ).scalar_one()
        await conn.execute(text("SELECT set_config('app.platform', 'off', false)"))
    return found


async def patient_of(engine: AsyncEngine, demo: DemoIds, slug: str, index: int = 0) -> uuid.UUID:
    found: uuid.UUID = await scalar(
        engine,
        "SELECT id FROM patient WHERE medspa_id = :m ORDER BY email OFFSET :i LIMIT 1",
        m=demo.medspas[slug],
        i=index,
    )
    return found


async def ask(
    gql: Gql, principals: Principals, who: str, query: str, variables: dict[str, Any]
) -> Answer:
    return await gql(query, variables, bearer=await principals.bearer(who))


async def assert_matrix_answer(
    *,
    answer: Answer,
    expected: str,
    field: str,
    audit: Audit,
    before: dict[str, str],
    engine: AsyncEngine,
) -> dict[str, Any] | None:
    """OK -> the payload without errors (returned); a code -> denied, unchanged, audited.

    A code that is a top-level GraphQL error (FORBIDDEN, NOT_FOUND, UNAUTHENTICATED) must come
    with a DENIED audit row of the request; a payload code (FEATURE_UNAVAILABLE) with a FAILED
    one. Either way the watched tables are unchanged.
    """
    if expected == OK:
        assert answer.errors == [], answer.body
        payload: dict[str, Any] = answer.data[field]
        assert payload["errors"] == [], payload
        return payload
    if answer.errors:
        assert answer.codes == [expected], answer.body
        request_id = answer.errors[0]["extensions"]["requestId"]
        outcome = "DENIED"
    else:
        payload = answer.data[field]
        assert [e["code"] for e in payload["errors"]] == [expected], payload
        request_id = None
        outcome = "FAILED"
    assert await snapshot(engine, *before) == before, "a refused write changed data"
    if request_id is not None:
        audited = await audit.rows(request_id=request_id)
        assert audited and {r["outcome"] for r in audited} == {outcome}, audited
    else:
        audited = await audit.rows(outcome=outcome)
        assert audited, "a refused write leaves an audit row"
    return None


async def booking(
    engine: AsyncEngine,
    demo: DemoIds,
    *,
    provider: str = "nina@glow.example",
    at: Any = None,
    type_name: str = "Neuromodulator",
    key: str | None = None,
    patient_index: int = 0,
) -> dict[str, Any]:
    """Variables of BOOK: a Glow patient with a provider at Glow Downtown, next Tuesday 11:00
    unless `at` says otherwise."""
    return {
        "input": {
            "patientId": gid("Patient", await patient_of(engine, demo, "glow", patient_index)),
            "providerId": gid("Provider", demo.providers[provider]),
            "locationId": gid("Location", demo.locations["glow-downtown"]),
            "appointmentTypeId": gid("AppointmentType", demo.appointment_types["glow"][type_name]),
            "startsAt": (at or next_week(1, time(11))).isoformat(),
            "idempotencyKey": key,
        }
    }
