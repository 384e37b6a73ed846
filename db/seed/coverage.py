"""Demo PCC absences and integrations (DESIGN §3, §8), relative to when the seed runs.

Idempotent: a demo absence is recognised by its PCC, note and start, so re-seeding in the same
week adds none and re-seeding in a later week adds that week's; the integrations are keyed by
(medspa, kind).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    BusinessModel,
    Channel,
    ChannelAccessGrant,
    Coverage,
    CoverageSource,
    IntegrationKind,
    IntegrationStatus,
    Medspa,
    MedspaFeeLine,
    MedspaIntegration,
    OooAffectedProvider,
    OooKind,
    OooReason,
    OutOfOffice,
    Pcc,
    PccAssignment,
)
from db.models.medspa import PCC_FEE_KIND, pcc_fee_line

DEMO_NOTE = "demo seed"
# Vera's demo absences: the Wednesday of these weeks relative to the current one.
ABSENCE_WEEKS = (-1, 1)
WEDNESDAY = 2


def _day(zone: str, *, weeks_from_now: int, now: datetime) -> tuple[datetime, datetime]:
    """The Wednesday of a week relative to `now`'s, a whole local day in `zone`, in UTC."""
    tz = ZoneInfo(zone)
    local_today = now.astimezone(tz).date()
    day = local_today + timedelta(days=WEDNESDAY - local_today.weekday(), weeks=weeks_from_now)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


async def seed_pcc_fee_lines(session: AsyncSession, *, medspa_ids: Iterable[uuid.UUID]) -> None:
    """The 1,000 USD monthly PCC fee line of every LAUNCH/FLEX medspa whose PCC service is on
    (DESIGN §2), unless one is open already."""
    rows = (
        await session.execute(
            select(Medspa.id).where(
                Medspa.id.in_(list(medspa_ids)),
                Medspa.business_model != BusinessModel.LEGACY,
                Medspa.pcc_service.is_(True),
                ~exists().where(
                    MedspaFeeLine.medspa_id == Medspa.id,
                    MedspaFeeLine.kind == PCC_FEE_KIND,
                    MedspaFeeLine.ends_on.is_(None),
                ),
            )
        )
    ).scalars()
    for medspa_id in rows:
        session.add(pcc_fee_line(medspa_id, date(2026, 1, 1)))


async def seed_coverage(
    session: AsyncSession,
    *,
    pccs: dict[str, uuid.UUID],
    users: dict[str, uuid.UUID],
    medspas: dict[str, uuid.UUID],
    now: datetime | None = None,
) -> None:
    """Vera (virtual, Glow) was out on Wednesday last week and is out on Wednesday next week;
    Sam covers both. Every medspa has its phone line and chat channel; Legacy its Acuity
    calendar; LAUNCH/FLEX medspas with the PCC service their PCC fee line."""
    await seed_pcc_fee_lines(session, medspa_ids=medspas.values())
    for slug, medspa_id in medspas.items():
        kinds = [IntegrationKind.OPENPHONE_LINE, IntegrationKind.TIGERCONNECT_CHANNEL]
        if slug == "legacy":
            kinds.append(IntegrationKind.ACUITY_CALENDAR)
        for kind in kinds:
            exists = (
                await session.execute(
                    select(MedspaIntegration.id).where(
                        MedspaIntegration.medspa_id == medspa_id, MedspaIntegration.kind == kind
                    )
                )
            ).first()
            if exists is None:
                session.add(
                    MedspaIntegration(
                        id=uuid.uuid4(),
                        medspa_id=medspa_id,
                        kind=kind,
                        status=IntegrationStatus.ACTIVE,
                        status_changed_on=date(2026, 1, 1),
                    )
                )

    now = now or datetime.now(UTC)
    vera = await session.get(Pcc, pccs["vera@portrait.example"])
    assert vera is not None
    already = set(
        (
            await session.execute(
                select(OutOfOffice.starts_at).where(
                    OutOfOffice.pcc_id == vera.id, OutOfOffice.note == DEMO_NOTE
                )
            )
        ).scalars()
    )
    assignments = (
        await session.execute(
            select(PccAssignment.provider_id, PccAssignment.medspa_id).where(
                PccAssignment.pcc_id == vera.id
            )
        )
    ).all()
    for weeks in ABSENCE_WEEKS:
        starts, ends = _day(vera.time_zone, weeks_from_now=weeks, now=now)
        if starts in already:
            continue
        ooo = OutOfOffice(
            id=uuid.uuid4(),
            pcc_id=vera.id,
            starts_at=starts,
            ends_at=ends,
            kind=OooKind.FULL_DAY,
            reason=OooReason.VACATION,
            note=DEMO_NOTE,
            reported_by_user_id=users["maria@portrait.example"],
        )
        session.add(ooo)
        await session.flush()
        coverage = Coverage(
            id=uuid.uuid4(),
            ooo_id=ooo.id,
            covering_pcc_id=pccs["sam@portrait.example"],
            source=CoverageSource.ASSIGNED,
            arranged_by_user_id=users["maria@portrait.example"],
            starts_at=starts,
            ends_at=ends,
        )
        session.add(coverage)
        await session.flush()
        for provider_id, medspa_id in assignments:
            session.add(
                OooAffectedProvider(
                    id=uuid.uuid4(), ooo_id=ooo.id, provider_id=provider_id, medspa_id=medspa_id
                )
            )
            for channel in Channel:
                session.add(
                    ChannelAccessGrant(
                        id=uuid.uuid4(),
                        medspa_id=medspa_id,
                        coverage_id=coverage.id,
                        pcc_id=coverage.covering_pcc_id,
                        provider_id=provider_id,
                        channel=channel,
                        starts_at=starts,
                        ends_at=ends,
                    )
                )
    await session.flush()
