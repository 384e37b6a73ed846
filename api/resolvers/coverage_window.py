"""Coverage windows (DESIGN §3): a PCC offers or is assigned to cover an absence, a provider
covers their own lines, and windows end when a medspa drops its PCC or a PCC stops covering.

Absences, holidays and the coverage read paths are `api.resolvers.coverage`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from db.models import (
    AuditOutcome,
    Channel,
    ChannelAccessGrant,
    Coverage,
    CoverageSource,
    OooAffectedProvider,
    OooKind,
    OutOfOffice,
    Pcc,
    PccKind,
    PlatformHoliday,
)

if TYPE_CHECKING:
    from api.context import Context

NO_COVERAGE_MESSAGE = (
    "Portrait arranges no coverage for this absence: providers cover their own lines."
)

# Who may choose that a provider covers their own lines: manager (ANY), the medspa's admin
# (TENANT), the provider (OWN).
COVER_OWN_ANCHOR = Anchor(
    medspa=OooAffectedProvider.medspa_id, provider=OooAffectedProvider.provider_id
)


async def offer_coverage(ctx: Context, *, ooo_id: uuid.UUID | None) -> Coverage:
    """The calling PCC opts in to cover an absence."""
    covering = await ctx.session.get(Pcc, ctx.principal.pcc_id) if ctx.principal.pcc_id else None
    if covering is None:
        raise not_found("Only PCCs can offer coverage.")
    return await _arrange(ctx, ooo_id=ooo_id, covering=covering, source=CoverageSource.OFFERED)


async def assign_coverage(
    ctx: Context, *, ooo_id: uuid.UUID | None, pcc_id: uuid.UUID | None
) -> Coverage:
    """A PCC manager names the covering PCC."""
    covering = await ctx.session.get(Pcc, pcc_id) if pcc_id else None
    if covering is None:
        raise not_found("PCC not found.")
    return await _arrange(ctx, ooo_id=ooo_id, covering=covering, source=CoverageSource.ASSIGNED)


async def _arrange(
    ctx: Context, *, ooo_id: uuid.UUID | None, covering: Pcc, source: CoverageSource
) -> Coverage:
    ooo = await ctx.session.get(OutOfOffice, ooo_id) if ooo_id else None
    if ooo is None:
        raise not_found("Absence not found.")
    absent = await ctx.session.get(Pcc, ooo.pcc_id)
    assert absent is not None
    now = datetime.now(UTC)
    await _refuse_uncoverable(ctx.session, ooo, absent)
    if ooo.ends_at <= now:
        raise invalid("oooId", "The absence is already over.")
    if covering.id == absent.id:
        raise invalid("pccId", "A PCC cannot cover their own absence.")
    if covering.kind is not PccKind.VIRTUAL:
        raise DomainError(
            Problem(
                DomainErrorCode.COVERING_PCC_NOT_ELIGIBLE,
                "Only virtual PCCs cover absences; designated PCCs stay with their medspa.",
                "pccId",
            )
        )
    busy = (
        await ctx.session.execute(
            select(OutOfOffice.id).where(
                OutOfOffice.pcc_id == covering.id,
                OutOfOffice.starts_at < ooo.ends_at,
                OutOfOffice.ends_at > ooo.starts_at,
            )
        )
    ).first()
    if busy is not None:
        raise DomainError(
            Problem(
                DomainErrorCode.COVERING_PCC_UNAVAILABLE,
                "That PCC is out of office then too.",
                "pccId",
            )
        )
    assert ctx.principal.user_id is not None
    coverage = Coverage(
        id=uuid.uuid4(),
        ooo_id=ooo.id,
        covering_pcc_id=covering.id,
        source=source,
        arranged_by_user_id=ctx.principal.user_id,
        starts_at=ooo.starts_at,
        ends_at=ooo.ends_at,
    )
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(coverage)
            await ctx.session.flush()
    except IntegrityError as exc:
        # Another PCC got there first (possibly in a concurrent transaction).
        raise DomainError(
            Problem(
                DomainErrorCode.COVERAGE_ALREADY_ARRANGED,
                "Another PCC already covers this absence.",
                "oooId",
            )
        ) from exc
    affected = list(
        (
            await ctx.session.execute(
                select(OooAffectedProvider).where(
                    OooAffectedProvider.ooo_id == ooo.id,
                    OooAffectedProvider.covers_own_lines.is_(False),
                )
            )
        ).scalars()
    )
    medspas = {row.medspa_id for row in affected}
    # The grants are rows of the covered medspas: the covering PCC reaches them from now
    # on (for the window), so this transaction may write there too.
    await ctx.reach_tenants(medspas)
    for row in affected:
        for channel in Channel:
            ctx.session.add(
                ChannelAccessGrant(
                    id=uuid.uuid4(),
                    medspa_id=row.medspa_id,
                    coverage_id=coverage.id,
                    pcc_id=covering.id,
                    provider_id=row.provider_id,
                    channel=channel,
                    starts_at=coverage.starts_at,
                    ends_at=coverage.ends_at,
                )
            )
    await ctx.session.flush()
    ctx.allowed(
        Action.COVERAGE_OFFER if source is CoverageSource.OFFERED else Action.COVERAGE_ASSIGN,
        resource_type="Coverage",
        resource_id=coverage.id,
        medspa_id=None,
        detail={
            "oooId": str(ooo.id),
            "absentPccId": str(absent.id),
            "coveringPccId": str(covering.id),
            "window": [coverage.starts_at.isoformat(), coverage.ends_at.isoformat()],
            "medspaIds": sorted(str(m) for m in medspas),
        },
    )
    return coverage


async def _refuse_uncoverable(session: AsyncSession, ooo: OutOfOffice, absent: Pcc) -> None:
    """COVERAGE_NOT_OFFERED for every absence Portrait's policy does not cover."""
    why = None
    if absent.kind is PccKind.DESIGNATED:
        why = "A designated PCC's absence is not covered."
    elif ooo.kind is OooKind.PARTIAL_DAY:
        why = "A partial-day absence is not covered."
    else:
        holiday = (
            await session.execute(
                select(PlatformHoliday.name).where(
                    PlatformHoliday.starts_at < ooo.ends_at, PlatformHoliday.ends_at > ooo.starts_at
                )
            )
        ).scalar_one_or_none()
        if holiday is not None:
            why = f"Portrait is closed for {holiday}."
    if why is not None:
        raise DomainError(
            Problem(DomainErrorCode.COVERAGE_NOT_OFFERED, f"{why} {NO_COVERAGE_MESSAGE}", "oooId")
        )


async def end_coverage_in_medspa(ctx: Context, *, medspa_id: uuid.UUID, now: datetime) -> None:
    """The medspa drops its PCC: from `now` its providers cover their own lines in every
    absence not over yet (covered or not), and every channel grant there is revoked. The
    covering PCC's reach follows at once (`api.authz.reach` skips providers covering their
    own lines); the records stay, dated."""
    await ctx.session.execute(
        update(OooAffectedProvider)
        .where(
            OooAffectedProvider.medspa_id == medspa_id,
            OooAffectedProvider.covers_own_lines.is_(False),
            OooAffectedProvider.ooo_id.in_(select(OutOfOffice.id).where(OutOfOffice.ends_at > now)),
        )
        .values(covers_own_lines=True, covers_own_lines_set_by=ctx.principal.actor_user_id)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.execute(
        update(ChannelAccessGrant)
        .where(
            ChannelAccessGrant.medspa_id == medspa_id,
            ChannelAccessGrant.ends_at > now,
            ChannelAccessGrant.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def end_coverage_by_pcc(ctx: Context, *, pcc_id: uuid.UUID, now: datetime) -> None:
    """A PCC stops covering (it became DESIGNATED, and only virtual PCCs cover): windows
    under way end at `now` with their grants; windows not started yet are withdrawn, so the
    absence is open for another PCC."""
    await ctx.session.execute(
        update(ChannelAccessGrant)
        .where(
            ChannelAccessGrant.pcc_id == pcc_id,
            ChannelAccessGrant.ends_at > now,
            ChannelAccessGrant.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.execute(
        update(Coverage)
        .where(
            Coverage.covering_pcc_id == pcc_id,
            Coverage.starts_at < now,
            Coverage.ends_at > now,
        )
        .values(ends_at=now)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.execute(
        delete(Coverage)
        .where(Coverage.covering_pcc_id == pcc_id, Coverage.starts_at >= now)
        .execution_options(synchronize_session=False)
    )


async def cover_own_lines(
    ctx: Context, *, ooo_id: uuid.UUID | None, provider_id: uuid.UUID | None
) -> OooAffectedProvider:
    """The provider covers their own lines for this absence: out of coverage, grants revoked."""
    row = None
    if ooo_id and provider_id:
        row = (
            await ctx.session.execute(
                select(OooAffectedProvider).where(
                    OooAffectedProvider.ooo_id == ooo_id,
                    OooAffectedProvider.provider_id == provider_id,
                    ctx.scope(Action.COVERAGE_COVER_OWN_LINES, COVER_OWN_ANCHOR),
                )
            )
        ).scalar_one_or_none()
    if row is None:
        ctx.audit(
            Action.COVERAGE_COVER_OWN_LINES.value,
            AuditOutcome.DENIED,
            resource_type="OutOfOffice",
            resource_id=ooo_id,
            detail={"reason": "absence or provider not found or outside scope"},
        )
        raise not_found("That provider is not affected by this absence.")
    now = datetime.now(UTC)
    row.covers_own_lines = True
    row.covers_own_lines_set_by = ctx.principal.actor_user_id
    await ctx.session.execute(
        update(ChannelAccessGrant)
        .where(
            ChannelAccessGrant.provider_id == row.provider_id,
            ChannelAccessGrant.coverage_id.in_(
                select(Coverage.id).where(Coverage.ooo_id == row.ooo_id)
            ),
            ChannelAccessGrant.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.flush()
    ctx.allowed(
        Action.COVERAGE_COVER_OWN_LINES,
        resource_type="OutOfOffice",
        resource_id=row.ooo_id,
        medspa_id=row.medspa_id,
        detail={"providerId": str(row.provider_id)},
    )
    return row
