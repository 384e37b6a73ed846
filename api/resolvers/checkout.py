"""Checkout (issue 18): a patient pays for a service visit or a retail checkout.

- `compute_totals` is the one place totals are computed; they are stored with the lines and
  the database re-checks the sums (migration 0013).
- Card tenders go through the `PaymentProcessor` in two phases (authorise every card, then
  capture all, or cancel the approved ones when one is declined), so a declined tender leaves
  nothing charged; the mutation's savepoint rolls back every row written before.
- A completed checkout is immutable; refunds (per tender, partial or full) and voids (every
  tender's remainder, with a reason) are rows of their own.
- Scopes: `checkout.create` / `checkout.refund` reach a checkout through its provider (OWN: a
  provider's own; TENANT: the admin's medspa; ANY: platform staff). Reading checkouts is
  `earnings.read`, by the same anchor.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, literal, select, text

from api.authz.actions import Action
from api.authz.scopes import Anchor, register
from api.errors import (
    ApiError,
    DomainError,
    DomainErrorCode,
    ErrorCode,
    Problem,
    invalid,
    not_found,
)
from api.payments import Authorization, CardSource, PaymentProcessor, processor_for
from api.resolvers.batching import many_per_key, rows_by_ids
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
    ExternalProgramme,
    Medspa,
    Patient,
    PatientPaymentMethod,
    Provider,
    Service,
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


def _text(value: str | None, field_name: str, *, required: bool) -> str | None:
    stripped = (value or "").strip()
    if not stripped:
        if required:
            raise invalid(field_name, "Required.")
        return None
    if len(stripped) > MAX_TEXT:
        raise invalid(field_name, f"At most {MAX_TEXT} characters.")
    return stripped


def _key(idempotency_key: str, field_name: str = "idempotencyKey") -> str:
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise invalid(field_name, f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.")
    return key


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


@dataclass(frozen=True)
class EarningsMonth:
    month: date  # the first day of the month, in the medspa's time zone
    sales_cents: int  # totals without tips
    tips_cents: int
    refunds_cents: int
    net_cents: int
    checkout_count: int


MAX_MONTHS = 24


def _month_back(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


async def earnings_series(
    ctx: Context, *, provider_id: uuid.UUID | None, months: int
) -> list[EarningsMonth]:
    """Monthly totals of completed (not voided) checkouts in the caller's scope, the last
    `months` months (the current one included) in each medspa's time zone; months without
    checkouts answer zeros. One statement, whatever the number of checkouts."""
    ctx.authorize(Action.EARNINGS_READ)
    if months < 1 or months > MAX_MONTHS:
        raise ApiError(ErrorCode.BAD_USER_INPUT, f"months: between 1 and {MAX_MONTHS}.")
    zone_name = "UTC"
    if ctx.principal.medspa_id is not None:
        zone_name = (
            await ctx.session.execute(
                select(Medspa.time_zone).where(Medspa.id == ctx.principal.medspa_id)
            )
        ).scalar_one_or_none() or "UTC"
    this_month = datetime.now(ZoneInfo(zone_name)).date().replace(day=1)
    start = _month_back(this_month, months - 1)
    local_month = cast(
        func.date_trunc("month", func.timezone(Medspa.time_zone, Checkout.completed_at)), Date
    ).label("month")
    stmt = (
        select(
            local_month,
            func.coalesce(func.sum(Checkout.total_cents - Checkout.tip_cents), 0),
            func.coalesce(func.sum(Checkout.tip_cents), 0),
            func.coalesce(func.sum(Checkout.refunded_cents), 0),
            func.count(),
        )
        .join(Medspa, Medspa.id == Checkout.medspa_id)
        .where(
            ctx.scope(Action.EARNINGS_READ, ANCHOR),
            Checkout.status == CheckoutStatus.COMPLETED,
            local_month >= literal(start, Date),
        )
        .group_by(text("1"))
    )
    if provider_id is not None:
        stmt = stmt.where(Checkout.provider_id == provider_id)
    found = {
        row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4]))
        for row in (await ctx.session.execute(stmt)).all()
    }
    series: list[EarningsMonth] = []
    for back in range(months - 1, -1, -1):
        month = _month_back(this_month, back)
        sales, tips, refunds, count = found.get(month, (0, 0, 0, 0))
        series.append(
            EarningsMonth(
                month=month,
                sales_cents=sales,
                tips_cents=tips,
                refunds_cents=refunds,
                net_cents=sales + tips - refunds,
                checkout_count=count,
            )
        )
    return series


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


# ---------------------------------------------------------------------------- checking out


@dataclass
class _Charges:
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


async def _price_lines(
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
        description = _text(line.description, f"{where}.description", required=False)
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
            redeems_line_id, description = await _redemption(
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


def _redeemed(line_ids: Any) -> Any:
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


async def _redemption(
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
    used = (await ctx.session.execute(_redeemed([sold.id]))).first()
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
        for row in await ctx.session.execute(_redeemed([line.id for line, _ in sold]))
    }
    items = [
        PrepaidItem(line, checkout, line.quantity - used.get(line.id, 0)) for line, checkout in sold
    ]
    return [item for item in items if item.left > 0]


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


def _check_tenders(kind: CheckoutKind, totals: Totals, tenders: Sequence[TenderSpec]) -> None:
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
            _text(tender.authorization_code, f"{where}.authorizationCode", required=True)
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


async def _saved_cards(
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


async def _authorize_cards(
    processor: PaymentProcessor,
    *,
    base_key: str,
    currency: str,
    tenders: Sequence[TenderSpec],
) -> _Charges:
    """Authorise every card tender; on the first decline cancel the approved ones and refuse."""
    charges = _Charges(processor)
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


async def _lock_credit(ctx: Context, patient_id: uuid.UUID) -> None:
    """Serialise account-credit changes of one patient (the balance is a sum of entries)."""
    await ctx.session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(str(patient_id), 18)))
    )


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
    key = _key(idempotency_key)
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

    priced = await _price_lines(
        ctx, kind=kind, medspa_id=medspa_id, patient_id=patient_ref, lines=lines
    )
    totals = compute_totals(priced, checkout_discount_cents=discount_cents, tip_cents=tip_cents)
    _check_tenders(kind, totals, tenders)
    tenders = await _saved_cards(ctx, patient_ref, tenders)
    credit_spent = sum(t.amount_cents for t in tenders if t.kind is TenderKind.ACCOUNT_CREDIT)
    if credit_spent:
        await _lock_credit(ctx, patient_ref)
        balance = await credit_balance(ctx, patient_ref)
        if credit_spent > balance:
            raise invalid(
                "tenders",
                f"The patient's account credit is {balance} cents.",
                DomainErrorCode.INSUFFICIENT_CREDIT,
            )

    currency = ctx.settings.currency
    processor = processor_for(ctx.settings)
    charges = await _authorize_cards(
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
    charges: _Charges,
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
                authorization_code=_text(tender.authorization_code, "code", required=False),
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


# ---------------------------------------------------------------------------- refunds and voids


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
    await _lock_credit(ctx, checkout.patient_id)
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
    key = _key(idempotency_key)
    text_reason = _text(reason, "reason", required=False)
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
    text_reason = _text(reason, "reason", required=True)
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
    if (await ctx.session.execute(_redeemed(sold_prepaid))).first() is not None:
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
        charges = await _authorize_cards(
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
    method = _text(payment_method, "paymentMethod", required=True)
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
        customer=_text(customer, "customer", required=False),
        payment_method=method,
        label=(_text(label, "label", required=False) or "")[:60] or None,
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
