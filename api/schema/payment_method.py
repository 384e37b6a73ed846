"""A patient's cards on file (issue 18): the type and its root fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

import strawberry

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import checkout_payment
from api.schema.node import encode_global_id
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]


def _id(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    return decode_id_of(value, type_name) if value else None


@strawberry.type(description="A card on file: the processor's ids, never a card number.")
class PaymentMethod:
    id: strawberry.ID
    processor: str
    customer: str | None
    payment_method: str
    label: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.PatientPaymentMethod) -> PaymentMethod:
        return cls(
            id=encode_global_id("PaymentMethod", row.id),
            processor=row.processor,
            customer=row.customer,
            payment_method=row.payment_method,
            label=row.label,
            created_at=row.created_at,
        )


@strawberry.type
class PaymentMethodPayload(Payload):
    payment_method: PaymentMethod | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(payment_method=PaymentMethod.from_row(result))


@strawberry.type
class PaymentMethodQuery:
    @strawberry.field(description="A patient's cards on file (for checking them out).")
    async def patient_payment_methods(
        self, info: Info, patient_id: strawberry.ID
    ) -> list[PaymentMethod]:
        rows = await checkout_payment.payment_methods_of(
            info.context, patient_id=_id(patient_id, "Patient")
        )
        return [PaymentMethod.from_row(r) for r in rows]


@strawberry.type
class PaymentMethodMutation:
    @strawberry.mutation(description="Save a patient's card on file (never while masquerading).")
    async def add_patient_payment_method(
        self,
        info: Info,
        patient_id: strawberry.ID,
        payment_method: str,
        customer: str | None = None,
        label: str | None = None,
    ) -> PaymentMethodPayload:
        return await PaymentMethodPayload.run(
            info,
            Action.PAYMENT_METHOD_MANAGE,
            lambda: checkout_payment.add_payment_method(
                info.context,
                patient_id=_id(patient_id, "Patient"),
                payment_method=payment_method,
                customer=customer,
                label=label,
            ),
        )

    @strawberry.mutation(description="Remove a card on file (never while masquerading).")
    async def remove_patient_payment_method(
        self, info: Info, id: strawberry.ID
    ) -> PaymentMethodPayload:
        return await PaymentMethodPayload.run(
            info,
            Action.PAYMENT_METHOD_MANAGE,
            lambda: checkout_payment.remove_payment_method(
                info.context, payment_method_id=_id(id, "PaymentMethod")
            ),
        )
