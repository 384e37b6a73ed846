"""Medspas: the tenants, reachable per the principal's `medspa.read` scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import Action
from api.authz.scopes import Anchor, everywhere
from api.errors import DomainError, DomainErrorCode, Problem, invalid, not_found
from api.resolvers import coverage_window
from api.resolvers.batching import many_per_key, rows_by_ids
from api.resolvers.location import SLUG
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.scheduling import check_time_zone
from db.models import (
    AuditOutcome,
    BusinessModel,
    BusinessModelTransition,
    GfeRouting,
    IntegrationKind,
    IntegrationStatus,
    Medspa,
    MedspaFeeLine,
    MedspaIntegration,
    PccAssignment,
)
from db.models.medspa import PCC_FEE_KIND, pcc_fee_line

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=Medspa.id, location=everywhere)
SORT = SortKey((Medspa.name, Medspa.id), ("name", "id"))


async def medspas_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Medspa | None]:
    return await rows_by_ids(ctx, Medspa, ids, ctx.scope(Action.MEDSPA_READ, ANCHOR))


async def list_medspas(ctx: Context, *, first: int | None, after: str | None) -> Page[Medspa]:
    ctx.authorize(Action.MEDSPA_READ)
    stmt = select(Medspa).where(ctx.scope(Action.MEDSPA_READ, ANCHOR))
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


async def _medspa_for(ctx: Context, medspa_id: uuid.UUID | None, action: Action) -> Medspa:
    """The medspa `action` may change (locked), or NOT_FOUND."""
    medspa = (
        (
            await ctx.session.execute(
                select(Medspa)
                .where(Medspa.id == medspa_id, ctx.scope(action, ANCHOR))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if medspa_id
        else None
    )
    if medspa is None:
        ctx.audit(
            action.value,
            AuditOutcome.DENIED,
            resource_type="Medspa",
            resource_id=medspa_id,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("Medspa not found.")
    return medspa


def _not_eligible(field: str, doing: str) -> DomainError:
    return DomainError(
        Problem(
            DomainErrorCode.PCC_NOT_ELIGIBLE,
            f"This medspa does not use Portrait's EHR, so it cannot {doing}.",
            field,
        )
    )


@dataclass(frozen=True)
class NewMedspa:
    name: str
    slug: str
    business_model: BusinessModel
    time_zone: str
    gfe_routing: GfeRouting | None
    uses_portrait_ehr: bool
    pcc_service: bool


async def create_medspa(ctx: Context, *, data: NewMedspa) -> Medspa:
    """A new tenant (platform admins). With the PCC service on LAUNCH/FLEX the 1,000 USD
    monthly fee line starts today (DESIGN §2); the service needs Portrait's EHR. A LEGACY
    medspa clears GFEs through Portrait only."""
    name = data.name.strip()
    if not name or len(name) > 200:
        raise invalid("name", "1 to 200 characters.")
    slug = data.slug.strip()
    if len(slug) > 63 or not SLUG.match(slug):
        raise invalid("slug", "Lowercase letters, digits and single hyphens, at most 63.")
    time_zone = check_time_zone(data.time_zone)
    routing = data.gfe_routing or GfeRouting.PORTRAIT_CLEARING
    if data.business_model is BusinessModel.LEGACY and routing is not GfeRouting.PORTRAIT_CLEARING:
        raise invalid("gfeRouting", "A LEGACY medspa uses Portrait's clearing services only.")
    if data.pcc_service and not data.uses_portrait_ehr:
        raise _not_eligible("pccService", "have a PCC")
    medspa = Medspa(
        id=uuid.uuid4(),
        name=name,
        slug=slug,
        business_model=data.business_model,
        time_zone=time_zone,
        gfe_routing=routing,
        pcc_service=False,
        uses_portrait_ehr=data.uses_portrait_ehr,
    )
    ctx.session.add(medspa)
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        raise DomainError(
            Problem(DomainErrorCode.SLUG_TAKEN, "Another medspa has that slug.", "slug")
        ) from exc
    await ctx.reach_tenants({medspa.id})
    if data.pcc_service:
        await _start_pcc_service(ctx, medspa, datetime.now(UTC))
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_CREATE,
        resource_type="Medspa",
        resource_id=medspa.id,
        medspa_id=medspa.id,
        detail={"businessModel": medspa.business_model.value, "pccService": medspa.pcc_service},
    )
    return medspa


async def transition_business_model(
    ctx: Context, *, medspa_id: uuid.UUID | None, to: BusinessModel, keep_pcc: bool
) -> Medspa:
    """Move a LEGACY medspa to LAUNCH or FLEX (DESIGN §2).

    Leaving Legacy always revokes the Acuity calendar. Keeping the PCC turns the service on
    (with its fee line); dropping it ends every assignment, coverage window and channel grant
    in the medspa and releases its phone line and chat channel, all dated today.
    """
    medspa = await _medspa_for(ctx, medspa_id, Action.MEDSPA_TRANSITION_MODEL)
    if to is BusinessModel.LEGACY:
        raise invalid("to", "A medspa moves from LEGACY to LAUNCH or FLEX, not back.")
    if medspa.business_model is not BusinessModel.LEGACY:
        raise DomainError(
            Problem(
                DomainErrorCode.ALREADY_TRANSITIONED,
                f"{medspa.name} is already on {medspa.business_model.value}.",
                "medspaId",
            )
        )
    if keep_pcc and not medspa.uses_portrait_ehr:
        raise _not_eligible("keepPcc", "keep a PCC")
    now = datetime.now(UTC)
    assert ctx.principal.user_id is not None
    ctx.session.add(
        BusinessModelTransition(
            id=uuid.uuid4(),
            medspa_id=medspa.id,
            from_model=medspa.business_model,
            to_model=to,
            keep_pcc=keep_pcc,
            transitioned_by_user_id=ctx.principal.user_id,
        )
    )
    medspa.business_model = to
    # "Once you are no longer Legacy, your access to Acuity will be revoked", whatever
    # happens to the PCC.
    await _set_integration(
        ctx, medspa.id, IntegrationKind.ACUITY_CALENDAR, IntegrationStatus.REVOKED, now.date()
    )
    if keep_pcc:
        await _start_pcc_service(ctx, medspa, now)
    else:
        await _end_pcc_service(ctx, medspa, now)
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_TRANSITION_MODEL,
        resource_type="Medspa",
        resource_id=medspa.id,
        medspa_id=medspa.id,
        detail={"from": BusinessModel.LEGACY.value, "to": to.value, "keepPcc": keep_pcc},
    )
    return medspa


async def set_pcc_service(ctx: Context, *, medspa_id: uuid.UUID | None, on: bool) -> Medspa:
    """Turn a medspa's PCC service on or off (platform admins).

    On: only with Portrait's EHR; on LAUNCH/FLEX the 1,000 USD monthly fee line starts today.
    Off: the fee line ends today, and so do every PCC assignment, coverage window and channel
    grant in the medspa; its phone line and chat channel are released. Asking for the state
    the medspa is already in changes nothing.
    """
    medspa = await _medspa_for(ctx, medspa_id, Action.MEDSPA_UPDATE_CONTRACT)
    if on and not medspa.uses_portrait_ehr:
        raise _not_eligible("on", "have a PCC")
    was = medspa.pcc_service
    now = datetime.now(UTC)
    if on and not was:
        await _start_pcc_service(ctx, medspa, now)
    elif was and not on:
        await _end_pcc_service(ctx, medspa, now)
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_UPDATE_CONTRACT,
        resource_type="Medspa",
        resource_id=medspa.id,
        medspa_id=medspa.id,
        detail={"pccService": {"from": was, "to": on}},
    )
    return medspa


async def set_uses_portrait_ehr(ctx: Context, *, medspa_id: uuid.UUID | None, uses: bool) -> Medspa:
    """Record whether a medspa uses Portrait's EHR (platform admins).

    A medspa without Portrait's EHR is not eligible for a PCC (DESIGN §2): turning it off
    ends the PCC service as `set_pcc_service(on=False)` does. Turning it on makes the medspa
    eligible again without starting the service.
    """
    medspa = await _medspa_for(ctx, medspa_id, Action.MEDSPA_UPDATE_CONTRACT)
    was, had_pcc = medspa.uses_portrait_ehr, medspa.pcc_service
    medspa.uses_portrait_ehr = uses
    if not uses and had_pcc:
        await _end_pcc_service(ctx, medspa, datetime.now(UTC))
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_UPDATE_CONTRACT,
        resource_type="Medspa",
        resource_id=medspa.id,
        medspa_id=medspa.id,
        detail={
            "usesPortraitEhr": {"from": was, "to": uses},
            "pccService": {"from": had_pcc, "to": medspa.pcc_service},
        },
    )
    return medspa


PCC_CHANNELS = {
    IntegrationKind.OPENPHONE_LINE: IntegrationStatus.MARKED_FOR_RELEASE,
    IntegrationKind.TIGERCONNECT_CHANNEL: IntegrationStatus.DEACTIVATED,
}
"""What dropping the PCC does to the medspa's phone line and chat channel (DESIGN §2)."""


async def _start_pcc_service(ctx: Context, medspa: Medspa, now: datetime) -> None:
    medspa.pcc_service = True
    # A phone line or chat released when the service ended opens again, dated.
    await ctx.session.execute(
        update(MedspaIntegration)
        .where(
            MedspaIntegration.medspa_id == medspa.id,
            MedspaIntegration.kind.in_(list(PCC_CHANNELS)),
            MedspaIntegration.status != IntegrationStatus.ACTIVE,
        )
        .values(status=IntegrationStatus.ACTIVE, status_changed_on=now.date())
        .execution_options(synchronize_session=False)
    )
    if medspa.business_model is BusinessModel.LEGACY:
        return  # the PCC is part of the Legacy contract: no separate fee
    open_line = (
        await ctx.session.execute(
            select(MedspaFeeLine.id).where(
                MedspaFeeLine.medspa_id == medspa.id,
                MedspaFeeLine.kind == PCC_FEE_KIND,
                MedspaFeeLine.ends_on.is_(None),
            )
        )
    ).first()
    if open_line is None:
        ctx.session.add(pcc_fee_line(medspa.id, now.date()))


async def _end_pcc_service(ctx: Context, medspa: Medspa, now: datetime) -> None:
    """Everything a PCC holds in `medspa` ends at `now` (DESIGN §2: "your accounts and access
    will be cancelled"); the records stay, dated."""
    medspa.pcc_service = False
    today = now.date()
    await ctx.session.execute(
        update(MedspaFeeLine)
        .where(
            MedspaFeeLine.medspa_id == medspa.id,
            MedspaFeeLine.kind == PCC_FEE_KIND,
            MedspaFeeLine.ends_on.is_(None),
        )
        .values(ends_on=func.greatest(MedspaFeeLine.starts_on, today))
        .execution_options(synchronize_session=False)
    )
    await end_pcc_assignments(ctx.session, medspa_id=medspa.id, now=now)
    await coverage_window.end_coverage_in_medspa(ctx, medspa_id=medspa.id, now=now)
    for kind, status in PCC_CHANNELS.items():
        await _set_integration(ctx, medspa.id, kind, status, today)


async def end_pcc_assignments(
    session: AsyncSession,
    *,
    now: datetime,
    medspa_id: uuid.UUID | None = None,
    pcc_id: uuid.UUID | None = None,
) -> None:
    """End at `now` the current assignments in a medspa or of a PCC, and drop the ones that
    had not started yet."""
    where = [PccAssignment.medspa_id == medspa_id if medspa_id else PccAssignment.pcc_id == pcc_id]
    await session.execute(
        update(PccAssignment)
        .where(
            *where,
            PccAssignment.ends_at.is_(None) | (PccAssignment.ends_at > now),
            PccAssignment.starts_at < now,
        )
        .values(ends_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(PccAssignment)
        .where(*where, PccAssignment.starts_at >= now)
        .execution_options(synchronize_session=False)
    )


async def _set_integration(
    ctx: Context,
    medspa_id: uuid.UUID,
    kind: IntegrationKind,
    status: IntegrationStatus,
    on: date,
) -> None:
    row = (
        await ctx.session.execute(
            select(MedspaIntegration).where(
                MedspaIntegration.medspa_id == medspa_id, MedspaIntegration.kind == kind
            )
        )
    ).scalar_one_or_none()
    if row is None:
        ctx.session.add(
            MedspaIntegration(
                id=uuid.uuid4(),
                medspa_id=medspa_id,
                kind=kind,
                status=status,
                status_changed_on=on,
            )
        )
    else:
        row.status = status
        row.status_changed_on = on


async def integrations_of(
    ctx: Context, medspa_ids: Sequence[uuid.UUID]
) -> list[list[MedspaIntegration]]:
    rows = (
        await ctx.session.execute(
            select(MedspaIntegration)
            .where(MedspaIntegration.medspa_id.in_(medspa_ids))
            .order_by(MedspaIntegration.kind)
        )
    ).scalars()
    return many_per_key(medspa_ids, rows, lambda row: row.medspa_id)


async def fee_lines_of(ctx: Context, medspa_ids: Sequence[uuid.UUID]) -> list[list[MedspaFeeLine]]:
    rows = (
        await ctx.session.execute(
            select(MedspaFeeLine)
            .where(MedspaFeeLine.medspa_id.in_(medspa_ids))
            .order_by(MedspaFeeLine.starts_on, MedspaFeeLine.id)
        )
    ).scalars()
    return many_per_key(medspa_ids, rows, lambda row: row.medspa_id)
