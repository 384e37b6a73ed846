"""Correcting a completed checkout (issue 18): refunds per tender, partial or full, and voids
with a reason; each is a row of its own, the checkout itself never changes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from api.authz.actions import Action
from api.errors import (
    DomainError,
    DomainErrorCode,
    Problem,
    invalid,
)
from api.payments import processor_for
from api.resolvers.checkout_payment import credit_balance, lock_credit
from api.resolvers.checkout_prepaid import redeemed_units
from api.resolvers.checkout_pricing import (
    MAX_TENDERS,
    RefundSpec,
    check_key,
    clean_text,
    processor_key,
)
from db.models import (
    AccountCreditEntry,
    Checkout,
    CheckoutLine,
    CheckoutLineKind,
    CheckoutRefund,
    CheckoutStatus,
    CheckoutTender,
    TenderKind,
)

if TYPE_CHECKING:
    from api.context import Context


async def _refundable(ctx: Context, checkout_id: uuid.UUID | None) -> Checkout:
    ctx.authorize(Action.CHECKOUT_REFUND, resource_type="Checkout", resource_id=checkout_id)
    checkout: Checkout = await ctx.find(
        Checkout, checkout_id, Action.CHECKOUT_REFUND, for_update=True
    )
    if checkout.status is CheckoutStatus.VOIDED:
        raise DomainError(
            Problem(DomainErrorCode.CHECKOUT_VOIDED, "A voided checkout is not refunded.", "id")
        )
    return checkout


async def _refunded_per_tender(ctx: Context, checkout_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = (
        await ctx.session.execute(
            select(CheckoutRefund.tender_id, func.sum(CheckoutRefund.amount_cents))
            .where(CheckoutRefund.checkout_id == checkout_id)
            .group_by(CheckoutRefund.tender_id)
        )
    ).all()
    return {tender_id: int(total) for tender_id, total in rows}


async def _refund_tender(
    ctx: Context,
    *,
    checkout: Checkout,
    tender: CheckoutTender,
    amount_cents: int,
    key: str,
    reason: str | None,
) -> None:
    refund_id = None
    if tender.processor_charge_id is not None:
        refund_id = await processor_for(ctx.settings).refund(
            tender.processor_charge_id,
            amount_cents=amount_cents,
            idempotency_key=processor_key("refund", checkout.medspa_id, key, tender.id),
        )
    if tender.kind is TenderKind.ACCOUNT_CREDIT:
        ctx.session.add(
            AccountCreditEntry(
                medspa_id=checkout.medspa_id,
                patient_id=checkout.patient_id,
                checkout_id=checkout.id,
                amount_cents=amount_cents,
            )
        )
    ctx.session.add(
        CheckoutRefund(
            medspa_id=checkout.medspa_id,
            checkout_id=checkout.id,
            tender_id=tender.id,
            idempotency_key=key,
            amount_cents=amount_cents,
            reason=reason,
            processor_refund_id=refund_id,
            created_by_user_id=ctx.principal.actor_user_id,
        )
    )


async def _take_back_sold_credit(ctx: Context, checkout: Checkout, *, refunded_after: int) -> None:
    """Money refunded beyond what the checkout's other lines were worth paid for the account
    credit it sold: that much credit leaves the patient's balance with it (less what earlier
    refunds took back), refused when the credit is already spent."""
    bought = int(
        (
            await ctx.session.execute(
                select(func.coalesce(func.sum(CheckoutLine.total_cents), 0)).where(
                    CheckoutLine.checkout_id == checkout.id,
                    CheckoutLine.kind == CheckoutLineKind.ACCOUNT_CREDIT,
                )
            )
        ).scalar_one()
    )
    if not bought:
        return
    owed = min(bought, max(0, refunded_after - (checkout.total_cents - bought)))
    # This checkout's negative entries: the credit it spent as tender, then what refunds and
    # voids took back.
    spent, withdrawn = (
        await ctx.session.execute(
            select(
                select(func.coalesce(func.sum(CheckoutTender.amount_cents), 0))
                .where(
                    CheckoutTender.checkout_id == checkout.id,
                    CheckoutTender.kind == TenderKind.ACCOUNT_CREDIT,
                )
                .scalar_subquery(),
                select(func.coalesce(func.sum(-AccountCreditEntry.amount_cents), 0))
                .where(
                    AccountCreditEntry.checkout_id == checkout.id,
                    AccountCreditEntry.amount_cents < 0,
                )
                .scalar_subquery(),
            )
        )
    ).one()
    due = owed - (int(withdrawn) - int(spent))
    if due <= 0:
        return
    await lock_credit(ctx, checkout.patient_id)
    if await credit_balance(ctx, checkout.patient_id) < due:
        raise invalid(
            "refunds",
            f"This refund returns {due} cents of the account credit the checkout sold, and that"
            " credit is spent.",
            DomainErrorCode.INSUFFICIENT_CREDIT,
        )
    ctx.session.add(
        AccountCreditEntry(
            medspa_id=checkout.medspa_id,
            patient_id=checkout.patient_id,
            checkout_id=checkout.id,
            amount_cents=-due,
        )
    )


async def refund_checkout(
    ctx: Context,
    *,
    checkout_id: uuid.UUID | None,
    refunds: Sequence[RefundSpec],
    reason: str | None,
    idempotency_key: str,
) -> Checkout:
    """Refund parts of tenders (each at most what is left of it); cards through the processor,
    account credit back to the patient's balance, cash and programmes recorded."""
    checkout = await _refundable(ctx, checkout_id)
    key = check_key(idempotency_key)
    text_reason = clean_text(reason, "reason", required=False)
    if not refunds or len(refunds) > MAX_TENDERS:
        raise invalid("refunds", f"Between 1 and {MAX_TENDERS} refunds.")
    tenders = {
        t.id: t
        for t in (
            await ctx.session.execute(
                select(CheckoutTender).where(CheckoutTender.checkout_id == checkout.id)
            )
        ).scalars()
    }
    done = set(
        (
            await ctx.session.execute(
                select(CheckoutRefund.tender_id).where(
                    CheckoutRefund.checkout_id == checkout.id,
                    CheckoutRefund.idempotency_key == key,
                )
            )
        ).scalars()
    )
    if done:
        return checkout  # a replay of a refund already made
    refunded = await _refunded_per_tender(ctx, checkout.id)
    seen: set[uuid.UUID] = set()
    total = 0
    for i, spec in enumerate(refunds):
        tender = tenders.get(spec.tender_id) if spec.tender_id else None
        if tender is None or tender.id in seen:
            raise invalid(f"refunds.{i}.tenderId", "Not a tender of this checkout (once each).")
        seen.add(tender.id)
        left = tender.amount_cents - refunded.get(tender.id, 0)
        if not 0 < spec.amount_cents <= left:
            raise invalid(
                f"refunds.{i}.amountCents",
                f"Between 1 and the {left} cents left on this tender.",
                DomainErrorCode.REFUND_EXCEEDS_TENDER,
            )
        total += spec.amount_cents
    await _take_back_sold_credit(ctx, checkout, refunded_after=checkout.refunded_cents + total)
    for spec in refunds:
        assert spec.tender_id is not None
        await _refund_tender(
            ctx,
            checkout=checkout,
            tender=tenders[spec.tender_id],
            amount_cents=spec.amount_cents,
            key=key,
            reason=text_reason,
        )
    checkout.refunded_cents += total
    await ctx.session.flush()
    ctx.allowed(
        Action.CHECKOUT_REFUND,
        resource_type="Checkout",
        resource_id=checkout.id,
        medspa_id=checkout.medspa_id,
        detail={"operation": "refund", "amountCents": total},
    )
    return checkout


async def void_checkout(
    ctx: Context, *, checkout_id: uuid.UUID | None, reason: str | None
) -> Checkout:
    """Void a checkout: refund what is left of every tender and take back the account credit
    it sold (refused when that credit is already spent)."""
    checkout = await _refundable(ctx, checkout_id)
    text_reason = clean_text(reason, "reason", required=True)
    assert text_reason is not None
    try:
        await _take_back_sold_credit(ctx, checkout, refunded_after=checkout.total_cents)
    except DomainError as exc:
        raise invalid(
            "id",
            "The account credit this checkout sold is spent; refund instead.",
            DomainErrorCode.INSUFFICIENT_CREDIT,
        ) from exc
    sold_prepaid = select(CheckoutLine.id).where(
        CheckoutLine.medspa_id == checkout.medspa_id,
        CheckoutLine.checkout_id == checkout.id,
        CheckoutLine.kind == CheckoutLineKind.FUTURE_USE_PRODUCT,
    )
    if (await ctx.session.execute(redeemed_units(sold_prepaid))).first() is not None:
        raise invalid(
            "id",
            "Prepaid units this checkout sold were used at a visit; refund instead.",
            DomainErrorCode.PREPAID_USED_UP,
        )
    refunded = await _refunded_per_tender(ctx, checkout.id)
    tenders = (
        await ctx.session.execute(
            select(CheckoutTender)
            .where(CheckoutTender.checkout_id == checkout.id)
            .order_by(CheckoutTender.position)
        )
    ).scalars()
    for tender in tenders:
        left = tender.amount_cents - refunded.get(tender.id, 0)
        if left > 0:
            await _refund_tender(
                ctx,
                checkout=checkout,
                tender=tender,
                amount_cents=left,
                key=f"void:{checkout.id}",
                reason=text_reason,
            )
    checkout.status = CheckoutStatus.VOIDED
    checkout.voided_at = datetime.now(UTC)
    checkout.void_reason = text_reason
    checkout.refunded_cents = checkout.total_cents
    await ctx.session.flush()
    ctx.allowed(
        Action.CHECKOUT_REFUND,
        resource_type="Checkout",
        resource_id=checkout.id,
        medspa_id=checkout.medspa_id,
        detail={"operation": "void"},
    )
    return checkout
