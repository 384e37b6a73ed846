"""Onboarding (issue 19): `createMedspa` (with its first admin's invitation), the checklist and
the shipping address. Use cases in api/resolvers/onboarding.py."""

from __future__ import annotations

import uuid
from typing import Any, Self

import strawberry

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import medspa as medspa_resolvers
from api.resolvers import onboarding as onboarding_resolvers
from api.schema.enums import BusinessModel, GfeRouting
from api.schema.invitation import Invitation
from api.schema.medspa import Medspa
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]

OnboardingStep = strawberry.enum(
    onboarding_resolvers.OnboardingStep, description="The eight steps of onboarding."
)


@strawberry.type(description="One step: done when its condition holds in the medspa's data.")
class OnboardingStepState:
    step: OnboardingStep  # type: ignore[valid-type]
    title: str
    done: bool


@strawberry.type(description="Where inventory ships: the medspa's address, or an order's copy.")
class ShippingAddress:
    line1: str
    line2: str | None
    city: str
    region: str
    postal_code: str
    country: str

    @classmethod
    def stored(cls, address: dict[str, Any]) -> ShippingAddress:
        return cls(
            line1=str(address.get("line1", "")),
            line2=address.get("line2") or None,
            city=str(address.get("city", "")),
            region=str(address.get("region", "")),
            postal_code=str(address.get("postal_code", "")),
            country=str(address.get("country", "")),
        )

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> ShippingAddress | None:
        return cls.stored(stored) if stored else None


@strawberry.type(description="The medspa's onboarding checklist (its admins and Portrait).")
class OnboardingChecklist:
    medspa: Medspa
    steps: list[OnboardingStepState]
    complete: bool
    shipping_address: ShippingAddress | None

    @classmethod
    def of(cls, checklist: onboarding_resolvers.Checklist) -> OnboardingChecklist:
        return cls(
            medspa=Medspa.from_row(checklist.medspa),
            steps=[
                OnboardingStepState(step=s.step, title=s.title, done=s.done)
                for s in checklist.steps
            ],
            complete=checklist.complete,
            shipping_address=ShippingAddress.of(checklist.medspa.shipping_address),
        )


@strawberry.input
class ShippingAddressInput:
    line1: str
    city: str
    region: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. US.")
    line2: str | None = None


@strawberry.type
class ShippingAddressPayload(Payload):
    shipping_address: ShippingAddress | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        medspa: models.Medspa = result
        return cls(shipping_address=ShippingAddress.of(medspa.shipping_address))


@strawberry.input(description="The medspa's first admin, invited when it is created.")
class FirstAdminInput:
    email: str
    full_name: str | None = None
    also_provider: bool = strawberry.field(
        default=False, description="Invite them as admin and provider."
    )
    credentials: str | None = None


@strawberry.type
class CreateMedspaPayload(Payload):
    medspa: Medspa | None = None
    invitation: Invitation | None = strawberry.field(
        default=None, description="The first admin's invitation, when one was asked for."
    )
    accept_path: str | None = strawberry.field(
        default=None, description="The first admin's acceptance link (shown once)."
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        created: onboarding_resolvers.CreatedMedspa = result
        sent = created.invitation
        return cls(
            medspa=Medspa.from_row(created.medspa),
            invitation=Invitation.from_row(sent.invitation) if sent else None,
            accept_path=sent.accept_path if sent else None,
        )


@strawberry.type
class OnboardingQuery:
    @strawberry.field(
        description="The onboarding checklist of your medspa (platform admins name one);"
        " null when the medspa is out of reach."
    )
    async def onboarding_checklist(
        self, info: Info, medspa_id: strawberry.ID | None = None
    ) -> OnboardingChecklist | None:
        target: uuid.UUID | None = decode_id_of(medspa_id, "Medspa") if medspa_id else None
        if medspa_id and target is None:
            return None
        found = await onboarding_resolvers.checklist(info.context, medspa_id=target)
        return OnboardingChecklist.of(found) if found else None


@strawberry.input
class CreateMedspaInput:
    name: str
    slug: str
    business_model: BusinessModel
    time_zone: str = strawberry.field(description="IANA time zone, e.g. America/New_York.")
    gfe_routing: GfeRouting | None = strawberry.field(
        default=None, description="Defaults to PORTRAIT_CLEARING (the only one on LEGACY)."
    )
    uses_portrait_ehr: bool = True
    pcc_service: bool = strawberry.field(
        default=False,
        description="On LAUNCH/FLEX the PCC service adds the 1,000 USD monthly fee line.",
    )
    first_admin: FirstAdminInput | None = strawberry.field(
        default=None, description="Invite the medspa's first admin (issue 19)."
    )


@strawberry.type
class OnboardingMutation:
    @strawberry.mutation(description="Create a medspa (platform admins).")
    async def create_medspa(self, info: Info, input: CreateMedspaInput) -> CreateMedspaPayload:
        admin = input.first_admin
        return await CreateMedspaPayload.run(
            info,
            Action.MEDSPA_CREATE,
            lambda: onboarding_resolvers.create_medspa(
                info.context,
                first_admin=onboarding_resolvers.FirstAdmin(
                    email=admin.email,
                    full_name=admin.full_name,
                    also_provider=admin.also_provider,
                    credentials=admin.credentials,
                )
                if admin
                else None,
                data=medspa_resolvers.NewMedspa(
                    name=input.name,
                    slug=input.slug,
                    business_model=input.business_model,
                    time_zone=input.time_zone,
                    gfe_routing=input.gfe_routing,
                    uses_portrait_ehr=input.uses_portrait_ehr,
                    pcc_service=input.pcc_service,
                ),
            ),
        )

    @strawberry.mutation(description="Onboarding step 1: where inventory ships (admins).")
    async def set_shipping_address(
        self, info: Info, address: ShippingAddressInput
    ) -> ShippingAddressPayload:
        return await ShippingAddressPayload.run(
            info,
            Action.MEDSPA_UPDATE_SETTINGS,
            lambda: onboarding_resolvers.set_shipping_address(
                info.context,
                address=onboarding_resolvers.Address(
                    line1=address.line1,
                    line2=address.line2,
                    city=address.city,
                    region=address.region,
                    postal_code=address.postal_code,
                    country=address.country,
                ),
            ),
        )


ONBOARDING_TYPES = [OnboardingChecklist]
