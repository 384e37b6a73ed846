"""The demo's dated rows follow the day of seeding, whatever the day (issue 16 §2).

Seeded "as of" awkward instants (a Sunday night that is already Monday in UTC, New Year's Eve,
the spring DST change, a Saturday), every medspa has its providers' appointments on each
weekday of the two past weeks, the current one and the next two, in its own zone; Vera has one
absence before that day and one after, covered by Sam; seeding again the same week adds
nothing, and a week later adds exactly one week of appointments and the new absences.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Appointment, Coverage, Medspa, OutOfOffice, Provider
from db.seed.demo import DemoIds, seed_demo

WHEN = (
    datetime(2027, 1, 4, 3, 30, tzinfo=UTC),  # Sunday 22:30 in New York, Monday in UTC
    datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2027, 3, 14, 12, 0, tzinfo=UTC),  # the US spring-forward Sunday
    datetime(2027, 5, 15, 18, 0, tzinfo=UTC),  # a Saturday
)
APPOINTMENTS_PER_PROVIDER_WEEK = 15  # 3 a day, Monday to Friday


async def _weekly_counts(session: AsyncSession, now: datetime) -> dict[str, list[int]]:
    """Per medspa slug: appointments in each week from two before `now`'s to two after."""
    counts: dict[str, list[int]] = {}
    for slug, zone, medspa_id in (
        await session.execute(select(Medspa.slug, Medspa.time_zone, Medspa.id))
    ).all():
        tz = ZoneInfo(zone)
        today = now.astimezone(tz).date()
        monday = today - timedelta(days=today.weekday())
        weeks = []
        for week in range(-2, 3):
            start = _midnight(monday + timedelta(weeks=week), tz)
            end = _midnight(monday + timedelta(weeks=week + 1), tz)
            weeks.append(
                (
                    await session.execute(
                        select(func.count()).where(
                            Appointment.medspa_id == medspa_id,
                            Appointment.starts_at >= start,
                            Appointment.starts_at < end,
                        )
                    )
                ).scalar_one()
            )
        counts[slug] = weeks
    return counts


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


async def _providers(session: AsyncSession, demo: DemoIds) -> dict[str, int]:
    return {
        slug: (
            await session.execute(select(func.count()).where(Provider.medspa_id == medspa_id))
        ).scalar_one()
        for slug, medspa_id in demo.medspas.items()
    }


async def _absences(session: AsyncSession, demo: DemoIds) -> list[tuple[datetime, str | None]]:
    rows = await session.execute(
        select(OutOfOffice.starts_at, Coverage.covering_pcc_id)
        .outerjoin(Coverage, Coverage.ooo_id == OutOfOffice.id)
        .where(OutOfOffice.pcc_id == demo.pccs["vera@portrait.example"])
        .order_by(OutOfOffice.starts_at)
    )
    return [(starts, str(covering) if covering else None) for starts, covering in rows.all()]


@pytest.mark.parametrize("now", WHEN, ids=lambda d: d.isoformat())
async def test_the_demo_weeks_surround_the_day_of_seeding(
    owner_session: AsyncSession, demo: DemoIds, now: datetime
) -> None:
    await seed_demo(owner_session, now=now)
    providers = await _providers(owner_session, demo)
    counts = await _weekly_counts(owner_session, now)
    for slug, weeks in counts.items():
        # Seeded weeks of the real today may overlap: at least the demo's, never fewer.
        assert all(n >= providers[slug] * APPOINTMENTS_PER_PROVIDER_WEEK for n in weeks), (
            slug,
            weeks,
        )
    absences = [(s, c) for s, c in await _absences(owner_session, demo)]
    sam = str(demo.pccs["sam@portrait.example"])
    before = [s for s, c in absences if s < now and c == sam and now - s < timedelta(days=14)]
    after = [s for s, c in absences if s > now and c == sam and s - now < timedelta(days=14)]
    assert before and after, absences


async def test_reseeding_adds_only_the_weeks_that_became_current(
    owner_session: AsyncSession, demo: DemoIds
) -> None:
    # A Monday morning in every demo zone, far from the weeks seeded for the real today.
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=20)
    now = datetime.combine(monday, time(15), tzinfo=UTC)

    async def totals() -> tuple[int, int]:
        appointments = (
            await owner_session.execute(select(func.count()).select_from(Appointment))
        ).scalar_one()
        return appointments, len(await _absences(owner_session, demo))

    await seed_demo(owner_session, now=now)
    first = await totals()
    await seed_demo(owner_session, now=now + timedelta(days=2))  # same week
    assert await totals() == first
    await seed_demo(owner_session, now=now + timedelta(weeks=1))
    appointments, absences = await totals()
    providers = sum((await _providers(owner_session, demo)).values())
    assert appointments - first[0] == providers * APPOINTMENTS_PER_PROVIDER_WEEK
    assert absences - first[1] == 2  # the new "last week" and "next week" Wednesdays
