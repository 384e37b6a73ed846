"""Shared look-ups and documents of the checkout tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from api.payments import processor_for
from api.payments.builtin import BuiltinProcessor
from db.seed.demo import DemoIds
from tests.conftest import TEST_SETTINGS, Gql
from tests.services.helpers import gid, scalar

CHECKOUT_FIELDS = """
  id kind status currency subtotalCents discountCents checkoutDiscountCents tipCents
  totalCents refundedCents voidReason
  lines { position kind description quantity unitPriceCents discountCents totalCents }
  tenders { id kind amountCents programme authorizationCode allePoints processor }
  refunds { tenderId amountCents reason }
"""

CREATE = f"""
mutation($input: CreateCheckoutInput!) {{
  createCheckout(input: $input) {{
    errors {{ code field message }} checkout {{ {CHECKOUT_FIELDS} }}
  }}
}}
"""

REFUND = f"""
mutation($input: RefundCheckoutInput!) {{
  refundCheckout(input: $input) {{
    errors {{ code field message }} checkout {{ {CHECKOUT_FIELDS} }}
  }}
}}
"""

VOID = f"""
mutation($id: ID!, $reason: String!) {{
  voidCheckout(id: $id, reason: $reason) {{
    errors {{ code field message }} checkout {{ {CHECKOUT_FIELDS} }}
  }}
}}
"""


def builtin() -> BuiltinProcessor:
    processor = processor_for(TEST_SETTINGS)
    assert isinstance(processor, BuiltinProcessor)
    return processor


async def patient_only_of(engine: AsyncEngine, demo: DemoIds, provider: str) -> uuid.UUID:
    """A patient who sees `provider` and no other provider (so OWN scope tells them apart)."""
    found: uuid.UUID = await scalar(
        engine,
        "SELECT patient_id FROM appointment GROUP BY patient_id"
        " HAVING bool_and(provider_id = :p) ORDER BY patient_id LIMIT 1",
        p=demo.providers[provider],
    )
    return found


def cash_sale(patient: uuid.UUID, provider_id: uuid.UUID, cents: int = 5_000) -> dict[str, Any]:
    return {
        "idempotencyKey": str(uuid.uuid4()),
        "patientId": gid("Patient", patient),
        "providerId": gid("Provider", provider_id),
        "lines": [{"kind": "PRODUCT", "description": "Sunscreen SPF 50", "unitPriceCents": cents}],
        "tenders": [{"kind": "CASH", "amountCents": cents}],
    }


async def checkout_as(gql: Gql, who: str, input_: dict[str, Any], **kw: Any) -> dict[str, Any]:
    answer = await gql(CREATE, {"input": input_}, as_=who, **kw)
    assert answer.errors == [], answer.body
    payload: dict[str, Any] = answer.data["createCheckout"]
    return payload
