"""Arranging PCC absences and coverage windows directly, at chosen instants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Coverage,
    CoverageSource,
    OooAffectedProvider,
    OooKind,
    OooReason,
    OutOfOffice,
    PccAssignment,
)
from db.seed.demo import DemoIds

CALENDAR = """query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) {
    id status provider { displayName } } }"""


def week() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"f": (now - timedelta(days=8)).isoformat(), "t": (now + timedelta(days=8)).isoformat()}


async def absence(
    session: AsyncSession,
    demo: DemoIds,
    *,
    pcc: str = "vera@portrait.example",
    starts: datetime,
    ends: datetime,
    kind: OooKind = OooKind.FULL_DAY,
    covering: str | None = None,
) -> dict[str, Any]:
    """An absence of `pcc` affecting its assigned providers, optionally covered."""
    ooo = OutOfOffice(
        id=uuid.uuid4(),
        pcc_id=demo.pccs[pcc],
        starts_at=starts,
        ends_at=ends,
        kind=kind,
        reason=OooReason.SICK,
        reported_by_user_id=demo.users["maria@portrait.example"],
    )
    session.add(ooo)
    await session.flush()
    rows = (
        await session.execute(
            select(PccAssignment.provider_id, PccAssignment.medspa_id).where(
                PccAssignment.pcc_id == demo.pccs[pcc]
            )
        )
    ).all()
    for provider_id, medspa_id in rows:
        session.add(
            OooAffectedProvider(
                id=uuid.uuid4(), ooo_id=ooo.id, provider_id=provider_id, medspa_id=medspa_id
            )
        )
    if covering is not None:
        session.add(
            Coverage(
                id=uuid.uuid4(),
                ooo_id=ooo.id,
                covering_pcc_id=demo.pccs[covering],
                source=CoverageSource.ASSIGNED,
                arranged_by_user_id=demo.users["maria@portrait.example"],
                starts_at=starts,
                ends_at=ends,
            )
        )
    await session.commit()
    return {"id": ooo.id}
