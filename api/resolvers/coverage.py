"""Out-of-office periods, holidays and coverage (DESIGN §3).

Portrait's policy, as code:
- a VIRTUAL PCC's FULL_DAY absence can be covered by exactly one other (virtual) PCC, who
  opts in (`offer_coverage`) or is assigned by a PCC manager (`assign_coverage`); the
  database's unique constraint on `coverage.ooo_id` settles races;
- PARTIAL_DAY absences, any DESIGNATED PCC's absence and absences on a platform holiday get
  no coverage: `COVERAGE_NOT_OFFERED`, providers cover their own lines;
- a provider (or their admin) may cover their own lines, which takes them out of coverage.

Access follows time: the covering PCC's reach is computed per request from the coverage
window (`covering_reach`, used by `api.auth.assigned_reach`); nothing has to revoke it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, exists, false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import Action, Scope
from api.authz.principal import CoverageInfo, Principal
from api.authz.scopes import Anchor
from api.errors import DomainError, Problem, invalid, not_found
from api.resolvers.batching import many_per_key, one_per_key
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    AuditOutcome,
    Channel,
    ChannelAccessGrant,
    Coverage,
    CoverageSource,
    OooAffectedProvider,
    OooKind,
    OooReason,
    OutOfOffice,
    Pcc,
    PccAssignment,
    PccKind,
    PlatformHoliday,
    Provider,
)
from db.session import set_tenant_settings

if TYPE_CHECKING:
    from api.context import Context

MAX_ABSENCE = timedelta(days=60)
NO_COVERAGE_MESSAGE = (
    "Portrait arranges no coverage for this absence: providers cover their own lines."
)


# --- scope ----------------------------------------------------------------------------------


def _affects(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(OooAffectedProvider.ooo_id == OutOfOffice.id, condition)


def _ooo_own(principal: Principal) -> ColumnElement[bool]:
    """A PCC's own absences and those it covers; a provider's absences affecting them."""
    if principal.pcc_id is not None:
        covering = exists().where(
            Coverage.ooo_id == OutOfOffice.id, Coverage.covering_pcc_id == principal.pcc_id
        )
        return or_(OutOfOffice.pcc_id == principal.pcc_id, covering)
    if principal.provider_id is not None:
        return _affects(OooAffectedProvider.provider_id == principal.provider_id)
    return false()


def _ooo_tenant(principal: Principal) -> ColumnElement[bool]:
    if principal.medspa_id is None:
        return false()
    return _affects(OooAffectedProvider.medspa_id == principal.medspa_id)


OOO_ANCHOR = Anchor(medspa=None, own=_ooo_own, tenant=_ooo_tenant)
OOO_SORT = SortKey((OutOfOffice.starts_at, OutOfOffice.id), ("starts_at", "id"))


def _affected_own(principal: Principal) -> ColumnElement[bool]:
    if principal.pcc_id is not None:
        return exists().where(
            OutOfOffice.id == OooAffectedProvider.ooo_id,
            or_(
                OutOfOffice.pcc_id == principal.pcc_id,
                exists().where(
                    Coverage.ooo_id == OutOfOffice.id,
                    Coverage.covering_pcc_id == principal.pcc_id,
                ),
            ),
        )
    if principal.provider_id is not None:
        return OooAffectedProvider.provider_id == principal.provider_id
    return false()


AFFECTED_ANCHOR = Anchor(
    medspa=OooAffectedProvider.medspa_id,
    provider=OooAffectedProvider.provider_id,
    own=_affected_own,
)


def _grant_own(principal: Principal) -> ColumnElement[bool]:
    if principal.pcc_id is not None:
        return ChannelAccessGrant.pcc_id == principal.pcc_id
    if principal.provider_id is not None:
        return ChannelAccessGrant.provider_id == principal.provider_id
    return false()


GRANT_ANCHOR = Anchor(
    medspa=ChannelAccessGrant.medspa_id, provider=ChannelAccessGrant.provider_id, own=_grant_own
)
# Who may choose that a provider covers their own lines: manager (ANY), the medspa's admin
# (TENANT), the provider (OWN).
COVER_OWN_ANCHOR = Anchor(
    medspa=OooAffectedProvider.medspa_id, provider=OooAffectedProvider.provider_id
)


# --- reach ----------------------------------------------------------------------------------


async def covering_reach(
    session: AsyncSession, pcc_id: uuid.UUID, now: datetime
) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    """(provider, medspa, until) a PCC covers right now, per active coverage windows."""
    rows = (
        await session.execute(
            select(OooAffectedProvider.provider_id, OooAffectedProvider.medspa_id, Coverage.ends_at)
            .join(Coverage, Coverage.ooo_id == OooAffectedProvider.ooo_id)
            .where(
                Coverage.covering_pcc_id == pcc_id,
                Coverage.starts_at <= now,
                Coverage.ends_at > now,
                OooAffectedProvider.covers_own_lines.is_(False),
            )
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def coverage_infos(
    rows: Sequence[tuple[uuid.UUID, uuid.UUID, datetime]],
) -> tuple[CoverageInfo, ...]:
    return tuple(CoverageInfo(provider_id=p, until=until) for p, _m, until in rows)


async def covering_pccs_by_provider(
    ctx: Context, provider_ids: Sequence[uuid.UUID], now: datetime, visible: ColumnElement[bool]
) -> list[tuple[uuid.UUID, Pcc, datetime]]:
    """The PCC covering each provider right now, among the PCCs `visible` (for
    `Provider.pccs`)."""
    rows = (
        await ctx.session.execute(
            select(OooAffectedProvider.provider_id, Pcc, Coverage.ends_at)
            .join(Coverage, Coverage.ooo_id == OooAffectedProvider.ooo_id)
            .join(Pcc, Pcc.id == Coverage.covering_pcc_id)
            .where(
                OooAffectedProvider.provider_id.in_(provider_ids),
                OooAffectedProvider.covers_own_lines.is_(False),
                Coverage.starts_at <= now,
                Coverage.ends_at > now,
                visible,
            )
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


# --- reads ----------------------------------------------------------------------------------


async def list_out_of_office(
    ctx: Context,
    *,
    pcc_id: uuid.UUID | None,
    current_or_upcoming: bool,
    first: int | None,
    after: str | None,
) -> Page[OutOfOffice]:
    ctx.authorize(Action.COVERAGE_READ)
    stmt = select(OutOfOffice).where(ctx.scope(Action.COVERAGE_READ, OOO_ANCHOR))
    if pcc_id is not None:
        stmt = stmt.where(OutOfOffice.pcc_id == pcc_id)
    if current_or_upcoming:
        stmt = stmt.where(OutOfOffice.ends_at > datetime.now(UTC))
    return await paginate(ctx.session, stmt, sort=OOO_SORT, first=first, after=after)


async def list_open_coverage_requests(
    ctx: Context, *, first: int | None, after: str | None
) -> Page[OutOfOffice]:
    """Absences a PCC could opt in to cover: virtual, full-day, not over, not yet covered."""
    ctx.authorize(Action.COVERAGE_OFFER)
    now = datetime.now(UTC)
    stmt = (
        select(OutOfOffice)
        .join(Pcc, Pcc.id == OutOfOffice.pcc_id)
        .where(
            Pcc.kind == PccKind.VIRTUAL,
            OutOfOffice.kind == OooKind.FULL_DAY,
            OutOfOffice.ends_at > now,
            OutOfOffice.pcc_id != ctx.principal.pcc_id,
            ~exists().where(Coverage.ooo_id == OutOfOffice.id),
            ~exists().where(
                PlatformHoliday.starts_at < OutOfOffice.ends_at,
                PlatformHoliday.ends_at > OutOfOffice.starts_at,
            ),
        )
    )
    return await paginate(ctx.session, stmt, sort=OOO_SORT, first=first, after=after)


async def affected_by_ooo(
    ctx: Context, ooo_ids: Sequence[uuid.UUID]
) -> list[list[OooAffectedProvider]]:
    rows = (
        await ctx.session.execute(
            select(OooAffectedProvider)
            .where(
                OooAffectedProvider.ooo_id.in_(ooo_ids),
                ctx.scope(Action.COVERAGE_READ, AFFECTED_ANCHOR),
            )
            .order_by(OooAffectedProvider.provider_id)
        )
    ).scalars()
    return many_per_key(ooo_ids, rows, lambda row: row.ooo_id)


async def coverage_by_ooo(ctx: Context, ooo_ids: Sequence[uuid.UUID]) -> list[Coverage | None]:
    rows = (
        await ctx.session.execute(select(Coverage).where(Coverage.ooo_id.in_(ooo_ids)))
    ).scalars()
    return one_per_key(ooo_ids, rows, lambda row: row.ooo_id)


async def grants_by_coverage(
    ctx: Context, coverage_ids: Sequence[uuid.UUID]
) -> list[list[ChannelAccessGrant]]:
    rows = (
        await ctx.session.execute(
            select(ChannelAccessGrant)
            .where(
                ChannelAccessGrant.coverage_id.in_(coverage_ids),
                ctx.scope(Action.COVERAGE_READ, GRANT_ANCHOR),
            )
            .order_by(ChannelAccessGrant.provider_id, ChannelAccessGrant.channel)
        )
    ).scalars()
    return many_per_key(coverage_ids, rows, lambda row: row.coverage_id)


async def list_holidays(ctx: Context) -> list[PlatformHoliday]:
    ctx.authorize(Action.COVERAGE_READ)
    rows = await ctx.session.execute(
        select(PlatformHoliday)
        .where(PlatformHoliday.ends_at > datetime.now(UTC) - timedelta(days=365))
        .order_by(PlatformHoliday.starts_at)
    )
    return list(rows.scalars())


# --- writes ---------------------------------------------------------------------------------


async def report_out_of_office(
    ctx: Context,
    *,
    pcc_id: uuid.UUID | None,
    starts_at: datetime,
    ends_at: datetime,
    kind: OooKind,
    reason: OooReason,
    note: str | None,
) -> OutOfOffice:
    grant = ctx.authorize(Action.OOO_REPORT, resource_type="Pcc", resource_id=pcc_id)
    target_id = pcc_id or ctx.principal.pcc_id
    pcc = await ctx.session.get(Pcc, target_id) if target_id else None
    if pcc is None or (grant.scope is Scope.OWN and pcc.id != ctx.principal.pcc_id):
        ctx.audit(
            Action.OOO_REPORT.value,
            AuditOutcome.DENIED,
            resource_type="Pcc",
            resource_id=target_id,
            detail={"reason": "PCC not found or not yours"},
        )
        raise not_found("PCC not found.")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise invalid("startsAt", "Give times with their UTC offset.")
    if ends_at <= starts_at:
        raise invalid("endsAt", "The absence must end after it starts.")
    if ends_at - starts_at > MAX_ABSENCE:
        raise invalid("endsAt", "An absence lasts at most 60 days; report longer ones in parts.")
    if ends_at <= datetime.now(UTC):
        raise invalid("endsAt", "The absence is already over.")
    if note is not None and len(note) > 2000:
        raise invalid("note", "The note is limited to 2,000 characters.")
    overlap = (
        await ctx.session.execute(
            select(OutOfOffice.id).where(
                OutOfOffice.pcc_id == pcc.id,
                OutOfOffice.starts_at < ends_at,
                OutOfOffice.ends_at > starts_at,
            )
        )
    ).first()
    if overlap is not None:
        raise DomainError(
            Problem("OOO_OVERLAPS", "This PCC is already out of office then.", "startsAt")
        )
    assert ctx.principal.user_id is not None
    ooo = OutOfOffice(
        id=uuid.uuid4(),
        pcc_id=pcc.id,
        starts_at=starts_at,
        ends_at=ends_at,
        kind=kind,
        reason=reason,
        note=note,
        reported_by_user_id=ctx.principal.user_id,
    )
    ctx.session.add(ooo)
    await ctx.session.flush()
    affected = await _providers_of(ctx.session, pcc, starts_at)
    for provider_id, medspa_id in affected:
        ctx.session.add(
            OooAffectedProvider(
                id=uuid.uuid4(), ooo_id=ooo.id, provider_id=provider_id, medspa_id=medspa_id
            )
        )
    await ctx.session.flush()
    ctx.audit(
        Action.OOO_REPORT.value,
        AuditOutcome.ALLOWED,
        resource_type="OutOfOffice",
        resource_id=ooo.id,
        medspa_id=pcc.designated_medspa_id,
        detail={"pccId": str(pcc.id), "kind": kind.value, "affected": len(affected)},
    )
    return ooo


async def _providers_of(
    session: AsyncSession, pcc: Pcc, at: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The providers a PCC works for at `at` (its absence affects them)."""
    if pcc.kind is PccKind.DESIGNATED and pcc.designated_medspa_id is not None:
        rows = await session.execute(
            select(Provider.id, Provider.medspa_id).where(
                Provider.medspa_id == pcc.designated_medspa_id, Provider.active.is_(True)
            )
        )
        return [(r[0], r[1]) for r in rows]
    rows = await session.execute(
        select(PccAssignment.provider_id, PccAssignment.medspa_id)
        .where(
            PccAssignment.pcc_id == pcc.id,
            PccAssignment.starts_at <= at,
            PccAssignment.ends_at.is_(None) | (PccAssignment.ends_at > at),
        )
        .distinct()
    )
    return [(r[0], r[1]) for r in rows]


async def create_holiday(
    ctx: Context, *, name: str, starts_at: datetime, ends_at: datetime
) -> PlatformHoliday:
    ctx.authorize(Action.COVERAGE_ASSIGN, resource_type="PlatformHoliday")
    if not name.strip() or len(name) > 120:
        raise invalid("name", "Name must be 1 to 120 characters.")
    if ends_at <= starts_at:
        raise invalid("endsAt", "The holiday must end after it starts.")
    holiday = PlatformHoliday(
        id=uuid.uuid4(), name=name.strip(), starts_at=starts_at, ends_at=ends_at
    )
    ctx.session.add(holiday)
    await ctx.session.flush()
    ctx.audit(
        "platform_holiday.create",
        AuditOutcome.ALLOWED,
        resource_type="PlatformHoliday",
        resource_id=holiday.id,
        medspa_id=None,
    )
    return holiday


async def offer_coverage(ctx: Context, *, ooo_id: uuid.UUID | None) -> Coverage:
    """The calling PCC opts in to cover an absence."""
    ctx.authorize(Action.COVERAGE_OFFER, resource_type="OutOfOffice", resource_id=ooo_id)
    covering = await ctx.session.get(Pcc, ctx.principal.pcc_id) if ctx.principal.pcc_id else None
    if covering is None:
        raise not_found("Only PCCs can offer coverage.")
    return await _arrange(ctx, ooo_id=ooo_id, covering=covering, source=CoverageSource.OFFERED)


async def assign_coverage(
    ctx: Context, *, ooo_id: uuid.UUID | None, pcc_id: uuid.UUID | None
) -> Coverage:
    """A PCC manager names the covering PCC."""
    ctx.authorize(Action.COVERAGE_ASSIGN, resource_type="OutOfOffice", resource_id=ooo_id)
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
                "COVERING_PCC_NOT_ELIGIBLE",
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
            Problem("COVERING_PCC_UNAVAILABLE", "That PCC is out of office then too.", "pccId")
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
                "COVERAGE_ALREADY_ARRANGED",
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
    await set_tenant_settings(
        ctx.session,
        medspa_ids=ctx.principal.rls_medspa_ids | medspas,
        platform=ctx.principal.rls_platform,
    )
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
    ctx.audit(
        Action.COVERAGE_OFFER.value
        if source is CoverageSource.OFFERED
        else Action.COVERAGE_ASSIGN.value,
        AuditOutcome.ALLOWED,
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
        raise DomainError(Problem("COVERAGE_NOT_OFFERED", f"{why} {NO_COVERAGE_MESSAGE}", "oooId"))


async def cover_own_lines(
    ctx: Context, *, ooo_id: uuid.UUID | None, provider_id: uuid.UUID | None
) -> OooAffectedProvider:
    """The provider covers their own lines for this absence: out of coverage, grants revoked."""
    ctx.authorize(Action.COVERAGE_COVER_OWN_LINES, resource_type="OutOfOffice", resource_id=ooo_id)
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
    ctx.audit(
        Action.COVERAGE_COVER_OWN_LINES.value,
        AuditOutcome.ALLOWED,
        resource_type="OutOfOffice",
        resource_id=row.ooo_id,
        medspa_id=row.medspa_id,
        detail={"providerId": str(row.provider_id)},
    )
    return row
