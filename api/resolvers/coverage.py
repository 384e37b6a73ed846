"""Out-of-office periods, holidays and coverage (DESIGN §3).

Portrait's policy, as code:
- a VIRTUAL PCC's FULL_DAY absence can be covered by exactly one other (virtual) PCC, who
  opts in (`offer_coverage`) or is assigned by a PCC manager (`assign_coverage`); the
  database's unique constraint on `coverage.ooo_id` settles races;
- PARTIAL_DAY absences, any DESIGNATED PCC's absence and absences on a platform holiday get
  no coverage: `COVERAGE_NOT_OFFERED`, providers cover their own lines;
- a provider (or their admin) may cover their own lines, which takes them out of coverage.

This module reports absences and holidays and reads them; arranging and ending coverage
windows is `api.resolvers.coverage_window`.

Access follows time: the covering PCC's reach is computed per request from the coverage
window (`api.authz.reach`); nothing has to revoke it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.resolvers.batching import many_per_key, one_per_key
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    ChannelAccessGrant,
    Coverage,
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

if TYPE_CHECKING:
    from api.context import Context

MAX_ABSENCE = timedelta(days=60)


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
) -> list[list[tuple[ChannelAccessGrant, Provider | None]]]:
    """Each coverage's channel grants in the caller's coverage.read scope, each with its
    provider: a grant one may read names whose line or chat it opens (the covering PCC must
    know whose lines it holds, before its window opens too), whatever else of the provider
    the caller's scopes reach."""
    rows = (
        await ctx.session.execute(
            select(ChannelAccessGrant, Provider)
            .outerjoin(Provider, Provider.id == ChannelAccessGrant.provider_id)
            .where(
                ChannelAccessGrant.coverage_id.in_(coverage_ids),
                ctx.scope(Action.COVERAGE_READ, GRANT_ANCHOR),
            )
            .order_by(ChannelAccessGrant.provider_id, ChannelAccessGrant.channel)
        )
    ).all()
    return many_per_key(coverage_ids, [(r[0], r[1]) for r in rows], lambda row: row[0].coverage_id)


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
    pcc = await ctx.find(Pcc, pcc_id or ctx.principal.pcc_id, Action.OOO_REPORT)
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
    if kind is OooKind.FULL_DAY:
        check_whole_days(starts_at, ends_at, pcc.time_zone)
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
            Problem(
                DomainErrorCode.OOO_OVERLAPS, "This PCC is already out of office then.", "startsAt"
            )
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
    ctx.allowed(
        Action.OOO_REPORT,
        resource_type="OutOfOffice",
        resource_id=ooo.id,
        medspa_id=pcc.designated_medspa_id,
        detail={"pccId": str(pcc.id), "kind": kind.value, "affected": len(affected)},
    )
    return ooo


def check_whole_days(starts_at: datetime, ends_at: datetime, zone: str) -> None:
    """A FULL_DAY absence spans whole local days in the absent PCC's zone: it starts and ends
    at a local midnight, one day or more apart (DESIGN §3). Anything else is PARTIAL_DAY."""
    tz = ZoneInfo(zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    midnight = time(0)
    if (
        start.timetz().replace(tzinfo=None) != midnight
        or end.timetz().replace(tzinfo=None) != midnight
        or end.date() <= start.date()
    ):
        raise invalid(
            "kind",
            f"A FULL_DAY absence runs from midnight to midnight in the PCC's time zone ({zone}),"
            " one day or more; report a shorter absence as PARTIAL_DAY.",
        )


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
    if not name.strip() or len(name) > 120:
        raise invalid("name", "Name must be 1 to 120 characters.")
    if ends_at <= starts_at:
        raise invalid("endsAt", "The holiday must end after it starts.")
    holiday = PlatformHoliday(
        id=uuid.uuid4(), name=name.strip(), starts_at=starts_at, ends_at=ends_at
    )
    ctx.session.add(holiday)
    await ctx.session.flush()
    ctx.allowed(
        Action.PLATFORM_HOLIDAY_CREATE,
        resource_type="PlatformHoliday",
        resource_id=holiday.id,
        medspa_id=None,
    )
    return holiday
