"""Checkout pricing (issue 18): the inputs, the one place totals are computed, the lines a
checkout may sell and the tenders that may pay them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from api.errors import (
    invalid,
)
from api.resolvers.checkout_prepaid import redemption
from db.models import (
    Appointment,
    Checkout,
    CheckoutKind,
    CheckoutLine,
    CheckoutLineKind,
    CheckoutStatus,
    ExternalProgramme,
    Service,
    TenderKind,
)

if TYPE_CHECKING:
    from api.context import Context


MAX_LINES = 50
MAX_TENDERS = 10
MAX_QUANTITY = 1_000
MAX_LINE_CENTS = 10_000_000  # 100,000.00 per line
MAX_TOTAL_CENTS = 50_000_000  # 500,000.00 per checkout
MAX_KEY_LENGTH = 100
MAX_TEXT = 200
# Allē: 100 points are worth $10, applied 100 points at a time.
ALLE_POINTS_STEP = 100
ALLE_CENTS_PER_STEP = 1_000
CARD_TENDERS = (TenderKind.CARD_ON_FILE, TenderKind.TERMINAL)
# Which line kinds each flow sells.
LINE_KINDS: dict[CheckoutKind, frozenset[CheckoutLineKind]] = {
    CheckoutKind.VISIT: frozenset(
        {
            CheckoutLineKind.SERVICE,
            CheckoutLineKind.PRODUCT,
            CheckoutLineKind.FUTURE_USE_PRODUCT,
            CheckoutLineKind.ACCOUNT_CREDIT,
            CheckoutLineKind.REDEMPTION,
        }
    ),
    CheckoutKind.RETAIL: frozenset(
        {
            CheckoutLineKind.PRODUCT,
            CheckoutLineKind.FUTURE_USE_PRODUCT,
            CheckoutLineKind.ACCOUNT_CREDIT,
            CheckoutLineKind.CANCELLATION_FEE,
        }
    ),
}


@dataclass(frozen=True)
class LineSpec:
    kind: CheckoutLineKind
    description: str | None = None
    quantity: int = 1
    unit_price_cents: int | None = None
    discount_cents: int = 0
    service_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = None
    allergan: bool = False
    redeems_line_id: uuid.UUID | None = None


@dataclass(frozen=True)
class TenderSpec:
    kind: TenderKind
    amount_cents: int
    payment_method: str | None = None
    customer: str | None = None
    reader: str | None = None
    programme: ExternalProgramme | None = None
    authorization_code: str | None = None
    alle_points: int | None = None


@dataclass(frozen=True)
class RefundSpec:
    tender_id: uuid.UUID | None
    amount_cents: int


@dataclass(frozen=True)
class PricedLine:
    """A line as sold: its description and price settled, its total computed."""

    kind: CheckoutLineKind
    description: str
    quantity: int
    unit_price_cents: int
    discount_cents: int
    total_cents: int
    service_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = None
    allergan: bool = False
    redeems_line_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Totals:
    lines: tuple[PricedLine, ...]
    subtotal_cents: int
    discount_cents: int  # line discounts + the checkout's
    checkout_discount_cents: int
    tip_cents: int
    total_cents: int


def compute_totals(
    lines: Sequence[PricedLine], *, checkout_discount_cents: int, tip_cents: int
) -> Totals:
    """The one place a checkout's money is added up (each line: quantity x unit price minus
    its discount; the checkout: lines minus the checkout discount plus the tip)."""
    priced: list[PricedLine] = []
    for i, line in enumerate(lines):
        gross = line.quantity * line.unit_price_cents
        if line.discount_cents < 0 or line.discount_cents > gross:
            raise invalid(f"lines.{i}.discountCents", "A discount is between 0 and the line.")
        priced.append(
            PricedLine(
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                discount_cents=line.discount_cents,
                total_cents=gross - line.discount_cents,
                service_id=line.service_id,
                appointment_id=line.appointment_id,
                allergan=line.allergan,
                redeems_line_id=line.redeems_line_id,
            )
        )
    subtotal = sum(line.quantity * line.unit_price_cents for line in priced)
    line_discounts = sum(line.discount_cents for line in priced)
    if checkout_discount_cents < 0 or checkout_discount_cents > subtotal - line_discounts:
        raise invalid("discountCents", "The checkout discount is between 0 and the lines' total.")
    if tip_cents < 0 or tip_cents > MAX_LINE_CENTS:
        raise invalid("tipCents", f"A tip is between 0 and {MAX_LINE_CENTS} cents.")
    total = subtotal - line_discounts - checkout_discount_cents + tip_cents
    if total > MAX_TOTAL_CENTS:
        raise invalid("lines", f"A checkout totals at most {MAX_TOTAL_CENTS} cents.")
    return Totals(
        lines=tuple(priced),
        subtotal_cents=subtotal,
        discount_cents=line_discounts + checkout_discount_cents,
        checkout_discount_cents=checkout_discount_cents,
        tip_cents=tip_cents,
        total_cents=total,
    )


def processor_key(*parts: object) -> str:
    """An idempotency key for the processor from the attempt and the tender: one call's own
    retries reuse it. Each checkout attempt has its own (`attempt` below): an attempt whose
    writes were rolled back refunded its charges, so a retry charges anew, and a replay of a
    committed checkout is answered from the database without calling the processor."""
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:40]


def clean_text(value: str | None, field_name: str, *, required: bool) -> str | None:
    stripped = (value or "").strip()
    if not stripped:
        if required:
            raise invalid(field_name, "Required.")
        return None
    if len(stripped) > MAX_TEXT:
        raise invalid(field_name, f"At most {MAX_TEXT} characters.")
    return stripped


def check_key(idempotency_key: str, field_name: str = "idempotencyKey") -> str:
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise invalid(field_name, f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.")
    return key


async def price_lines(
    ctx: Context,
    *,
    kind: CheckoutKind,
    medspa_id: uuid.UUID,
    patient_id: uuid.UUID,
    lines: Sequence[LineSpec],
) -> list[PricedLine]:
    if not lines:
        raise invalid("lines", "A checkout has at least one line.")
    if len(lines) > MAX_LINES:
        raise invalid("lines", f"At most {MAX_LINES} lines.")
    priced: list[PricedLine] = []
    redeeming: dict[uuid.UUID, int] = {}  # prepaid units this checkout's lines already use
    for i, line in enumerate(lines):
        where = f"lines.{i}"
        if line.kind not in LINE_KINDS[kind]:
            raise invalid(f"{where}.kind", f"A {kind.value} checkout has no {line.kind} lines.")
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise invalid(f"{where}.quantity", f"Between 1 and {MAX_QUANTITY}.")
        if line.redeems_line_id is not None and line.kind is not CheckoutLineKind.REDEMPTION:
            raise invalid(f"{where}.redeemsLineId", "Only a REDEMPTION line names a prepaid line.")
        if line.unit_price_cents is not None and not 0 <= line.unit_price_cents <= MAX_LINE_CENTS:
            raise invalid(f"{where}.unitPriceCents", f"Between 0 and {MAX_LINE_CENTS} cents.")
        if line.quantity * (line.unit_price_cents or 0) > MAX_LINE_CENTS:
            raise invalid(f"{where}.quantity", f"A line totals at most {MAX_LINE_CENTS} cents.")
        description = clean_text(line.description, f"{where}.description", required=False)
        unit = line.unit_price_cents
        service_id = appointment_id = redeems_line_id = None
        if line.kind is CheckoutLineKind.SERVICE:
            service = (
                await ctx.session.execute(
                    select(Service).where(
                        Service.id == line.service_id, Service.medspa_id == medspa_id
                    )
                )
            ).scalar_one_or_none()
            if service is None:
                raise invalid(f"{where}.serviceId", "Not a service of this medspa.")
            service_id = service.id
            description = description or service.name
            unit = service.price_cents if unit is None else unit
        elif line.kind is CheckoutLineKind.CANCELLATION_FEE:
            appointment_id, unit, description = await _cancellation_fee(
                ctx, where=where, line=line, medspa_id=medspa_id, patient_id=patient_id
            )
        elif line.kind is CheckoutLineKind.REDEMPTION:
            if unit or line.discount_cents:
                raise invalid(where, "A redemption uses prepaid units: no price, no discount.")
            redeems_line_id, description = await redemption(
                ctx,
                where=where,
                line=line,
                medspa_id=medspa_id,
                patient_id=patient_id,
                redeeming=redeeming,
            )
            unit = 0
        elif line.kind is CheckoutLineKind.ACCOUNT_CREDIT and (
            line.quantity != 1 or line.discount_cents
        ):
            raise invalid(where, "Account credit is one line of its amount, undiscounted.")
        if unit is None:
            raise invalid(f"{where}.unitPriceCents", "Required for this line.")
        if description is None:
            raise invalid(f"{where}.description", "Required for this line.")
        priced.append(
            PricedLine(
                kind=line.kind,
                description=description,
                quantity=line.quantity,
                unit_price_cents=unit,
                discount_cents=line.discount_cents,
                total_cents=0,  # compute_totals sets it
                service_id=service_id,
                appointment_id=appointment_id,
                allergan=line.allergan,
                redeems_line_id=redeems_line_id,
            )
        )
    return priced


async def _cancellation_fee(
    ctx: Context, *, where: str, line: LineSpec, medspa_id: uuid.UUID, patient_id: uuid.UUID
) -> tuple[uuid.UUID, int, str]:
    """The fee the scheduling settings set on a late-cancelled appointment (api/resolvers/
    appointment.py computes `cancellation_fee_applies`); charged once."""
    appointment = (
        await ctx.session.execute(
            select(Appointment).where(
                Appointment.id == line.appointment_id,
                Appointment.medspa_id == medspa_id,
                Appointment.patient_id == patient_id,
            )
        )
    ).scalar_one_or_none()
    if appointment is None:
        raise invalid(f"{where}.appointmentId", "Not an appointment of this patient.")
    if not appointment.cancellation_fee_applies or not appointment.cancellation_fee_cents:
        raise invalid(f"{where}.appointmentId", "No cancellation fee applies to it.")
    if line.quantity != 1 or (
        line.unit_price_cents is not None
        and line.unit_price_cents != appointment.cancellation_fee_cents
    ):
        raise invalid(where, "The fee is the one set when the appointment was cancelled.")
    charged = (
        await ctx.session.execute(
            select(CheckoutLine.id)
            .join(Checkout, Checkout.id == CheckoutLine.checkout_id)
            .where(
                CheckoutLine.appointment_id == appointment.id,
                Checkout.status == CheckoutStatus.COMPLETED,
            )
        )
    ).first()
    if charged is not None:
        raise invalid(f"{where}.appointmentId", "This cancellation fee is already charged.")
    return appointment.id, appointment.cancellation_fee_cents, "Late cancellation fee"


def check_tenders(kind: CheckoutKind, totals: Totals, tenders: Sequence[TenderSpec]) -> None:
    if len(tenders) > MAX_TENDERS:
        raise invalid("tenders", f"At most {MAX_TENDERS} tenders.")
    alle_eligible = sum(
        line.total_cents
        for line in totals.lines
        if line.allergan and line.kind in (CheckoutLineKind.SERVICE, CheckoutLineKind.PRODUCT)
    )
    alle_used = 0
    for i, tender in enumerate(tenders):
        where = f"tenders.{i}"
        if not 0 < tender.amount_cents <= MAX_TOTAL_CENTS:
            raise invalid(f"{where}.amountCents", "A tender is a positive amount.")
        if tender.kind is TenderKind.CARD_ON_FILE and not tender.payment_method:
            raise invalid(f"{where}.paymentMethod", "A card on file names its payment method.")
        if tender.kind is TenderKind.TERMINAL and not tender.reader:
            raise invalid(f"{where}.reader", "A terminal tender names the location's reader.")
        if tender.kind is TenderKind.EXTERNAL:
            if tender.programme is None:
                raise invalid(f"{where}.programme", "Name the programme.")
            clean_text(tender.authorization_code, f"{where}.authorizationCode", required=True)
        elif tender.programme is not None or tender.authorization_code is not None:
            raise invalid(f"{where}.programme", "Only external programmes carry a code.")
        if tender.programme is ExternalProgramme.ALLE:
            points = tender.alle_points or 0
            if points <= 0 or points % ALLE_POINTS_STEP:
                raise invalid(f"{where}.allePoints", "Allē points apply 100 at a time.")
            if tender.amount_cents != points // ALLE_POINTS_STEP * ALLE_CENTS_PER_STEP:
                raise invalid(f"{where}.amountCents", "100 Allē points are worth $10.")
            if kind is not CheckoutKind.VISIT:
                raise invalid(
                    f"{where}.programme", "Allē points pay only for a visit's treatments."
                )
            alle_used += tender.amount_cents
        elif tender.alle_points is not None:
            raise invalid(f"{where}.allePoints", "Points are for the Allē programme.")
    if alle_used > alle_eligible:
        raise invalid("tenders", "Allē points pay only for Allergan products used at this visit.")
    paid = sum(t.amount_cents for t in tenders)
    if paid != totals.total_cents:
        raise invalid(
            "tenders", f"The tenders pay {paid} cents of a {totals.total_cents} cents total."
        )
