"""Earnings (issue 18): a provider's monthly totals, and the `earnings` root field (the
transactions are checkouts: `earningsTransactions`)."""

from __future__ import annotations

import uuid
from datetime import date

import strawberry

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import earnings

Info = strawberry.Info[Context, None]


def _id(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    return decode_id_of(value, type_name) if value else None


@strawberry.type(description="One month of earnings, in the medspa's time zone.")
class EarningsMonth:
    month: date = strawberry.field(description="The first day of the month.")
    currency: str
    sales_cents: int = strawberry.field(description="Checkout totals without tips.")
    tips_cents: int
    refunds_cents: int
    net_cents: int = strawberry.field(description="Sales plus tips minus refunds.")
    checkout_count: int


@strawberry.type
class EarningsQuery:
    @strawberry.field(
        description="Monthly earnings (provider dashboard: yours; admins: every provider's)."
    )
    async def earnings(
        self, info: Info, provider_id: strawberry.ID | None = None, months: int = 6
    ) -> list[EarningsMonth]:
        series = await earnings.earnings_series(
            info.context, provider_id=_id(provider_id, "Provider"), months=months
        )
        currency = info.context.settings.currency
        return [
            EarningsMonth(
                month=m.month,
                currency=currency,
                sales_cents=m.sales_cents,
                tips_cents=m.tips_cents,
                refunds_cents=m.refunds_cents,
                net_cents=m.net_cents,
                checkout_count=m.checkout_count,
            )
            for m in series
        ]
