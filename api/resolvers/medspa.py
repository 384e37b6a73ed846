"""Medspas: the tenants, reachable per the principal's `medspa.read` scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.errors import DomainError, Problem, invalid, not_found
from api.resolvers.batching import many_per_key, rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    AuditOutcome,
    BusinessModel,
    BusinessModelTransition,
    IntegrationKind,
    IntegrationStatus,
    Medspa,
    MedspaFeeLine,
    MedspaIntegration,
    PccAssignment,
)

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = Anchor(medspa=Medspa.id)
SORT = SortKey((Medspa.name, Medspa.id), ("name", "id"))


async def medspas_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Medspa | None]:
    return await rows_by_ids(ctx, Medspa, ids, ctx.scope(Action.MEDSPA_READ, ANCHOR))


async def list_medspas(ctx: Context, *, first: int | None, after: str | None) -> Page[Medspa]:
    ctx.authorize(Action.MEDSPA_READ)
    stmt = select(Medspa).where(ctx.scope(Action.MEDSPA_READ, ANCHOR))
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


PCC_MONTHLY_FEE_CENTS = 100_000  # 1,000 USD a month (DESIGN §2)


async def transition_business_model(
    ctx: Context, *, medspa_id: uuid.UUID | None, to: BusinessModel, keep_pcc: bool
) -> Medspa:
    """Move a LEGACY medspa to LAUNCH or FLEX, keeping its PCC (fee line) or not."""
    ctx.authorize(Action.MEDSPA_TRANSITION_MODEL, resource_type="Medspa", resource_id=medspa_id)
    medspa = (
        (
            await ctx.session.execute(
                select(Medspa).where(
                    Medspa.id == medspa_id, ctx.scope(Action.MEDSPA_TRANSITION_MODEL, ANCHOR)
                )
            )
        ).scalar_one_or_none()
        if medspa_id
        else None
    )
    if medspa is None:
        raise not_found("Medspa not found.")
    if to is BusinessModel.LEGACY:
        raise invalid("to", "A medspa moves from LEGACY to LAUNCH or FLEX, not back.")
    if medspa.business_model is not BusinessModel.LEGACY:
        raise DomainError(
            Problem(
                "ALREADY_TRANSITIONED",
                f"{medspa.name} is already on {medspa.business_model.value}.",
                "medspaId",
            )
        )
    if keep_pcc and not medspa.uses_portrait_ehr:
        raise DomainError(
            Problem(
                "PCC_NOT_ELIGIBLE",
                "This medspa does not use Portrait's EHR, so it cannot keep a PCC.",
                "keepPcc",
            )
        )
    now = datetime.now(UTC)
    today = now.date()
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
    if keep_pcc:
        ctx.session.add(
            MedspaFeeLine(
                id=uuid.uuid4(),
                medspa_id=medspa.id,
                kind="PCC_SERVICE",
                amount_cents=PCC_MONTHLY_FEE_CENTS,
                currency="USD",
                period="MONTHLY",
                starts_on=today,
            )
        )
    else:
        await ctx.session.execute(
            update(PccAssignment)
            .where(
                PccAssignment.medspa_id == medspa.id,
                PccAssignment.ends_at.is_(None) | (PccAssignment.ends_at > now),
                PccAssignment.starts_at < now,
            )
            .values(ends_at=now)
            .execution_options(synchronize_session=False)
        )
        await ctx.session.execute(
            delete(PccAssignment)
            .where(PccAssignment.medspa_id == medspa.id, PccAssignment.starts_at >= now)
            .execution_options(synchronize_session=False)
        )
        for kind, status in RELEASED_INTEGRATIONS.items():
            await _set_integration(ctx, medspa.id, kind, status, today)
        medspa.pcc_service = False
    medspa.business_model = to
    await ctx.session.flush()
    ctx.audit(
        Action.MEDSPA_TRANSITION_MODEL.value,
        AuditOutcome.ALLOWED,
        resource_type="Medspa",
        resource_id=medspa.id,
        medspa_id=medspa.id,
        detail={"from": BusinessModel.LEGACY.value, "to": to.value, "keepPcc": keep_pcc},
    )
    return medspa


RELEASED_INTEGRATIONS = {
    IntegrationKind.OPENPHONE_LINE: IntegrationStatus.MARKED_FOR_RELEASE,
    IntegrationKind.TIGERCONNECT_CHANNEL: IntegrationStatus.DEACTIVATED,
    IntegrationKind.ACUITY_CALENDAR: IntegrationStatus.REVOKED,
}


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
