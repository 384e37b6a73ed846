"""Future-use products (issue 18): prepaid units sold in a checkout, redeemed at a later visit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from api.authz.actions import Action
from api.errors import (
    DomainErrorCode,
    invalid,
)
from db.models import (
    Checkout,
    CheckoutLine,
    CheckoutLineKind,
    CheckoutStatus,
    Patient,
)

if TYPE_CHECKING:
    from api.context import Context
    from api.resolvers.checkout_pricing import LineSpec


def redeemed_units(line_ids: Any) -> Any:
    """Units of prepaid lines used by redemptions of checkouts that stand (not voided)."""
    return (
        select(
            CheckoutLine.redeems_line_id.label("line_id"),
            func.sum(CheckoutLine.quantity).label("used"),
        )
        .join(
            Checkout,
            (Checkout.medspa_id == CheckoutLine.medspa_id)
            & (Checkout.id == CheckoutLine.checkout_id),
        )
        .where(
            CheckoutLine.redeems_line_id.in_(line_ids),
            Checkout.status != CheckoutStatus.VOIDED,
        )
        .group_by(CheckoutLine.redeems_line_id)
    )


async def redemption(
    ctx: Context,
    *,
    where: str,
    line: LineSpec,
    medspa_id: uuid.UUID,
    patient_id: uuid.UUID,
    redeeming: dict[uuid.UUID, int],
) -> tuple[uuid.UUID, str]:
    """The prepaid line a REDEMPTION uses: a FUTURE_USE_PRODUCT this patient bought in a
    checkout that stands, with enough units left (locked per patient, so two checkouts
    cannot use the same last unit)."""
    await ctx.session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(str(patient_id), 19)))
    )
    sold = (
        await ctx.session.execute(
            select(CheckoutLine)
            .join(
                Checkout,
                (Checkout.medspa_id == CheckoutLine.medspa_id)
                & (Checkout.id == CheckoutLine.checkout_id),
            )
            .where(
                CheckoutLine.id == line.redeems_line_id,
                CheckoutLine.medspa_id == medspa_id,
                CheckoutLine.kind == CheckoutLineKind.FUTURE_USE_PRODUCT,
                Checkout.patient_id == patient_id,
                Checkout.status == CheckoutStatus.COMPLETED,
            )
        )
    ).scalar_one_or_none()
    if sold is None:
        raise invalid(
            f"{where}.redeemsLineId",
            "Not a prepaid product this patient bought.",
            DomainErrorCode.NOT_FOUND,
        )
    used = (await ctx.session.execute(redeemed_units([sold.id]))).first()
    left = sold.quantity - (int(used.used) if used else 0) - redeeming.get(sold.id, 0)
    if line.quantity > left:
        raise invalid(
            f"{where}.quantity",
            f"{max(left, 0)} of these prepaid units are left.",
            DomainErrorCode.PREPAID_USED_UP,
        )
    redeeming[sold.id] = redeeming.get(sold.id, 0) + line.quantity
    return sold.id, f"{sold.description} (prepaid)"


@dataclass(frozen=True)
class PrepaidItem:
    line: CheckoutLine
    checkout: Checkout
    left: int


async def prepaid_items(ctx: Context, *, patient_id: uuid.UUID | None) -> list[PrepaidItem]:
    """The patient's future-use products with units left, oldest first, for whoever may
    check the patient out."""
    ctx.authorize(Action.CHECKOUT_CREATE, resource_type="Patient", resource_id=patient_id)
    patient: Patient = await ctx.find(Patient, patient_id, Action.CHECKOUT_CREATE)
    sold = (
        await ctx.session.execute(
            select(CheckoutLine, Checkout)
            .join(
                Checkout,
                (Checkout.medspa_id == CheckoutLine.medspa_id)
                & (Checkout.id == CheckoutLine.checkout_id),
            )
            .where(
                Checkout.medspa_id == patient.medspa_id,
                Checkout.patient_id == patient.id,
                Checkout.status == CheckoutStatus.COMPLETED,
                CheckoutLine.kind == CheckoutLineKind.FUTURE_USE_PRODUCT,
            )
            .order_by(Checkout.completed_at, CheckoutLine.position)
        )
    ).all()
    used = {
        row.line_id: int(row.used)
        for row in await ctx.session.execute(redeemed_units([line.id for line, _ in sold]))
    }
    items = [
        PrepaidItem(line, checkout, line.quantity - used.get(line.id, 0)) for line, checkout in sold
    ]
    return [item for item in items if item.left > 0]
