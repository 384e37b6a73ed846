"""Paying a checkout (issue 18): card authorisations and captures (undone if the writes that
record them roll back), the patient's saved cards, and account credit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from api.authz.actions import Action
from api.errors import (
    DomainError,
    DomainErrorCode,
    Problem,
    invalid,
    not_found,
)
from api.payments import Authorization, CardSource, PaymentProcessor, processor_for
from api.resolvers.checkout_pricing import CARD_TENDERS, TenderSpec, clean_text, processor_key
from db.models import (
    AccountCreditEntry,
    AuditOutcome,
    Patient,
    PatientPaymentMethod,
    TenderKind,
)

if TYPE_CHECKING:
    from api.context import Context


async def credit_balance(ctx: Context, patient_id: uuid.UUID) -> int:
    return int(
        (
            await ctx.session.execute(
                select(func.coalesce(func.sum(AccountCreditEntry.amount_cents), 0)).where(
                    AccountCreditEntry.patient_id == patient_id
                )
            )
        ).scalar_one()
    )


@dataclass
class Charges:
    """The card authorisations of one checkout attempt, for capture or cancellation."""

    processor: PaymentProcessor
    # Per tender position: the processor's answer, its idempotency key, the amount.
    approved: dict[int, tuple[Authorization, str, int]] = field(default_factory=dict)

    async def cancel_all(self) -> None:
        for authorization, key, _amount in self.approved.values():
            assert authorization.charge_id is not None
            await self.processor.cancel(authorization.charge_id, idempotency_key=f"{key}:cancel")

    async def capture_all(self, ctx: Context) -> None:
        """Capture every authorisation, and have the request refund them if the writes that
        record this payment are rolled back (its commit fails, say): no money is kept
        without a record of it."""
        for authorization, key, _amount in self.approved.values():
            assert authorization.charge_id is not None
            await self.processor.capture(authorization.charge_id, idempotency_key=f"{key}:capture")
        ctx.compensate(self.refund_all)

    async def refund_all(self) -> None:
        for authorization, key, amount in self.approved.values():
            assert authorization.charge_id is not None
            await self.processor.refund(
                authorization.charge_id,
                amount_cents=amount,
                idempotency_key=f"{key}:undo",
            )


async def saved_cards(
    ctx: Context, patient_id: uuid.UUID, tenders: Sequence[TenderSpec]
) -> list[TenderSpec]:
    """Card-on-file tenders charge only the patient's own live saved cards: each names one by
    its processor id, and is charged with the card's saved customer. Any other id (another
    patient's card, a removed one, an id typed in) is refused before anything is authorised."""
    named = {t.payment_method for t in tenders if t.kind is TenderKind.CARD_ON_FILE}
    if not named:
        return list(tenders)
    saved = {
        row.payment_method: row
        for row in (
            await ctx.session.execute(
                select(PatientPaymentMethod).where(
                    PatientPaymentMethod.patient_id == patient_id,
                    PatientPaymentMethod.payment_method.in_(named),
                    PatientPaymentMethod.removed_at.is_(None),
                )
            )
        ).scalars()
    }
    checked = []
    for i, tender in enumerate(tenders):
        if tender.kind is TenderKind.CARD_ON_FILE:
            card = saved.get(tender.payment_method or "")
            if card is None:
                raise invalid(
                    f"tenders.{i}.paymentMethod",
                    "Not a card on file of this patient (addPatientPaymentMethod saves one).",
                    DomainErrorCode.NOT_FOUND,
                )
            if tender.customer is not None and tender.customer != card.customer:
                raise invalid(f"tenders.{i}.customer", "Not the customer of this saved card.")
            tender = replace(tender, customer=card.customer)
        checked.append(tender)
    return checked


async def authorize_cards(
    processor: PaymentProcessor,
    *,
    base_key: str,
    currency: str,
    tenders: Sequence[TenderSpec],
) -> Charges:
    """Authorise every card tender; on the first decline cancel the approved ones and refuse."""
    charges = Charges(processor)
    for i, tender in enumerate(tenders):
        if tender.kind not in CARD_TENDERS:
            continue
        key = processor_key(
            base_key, i, tender.kind, tender.payment_method, tender.reader, tender.amount_cents
        )
        answer = await processor.authorize(
            amount_cents=tender.amount_cents,
            currency=currency,
            source=CardSource(
                payment_method=tender.payment_method, customer=tender.customer, reader=tender.reader
            ),
            idempotency_key=key,
        )
        if not answer.approved:
            await charges.cancel_all()
            raise DomainError(
                Problem(
                    DomainErrorCode.PAYMENT_DECLINED,
                    "The card was declined; nothing was charged.",
                    f"tenders.{i}",
                )
            )
        charges.approved[i] = (answer, key, tender.amount_cents)
    return charges


async def lock_credit(ctx: Context, patient_id: uuid.UUID) -> None:
    """Serialise account-credit changes of one patient (the balance is a sum of entries)."""
    await ctx.session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(str(patient_id), 18)))
    )


# ---------------------------------------------------------------------------- cards on file


async def payment_methods_of(
    ctx: Context, *, patient_id: uuid.UUID | None
) -> list[PatientPaymentMethod]:
    """A patient's live cards on file, for whoever may check the patient out."""
    ctx.authorize(Action.CHECKOUT_CREATE, resource_type="Patient", resource_id=patient_id)
    patient: Patient = await ctx.find(Patient, patient_id, Action.CHECKOUT_CREATE)
    return list(
        (
            await ctx.session.execute(
                select(PatientPaymentMethod)
                .where(
                    PatientPaymentMethod.patient_id == patient.id,
                    PatientPaymentMethod.removed_at.is_(None),
                )
                .order_by(PatientPaymentMethod.created_at, PatientPaymentMethod.id)
            )
        ).scalars()
    )


async def add_payment_method(
    ctx: Context,
    *,
    patient_id: uuid.UUID | None,
    payment_method: str,
    customer: str | None,
    label: str | None,
) -> PatientPaymentMethod:
    """Save a card on file (the processor's ids, never a card number)."""
    ctx.authorize(Action.PAYMENT_METHOD_MANAGE, resource_type="Patient", resource_id=patient_id)
    patient: Patient = await ctx.find(Patient, patient_id, Action.PAYMENT_METHOD_MANAGE)
    method = clean_text(payment_method, "paymentMethod", required=True)
    assert method is not None
    existing = (
        await ctx.session.execute(
            select(PatientPaymentMethod.id).where(
                PatientPaymentMethod.patient_id == patient.id,
                PatientPaymentMethod.payment_method == method,
                PatientPaymentMethod.removed_at.is_(None),
            )
        )
    ).first()
    if existing is not None:
        raise invalid("paymentMethod", "This card is already on file.")
    row = PatientPaymentMethod(
        id=uuid.uuid4(),
        medspa_id=patient.medspa_id,
        patient_id=patient.id,
        processor=processor_for(ctx.settings).name,
        customer=clean_text(customer, "customer", required=False),
        payment_method=method,
        label=(clean_text(label, "label", required=False) or "")[:60] or None,
        created_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await ctx.session.refresh(row)
    ctx.allowed(
        Action.PAYMENT_METHOD_MANAGE,
        resource_type="PatientPaymentMethod",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"operation": "add", "patientId": str(patient.id)},
    )
    return row


async def remove_payment_method(
    ctx: Context, *, payment_method_id: uuid.UUID | None
) -> PatientPaymentMethod:
    ctx.authorize(
        Action.PAYMENT_METHOD_MANAGE,
        resource_type="PatientPaymentMethod",
        resource_id=payment_method_id,
    )
    row = (
        await ctx.session.execute(
            select(PatientPaymentMethod).where(
                PatientPaymentMethod.id == payment_method_id,
                PatientPaymentMethod.removed_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    # The card follows its patient's scope: invisible patient, absent card.
    if row is not None:
        await ctx.find(Patient, row.patient_id, Action.PAYMENT_METHOD_MANAGE)
    else:
        ctx.audit(
            Action.PAYMENT_METHOD_MANAGE.value,
            AuditOutcome.DENIED,
            resource_type="PatientPaymentMethod",
            resource_id=payment_method_id,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("PatientPaymentMethod not found.")
    row.removed_at = datetime.now(UTC)
    await ctx.session.flush()
    ctx.allowed(
        Action.PAYMENT_METHOD_MANAGE,
        resource_type="PatientPaymentMethod",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"operation": "remove"},
    )
    return row
