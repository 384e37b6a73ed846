"""Checkout (issue 18): a patient pays for a service visit or a retail checkout.

This module checks a patient out (`create_checkout`, and a booking's deposit) and reads
checkouts; beside it: `checkout_pricing` (the inputs, `compute_totals`, the one place totals
are computed, and which lines and tenders a checkout takes), `checkout_payment` (cards:
authorise every card, then capture all, or cancel the approved ones when one is declined;
saved cards; account credit), `checkout_prepaid` (future-use products), `checkout_refund`
(refunds and voids) and `earnings`.

- Totals are stored with the lines and the database re-checks the sums (migration 0013); a
  completed checkout is immutable, corrections are rows of their own.
- Scopes: `checkout.create` / `checkout.refund` reach a checkout through its provider (OWN: a
  provider's own; TENANT: the admin's medspa; ANY: platform staff). Reading checkouts is
  `earnings.read`, by the same anchor.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.authz.actions import Action
from api.authz.scopes import Anchor, register
from api.errors import (
    DomainError,
    DomainErrorCode,
    Problem,
    invalid,
    not_found,
)
from api.payments import processor_for
from api.resolvers.batching import many_per_key, rows_by_ids
from api.resolvers.checkout_payment import (
    Charges,
    authorize_cards,
    credit_balance,
    lock_credit,
    saved_cards,
)
from api.resolvers.checkout_pricing import (
    MAX_TEXT,
    LineSpec,
    PricedLine,
    TenderSpec,
    Totals,
    check_key,
    check_tenders,
    clean_text,
    compute_totals,
    price_lines,
)
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    AccountCreditEntry,
    Appointment,
    AuditOutcome,
    Checkout,
    CheckoutKind,
    CheckoutLine,
    CheckoutLineKind,
    CheckoutRefund,
    CheckoutStatus,
    CheckoutTender,
    Patient,
    Provider,
    ServiceVisit,
    TenderKind,
)

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = register(
    Checkout,
    Anchor(medspa=Checkout.medspa_id, provider=Checkout.provider_id),
    read=Action.EARNINGS_READ,
)
SORT = SortKey((Checkout.completed_at, Checkout.id), ("completed_at", "id"), descending=True)


async def checkouts_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Checkout | None]:
    return await rows_by_ids(ctx, Checkout, ids, ctx.scope(Action.EARNINGS_READ, ANCHOR))


async def lines_by_checkout(
    ctx: Context, checkout_ids: Sequence[uuid.UUID]
) -> list[list[CheckoutLine]]:
    rows = (
        await ctx.session.execute(
            select(CheckoutLine)
            .where(CheckoutLine.checkout_id.in_(checkout_ids))
            .order_by(CheckoutLine.checkout_id, CheckoutLine.position)
        )
    ).scalars()
    return many_per_key(checkout_ids, rows, lambda r: r.checkout_id)


async def tenders_by_checkout(
    ctx: Context, checkout_ids: Sequence[uuid.UUID]
) -> list[list[CheckoutTender]]:
    rows = (
        await ctx.session.execute(
            select(CheckoutTender)
            .where(CheckoutTender.checkout_id.in_(checkout_ids))
            .order_by(CheckoutTender.checkout_id, CheckoutTender.position)
        )
    ).scalars()
    return many_per_key(checkout_ids, rows, lambda r: r.checkout_id)


async def refunds_by_checkout(
    ctx: Context, checkout_ids: Sequence[uuid.UUID]
) -> list[list[CheckoutRefund]]:
    rows = (
        await ctx.session.execute(
            select(CheckoutRefund)
            .where(CheckoutRefund.checkout_id.in_(checkout_ids))
            .order_by(CheckoutRefund.checkout_id, CheckoutRefund.created_at, CheckoutRefund.id)
        )
    ).scalars()
    return many_per_key(checkout_ids, rows, lambda r: r.checkout_id)


class CheckoutLoaders:
    """Per-request loaders of checkouts and their parts (scoped through the checkout)."""

    def __init__(self, ctx: Context) -> None:
        from strawberry.dataloader import DataLoader

        self.checkout_by_id: DataLoader[uuid.UUID, Checkout | None] = DataLoader(
            lambda ids: checkouts_by_ids(ctx, ids)
        )
        self.lines: DataLoader[uuid.UUID, list[CheckoutLine]] = DataLoader(
            lambda ids: lines_by_checkout(ctx, ids)
        )
        self.tenders: DataLoader[uuid.UUID, list[CheckoutTender]] = DataLoader(
            lambda ids: tenders_by_checkout(ctx, ids)
        )
        self.refunds: DataLoader[uuid.UUID, list[CheckoutRefund]] = DataLoader(
            lambda ids: refunds_by_checkout(ctx, ids)
        )


# ---------------------------------------------------------------------------- reading


async def list_checkouts(
    ctx: Context,
    *,
    provider_id: uuid.UUID | None,
    patient_id: uuid.UUID | None,
    first: int | None,
    after: str | None,
) -> Page[Checkout]:
    """Processed transactions, newest first, within the caller's earnings scope."""
    ctx.authorize(Action.EARNINGS_READ)
    stmt = select(Checkout).where(ctx.scope(Action.EARNINGS_READ, ANCHOR))
    if provider_id is not None:
        stmt = stmt.where(Checkout.provider_id == provider_id)
    if patient_id is not None:
        stmt = stmt.where(Checkout.patient_id == patient_id)
    return await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)


# ---------------------------------------------------------------------------- checking out


async def _visit_to_check_out(ctx: Context, visit_id: uuid.UUID) -> ServiceVisit:
    """The visit, if the caller may check it out (its provider in the checkout.create scope);
    otherwise NOT_FOUND, as for a visit that does not exist."""
    visit_anchor = Anchor(medspa=ServiceVisit.medspa_id, provider=ServiceVisit.provider_id)
    visit = (
        await ctx.session.execute(
            select(ServiceVisit).where(
                ServiceVisit.id == visit_id, ctx.scope(Action.CHECKOUT_CREATE, visit_anchor)
            )
        )
    ).scalar_one_or_none()
    if visit is None:
        ctx.audit(
            Action.CHECKOUT_CREATE.value,
            AuditOutcome.DENIED,
            resource_type="ServiceVisit",
            resource_id=visit_id,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("ServiceVisit not found.")
    return visit


async def _provider_of_retail(
    ctx: Context, *, patient: Patient, provider_id: uuid.UUID | None
) -> Provider:
    if provider_id is None:
        provider_id = ctx.principal.provider_id
        if provider_id is None or ctx.principal.medspa_id != patient.medspa_id:
            raise invalid("providerId", "Name the provider this checkout is for.")
    provider: Provider = await ctx.find(Provider, provider_id, Action.CHECKOUT_CREATE)
    if provider.medspa_id != patient.medspa_id:
        raise invalid("providerId", "The provider works in another medspa than the patient.")
    return provider


async def create_checkout(
    ctx: Context,
    *,
    idempotency_key: str,
    patient_id: uuid.UUID | None,
    service_visit_id: uuid.UUID | None,
    provider_id: uuid.UUID | None,
    lines: Sequence[LineSpec],
    tenders: Sequence[TenderSpec],
    discount_cents: int,
    tip_cents: int,
) -> Checkout:
    ctx.authorize(Action.CHECKOUT_CREATE)
    key = check_key(idempotency_key)
    visit: ServiceVisit | None = None
    if service_visit_id is not None:
        visit = await _visit_to_check_out(ctx, service_visit_id)
        kind = CheckoutKind.VISIT
        medspa_id, patient_ref, provider_ref = visit.medspa_id, visit.patient_id, visit.provider_id
        if patient_id is not None and patient_id != visit.patient_id:
            raise invalid("patientId", "The visit is another patient's.")
    else:
        patient: Patient = await ctx.find(Patient, patient_id, Action.CHECKOUT_CREATE)
        provider = await _provider_of_retail(ctx, patient=patient, provider_id=provider_id)
        kind = CheckoutKind.RETAIL
        medspa_id, patient_ref, provider_ref = patient.medspa_id, patient.id, provider.id

    replay = (
        await ctx.session.execute(
            select(Checkout).where(Checkout.medspa_id == medspa_id, Checkout.idempotency_key == key)
        )
    ).scalar_one_or_none()
    if replay is not None:
        if replay.patient_id != patient_ref or replay.service_visit_id != service_visit_id:
            raise invalid(
                "idempotencyKey",
                "This key checked out something else.",
                DomainErrorCode.IDEMPOTENCY_KEY_REUSED,
            )
        return replay
    if visit is not None:
        done = (
            await ctx.session.execute(
                select(Checkout.id).where(
                    Checkout.service_visit_id == visit.id,
                    Checkout.status == CheckoutStatus.COMPLETED,
                )
            )
        ).first()
        if done is not None:
            raise invalid(
                "serviceVisitId", "This visit is checked out.", DomainErrorCode.ALREADY_CHECKED_OUT
            )

    priced = await price_lines(
        ctx, kind=kind, medspa_id=medspa_id, patient_id=patient_ref, lines=lines
    )
    totals = compute_totals(priced, checkout_discount_cents=discount_cents, tip_cents=tip_cents)
    check_tenders(kind, totals, tenders)
    tenders = await saved_cards(ctx, patient_ref, tenders)
    credit_spent = sum(t.amount_cents for t in tenders if t.kind is TenderKind.ACCOUNT_CREDIT)
    if credit_spent:
        await lock_credit(ctx, patient_ref)
        balance = await credit_balance(ctx, patient_ref)
        if credit_spent > balance:
            raise invalid(
                "tenders",
                f"The patient's account credit is {balance} cents.",
                DomainErrorCode.INSUFFICIENT_CREDIT,
            )

    currency = ctx.settings.currency
    processor = processor_for(ctx.settings)
    charges = await authorize_cards(
        processor,
        base_key=f"checkout:{medspa_id}:{key}:{uuid.uuid4()}",  # one attempt
        currency=currency,
        tenders=tenders,
    )
    try:
        checkout = await _insert(
            ctx,
            kind=kind,
            key=key,
            medspa_id=medspa_id,
            patient_id=patient_ref,
            provider_id=provider_ref,
            visit_id=visit.id if visit else None,
            currency=currency,
            totals=totals,
            tenders=tenders,
            charges=charges,
        )
    except BaseException:
        await charges.cancel_all()
        raise
    await charges.capture_all(ctx)
    ctx.allowed(
        Action.CHECKOUT_CREATE,
        resource_type="Checkout",
        resource_id=checkout.id,
        medspa_id=medspa_id,
        detail={"kind": kind.value, "totalCents": totals.total_cents, "tenders": len(tenders)},
    )
    return checkout


async def _insert(
    ctx: Context,
    *,
    kind: CheckoutKind,
    key: str,
    medspa_id: uuid.UUID,
    patient_id: uuid.UUID,
    provider_id: uuid.UUID,
    visit_id: uuid.UUID | None,
    currency: str,
    totals: Totals,
    tenders: Sequence[TenderSpec],
    charges: Charges,
) -> Checkout:
    checkout = Checkout(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        kind=kind,
        status=CheckoutStatus.COMPLETED,
        provider_id=provider_id,
        patient_id=patient_id,
        service_visit_id=visit_id,
        currency=currency,
        subtotal_cents=totals.subtotal_cents,
        discount_cents=totals.discount_cents,
        checkout_discount_cents=totals.checkout_discount_cents,
        tip_cents=totals.tip_cents,
        total_cents=totals.total_cents,
        refunded_cents=0,
        idempotency_key=key,
        completed_at=datetime.now(UTC),
        created_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(checkout)
    await ctx.session.flush()
    ctx.session.add_all(
        CheckoutLine(
            medspa_id=medspa_id,
            checkout_id=checkout.id,
            position=i,
            kind=line.kind,
            description=line.description,
            service_id=line.service_id,
            appointment_id=line.appointment_id,
            allergan=line.allergan,
            redeems_line_id=line.redeems_line_id,
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
            discount_cents=line.discount_cents,
            total_cents=line.total_cents,
        )
        for i, line in enumerate(totals.lines)
    )
    for i, tender in enumerate(tenders):
        authorization = charges.approved.get(i)
        ctx.session.add(
            CheckoutTender(
                medspa_id=medspa_id,
                checkout_id=checkout.id,
                position=i,
                kind=tender.kind,
                amount_cents=tender.amount_cents,
                programme=tender.programme,
                authorization_code=clean_text(tender.authorization_code, "code", required=False),
                alle_points=tender.alle_points,
                processor=charges.processor.name if authorization else None,
                processor_charge_id=authorization[0].charge_id if authorization else None,
                card_last4=authorization[0].card_last4 if authorization else None,
            )
        )
    credit_bought = sum(
        line.total_cents for line in totals.lines if line.kind is CheckoutLineKind.ACCOUNT_CREDIT
    )
    credit_spent = sum(t.amount_cents for t in tenders if t.kind is TenderKind.ACCOUNT_CREDIT)
    for amount in (credit_bought, -credit_spent):
        if amount:
            ctx.session.add(
                AccountCreditEntry(
                    medspa_id=medspa_id,
                    patient_id=patient_id,
                    checkout_id=checkout.id,
                    amount_cents=amount,
                )
            )
    await ctx.session.flush()
    return checkout


# ---------------------------------------------------------------------------- deposits


@dataclass(frozen=True)
class DepositPayment:
    """The saved card that pays a booking's deposit."""

    payment_method: str
    customer: str | None = None


async def charge_deposit(
    ctx: Context,
    *,
    appointment: Appointment,
    payment: DepositPayment | None,
    description: str,
) -> Checkout | None:
    """Charge a new booking's deposit (set when the medspa's deposits are on) to the card
    given, as account credit the visit's checkout then spends. Part of the booking: its
    permission is the booking's, and a declined card refuses the booking (nothing charged,
    nothing booked). No deposit due: nothing happens."""
    amount = appointment.deposit_cents or 0
    if amount <= 0:
        return None
    if payment is None or not payment.payment_method.strip():
        raise invalid("depositPayment", f"A deposit of {amount} cents is due at booking.")
    tenders = [
        TenderSpec(
            kind=TenderKind.CARD_ON_FILE,
            amount_cents=amount,
            payment_method=payment.payment_method.strip(),
            customer=payment.customer,
        )
    ]
    totals = compute_totals(
        [
            PricedLine(
                kind=CheckoutLineKind.ACCOUNT_CREDIT,
                description=description[:MAX_TEXT],
                quantity=1,
                unit_price_cents=amount,
                discount_cents=0,
                total_cents=0,
            )
        ],
        checkout_discount_cents=0,
        tip_cents=0,
    )
    key = f"deposit:{appointment.id}"
    processor = processor_for(ctx.settings)
    try:
        charges = await authorize_cards(
            processor,
            base_key=f"checkout:{appointment.medspa_id}:{key}",
            currency=ctx.settings.currency,
            tenders=tenders,
        )
    except DomainError:
        raise DomainError(
            Problem(
                DomainErrorCode.PAYMENT_DECLINED,
                "The deposit card was declined; nothing was booked or charged.",
                "depositPayment",
            )
        ) from None
    try:
        checkout = await _insert(
            ctx,
            kind=CheckoutKind.RETAIL,
            key=key,
            medspa_id=appointment.medspa_id,
            patient_id=appointment.patient_id,
            provider_id=appointment.provider_id,
            visit_id=None,
            currency=ctx.settings.currency,
            totals=totals,
            tenders=tenders,
            charges=charges,
        )
    except BaseException:
        await charges.cancel_all()
        raise
    await charges.capture_all(ctx)
    ctx.allowed(
        Action.CHECKOUT_CREATE,
        resource_type="Checkout",
        resource_id=checkout.id,
        medspa_id=appointment.medspa_id,
        detail={"kind": "DEPOSIT", "appointmentId": str(appointment.id), "totalCents": amount},
    )
    return checkout
