"""What every scheduling use case shares: the LEGACY gate, object look-ups, time input rules.

- LEGACY medspas keep their calendar in Acuity (DESIGN §2): their scheduling-settings writes
  and bookings answer `FEATURE_UNAVAILABLE` in the payload; reads still work.
- `find_for_action` is "invisible equals absent" for writes: a row outside the read scope is
  NOT_FOUND, a visible row outside the action's scope is FORBIDDEN; both are audited.
- Time inputs: an ISO date-time with an offset is an instant; one without is a wall-clock
  time in the location's zone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from api.authz.actions import Action
from api.authz.scopes import Anchor
from api.errors import ApiError, DomainError, ErrorCode, Problem, forbidden, invalid, not_found
from db.models import AuditOutcome, BusinessModel, Medspa, Provider

if TYPE_CHECKING:
    from api.context import Context

FEATURE_UNAVAILABLE = "FEATURE_UNAVAILABLE"
MAX_RANGE = timedelta(days=62)

# Provider rows as the target of scheduling actions (book for, configure, set hours of).
PROVIDER_TARGET = Anchor(medspa=Provider.medspa_id, provider=Provider.id)


async def require_scheduling(ctx: Context, medspa_id: uuid.UUID) -> Medspa:
    """The medspa, unless its calendar lives outside this API (LEGACY)."""
    medspa = await ctx.session.get(Medspa, medspa_id)
    if medspa is None:  # RLS hid it: the caller does not reach this tenant at all
        raise not_found()
    if medspa.business_model is BusinessModel.LEGACY:
        raise DomainError(
            Problem(
                FEATURE_UNAVAILABLE,
                "This medspa schedules in Acuity; scheduling in this API is not available.",
            )
        )
    return medspa


async def find_for_action(
    ctx: Context,
    *,
    model: Any,
    row_id: uuid.UUID | None,
    action: Action,
    anchor: Anchor,
    read_action: Action,
    read_anchor: Anchor,
    resource_type: str,
) -> Any:
    """The row `row_id` of `model` on which the principal may `action`, or an audited error."""
    row = None
    allowed = False
    if row_id is not None:
        found = (
            await ctx.session.execute(
                select(model, ctx.scope(action, anchor).label("allowed")).where(
                    model.id == row_id, ctx.scope(read_action, read_anchor)
                )
            )
        ).first()
        if found is not None:
            row, allowed = found[0], bool(found[1])
    if row is None or not allowed:
        ctx.audit(
            action.value,
            AuditOutcome.DENIED,
            resource_type=resource_type,
            resource_id=row_id,
            detail={"reason": "not found or outside scope" if row is None else "outside scope"},
        )
        if row is None:
            raise not_found(f"{resource_type} not found.")
        raise forbidden(f"You are not allowed to {action.value} this {resource_type}.")
    return row


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


def as_instant(value: datetime, tz: ZoneInfo) -> datetime:
    """An aware UTC instant; a naive value is a wall-clock time in `tz`."""
    if value.tzinfo is None:
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
