"""Earnings (issue 18): a provider's monthly totals in the medspa's time zone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, literal, select, text

from api.authz.actions import Action
from api.errors import (
    ApiError,
    ErrorCode,
)
from api.resolvers.checkout import ANCHOR
from db.models import (
    Checkout,
    CheckoutStatus,
    Medspa,
)

if TYPE_CHECKING:
    from api.context import Context


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
