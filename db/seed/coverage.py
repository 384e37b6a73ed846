"""Demo PCC absences and integrations (DESIGN §3, §8), relative to when the seed runs.

Idempotent: the demo absences are recognised by their note, so re-seeding adds none; the
integrations are keyed by (medspa, kind).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Channel,
    ChannelAccessGrant,
    Coverage,
    CoverageSource,
    IntegrationKind,
    IntegrationStatus,
    MedspaIntegration,
    OooAffectedProvider,
    OooKind,
    OooReason,
    OutOfOffice,
    Pcc,
    PccAssignment,
)

DEMO_NOTE = "demo seed"


def _day(zone: str, days_from_today: int) -> tuple[datetime, datetime]:
    """A whole local day in `zone`, as UTC instants."""
    tz = ZoneInfo(zone)
    local_today = datetime.now(tz).date()
    day = local_today + timedelta(days=days_from_today)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


async def seed_coverage(
    session: AsyncSession,
    *,
    pccs: dict[str, uuid.UUID],
    users: dict[str, uuid.UUID],
    medspas: dict[str, uuid.UUID],
) -> None:
    """Vera (virtual, Glow) was out a full day last week and is out a full day next week;
    Sam covers both. Every medspa has its phone line and chat channel; Legacy its Acuity
    calendar."""
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

    vera = await session.get(Pcc, pccs["vera@portrait.example"])
    assert vera is not None
    already = (
        await session.execute(
            select(OutOfOffice.id).where(
                OutOfOffice.pcc_id == vera.id, OutOfOffice.note == DEMO_NOTE
            )
        )
    ).first()
    if already is not None:
        return
    assignments = (
        await session.execute(
            select(PccAssignment.provider_id, PccAssignment.medspa_id).where(
                PccAssignment.pcc_id == vera.id
            )
        )
    ).all()
    for days, reason in ((-7, OooReason.VACATION), (7, OooReason.VACATION)):
        starts, ends = _day(vera.time_zone, days)
        ooo = OutOfOffice(
            id=uuid.uuid4(),
            pcc_id=vera.id,
            starts_at=starts,
            ends_at=ends,
            kind=OooKind.FULL_DAY,
            reason=reason,
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
