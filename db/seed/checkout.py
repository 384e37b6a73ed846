"""Demo checkouts (issue 18): a few months of sales for Glow's and Radiance's providers, so
the Earnings tab shows a month-to-month series. Deterministic: the same rows (found again by
their idempotency key) relative to the month the seed runs in, in each medspa's time zone.
The totals follow `api/resolvers/checkout_pricing.py`'s rules (line = quantity x unit - discount;
checkout = lines - discount + tip; tenders pay the total)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Appointment,
    Checkout,
    CheckoutKind,
    CheckoutLine,
    CheckoutLineKind,
    CheckoutStatus,
    CheckoutTender,
    ExternalProgramme,
    Medspa,
    PatientPaymentMethod,
    TenderKind,
)

SLUGS = ("glow", "radiance")
# The card on file of every demo patient who has bought something (the built-in processor
# approves it; checkouts charge only a patient's saved cards).
DEMO_CARD = "pm_card_visa"
MONTHS = 4  # the current month and the three before it
# (description, kind, unit price cents, quantity, line discount cents)
SALES: tuple[tuple[str, CheckoutLineKind, int, int, int], ...] = (
    ("Hydrating serum", CheckoutLineKind.PRODUCT, 8_900, 1, 0),
    ("Botox 20 units (prepaid)", CheckoutLineKind.FUTURE_USE_PRODUCT, 28_000, 1, 2_000),
    ("Mineral sunscreen SPF 50", CheckoutLineKind.PRODUCT, 4_200, 2, 0),
    ("Chemical peel (prepaid)", CheckoutLineKind.FUTURE_USE_PRODUCT, 18_500, 1, 0),
)


def _month_start(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + month - 1 - back
    return index // 12, index % 12 + 1


async def _save_cards(
    session: AsyncSession, medspa_id: uuid.UUID, patients: list[uuid.UUID]
) -> None:
    holding = set(
        (
            await session.execute(
                select(PatientPaymentMethod.patient_id).where(
                    PatientPaymentMethod.medspa_id == medspa_id,
                    PatientPaymentMethod.patient_id.in_(patients),
                    PatientPaymentMethod.payment_method == DEMO_CARD,
                    PatientPaymentMethod.removed_at.is_(None),
                )
            )
        ).scalars()
    )
    session.add_all(
        PatientPaymentMethod(
            id=uuid.uuid4(),
            medspa_id=medspa_id,
            patient_id=patient_id,
            processor="builtin",
            payment_method=DEMO_CARD,
            label="Visa ending 4242",
        )
        for patient_id in patients
        if patient_id not in holding
    )
    await session.flush()


async def seed_checkouts(
    session: AsyncSession,
    *,
    medspa_ids: dict[str, uuid.UUID],
    provider_ids: dict[str, uuid.UUID],
    now: datetime | None = None,
) -> int:
    """Add the demo checkouts that are not there yet; returns how many were added."""
    now = now or datetime.now(UTC)
    added = 0
    for slug in SLUGS:
        medspa_id = medspa_ids[slug]
        zone = ZoneInfo(
            (
                await session.execute(select(Medspa.time_zone).where(Medspa.id == medspa_id))
            ).scalar_one()
        )
        local_now = now.astimezone(zone)
        providers = sorted(
            (email, pid)
            for email, pid in provider_ids.items()
            if email.endswith(f"@{slug}.example")
        )
        for p_index, (email, provider_id) in enumerate(providers):
            patients = list(
                (
                    await session.execute(
                        select(Appointment.patient_id)
                        .where(Appointment.provider_id == provider_id)
                        .group_by(Appointment.patient_id)
                        .order_by(Appointment.patient_id)
                    )
                ).scalars()
            )
            if not patients:
                continue
            await _save_cards(session, medspa_id, patients)
            for back in range(MONTHS):
                year, month = _month_start(local_now.year, local_now.month, back)
                for n in range(3 + (back + p_index) % 2):
                    day = 2 + n * 6 + p_index
                    completed = datetime.combine(
                        datetime(year, month, day).date(), time(15, 30), tzinfo=zone
                    ) + timedelta(minutes=n * 7)
                    if completed >= local_now:
                        continue
                    key = f"demo:{email}:{year}-{month:02d}:{n}"
                    found = (
                        await session.execute(
                            select(Checkout.id).where(
                                Checkout.medspa_id == medspa_id, Checkout.idempotency_key == key
                            )
                        )
                    ).first()
                    if found is not None:
                        continue
                    _add(
                        session,
                        medspa_id=medspa_id,
                        provider_id=provider_id,
                        patient_id=patients[(n + back) % len(patients)],
                        key=key,
                        completed=completed.astimezone(UTC),
                        variant=n + back + p_index,
                    )
                    added += 1
    await session.flush()
    return added


def _add(
    session: AsyncSession,
    *,
    medspa_id: uuid.UUID,
    provider_id: uuid.UUID,
    patient_id: uuid.UUID,
    key: str,
    completed: datetime,
    variant: int,
) -> None:
    description, kind, unit, quantity, discount = SALES[variant % len(SALES)]
    line_total = unit * quantity - discount
    tip = 1_000 if variant % 3 == 0 else 0
    total = line_total + tip
    checkout_id = uuid.uuid4()
    session.add(
        Checkout(
            id=checkout_id,
            medspa_id=medspa_id,
            kind=CheckoutKind.RETAIL,
            status=CheckoutStatus.COMPLETED,
            provider_id=provider_id,
            patient_id=patient_id,
            service_visit_id=None,
            currency="USD",
            subtotal_cents=unit * quantity,
            discount_cents=discount,
            checkout_discount_cents=0,
            tip_cents=tip,
            total_cents=total,
            refunded_cents=0,
            idempotency_key=key,
            completed_at=completed,
        )
    )
    session.add(
        CheckoutLine(
            medspa_id=medspa_id,
            checkout_id=checkout_id,
            position=0,
            kind=kind,
            description=description,
            quantity=quantity,
            unit_price_cents=unit,
            discount_cents=discount,
            total_cents=line_total,
        )
    )
    # Split the larger sales: part on the card on file, the rest cash or financing.
    card = total // 2 if total > 10_000 else total
    session.add(
        CheckoutTender(
            medspa_id=medspa_id,
            checkout_id=checkout_id,
            position=0,
            kind=TenderKind.CARD_ON_FILE,
            amount_cents=card,
            processor="builtin",
            processor_charge_id=f"ch_demo_{checkout_id.hex[:20]}",
            card_last4="4242",
        )
    )
    if total > card:
        financed = variant % 2 == 0
        session.add(
            CheckoutTender(
                medspa_id=medspa_id,
                checkout_id=checkout_id,
                position=1,
                kind=TenderKind.EXTERNAL if financed else TenderKind.CASH,
                programme=ExternalProgramme.CARECREDIT if financed else None,
                authorization_code=f"CC-{variant:04d}" if financed else None,
                amount_cents=total - card,
            )
        )
