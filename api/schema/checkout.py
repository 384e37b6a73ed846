"""Checkout (issue 18): types, inputs, payloads and root fields. Cards on file are
`payment_method`, monthly earnings `earnings`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import (
    checkout,
    checkout_pricing,
    checkout_refund,
)
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from db import models

if TYPE_CHECKING:
    from api.schema.chart import ServiceVisit
    from api.schema.patient import Patient
    from api.schema.provider import Provider

Info = strawberry.Info[Context, None]
LazyPatient = Annotated["Patient", strawberry.lazy("api.schema.patient")]
LazyProvider = Annotated["Provider", strawberry.lazy("api.schema.provider")]
LazyServiceVisit = Annotated["ServiceVisit", strawberry.lazy("api.schema.chart")]

CheckoutKind = strawberry.enum(models.CheckoutKind, description="End of a visit, or retail.")
CheckoutStatus = strawberry.enum(models.CheckoutStatus)
CheckoutLineKind = strawberry.enum(models.CheckoutLineKind)
TenderKind = strawberry.enum(models.TenderKind)
ExternalProgramme = strawberry.enum(
    models.ExternalProgramme, description="Financing and rewards programmes paid with a code."
)


@strawberry.type(description="One line of a checkout; money in integer cents.")
class CheckoutLine:
    id: strawberry.ID
    position: int
    kind: CheckoutLineKind  # type: ignore[valid-type]
    description: str
    quantity: int
    unit_price_cents: int
    discount_cents: int
    total_cents: int
    allergan: bool
    service_id: strawberry.ID | None
    appointment_id: strawberry.ID | None
    redeems_line_id: strawberry.ID | None = strawberry.field(
        description="REDEMPTION: the FUTURE_USE_PRODUCT line whose prepaid units it uses."
    )

    @classmethod
    def from_row(cls, row: models.CheckoutLine) -> CheckoutLine:
        return cls(
            id=encode_global_id("CheckoutLine", row.id),
            redeems_line_id=encode_global_id("CheckoutLine", row.redeems_line_id)
            if row.redeems_line_id
            else None,
            position=row.position,
            kind=row.kind,
            description=row.description,
            quantity=row.quantity,
            unit_price_cents=row.unit_price_cents,
            discount_cents=row.discount_cents,
            total_cents=row.total_cents,
            allergan=row.allergan,
            service_id=encode_global_id("Service", row.service_id) if row.service_id else None,
            appointment_id=encode_global_id("Appointment", row.appointment_id)
            if row.appointment_id
            else None,
        )


@strawberry.type(description="How part of a checkout was paid.")
class CheckoutTender:
    id: strawberry.ID
    position: int
    kind: TenderKind  # type: ignore[valid-type]
    amount_cents: int
    programme: ExternalProgramme | None  # type: ignore[valid-type]
    authorization_code: str | None
    alle_points: int | None
    processor: str | None
    card_last4: str | None

    @classmethod
    def from_row(cls, row: models.CheckoutTender) -> CheckoutTender:
        return cls(
            id=encode_global_id("CheckoutTender", row.id),
            position=row.position,
            kind=row.kind,
            amount_cents=row.amount_cents,
            programme=row.programme,
            authorization_code=row.authorization_code,
            alle_points=row.alle_points,
            processor=row.processor,
            card_last4=row.card_last4,
        )


@strawberry.type(description="Money given back on one tender (a refund, or part of a void).")
class CheckoutRefund:
    id: strawberry.ID
    tender_id: strawberry.ID
    amount_cents: int
    reason: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.CheckoutRefund) -> CheckoutRefund:
        return cls(
            id=encode_global_id("CheckoutRefund", row.id),
            tender_id=encode_global_id("CheckoutTender", row.tender_id),
            amount_cents=row.amount_cents,
            reason=row.reason,
            created_at=row.created_at,
        )


@strawberry.type(description="A completed (immutable) checkout: its lines, tenders and refunds.")
class Checkout(Node):
    kind: CheckoutKind  # type: ignore[valid-type]
    status: CheckoutStatus  # type: ignore[valid-type]
    currency: str
    subtotal_cents: int
    discount_cents: int = strawberry.field(description="Line discounts plus the checkout's.")
    checkout_discount_cents: int
    tip_cents: int
    total_cents: int
    refunded_cents: int
    completed_at: datetime
    voided_at: datetime | None
    void_reason: str | None
    row: Private[models.Checkout]

    @classmethod
    def from_row(cls, row: models.Checkout) -> Checkout:
        return cls(
            id=encode_global_id("Checkout", row.id),
            kind=row.kind,
            status=row.status,
            currency=row.currency,
            subtotal_cents=row.subtotal_cents,
            discount_cents=row.discount_cents,
            checkout_discount_cents=row.checkout_discount_cents,
            tip_cents=row.tip_cents,
            total_cents=row.total_cents,
            refunded_cents=row.refunded_cents,
            completed_at=row.completed_at,
            voided_at=row.voided_at,
            void_reason=row.void_reason,
            row=row,
        )

    @strawberry.field
    async def lines(self, info: Info) -> list[CheckoutLine]:
        rows = await info.context.loaders.checkouts.lines.load(self.row.id)
        return [CheckoutLine.from_row(r) for r in rows]

    @strawberry.field
    async def tenders(self, info: Info) -> list[CheckoutTender]:
        rows = await info.context.loaders.checkouts.tenders.load(self.row.id)
        return [CheckoutTender.from_row(r) for r in rows]

    @strawberry.field
    async def refunds(self, info: Info) -> list[CheckoutRefund]:
        rows = await info.context.loaders.checkouts.refunds.load(self.row.id)
        return [CheckoutRefund.from_row(r) for r in rows]

    @strawberry.field
    async def patient(self, info: Info) -> LazyPatient | None:
        from api.schema.patient import Patient

        row = await info.context.loaders.patient_by_id.load(self.row.patient_id)
        return Patient.from_row(row) if row else None

    @strawberry.field
    async def provider(self, info: Info) -> LazyProvider | None:
        from api.schema.provider import Provider

        row = await info.context.loaders.provider_by_id.load(self.row.provider_id)
        return Provider.from_row(row) if row else None

    @strawberry.field
    async def service_visit(self, info: Info) -> LazyServiceVisit | None:
        from api.schema.chart import ServiceVisit

        if self.row.service_visit_id is None:
            return None
        row = await info.context.loaders.services.visit_by_id.load(self.row.service_visit_id)
        return ServiceVisit.from_row(row) if row else None


@strawberry.input(description="A line: a service (visit), a product, credit or a fee.")
class CheckoutLineInput:
    kind: CheckoutLineKind  # type: ignore[valid-type]
    description: str | None = None
    quantity: int = 1
    unit_price_cents: int | None = strawberry.field(
        default=None, description="Services default to their price; fees are set by the booking."
    )
    discount_cents: int = 0
    service_id: strawberry.ID | None = None
    appointment_id: strawberry.ID | None = strawberry.field(
        default=None, description="The late-cancelled appointment of a CANCELLATION_FEE line."
    )
    allergan: bool = strawberry.field(
        default=False, description="An Allergan product (Allē points may pay for it)."
    )
    redeems_line_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="REDEMPTION (visits): the prepaid line (see patientPrepaidItems) it uses.",
    )


@strawberry.input(description="One tender of a split payment.")
class TenderInput:
    kind: TenderKind  # type: ignore[valid-type]
    amount_cents: int
    payment_method: str | None = strawberry.field(
        default=None, description="CARD_ON_FILE: the saved payment method."
    )
    customer: str | None = strawberry.field(
        default=None, description="CARD_ON_FILE: the processor's customer of the patient."
    )
    reader: str | None = strawberry.field(
        default=None, description="TERMINAL: the location's card reader."
    )
    programme: ExternalProgramme | None = None  # type: ignore[valid-type]
    authorization_code: str | None = None
    alle_points: int | None = strawberry.field(
        default=None, description="ALLE: points used, 100 at a time (100 points = $10)."
    )


@strawberry.input
class CreateCheckoutInput:
    idempotency_key: str = strawberry.field(
        description="The same key answers the same checkout, never a second charge."
    )
    lines: list[CheckoutLineInput]
    tenders: list[TenderInput]
    service_visit_id: strawberry.ID | None = strawberry.field(
        default=None, description="Check out this visit; without it, a retail checkout."
    )
    patient_id: strawberry.ID | None = None
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="Retail: whose checkout (default: you, as a provider)."
    )
    discount_cents: int = 0
    tip_cents: int = 0


@strawberry.input(description="The saved card that pays a booking's deposit.")
class DepositPaymentInput:
    payment_method: str
    customer: str | None = None

    def to_payment(self) -> checkout.DepositPayment:
        return checkout.DepositPayment(payment_method=self.payment_method, customer=self.customer)


def deposit_payment(value: DepositPaymentInput | None) -> checkout.DepositPayment | None:
    return value.to_payment() if value is not None else None


@strawberry.input
class TenderRefundInput:
    tender_id: strawberry.ID
    amount_cents: int


@strawberry.input
class RefundCheckoutInput:
    id: strawberry.ID
    idempotency_key: str
    refunds: list[TenderRefundInput]
    reason: str | None = None


@strawberry.type
class CheckoutPayload(Payload):
    checkout: Checkout | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(checkout=Checkout.from_row(result))


def _id(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    return decode_id_of(value, type_name) if value else None


def _line(line: CheckoutLineInput) -> checkout_pricing.LineSpec:
    return checkout_pricing.LineSpec(
        kind=models.CheckoutLineKind(line.kind),
        description=line.description,
        quantity=line.quantity,
        unit_price_cents=line.unit_price_cents,
        discount_cents=line.discount_cents,
        service_id=_id(line.service_id, "Service"),
        appointment_id=_id(line.appointment_id, "Appointment"),
        allergan=line.allergan,
        redeems_line_id=_id(line.redeems_line_id, "CheckoutLine"),
    )


def _tender(tender: TenderInput) -> checkout_pricing.TenderSpec:
    return checkout_pricing.TenderSpec(
        kind=models.TenderKind(tender.kind),
        amount_cents=tender.amount_cents,
        payment_method=tender.payment_method,
        customer=tender.customer,
        reader=tender.reader,
        programme=models.ExternalProgramme(tender.programme) if tender.programme else None,
        authorization_code=tender.authorization_code,
        alle_points=tender.alle_points,
    )


@strawberry.type
class CheckoutQuery:
    @strawberry.field(description="Processed transactions (checkouts), newest first.")
    async def earnings_transactions(
        self,
        info: Info,
        provider_id: strawberry.ID | None = None,
        patient_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Checkout]:
        page = await checkout.list_checkouts(
            info.context,
            provider_id=_id(provider_id, "Provider"),
            patient_id=_id(patient_id, "Patient"),
            first=first,
            after=after,
        )
        return Connection.from_page(page, Checkout.from_row)


@strawberry.type
class CheckoutMutation:
    @strawberry.mutation(description="Check out a visit or a retail sale; charges every tender.")
    async def create_checkout(self, info: Info, input: CreateCheckoutInput) -> CheckoutPayload:
        return await CheckoutPayload.run(
            info,
            Action.CHECKOUT_CREATE,
            lambda: checkout.create_checkout(
                info.context,
                idempotency_key=input.idempotency_key,
                patient_id=_id(input.patient_id, "Patient"),
                service_visit_id=_id(input.service_visit_id, "ServiceVisit"),
                provider_id=_id(input.provider_id, "Provider"),
                lines=[_line(line) for line in input.lines],
                tenders=[_tender(t) for t in input.tenders],
                discount_cents=input.discount_cents,
                tip_cents=input.tip_cents,
            ),
        )

    @strawberry.mutation(description="Refund part or all of some tenders of a checkout.")
    async def refund_checkout(self, info: Info, input: RefundCheckoutInput) -> CheckoutPayload:
        return await CheckoutPayload.run(
            info,
            Action.CHECKOUT_REFUND,
            lambda: checkout_refund.refund_checkout(
                info.context,
                checkout_id=_id(input.id, "Checkout"),
                refunds=[
                    checkout_pricing.RefundSpec(
                        tender_id=_id(r.tender_id, "CheckoutTender"), amount_cents=r.amount_cents
                    )
                    for r in input.refunds
                ],
                reason=input.reason,
                idempotency_key=input.idempotency_key,
            ),
        )

    @strawberry.mutation(description="Void a checkout with a reason: every tender is refunded.")
    async def void_checkout(self, info: Info, id: strawberry.ID, reason: str) -> CheckoutPayload:
        return await CheckoutPayload.run(
            info,
            Action.CHECKOUT_REFUND,
            lambda: checkout_refund.void_checkout(
                info.context, checkout_id=_id(id, "Checkout"), reason=reason
            ),
        )


async def _fetch_checkout(ctx: Context, id_: uuid.UUID) -> Checkout | None:
    row = await ctx.loaders.checkouts.checkout_by_id.load(id_)
    return Checkout.from_row(row) if row else None


node_type("Checkout", _fetch_checkout)

CHECKOUT_TYPES = [Checkout]
