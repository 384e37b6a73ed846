"""Locations of a medspa; active ones with a booking slug are public.

Reads, then the writes of the Scheduling tab (create, update, activate, booking slug), which
are medspa-admin-only (`location.manage`) and unavailable to LEGACY medspas.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.authz.actions import Action
from api.authz.scopes import Anchor, at_locations, register
from api.errors import DomainError, DomainErrorCode, Problem, invalid
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from api.resolvers.scheduling import check_time_zone, require_scheduling, tenant_of
from db.models import Location

if TYPE_CHECKING:
    from api.context import Context
ANCHOR = register(
    Location,
    Anchor(
        medspa=Location.medspa_id,
        public=Location.active_for_scheduling.is_(True) & Location.booking_slug.is_not(None),
        location=at_locations(Location.id),
    ),
    read=Action.LOCATION_READ,
)
SORT = SortKey((Location.name, Location.id), ("name", "id"))


async def locations_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Location | None]:
    return await rows_by_ids(ctx, Location, ids, ctx.scope(Action.LOCATION_READ, ANCHOR))


async def locations_by_medspa(
    ctx: Context, keys: Sequence[tuple[uuid.UUID, int | None, str | None]]
) -> list[Page[Location]]:
    """Location pages for many medspas in one statement per distinct (first, after)."""
    stmt = select(Location).where(ctx.scope(Action.LOCATION_READ, ANCHOR))
    return await paginate_grouped(
        ctx.session,
        stmt,
        entity=Location,
        group_by=Location.medspa_id,
        group_attribute="medspa_id",
        keys=keys,
        sort=SORT,
    )


SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class LocationChanges:
    """Fields to set; None leaves a field as is. `clear_booking_slug` removes the link."""

    name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    time_zone: str | None = None
    booking_slug: str | None = None
    clear_booking_slug: bool = False
    active_for_scheduling: bool | None = None


_TEXT_FIELDS = (
    ("name", "name", 200),
    ("address_line1", "addressLine1", 200),
    ("city", "city", 100),
    ("region", "region", 100),
    ("postal_code", "postalCode", 20),
)


def _apply(row: Location, changes: LocationChanges) -> None:
    for attribute, field, limit in _TEXT_FIELDS:
        value = getattr(changes, attribute)
        if value is not None:
            value = value.strip()
            if not value or len(value) > limit:
                raise invalid(field, f"Must be 1 to {limit} characters.")
            setattr(row, attribute, value)
    if changes.address_line2 is not None:
        line2 = changes.address_line2.strip()
        if len(line2) > 200:
            raise invalid("addressLine2", "At most 200 characters.")
        row.address_line2 = line2 or None
    if changes.country is not None:
        country = changes.country.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise invalid("country", "An ISO 3166 two-letter country code.")
        row.country = country
    if changes.time_zone is not None:
        row.time_zone = check_time_zone(changes.time_zone.strip())
    if changes.clear_booking_slug:
        row.booking_slug = None
    elif changes.booking_slug is not None:
        slug = changes.booking_slug.strip().lower()
        if not 3 <= len(slug) <= 63 or not SLUG.match(slug):
            raise invalid("bookingSlug", "3 to 63 lowercase letters, digits and single hyphens.")
        row.booking_slug = slug
    if changes.active_for_scheduling is not None:
        row.active_for_scheduling = changes.active_for_scheduling


async def _save(ctx: Context, row: Location) -> None:
    """Flush, turning the two uniqueness rules into payload errors."""
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
        if "booking_slug" in constraint:
            raise DomainError(
                Problem(DomainErrorCode.SLUG_TAKEN, "That booking slug is taken.", "bookingSlug")
            ) from exc
        if "name" in constraint:
            raise DomainError(
                Problem(DomainErrorCode.NAME_TAKEN, "A location with that name exists.", "name")
            ) from exc
        raise


async def create_location(ctx: Context, *, changes: LocationChanges) -> Location:
    medspa_id = tenant_of(ctx)
    medspa = await require_scheduling(ctx, medspa_id)
    for attribute, field, _limit in _TEXT_FIELDS:
        if getattr(changes, attribute) is None:
            raise invalid(field, "Required when creating a location.")
    row = Location(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        country="US",
        time_zone=medspa.time_zone,
        active_for_scheduling=False,
    )
    _apply(row, changes)
    ctx.session.add(row)
    await _save(ctx, row)
    ctx.allowed(
        Action.LOCATION_MANAGE,
        resource_type="Location",
        resource_id=row.id,
        detail={"operation": "create"},
    )
    return row


async def update_location(
    ctx: Context, *, location_id: uuid.UUID | None, changes: LocationChanges
) -> Location:
    row: Location = await ctx.find(Location, location_id, Action.LOCATION_MANAGE)
    await require_scheduling(ctx, row.medspa_id)
    _apply(row, changes)
    await _save(ctx, row)
    ctx.allowed(
        Action.LOCATION_MANAGE,
        resource_type="Location",
        resource_id=row.id,
        detail={
            "operation": "update",
            "fields": sorted(k for k, v in vars(changes).items() if v not in (None, False)),
        },
    )
    return row
