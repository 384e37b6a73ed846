"""PCC directory and assignments (DESIGN §3, §5): who coordinates for which provider."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import aliased

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers import provider as provider_resolvers
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    Coverage,
    Medspa,
    OooAffectedProvider,
    OutOfOffice,
    Pcc,
    PccAssignment,
    PccKind,
    Provider,
)

if TYPE_CHECKING:
    from api.context import Context


def _active_assignment(now: datetime) -> ColumnElement[bool]:
    return (PccAssignment.starts_at <= now) & (
        PccAssignment.ends_at.is_(None) | (PccAssignment.ends_at > now)
    )


def _pccs_of_medspa(principal: Principal) -> ColumnElement[bool]:
    """A medspa's PCCs: those assigned to its providers now, the one designated to it, and
    those covering one of its providers right now."""
    if principal.medspa_id is None:
        return false()
    now = datetime.now(UTC)
    # Correlated to `Pcc` only: the clause is also used in queries that join these tables.
    assigned = (
        exists()
        .where(
            PccAssignment.pcc_id == Pcc.id,
            PccAssignment.medspa_id == principal.medspa_id,
            _active_assignment(now),
        )
        .correlate(Pcc)
    )
    covering = (
        exists()
        .where(
            Coverage.covering_pcc_id == Pcc.id,
            Coverage.starts_at <= now,
            Coverage.ends_at > now,
            OooAffectedProvider.ooo_id == Coverage.ooo_id,
            OooAffectedProvider.medspa_id == principal.medspa_id,
            OooAffectedProvider.covers_own_lines.is_(False),
        )
        .correlate(Pcc)
    )
    return or_(assigned, Pcc.designated_medspa_id == principal.medspa_id, covering)


def _own_pcc(principal: Principal) -> ColumnElement[bool]:
    """A PCC's own profile, and the profiles of the PCCs whose absences it covers: the
    covering PCC needs the absent one's name, time zone and working hours (DESIGN §3)."""
    if principal.pcc_id is None:
        return false()
    # Aliased: the clause also sits in queries over `coverage` itself, which must not
    # correlate into this subquery.
    ooo, coverage = aliased(OutOfOffice), aliased(Coverage)
    stands_in_for = (
        select(ooo.pcc_id)
        .join(coverage, coverage.ooo_id == ooo.id)
        .where(coverage.covering_pcc_id == principal.pcc_id)
    )
    return or_(Pcc.id == principal.pcc_id, Pcc.id.in_(stands_in_for))


ANCHOR = register(
    Pcc,
    Anchor(medspa=None, own=_own_pcc, tenant=_pccs_of_medspa),
    read=Action.PCC_READ,
)
SORT = SortKey((Pcc.created_at, Pcc.id), ("created_at", "id"))

ASSIGNMENT_ANCHOR = Anchor(medspa=PccAssignment.medspa_id, provider=PccAssignment.provider_id)
ASSIGNMENT_SORT = SortKey((PccAssignment.starts_at, PccAssignment.id), ("starts_at", "id"))


async def pccs_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Pcc | None]:
    return await rows_by_ids(ctx, Pcc, ids, ctx.scope(Action.PCC_READ, ANCHOR))


async def list_pccs(
    ctx: Context, *, kind: PccKind | None, first: int | None, after: str | None
) -> Page[Pcc]:
    ctx.authorize(Action.PCC_READ)
    stmt = select(Pcc).where(ctx.scope(Action.PCC_READ, ANCHOR))
    if kind is not None:
        stmt = stmt.where(Pcc.kind == kind)
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


@dataclass(frozen=True)
class ProviderPcc:
    """A PCC working for a provider now: by assignment, by designation, or covering."""

    provider_id: uuid.UUID
    pcc: Pcc
    relation: str
    until: datetime | None


async def pccs_by_provider(
    ctx: Context, provider_ids: Sequence[uuid.UUID]
) -> list[list[ProviderPcc]]:
    """Each provider's PCCs now, in key order (one statement per relation kind)."""
    from api.resolvers.coverage import covering_pccs_by_provider

    now = datetime.now(UTC)
    visible = ctx.scope(Action.PCC_READ, ANCHOR)
    result: dict[uuid.UUID, list[ProviderPcc]] = {p: [] for p in provider_ids}
    assigned = (
        await ctx.session.execute(
            select(PccAssignment, Pcc)
            .join(Pcc, Pcc.id == PccAssignment.pcc_id)
            .where(PccAssignment.provider_id.in_(provider_ids), _active_assignment(now), visible)
        )
    ).all()
    for assignment, pcc in assigned:
        result[assignment.provider_id].append(
            ProviderPcc(assignment.provider_id, pcc, "ASSIGNED", assignment.ends_at)
        )
    designated = (
        await ctx.session.execute(
            select(Provider.id, Pcc)
            .join(Pcc, Pcc.designated_medspa_id == Provider.medspa_id)
            .join(Medspa, Medspa.id == Provider.medspa_id)
            # A designated PCC works there only while the medspa has the PCC service.
            .where(Provider.id.in_(provider_ids), Medspa.pcc_service.is_(True), visible)
        )
    ).all()
    for provider_id, pcc in designated:
        result[provider_id].append(ProviderPcc(provider_id, pcc, "DESIGNATED", None))
    for provider_id, pcc, until in await covering_pccs_by_provider(ctx, provider_ids, now, visible):
        result[provider_id].append(ProviderPcc(provider_id, pcc, "COVERING", until))
    return [result[p] for p in provider_ids]


async def list_assignments(
    ctx: Context,
    *,
    pcc_id: uuid.UUID | None,
    active_only: bool,
    first: int | None,
    after: str | None,
) -> Page[PccAssignment]:
    ctx.authorize(Action.PCC_READ)
    stmt = select(PccAssignment).where(
        ctx.scope(Action.PROVIDER_READ, ASSIGNMENT_ANCHOR),
        PccAssignment.pcc_id.in_(select(Pcc.id).where(ctx.scope(Action.PCC_READ, ANCHOR))),
    )
    if pcc_id is not None:
        stmt = stmt.where(PccAssignment.pcc_id == pcc_id)
    if active_only:
        stmt = stmt.where(_active_assignment(datetime.now(UTC)))
    return await paginate(ctx.session, stmt, sort=ASSIGNMENT_SORT, first=first, after=after)


async def assign_pcc(
    ctx: Context,
    *,
    pcc_id: uuid.UUID | None,
    provider_id: uuid.UUID | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> PccAssignment:
    pcc = await ctx.session.get(Pcc, pcc_id) if pcc_id else None
    provider = (
        (
            await ctx.session.execute(
                select(Provider).where(
                    Provider.id == provider_id,
                    ctx.scope(Action.PROVIDER_READ, provider_resolvers.ANCHOR),
                )
            )
        ).scalar_one_or_none()
        if provider_id
        else None
    )
    if pcc is None or provider is None:
        raise not_found("PCC or provider not found.")
    medspa = await ctx.session.get(Medspa, provider.medspa_id)
    assert medspa is not None
    if not medspa.uses_portrait_ehr:
        raise DomainError(
            Problem(
                DomainErrorCode.PCC_NOT_ELIGIBLE,
                "This medspa does not use Portrait's EHR, so it cannot be given a PCC.",
                "providerId",
            )
        )
    if not medspa.pcc_service:
        raise DomainError(
            Problem(
                DomainErrorCode.PCC_NOT_ELIGIBLE,
                "This medspa's PCC service is off; the platform turns it on first.",
                "providerId",
            )
        )
    if pcc.kind is PccKind.DESIGNATED:
        raise invalid("pccId", "A designated PCC already works for every provider of its medspa.")
    start = starts_at or datetime.now(UTC)
    if ends_at is not None and ends_at <= start:
        raise invalid("endsAt", "The assignment must end after it starts.")
    overlapping = (
        await ctx.session.execute(
            select(PccAssignment.id).where(
                PccAssignment.pcc_id == pcc.id,
                PccAssignment.provider_id == provider.id,
                PccAssignment.ends_at.is_(None) | (PccAssignment.ends_at > start),
                *([PccAssignment.starts_at < ends_at] if ends_at else []),
            )
        )
    ).first()
    if overlapping is not None:
        raise DomainError(
            Problem(
                DomainErrorCode.ALREADY_ASSIGNED,
                "This PCC is already assigned to the provider.",
                "pccId",
            )
        )
    assignment = PccAssignment(
        id=uuid.uuid4(),
        medspa_id=provider.medspa_id,
        pcc_id=pcc.id,
        provider_id=provider.id,
        starts_at=start,
        ends_at=ends_at,
    )
    ctx.session.add(assignment)
    await ctx.session.flush()
    ctx.allowed(
        Action.PCC_ASSIGNMENT_MANAGE,
        resource_type="PccAssignment",
        resource_id=assignment.id,
        medspa_id=provider.medspa_id,
        detail={"operation": "assign", "pccId": str(pcc.id), "providerId": str(provider.id)},
    )
    return assignment


async def end_assignment(
    ctx: Context, *, assignment_id: uuid.UUID | None, ends_at: datetime | None
) -> PccAssignment:
    assignment = await ctx.session.get(PccAssignment, assignment_id) if assignment_id else None
    if assignment is None:
        raise not_found("Assignment not found.")
    end = ends_at or datetime.now(UTC)
    if end <= assignment.starts_at:
        raise invalid("endsAt", "The assignment must end after it starts.")
    if assignment.ends_at is not None and assignment.ends_at <= end:
        raise invalid("endsAt", "The assignment already ends by then.")
    assignment.ends_at = end
    await ctx.session.flush()
    ctx.allowed(
        Action.PCC_ASSIGNMENT_MANAGE,
        resource_type="PccAssignment",
        resource_id=assignment.id,
        medspa_id=assignment.medspa_id,
        detail={"operation": "end", "endsAt": end.isoformat()},
    )
    return assignment


async def change_pcc_kind(
    ctx: Context,
    *,
    pcc_id: uuid.UUID | None,
    kind: PccKind,
    designated_medspa_id: uuid.UUID | None,
) -> Pcc:
    """Move a PCC between VIRTUAL and DESIGNATED (platform admins), e.g. the upgrade to an
    in-office PCC.

    DESIGNATED: the PCC sits in one medspa that has Portrait's EHR and the PCC service on; its
    assignments end now (it works for every provider of that medspa instead), and so does the
    coverage it holds, since only virtual PCCs cover. VIRTUAL: it leaves its medspa and works
    for the providers it is assigned from then on. Its reach follows at once (computed per
    request from the new kind).
    """
    from api.resolvers.coverage_window import end_coverage_by_pcc
    from api.resolvers.medspa import end_pcc_assignments

    pcc = await ctx.find(Pcc, pcc_id, Action.PCC_CHANGE_KIND, for_update=True)
    was = (pcc.kind, pcc.designated_medspa_id)
    now = datetime.now(UTC)
    if kind is PccKind.VIRTUAL:
        if designated_medspa_id is not None:
            raise invalid("designatedMedspaId", "A virtual PCC sits in no medspa.")
        if pcc.kind is PccKind.VIRTUAL:
            raise invalid("kind", "This PCC is already virtual.")
        pcc.kind, pcc.designated_medspa_id = PccKind.VIRTUAL, None
    else:
        if designated_medspa_id is None:
            raise invalid("designatedMedspaId", "Name the medspa a designated PCC sits in.")
        medspa = await ctx.session.get(Medspa, designated_medspa_id)
        if medspa is None:
            raise invalid("designatedMedspaId", "No such medspa.")
        if pcc.kind is PccKind.DESIGNATED and pcc.designated_medspa_id == medspa.id:
            raise invalid("designatedMedspaId", "This PCC already sits in that medspa.")
        if not medspa.uses_portrait_ehr or not medspa.pcc_service:
            raise DomainError(
                Problem(
                    DomainErrorCode.PCC_NOT_ELIGIBLE,
                    f"{medspa.name} has no PCC service (it needs Portrait's EHR and the"
                    " service turned on).",
                    "designatedMedspaId",
                )
            )
        await end_pcc_assignments(ctx.session, pcc_id=pcc.id, now=now)
        await end_coverage_by_pcc(ctx, pcc_id=pcc.id, now=now)
        pcc.kind, pcc.designated_medspa_id = PccKind.DESIGNATED, medspa.id
    await ctx.session.flush()
    ctx.allowed(
        Action.PCC_CHANGE_KIND,
        resource_type="Pcc",
        resource_id=pcc.id,
        medspa_id=pcc.designated_medspa_id or was[1],
        detail={
            "from": {"kind": was[0].value, "medspaId": str(was[1]) if was[1] else None},
            "to": {
                "kind": pcc.kind.value,
                "medspaId": str(pcc.designated_medspa_id) if pcc.designated_medspa_id else None,
            },
        },
    )
    return pcc
