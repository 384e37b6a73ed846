"""The staff lifecycle (issue 19): a person's memberships in one medspa, their roles, and a
provider's identity, credentials and licence.

A staff member is a user with memberships in a medspa. Deactivating keeps every row (history:
appointments, charts, audit) but stamps the memberships `deactivated_at`, so the user can no
longer act in that medspa (api/authz/authenticate.py reads active memberships only); a
provider profile becomes inactive and leaves its future availability (weekly hours and future
extra hours), and the answer lists the provider's upcoming appointments for the admin to
reassign. A medspa always keeps one active admin (`LAST_ADMIN`).

Who: `staff.read` (platform admins ANY, admins TENANT, a provider OWN: themselves) and
`staff.manage` (platform admins ANY, admins TENANT). A provider's identity, credentials and
licence are `provider.update_identity` (admins TENANT, the provider OWN, never while
masquerading). Self-clearance follows the licence: `licensed_to_self_clear` is recomputed
whenever credentials or licence change, and an expired licence refuses self-clearance on the
day it expires (api/resolvers/gfe.py).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, false, select, update

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor, register
from api.errors import ApiError, DomainErrorCode, ErrorCode, invalid, not_found
from api.resolvers import appointment as appointment_resolvers
from api.resolvers.invitation import (
    check_credentials,
    check_full_name,
    ensure_provider,
    grant_membership,
)
from api.resolvers.pagination import Page, SortKey, paginate
from db.models import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    AuditOutcome,
    AvailabilityException,
    AvailabilityExceptionKind,
    Medspa,
    Membership,
    MembershipRole,
    Provider,
    User,
    WeeklyHours,
)

if TYPE_CHECKING:
    from api.context import Context


def _own(principal: Principal) -> ColumnElement[bool]:
    if principal.user_id is None:
        return false()
    return Membership.user_id == principal.user_id


ANCHOR = register(
    Membership,
    Anchor(medspa=Membership.medspa_id, own=_own),
    read=Action.STAFF_READ,
    name="StaffMember",
)
USER_SORT = SortKey((User.full_name, User.id), ("full_name", "id"))
# Credentials that may self-clear GFEs when licensed (DESIGN §5: "if licensed").
SELF_CLEARING_CREDENTIALS = frozenset({"MD", "DO", "NP", "PA"})
PHYSICIANS = frozenset({"MD", "DO"})
US_STATE = re.compile(r"^[A-Z]{2}$")
MAX_FUTURE_APPOINTMENTS = 100


@dataclass(frozen=True)
class StaffRecord:
    medspa_id: uuid.UUID
    user: User
    memberships: list[Membership]
    provider: Provider | None

    @property
    def roles(self) -> list[MembershipRole]:
        return sorted(m.role for m in self.memberships if m.deactivated_at is None)

    @property
    def active(self) -> bool:
        return bool(self.roles)

    @property
    def deactivated_at(self) -> datetime | None:
        if self.active or not self.memberships:
            return None
        return max(m.deactivated_at for m in self.memberships if m.deactivated_at is not None)


async def _records(
    ctx: Context, medspa_id: uuid.UUID, users: Sequence[User], action: Action
) -> list[StaffRecord]:
    ids = [u.id for u in users]
    memberships: dict[uuid.UUID, list[Membership]] = defaultdict(list)
    for row in (
        await ctx.session.execute(
            select(Membership)
            .where(
                Membership.medspa_id == medspa_id,
                Membership.user_id.in_(ids),
                ctx.scope(action, ANCHOR),
            )
            .order_by(Membership.role)
        )
    ).scalars():
        memberships[row.user_id].append(row)
    providers = {
        p.user_id: p
        for p in (
            await ctx.session.execute(
                select(Provider).where(Provider.medspa_id == medspa_id, Provider.user_id.in_(ids))
            )
        ).scalars()
    }
    return [
        StaffRecord(medspa_id, u, memberships.get(u.id, []), providers.get(u.id)) for u in users
    ]


async def list_staff(
    ctx: Context,
    *,
    medspa_id: uuid.UUID | None,
    include_deactivated: bool,
    first: int | None,
    after: str | None,
) -> Page[StaffRecord]:
    """The medspa's staff (its admins and providers) the principal may read, by name."""
    ctx.authorize(Action.STAFF_READ)
    if medspa_id is None and ctx.principal.medspa_id is None:
        raise ApiError(ErrorCode.BAD_USER_INPUT, "medspaId is required.")
    target = medspa_id or ctx.principal.medspa_id
    members = select(Membership.user_id).where(
        Membership.medspa_id == target, ctx.scope(Action.STAFF_READ, ANCHOR)
    )
    if not include_deactivated:
        members = members.where(Membership.deactivated_at.is_(None))
    page = await paginate(
        ctx.session,
        select(User).where(User.id.in_(members)),
        sort=USER_SORT,
        first=first,
        after=after,
    )
    assert target is not None
    records = await _records(ctx, target, page.rows, Action.STAFF_READ)
    return Page(records, page.cursors, page.has_next_page, page.has_previous_page)


async def _staff_for(
    ctx: Context, *, user_id: uuid.UUID | None, medspa_id: uuid.UUID | None
) -> StaffRecord:
    """The user's memberships in the medspa that `staff.manage` reaches (locked), or an
    audited NOT_FOUND."""
    target = medspa_id or ctx.principal.medspa_id
    rows: list[Membership] = []
    if user_id is not None and target is not None:
        rows = list(
            (
                await ctx.session.execute(
                    select(Membership)
                    .where(
                        Membership.medspa_id == target,
                        Membership.user_id == user_id,
                        ctx.scope(Action.STAFF_MANAGE, ANCHOR),
                    )
                    .with_for_update()
                )
            ).scalars()
        )
    if not rows or target is None or user_id is None:
        ctx.audit(
            Action.STAFF_MANAGE.value,
            AuditOutcome.DENIED,
            resource_type="StaffMember",
            resource_id=user_id,
            detail={"reason": "not found or outside scope"},
        )
        raise not_found("Staff member not found.")
    user = await ctx.session.get(User, user_id)
    assert user is not None
    provider = (
        await ctx.session.execute(
            select(Provider)
            .where(Provider.medspa_id == target, Provider.user_id == user_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    return StaffRecord(target, user, rows, provider)


async def _keeps_an_admin(ctx: Context, medspa_id: uuid.UUID, without: uuid.UUID) -> None:
    other = (
        await ctx.session.execute(
            select(Membership.id).where(
                Membership.medspa_id == medspa_id,
                Membership.role == MembershipRole.MEDSPA_ADMIN,
                Membership.deactivated_at.is_(None),
                Membership.user_id != without,
            )
        )
    ).first()
    if other is None:
        raise invalid(
            "userId", "A medspa keeps at least one active admin.", DomainErrorCode.LAST_ADMIN
        )


async def _leave_future_availability(ctx: Context, provider: Provider, now: datetime) -> None:
    """An inactive provider offers no time: weekly hours go, and extra hours still ahead."""
    await ctx.session.execute(
        delete(WeeklyHours).where(
            WeeklyHours.medspa_id == provider.medspa_id, WeeklyHours.provider_id == provider.id
        )
    )
    await ctx.session.execute(
        delete(AvailabilityException).where(
            AvailabilityException.medspa_id == provider.medspa_id,
            AvailabilityException.provider_id == provider.id,
            AvailabilityException.kind == AvailabilityExceptionKind.OVERRIDE,
            AvailabilityException.starts_at >= now,
        )
    )


@dataclass(frozen=True)
class Deactivation:
    staff: StaffRecord
    future_appointments: list[Appointment]


async def future_appointments(ctx: Context, provider: Provider | None) -> list[Appointment]:
    """The provider's appointments still ahead and holding time, in the principal's scope
    (the first 100 by start time)."""
    if provider is None:
        return []
    rows = (
        await ctx.session.execute(
            select(Appointment)
            .where(
                Appointment.medspa_id == provider.medspa_id,
                Appointment.provider_id == provider.id,
                Appointment.starts_at >= datetime.now(UTC),
                Appointment.status.not_in([*RELEASED_STATUSES, AppointmentStatus.COMPLETED]),
                ctx.scope(Action.APPOINTMENT_READ, appointment_resolvers.ANCHOR),
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .limit(MAX_FUTURE_APPOINTMENTS)
        )
    ).scalars()
    return list(rows)


async def deactivate_staff(
    ctx: Context, *, user_id: uuid.UUID | None, medspa_id: uuid.UUID | None
) -> Deactivation:
    ctx.authorize(Action.STAFF_MANAGE, resource_type="StaffMember", resource_id=user_id)
    staff = await _staff_for(ctx, user_id=user_id, medspa_id=medspa_id)
    if staff.user.id == ctx.principal.actor_user_id:
        raise invalid("userId", "You cannot deactivate yourself.")
    if not staff.active:
        raise invalid("userId", "This staff member is already deactivated.")
    if MembershipRole.MEDSPA_ADMIN in staff.roles:
        await _keeps_an_admin(ctx, staff.medspa_id, staff.user.id)
    now = datetime.now(UTC)
    for membership in staff.memberships:
        if membership.deactivated_at is None:
            membership.deactivated_at = now
            membership.deactivated_by_user_id = ctx.principal.actor_user_id
    if staff.provider is not None and staff.provider.active:
        staff.provider.active = False
        await _leave_future_availability(ctx, staff.provider, now)
    await ctx.session.flush()
    ctx.allowed(
        Action.STAFF_MANAGE,
        resource_type="StaffMember",
        resource_id=staff.user.id,
        medspa_id=staff.medspa_id,
        detail={"verb": "deactivate"},
    )
    return Deactivation(staff, await future_appointments(ctx, staff.provider))


async def reactivate_staff(
    ctx: Context, *, user_id: uuid.UUID | None, medspa_id: uuid.UUID | None
) -> StaffRecord:
    """The memberships deactivated with the person come back (their availability does not:
    the admin sets it again)."""
    ctx.authorize(Action.STAFF_MANAGE, resource_type="StaffMember", resource_id=user_id)
    staff = await _staff_for(ctx, user_id=user_id, medspa_id=medspa_id)
    if staff.active:
        raise invalid("userId", "This staff member is active.")
    if not staff.user.active:
        raise invalid("userId", "This account is deactivated platform-wide; contact Portrait.")
    # The roles taken away with the person (the last deactivation), not a role removed
    # earlier by `set_staff_roles`.
    last = staff.deactivated_at
    restored = [m for m in staff.memberships if m.deactivated_at == last]
    for membership in restored:
        membership.deactivated_at = None
        membership.deactivated_by_user_id = None
    if staff.provider is not None and any(m.role is MembershipRole.PROVIDER for m in restored):
        staff.provider.active = True
    await ctx.session.flush()
    ctx.allowed(
        Action.STAFF_MANAGE,
        resource_type="StaffMember",
        resource_id=staff.user.id,
        medspa_id=staff.medspa_id,
        detail={"verb": "reactivate"},
    )
    return staff


async def set_staff_roles(
    ctx: Context,
    *,
    user_id: uuid.UUID | None,
    medspa_id: uuid.UUID | None,
    roles: Sequence[MembershipRole],
) -> StaffRecord:
    """Admin, provider or both. A role taken away is deactivated (its history stays); a
    provider role given creates (or reactivates) the provider profile."""
    ctx.authorize(Action.STAFF_MANAGE, resource_type="StaffMember", resource_id=user_id)
    staff = await _staff_for(ctx, user_id=user_id, medspa_id=medspa_id)
    wanted = set(roles)
    if not wanted:
        raise invalid("roles", "At least one role; deactivate the person to remove them.")
    if not staff.active:
        raise invalid("userId", "Reactivate this staff member first.")
    held = set(staff.roles)
    now = datetime.now(UTC)
    if MembershipRole.MEDSPA_ADMIN in held - wanted:
        await _keeps_an_admin(ctx, staff.medspa_id, staff.user.id)
    for membership in staff.memberships:
        if membership.role not in wanted and membership.deactivated_at is None:
            membership.deactivated_at = now
            membership.deactivated_by_user_id = ctx.principal.actor_user_id
    for role in sorted(wanted - held):
        await grant_membership(ctx, medspa_id=staff.medspa_id, user=staff.user, role=role)
    provider = staff.provider
    if MembershipRole.PROVIDER in wanted - held:
        provider = await ensure_provider(
            ctx, medspa_id=staff.medspa_id, user=staff.user, credentials=None
        )
    elif MembershipRole.PROVIDER in held - wanted and provider is not None:
        provider.active = False
        await _leave_future_availability(ctx, provider, now)
    await ctx.session.flush()
    ctx.allowed(
        Action.STAFF_MANAGE,
        resource_type="StaffMember",
        resource_id=staff.user.id,
        medspa_id=staff.medspa_id,
        detail={"verb": "set_roles", "from": sorted(held), "to": sorted(wanted)},
    )
    (record,) = await _records(ctx, staff.medspa_id, [staff.user], Action.STAFF_MANAGE)
    return record


@dataclass(frozen=True)
class IdentityChange:
    display_name: str | None = None
    credentials: str | None = None
    license_state: str | None = None
    license_number: str | None = None
    license_expires_on: date | None = None


def licensed_on(provider: Provider, today: date) -> bool:
    """Whether the provider's credentials and licence allow self-clearance on `today`."""
    return (
        provider.credentials in SELF_CLEARING_CREDENTIALS
        and bool(provider.license_number)
        and bool(provider.license_state)
        and provider.license_expires_on is not None
        and provider.license_expires_on >= today
    )


async def update_provider_identity(
    ctx: Context, *, provider_id: uuid.UUID | None, change: IdentityChange
) -> Provider:
    """A provider's name, credentials and licence (the provider themself, or an admin)."""
    ctx.authorize(
        Action.PROVIDER_UPDATE_IDENTITY, resource_type="Provider", resource_id=provider_id
    )
    provider = await ctx.find(
        Provider, provider_id, Action.PROVIDER_UPDATE_IDENTITY, for_update=True
    )
    before = {
        "credentials": provider.credentials,
        "licenseState": provider.license_state,
        "licenseExpiresOn": str(provider.license_expires_on),
        "licensedToSelfClear": provider.licensed_to_self_clear,
    }
    if change.display_name is not None:
        name = check_full_name(change.display_name, "displayName")
        assert name is not None
        provider.display_name = name
    licence_changed = False
    if change.credentials is not None:
        provider.credentials = check_credentials(change.credentials) or ""
        licence_changed = True
    if change.license_state is not None:
        state = change.license_state.strip().upper()
        if not US_STATE.match(state):
            raise invalid("licenseState", "A two-letter state code, e.g. NY.")
        provider.license_state = state
        licence_changed = True
    if change.license_number is not None:
        number = change.license_number.strip()
        if not number or len(number) > 60:
            raise invalid("licenseNumber", "1 to 60 characters.")
        provider.license_number = number
        licence_changed = True
    if change.license_expires_on is not None:
        provider.license_expires_on = change.license_expires_on
        licence_changed = True
    if licence_changed:
        medspa = await ctx.session.get(Medspa, provider.medspa_id)
        assert medspa is not None
        today = medspa.today()
        if provider.license_expires_on is not None and provider.license_expires_on < today:
            raise invalid("licenseExpiresOn", "This licence has already expired.")
        provider.licensed_to_self_clear = licensed_on(provider, today)
    await ctx.session.flush()
    ctx.allowed(
        Action.PROVIDER_UPDATE_IDENTITY,
        resource_type="Provider",
        resource_id=provider.id,
        medspa_id=provider.medspa_id,
        detail={
            "from": before,
            "to": {
                "credentials": provider.credentials,
                "licenseState": provider.license_state,
                "licenseExpiresOn": str(provider.license_expires_on),
                "licensedToSelfClear": provider.licensed_to_self_clear,
            },
        },
    )
    return provider


async def set_medical_director(ctx: Context, *, provider_id: uuid.UUID | None) -> Provider:
    """Name the medspa's medical director (onboarding): an active physician (MD or DO) of the
    medspa; the previous one, if any, stops being it."""
    ctx.authorize(Action.MEDSPA_UPDATE_SETTINGS, resource_type="Provider", resource_id=provider_id)
    provider = await ctx.find(Provider, provider_id, Action.PROVIDER_CONFIGURE, for_update=True)
    if not provider.active:
        raise invalid("providerId", "This provider is inactive.", DomainErrorCode.PROVIDER_INACTIVE)
    if provider.credentials not in PHYSICIANS:
        raise invalid(
            "providerId",
            "The medical director is a physician (MD or DO); open a support ticket to have"
            " a physician user created.",
        )
    await ctx.session.execute(
        update(Provider)
        .where(
            Provider.medspa_id == provider.medspa_id,
            Provider.is_medical_director.is_(True),
            Provider.id != provider.id,
        )
        .values(is_medical_director=False)
        .execution_options(synchronize_session=False)
    )
    await ctx.session.flush()
    provider.is_medical_director = True
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_UPDATE_SETTINGS,
        resource_type="Provider",
        resource_id=provider.id,
        medspa_id=provider.medspa_id,
        detail={"medicalDirector": True},
    )
    return provider
