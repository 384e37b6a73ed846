"""What every scheduling use case shares: the LEGACY gate and the time input rules.

- LEGACY medspas keep their calendar in Acuity (DESIGN §2): their scheduling-settings writes
  and bookings answer `FEATURE_UNAVAILABLE` in the payload; reads still work.
- Time inputs (`as_instant`, the one rule): an ISO date-time with an offset is an instant; one
  without is a wall-clock time in the location's zone, and refused where no zone applies.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import aliased

from api.authz.principal import Principal
from api.authz.scopes import Anchor
from api.errors import (
    ApiError,
    DomainError,
    DomainErrorCode,
    ErrorCode,
    Problem,
    forbidden,
    invalid,
    not_found,
)
from db.models import BusinessModel, Medspa, Provider, ProviderLocation

if TYPE_CHECKING:
    from api.context import Context

MAX_RANGE = timedelta(days=62)


# Provider rows as the target of scheduling actions (book for, configure, set hours of).
def provider_at_locations(principal: Principal) -> ColumnElement[bool]:
    """A key limited to locations reaches the providers who work at one of them."""
    # An alias, correlated to the provider only: the outer query may join provider_location.
    works = aliased(ProviderLocation)
    return (
        exists()
        .where(
            works.medspa_id == Provider.medspa_id,
            works.provider_id == Provider.id,
            works.location_id.in_(sorted(principal.location_ids or ())),
        )
        .correlate_except(works)
    )


PROVIDER_TARGET = Anchor(
    medspa=Provider.medspa_id, provider=Provider.id, location=provider_at_locations
)


async def require_scheduling(ctx: Context, medspa_id: uuid.UUID) -> Medspa:
    """The medspa, unless its calendar lives outside this API (LEGACY)."""
    medspa = await ctx.session.get(Medspa, medspa_id)
    if medspa is None:  # RLS hid it: the caller does not reach this tenant at all
        raise not_found()
    if medspa.business_model is BusinessModel.LEGACY:
        raise DomainError(
            Problem(
                DomainErrorCode.FEATURE_UNAVAILABLE,
                "This medspa schedules in Acuity; scheduling in this API is not available.",
            )
        )
    return medspa


def tenant_of(ctx: Context) -> uuid.UUID:
    """The active medspa of a TENANT-scoped write (admins, providers, partners)."""
    medspa_id = ctx.principal.medspa_id
    if medspa_id is None:
        raise forbidden("Choose a medspa first.")
    return medspa_id


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check_time_zone(name: str, field: str = "timeZone") -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(field, "Unknown IANA time zone.") from exc
    if name not in available_timezones():
        raise invalid(field, "Unknown IANA time zone.")
    return name


def as_instant(value: datetime, tz: ZoneInfo | None = None, *, field: str = "from") -> datetime:
    """The one rule for time inputs: a value with an offset is an instant; a naive value is a
    wall-clock time in `tz` (the location's zone), and refused where no zone reads it (the
    calendar spans locations)."""
    if value.tzinfo is None:
        if tz is None:
            raise ApiError(
                ErrorCode.BAD_USER_INPUT,
                f"`{field}` needs a UTC offset (e.g. 2026-03-09T00:00Z).",
            )
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def check_range(start: datetime, end: datetime, *, limit: timedelta = MAX_RANGE) -> None:
    """Query ranges are bounded; beyond the bound is a top-level validation error."""
    if end <= start:
        raise ApiError(ErrorCode.BAD_USER_INPUT, "`to` must be after `from`.")
    if end - start > limit:
        raise ApiError(
            ErrorCode.BAD_USER_INPUT,
            f"The range is limited to {limit.days} days; ask for a shorter one.",
            field="to",
            maxDays=limit.days,
        )
