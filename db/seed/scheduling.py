"""The scheduling part of the demo dataset (DESIGN §8), run at the end of `seed_demo`.

Appointment types offered at every active location, every provider working at their
medspa's active locations and offering every type, weekday hours 09:00-17:00 in the
location's zone, a dozen patients per medspa and, for every provider, appointments on every
weekday of the demo weeks around the day the seed runs (two past weeks, the current one and
two next ones, Monday to Friday in the medspa's zone), so the calendar examples always show
something. Idempotent: rows are found by natural key (type name, provider + location, email,
provider + start), so re-seeding on a later day adds only the weeks that became current.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    AppointmentTypeLocation,
    BookingSource,
    Location,
    Medspa,
    Patient,
    PatientSource,
    Provider,
    ProviderAppointmentType,
    ProviderLocation,
    RegistrationStatus,
    WeeklyHours,
)


@dataclass(frozen=True)
class DemoType:
    name: str
    minutes: int
    price_cents: int
    buffer_after: int = 0


TYPES = (
    DemoType("Neuromodulator", 30, 45_000),
    DemoType("Dermal filler", 60, 75_000, buffer_after=15),
    DemoType("Chemical peel", 45, 20_000),
)

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Diego", "Emma", "Farah",
    "Gabe", "Hana", "Isla", "Jon", "Kara", "Liam",
)  # fmt: skip
LAST_NAMES = (
    "Reed", "Soto", "Tran", "Usman", "Vega", "Wolfe",
    "Xu", "Young", "Zamora", "Abbott", "Bishop", "Cruz",
)  # fmt: skip

WORK_START, WORK_END = time(9), time(17)
# Local start times of each provider's demo appointments on every weekday, and their types.
APPOINTMENT_SLOTS = ((time(10), 0), (time(13), 1), (time(15, 30), 2))
# The demo weeks, relative to the week the seed runs in (0 = the current week).
DEMO_WEEKS = range(-2, 3)


def week_monday(today: date) -> date:
    return today - timedelta(days=today.weekday())


def _demo_days(monday: date) -> list[date]:
    """Every weekday of the demo weeks around the week starting `monday`."""
    return [
        monday + timedelta(weeks=week, days=weekday) for week in DEMO_WEEKS for weekday in range(5)
    ]


async def seed_scheduling(
    session: AsyncSession,
    *,
    medspa_ids: dict[str, uuid.UUID],
    provider_ids: dict[str, uuid.UUID],
    now: datetime | None = None,
) -> dict[str, dict[str, uuid.UUID]]:
    """Seed every medspa's scheduling data; returns {medspa slug: {type name: id}}."""
    now = now or datetime.now(UTC)
    types_by_medspa: dict[str, dict[str, uuid.UUID]] = {}
    for slug, medspa_id in medspa_ids.items():
        medspa = await session.get(Medspa, medspa_id)
        assert medspa is not None
        types = await _types(session, medspa_id)
        types_by_medspa[slug] = {t.name: t.id for t in types}
        locations = list(
            (
                await session.execute(
                    select(Location).where(
                        Location.medspa_id == medspa_id, Location.active_for_scheduling.is_(True)
                    )
                )
            ).scalars()
        )
        providers = list(
            (
                await session.execute(
                    select(Provider)
                    .where(Provider.medspa_id == medspa_id, Provider.id.in_(provider_ids.values()))
                    .order_by(Provider.display_name)
                )
            ).scalars()
        )
        await _configuration(session, medspa_id, types, locations, providers)
        patients = await _patients(session, medspa)
        if locations:
            await _appointments(session, medspa, locations[0], types, providers, patients, now)
    await session.flush()
    return types_by_medspa


async def _types(session: AsyncSession, medspa_id: uuid.UUID) -> list[AppointmentType]:
    existing = {
        t.name: t
        for t in (
            await session.execute(
                select(AppointmentType).where(AppointmentType.medspa_id == medspa_id)
            )
        ).scalars()
    }
    rows = []
    for spec in TYPES:
        row = existing.get(spec.name)
        if row is None:
            row = AppointmentType(
                id=uuid.uuid4(),
                medspa_id=medspa_id,
                name=spec.name,
                duration_minutes=spec.minutes,
                price_cents=spec.price_cents,
                buffer_before_minutes=0,
                buffer_after_minutes=spec.buffer_after,
                active=True,
            )
            session.add(row)
        rows.append(row)
    await session.flush()
    return rows


async def _configuration(
    session: AsyncSession,
    medspa_id: uuid.UUID,
    types: list[AppointmentType],
    locations: list[Location],
    providers: list[Provider],
) -> None:
    type_locations: set[tuple[uuid.UUID, ...]] = set(
        (
            await session.execute(
                select(
                    AppointmentTypeLocation.appointment_type_id,
                    AppointmentTypeLocation.location_id,
                ).where(AppointmentTypeLocation.medspa_id == medspa_id)
            )
        ).all()
    )
    provider_locations = set(
        (
            await session.execute(
                select(ProviderLocation.provider_id, ProviderLocation.location_id).where(
                    ProviderLocation.medspa_id == medspa_id
                )
            )
        ).all()
    )
    provider_types = set(
        (
            await session.execute(
                select(
                    ProviderAppointmentType.provider_id,
                    ProviderAppointmentType.appointment_type_id,
                ).where(ProviderAppointmentType.medspa_id == medspa_id)
            )
        ).all()
    )
    hours = set(
        (
            await session.execute(
                select(WeeklyHours.provider_id, WeeklyHours.location_id, WeeklyHours.weekday).where(
                    WeeklyHours.medspa_id == medspa_id
                )
            )
        ).all()
    )
    for location in locations:
        for t in types:
            if (t.id, location.id) not in type_locations:
                session.add(
                    AppointmentTypeLocation(
                        medspa_id=medspa_id, appointment_type_id=t.id, location_id=location.id
                    )
                )
        for p in providers:
            if (p.id, location.id) not in provider_locations:
                session.add(
                    ProviderLocation(medspa_id=medspa_id, provider_id=p.id, location_id=location.id)
                )
    for p in providers:
        for t in types:
            if (p.id, t.id) not in provider_types:
                session.add(
                    ProviderAppointmentType(
                        medspa_id=medspa_id, provider_id=p.id, appointment_type_id=t.id
                    )
                )
    await session.flush()
    for location in locations:
        for p in providers:
            for weekday in range(5):
                if (p.id, location.id, weekday) not in hours:
                    session.add(
                        WeeklyHours(
                            id=uuid.uuid4(),
                            medspa_id=medspa_id,
                            provider_id=p.id,
                            location_id=location.id,
                            weekday=weekday,
                            start_time=WORK_START,
                            end_time=WORK_END,
                        )
                    )
    await session.flush()


async def _patients(session: AsyncSession, medspa: Medspa) -> list[Patient]:
    existing = {
        p.email: p
        for p in (
            await session.execute(select(Patient).where(Patient.medspa_id == medspa.id))
        ).scalars()
    }
    rows = []
    for i, (first, last) in enumerate(zip(FIRST_NAMES, LAST_NAMES, strict=True)):
        email = f"{first.lower()}.{last.lower()}@{medspa.slug}-patients.example"
        row = existing.get(email)
        if row is None:
            row = Patient(
                id=uuid.uuid4(),
                medspa_id=medspa.id,
                first_name=first,
                last_name=last,
                email=email,
                phone=f"+1555{zlib.crc32(medspa.slug.encode()) % 1000:03d}{i:04d}",
                registration_status=(
                    RegistrationStatus.COMPLETED if i % 3 else RegistrationStatus.LINK_SENT
                ),
                source=PatientSource.STAFF,
            )
            session.add(row)
        rows.append(row)
    await session.flush()
    return rows


async def _appointments(
    session: AsyncSession,
    medspa: Medspa,
    location: Location,
    types: list[AppointmentType],
    providers: list[Provider],
    patients: list[Patient],
    now: datetime,
) -> None:
    tz = ZoneInfo(location.time_zone)
    monday = week_monday(now.astimezone(tz).date())
    taken = set(
        (
            await session.execute(
                select(Appointment.provider_id, Appointment.starts_at).where(
                    Appointment.medspa_id == medspa.id,
                    Appointment.status.not_in(RELEASED_STATUSES),
                )
            )
        ).all()
    )
    for p_index, provider in enumerate(providers):
        for day in _demo_days(monday):
            day_offset = day.weekday()
            for s_index, (start_time, type_index) in enumerate(APPOINTMENT_SLOTS):
                kind = types[type_index]
                starts_at = datetime.combine(day, start_time, tzinfo=tz).astimezone(UTC)
                # Alternate confirmed and booked by position in the week, not by insertion
                # order, so a re-seed on a later day colours the new weeks the same way.
                n = p_index * 15 + day_offset * 3 + s_index + 1
                if (provider.id, starts_at) in taken:
                    continue
                ends_at = starts_at + timedelta(minutes=kind.duration_minutes)
                # Each provider sees four of the medspa's patients (OWN scope has a subset).
                patient = patients[(p_index * 4 + (day_offset * 3 + s_index) % 4) % len(patients)]
                session.add(
                    Appointment(
                        id=uuid.uuid4(),
                        medspa_id=medspa.id,
                        provider_id=provider.id,
                        location_id=location.id,
                        patient_id=patient.id,
                        appointment_type_id=kind.id,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        blocked_from=starts_at - timedelta(minutes=kind.buffer_before_minutes),
                        blocked_until=ends_at + timedelta(minutes=kind.buffer_after_minutes),
                        status=(
                            AppointmentStatus.COMPLETED
                            if ends_at < now
                            else AppointmentStatus.CONFIRMED
                            if n % 2
                            else AppointmentStatus.BOOKED
                        ),
                        price_cents=kind.price_cents,
                        source=BookingSource.STAFF,
                        cancellation_fee_applies=False,
                    )
                )
    await session.flush()
