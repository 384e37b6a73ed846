"""Onboarding (issue 19): the medspa's checklist as data, and its first step's address.

Portrait's onboarding is a checklist of eight steps. Each step is done when its condition
holds in the data (nothing is ticked by hand), so the checklist is always true: a location
deleted makes its step open again. All eight conditions are read in one statement.

The shipping address (`medspa.shipping_address`, migration 0010) is set by the medspa's admins
(`medspa.update_settings`) with fixed, validated keys; inventory ships only once it is set.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import exists, select

from api.authz.actions import Action
from api.errors import invalid
from api.resolvers import medspa as medspa_resolvers
from api.resolvers.invitation import (
    MEDSPA_ANCHOR,
    NewInvitation,
    SentInvitation,
    medspa_in_scope,
    send_invitation,
)
from db.models import (
    AppointmentType,
    Location,
    Medspa,
    Membership,
    MembershipRole,
    Provider,
    Service,
    WeeklyHours,
)

if TYPE_CHECKING:
    from api.context import Context


class OnboardingStep(StrEnum):
    SHIPPING_ADDRESS = "SHIPPING_ADDRESS"
    MEDICAL_DIRECTOR = "MEDICAL_DIRECTOR"
    ADMIN_JOINED = "ADMIN_JOINED"
    LOCATION = "LOCATION"
    APPOINTMENT_TYPES = "APPOINTMENT_TYPES"
    SERVICES = "SERVICES"
    PROVIDER_JOINED = "PROVIDER_JOINED"
    PROVIDER_SCHEDULED = "PROVIDER_SCHEDULED"


STEP_TITLES: dict[OnboardingStep, str] = {
    OnboardingStep.SHIPPING_ADDRESS: "Account settings: set the shipping address",
    OnboardingStep.MEDICAL_DIRECTOR: "Name the medical director",
    OnboardingStep.ADMIN_JOINED: "An admin accepted their invitation",
    OnboardingStep.LOCATION: "Create a location open for scheduling",
    OnboardingStep.APPOINTMENT_TYPES: "Arrange appointment types",
    OnboardingStep.SERVICES: "Activate services",
    OnboardingStep.PROVIDER_JOINED: "A provider accepted their invitation",
    OnboardingStep.PROVIDER_SCHEDULED: "A provider has working hours",
}


@dataclass(frozen=True)
class Step:
    step: OnboardingStep
    title: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    medspa: Medspa
    steps: list[Step]

    @property
    def complete(self) -> bool:
        return all(s.done for s in self.steps)


async def checklist(ctx: Context, *, medspa_id: uuid.UUID | None) -> Checklist | None:
    """The checklist of the medspa (default: the active one); null when it is out of scope."""
    ctx.authorize(Action.ONBOARDING_READ)
    target = medspa_id or ctx.principal.medspa_id
    if target is None:
        return None
    medspa = (
        await ctx.session.execute(
            select(Medspa).where(
                Medspa.id == target, ctx.scope(Action.ONBOARDING_READ, MEDSPA_ANCHOR)
            )
        )
    ).scalar_one_or_none()
    if medspa is None:
        return None
    m = target
    conditions = {
        OnboardingStep.SHIPPING_ADDRESS: select(Medspa.shipping_address.is_not(None))
        .where(Medspa.id == m)
        .scalar_subquery(),
        OnboardingStep.MEDICAL_DIRECTOR: exists().where(
            Provider.medspa_id == m, Provider.is_medical_director, Provider.active
        ),
        OnboardingStep.ADMIN_JOINED: exists().where(
            Membership.medspa_id == m,
            Membership.role == MembershipRole.MEDSPA_ADMIN,
            Membership.deactivated_at.is_(None),
        ),
        OnboardingStep.LOCATION: exists().where(
            Location.medspa_id == m, Location.active_for_scheduling
        ),
        OnboardingStep.APPOINTMENT_TYPES: exists().where(
            AppointmentType.medspa_id == m, AppointmentType.active
        ),
        OnboardingStep.SERVICES: exists().where(Service.medspa_id == m, Service.active),
        OnboardingStep.PROVIDER_JOINED: exists().where(Provider.medspa_id == m, Provider.active),
        OnboardingStep.PROVIDER_SCHEDULED: exists().where(
            WeeklyHours.medspa_id == m,
            exists().where(
                Provider.medspa_id == m,
                Provider.id == WeeklyHours.provider_id,
                Provider.active,
            ),
        ),
    }
    row = (
        await ctx.session.execute(
            select(*(c.label(s.value.lower()) for s, c in conditions.items()))
        )
    ).one()
    steps = [
        Step(step=s, title=STEP_TITLES[s], done=bool(value))
        for s, value in zip(conditions, row, strict=True)
    ]
    return Checklist(medspa=medspa, steps=steps)


ADDRESS_FIELDS = {
    "line1": (True, 200),
    "line2": (False, 200),
    "city": (True, 100),
    "region": (True, 100),
    "postal_code": (True, 20),
}
COUNTRY = re.compile(r"^[A-Z]{2}$")
CAMEL = {"postal_code": "postalCode"}


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    region: str
    postal_code: str
    country: str
    line2: str | None = None


def check_address(address: Address) -> dict[str, str]:
    """The address as stored: the six keys, trimmed and checked; bad input changes nothing."""
    stored: dict[str, str] = {}
    for key, (required, limit) in ADDRESS_FIELDS.items():
        value = (getattr(address, key) or "").strip()
        field = f"address.{CAMEL.get(key, key)}"
        if required and not value:
            raise invalid(field, "Required.")
        if len(value) > limit:
            raise invalid(field, f"At most {limit} characters.")
        if value:
            stored[key] = value
    country = address.country.strip().upper()
    if not COUNTRY.match(country):
        raise invalid("address.country", "An ISO 3166-1 alpha-2 country code, e.g. US.")
    stored["country"] = country
    return stored


async def set_shipping_address(ctx: Context, *, address: Address) -> Medspa:
    """Onboarding step 1: where inventory ships (the active medspa's admins)."""
    ctx.authorize(Action.MEDSPA_UPDATE_SETTINGS, resource_type="Medspa")
    medspa = await medspa_in_scope(ctx, None, Action.MEDSPA_UPDATE_SETTINGS)
    stored = check_address(address)
    had = medspa.shipping_address is not None
    medspa.shipping_address = stored
    await ctx.session.flush()
    ctx.allowed(
        Action.MEDSPA_UPDATE_SETTINGS,
        resource_type="Medspa",
        resource_id=medspa.id,
        medspa_id=medspa.id,
        detail={"shippingAddress": "replaced" if had else "set"},
    )
    return medspa


@dataclass(frozen=True)
class FirstAdmin:
    email: str
    full_name: str | None = None
    also_provider: bool = False
    credentials: str | None = None


@dataclass(frozen=True)
class CreatedMedspa:
    medspa: Medspa
    invitation: SentInvitation | None


async def create_medspa(
    ctx: Context, *, data: medspa_resolvers.NewMedspa, first_admin: FirstAdmin | None
) -> CreatedMedspa:
    """A new tenant (platform admins), with its first admin invited in the same transaction
    (a bad address creates nothing)."""
    medspa = await medspa_resolvers.create_medspa(ctx, data=data)
    sent = None
    if first_admin is not None:
        roles = [MembershipRole.MEDSPA_ADMIN]
        if first_admin.also_provider:
            roles.append(MembershipRole.PROVIDER)
        sent = await send_invitation(
            ctx,
            medspa=medspa,
            data=NewInvitation(
                email=first_admin.email,
                roles=tuple(roles),
                full_name=first_admin.full_name,
                credentials=first_admin.credentials,
            ),
        )
    return CreatedMedspa(medspa, sent)
