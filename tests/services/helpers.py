"""Shared look-ups for the services, GFE and charting tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import encode_global_id
from db.models import RELEASED_STATUSES, Appointment, AppointmentStatus, BookingSource
from db.seed.demo import DemoIds
from tests.conftest import Answer, Audit

PROVIDER_DASHBOARD = {"X-Dashboard": "PROVIDER"}


def sid(demo: DemoIds, slug: str, name: str) -> str:
    """The global id of a medspa's (imported) service."""
    return encode_global_id("Service", demo.services[slug][name])


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def a_patient_of(engine: AsyncEngine, demo: DemoIds, provider: str) -> uuid.UUID:
    """A patient the provider has an appointment with (in their OWN patient scope)."""
    found: uuid.UUID = await scalar(
        engine,
        "SELECT patient_id FROM appointment WHERE provider_id = :p ORDER BY starts_at LIMIT 1",
        p=demo.providers[provider],
    )
    return found


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def assert_denied(answer: Answer, audit: Audit, code: str) -> None:
    """A top-level refusal with its code, and a DENIED audit row for the request."""
    assert answer.codes == [code], answer.body
    found = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert found, "no audit row"
    assert "DENIED" in {r["outcome"] for r in found}


async def appointment_soon(
    session: AsyncSession,
    demo: DemoIds,
    *,
    provider: str,
    patient_id: uuid.UUID,
    slug: str,
    location: str,
    type_name: str = "Neuromodulator",
) -> uuid.UUID:
    """A live appointment of `provider` within the next 24 hours, at the first free
    half hour from one hour ahead (other appointments of the provider are left alone)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now + timedelta(hours=1)
    provider_id = demo.providers[provider]
    while True:
        end = start + timedelta(minutes=30)
        busy = (
            await session.execute(
                select(Appointment.id).where(
                    Appointment.provider_id == provider_id,
                    Appointment.status.not_in(RELEASED_STATUSES),
                    Appointment.blocked_from < end + timedelta(minutes=15),
                    Appointment.blocked_until > start,
                )
            )
        ).first()
        if busy is None:
            break
        start += timedelta(minutes=30)
    row = Appointment(
        id=uuid.uuid4(),
        medspa_id=demo.medspas[slug],
        provider_id=provider_id,
        location_id=demo.locations[location],
        patient_id=patient_id,
        appointment_type_id=demo.appointment_types[slug][type_name],
        starts_at=start,
        ends_at=end,
        blocked_from=start,
        blocked_until=end,
        status=AppointmentStatus.BOOKED,
        price_cents=1,
        source=BookingSource.STAFF,
        cancellation_fee_applies=False,
    )
    session.add(row)
    await session.commit()
    return row.id
