"""Future-use products a patient has prepaid (issue 18): the type and its root field."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import checkout_prepaid
from api.schema.node import encode_global_id

Info = strawberry.Info[Context, None]


def _id(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    return decode_id_of(value, type_name) if value else None


@strawberry.type(description="Prepaid units of a future-use product the patient has left.")
class PrepaidItem:
    line_id: strawberry.ID = strawberry.field(description="Redeem it with this id.")
    checkout_id: strawberry.ID
    description: str
    quantity: int = strawberry.field(description="Units bought.")
    left: int = strawberry.field(description="Units not used yet.")
    bought_at: datetime | None

    @classmethod
    def from_item(cls, item: checkout_prepaid.PrepaidItem) -> PrepaidItem:
        return cls(
            line_id=encode_global_id("CheckoutLine", item.line.id),
            checkout_id=encode_global_id("Checkout", item.checkout.id),
            description=item.line.description,
            quantity=item.line.quantity,
            left=item.left,
            bought_at=item.checkout.completed_at,
        )


@strawberry.type
class PrepaidItemQuery:
    @strawberry.field(
        description="A patient's future-use products with units left (redeemed at a visit)."
    )
    async def patient_prepaid_items(
        self, info: Info, patient_id: strawberry.ID
    ) -> list[PrepaidItem]:
        items = await checkout_prepaid.prepaid_items(
            info.context, patient_id=_id(patient_id, "Patient")
        )
        return [PrepaidItem.from_item(i) for i in items]
