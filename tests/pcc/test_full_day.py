"""FULL_DAY means whole local days in the absent PCC's time zone (DESIGN §3): midnight to
midnight there, one day or more. Anything shorter is PARTIAL_DAY (and gets no coverage)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.errors import DomainError
from api.resolvers.coverage import check_whole_days
from tests.conftest import Gql

REPORT = """mutation($s: DateTime!, $e: DateTime!, $k: OooKind!) {
  reportOutOfOffice(startsAt: $s, endsAt: $e, kind: $k, reason: SICK) {
    outOfOffice { id kind } errors { code field message } } }"""
DENVER = ZoneInfo("America/Denver")  # Vera's zone
NEW_YORK = ZoneInfo("America/New_York")  # Sam's


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _in(days: int, tz: ZoneInfo = DENVER) -> date:
    return (datetime.now(tz) + timedelta(days=days)).date()


async def _report(gql: Gql, starts: datetime, ends: datetime, kind: str = "FULL_DAY") -> Any:
    return await gql(
        REPORT,
        {"s": starts.isoformat(), "e": ends.isoformat(), "k": kind},
        as_="vera@portrait.example",
    )


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM out_of_office"))).scalar_one())


@pytest.mark.parametrize("days", [1, 3])
async def test_whole_local_days_are_a_full_day(gql: Gql, days: int) -> None:
    start = _in(10)  # clear of the seeded absences (a week ago, in a week)
    answer = await _report(
        gql, _midnight(start, DENVER), _midnight(start + timedelta(days=days), DENVER)
    )
    assert answer.data["reportOutOfOffice"]["errors"] == [], answer.body
    assert answer.data["reportOutOfOffice"]["outOfOffice"]["kind"] == "FULL_DAY"


def _short_or_misaligned() -> dict[str, tuple[datetime, datetime]]:
    day = _in(5)
    start = _midnight(day, DENVER)
    return {
        "25 seconds": (start, start + timedelta(seconds=25)),
        "23 hours": (start, start + timedelta(hours=23)),
        "a day from noon": (start + timedelta(hours=12), start + timedelta(days=1, hours=12)),
        # Midnight to midnight in New York is 22:00 to 22:00 in Denver: not Vera's days.
        "another zone's day": (
            _midnight(day, NEW_YORK),
            _midnight(day + timedelta(days=1), NEW_YORK),
        ),
        "UTC midnights": (
            datetime.combine(day, time(0), tzinfo=UTC),
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC),
        ),
        "a day and a minute": (
            start,
            _midnight(day + timedelta(days=1), DENVER) + timedelta(minutes=1),
        ),
    }


@pytest.mark.parametrize("case", list(_short_or_misaligned()))
async def test_anything_else_is_refused_as_full_day(
    gql: Gql, owner_engine: AsyncEngine, case: str
) -> None:
    starts, ends = _short_or_misaligned()[case]
    before = await _count(owner_engine)
    answer = await _report(gql, starts, ends)
    [error] = answer.data["reportOutOfOffice"]["errors"]
    assert (error["code"], error["field"]) == ("VALIDATION", "kind")
    assert "PARTIAL_DAY" in error["message"]
    assert await _count(owner_engine) == before  # nothing recorded
    # The same span is a fine PARTIAL_DAY absence.
    partial = await _report(gql, starts, ends, kind="PARTIAL_DAY")
    assert partial.data["reportOutOfOffice"]["errors"] == [], partial.body


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 8), 23), (date(2026, 11, 1), 25)])
def test_full_days_across_a_dst_change_are_whole_local_days(day: date, hours: int) -> None:
    """Denver's DST days last 23 and 25 hours; midnight to midnight is still one whole day,
    and 24 hours from that midnight is not."""
    starts = _midnight(day, DENVER).astimezone(UTC)
    ends = _midnight(day + timedelta(days=1), DENVER).astimezone(UTC)
    assert ends - starts == timedelta(hours=hours)
    check_whole_days(starts, ends, "America/Denver")
    with pytest.raises(DomainError):
        check_whole_days(starts, starts + timedelta(hours=24), "America/Denver")
