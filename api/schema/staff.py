"""The staff lifecycle (issue 19): staff members, provider profiles (identity, credentials,
licence) and the Staff root fields. Use cases in api/resolvers/staff.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import staff as staff_resolvers
from api.schema.appointment import Appointment
from api.schema.connection import Connection
from api.schema.enums import MembershipRole
from api.schema.node import encode_global_id
from api.schema.payload import Payload
from api.schema.provider import Provider
from api.schema.user import User
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type(description="A provider's practising licence.")
class ProviderLicense:
    state: str | None
    number: str | None
    expires_on: date | None


@strawberry.type(description="A provider's identity, credentials and licence.")
class ProviderProfile:
    provider: Provider
    display_name: str
    credentials: str
    licensed_to_self_clear: bool
    is_medical_director: bool
    license: ProviderLicense

    @classmethod
    def from_row(cls, row: models.Provider) -> ProviderProfile:
        return cls(
            provider=Provider.from_row(row),
            display_name=row.display_name,
            credentials=row.credentials,
            licensed_to_self_clear=row.licensed_to_self_clear,
            is_medical_director=row.is_medical_director,
            license=ProviderLicense(
                state=row.license_state,
                number=row.license_number,
                expires_on=row.license_expires_on,
            ),
        )


@strawberry.type(description="A person's roles in one medspa.")
class StaffMember:
    medspa_id: strawberry.ID
    user: User
    roles: list[MembershipRole] = strawberry.field(description="Active roles only.")
    active: bool
    deactivated_at: datetime | None
    profile: ProviderProfile | None = strawberry.field(
        description="The provider profile, when the person has (or had) one here."
    )
    record: Private[staff_resolvers.StaffRecord]

    @classmethod
    def from_record(cls, record: staff_resolvers.StaffRecord) -> StaffMember:
        return cls(
            medspa_id=strawberry.ID(encode_global_id("Medspa", record.medspa_id)),
            user=User.from_row(record.user),
            roles=record.roles,
            active=record.active,
            deactivated_at=record.deactivated_at,
            profile=ProviderProfile.from_row(record.provider) if record.provider else None,
            record=record,
        )

    @strawberry.field(
        description="The provider's upcoming appointments that still hold time (first 100),"
        " in the viewer's scope: what to reassign when they leave."
    )
    async def future_appointments(self, info: Info) -> list[Appointment]:
        rows = await staff_resolvers.future_appointments(info.context, self.record.provider)
        return [Appointment.from_row(r) for r in rows]


@strawberry.type
class StaffMemberPayload(Payload):
    staff_member: StaffMember | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(staff_member=StaffMember.from_record(result))


@strawberry.type
class DeactivateStaffMemberPayload(Payload):
    staff_member: StaffMember | None = None
    future_appointments: list[Appointment] = strawberry.field(
        default_factory=list,
        description="The provider's upcoming appointments, for the admin to reassign.",
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        done: staff_resolvers.Deactivation = result
        return cls(
            staff_member=StaffMember.from_record(done.staff),
            future_appointments=[Appointment.from_row(r) for r in done.future_appointments],
        )


@strawberry.type
class ProviderProfilePayload(Payload):
    profile: ProviderProfile | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(profile=ProviderProfile.from_row(result))


@strawberry.input(description="Only the fields given change.")
class ProviderIdentityInput:
    display_name: str | None = None
    credentials: str | None = strawberry.field(default=None, description="MD, DO, NP, RN, PA...")
    license_state: str | None = strawberry.field(default=None, description="e.g. NY")
    license_number: str | None = None
    license_expires_on: date | None = None


def _id(value: strawberry.ID | None, type_name: str) -> uuid.UUID | None:
    return decode_id_of(value, type_name) if value else None


@strawberry.type
class StaffQuery:
    @strawberry.field(
        description="The admins and providers of your medspa (platform admins name it); a"
        " provider sees only themselves."
    )
    async def staff_members(
        self,
        info: Info,
        medspa_id: strawberry.ID | None = None,
        include_deactivated: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StaffMember]:
        page = await staff_resolvers.list_staff(
            info.context,
            medspa_id=_id(medspa_id, "Medspa"),
            include_deactivated=include_deactivated,
            first=first,
            after=after,
        )
        return Connection.from_page(page, StaffMember.from_record)


@strawberry.type
class StaffMutation:
    @strawberry.mutation(
        description="Deactivate a person in the medspa: they can no longer act there; a"
        " provider keeps their history and leaves future availability. Lists their upcoming"
        " appointments to reassign."
    )
    async def deactivate_staff_member(
        self, info: Info, user_id: strawberry.ID, medspa_id: strawberry.ID | None = None
    ) -> DeactivateStaffMemberPayload:
        return await DeactivateStaffMemberPayload.run(
            info,
            Action.STAFF_MANAGE,
            lambda: staff_resolvers.deactivate_staff(
                info.context,
                user_id=decode_id_of(user_id, "User"),
                medspa_id=_id(medspa_id, "Medspa"),
            ),
        )

    @strawberry.mutation(description="Give a deactivated person their roles back.")
    async def reactivate_staff_member(
        self, info: Info, user_id: strawberry.ID, medspa_id: strawberry.ID | None = None
    ) -> StaffMemberPayload:
        return await StaffMemberPayload.run(
            info,
            Action.STAFF_MANAGE,
            lambda: staff_resolvers.reactivate_staff(
                info.context,
                user_id=decode_id_of(user_id, "User"),
                medspa_id=_id(medspa_id, "Medspa"),
            ),
        )

    @strawberry.mutation(description="Set a person's roles: admin, provider or both.")
    async def set_staff_roles(
        self,
        info: Info,
        user_id: strawberry.ID,
        roles: list[MembershipRole],
        medspa_id: strawberry.ID | None = None,
    ) -> StaffMemberPayload:
        return await StaffMemberPayload.run(
            info,
            Action.STAFF_MANAGE,
            lambda: staff_resolvers.set_staff_roles(
                info.context,
                user_id=decode_id_of(user_id, "User"),
                medspa_id=_id(medspa_id, "Medspa"),
                roles=[models.MembershipRole(r) for r in roles],
            ),
        )

    @strawberry.mutation(
        description="Change a provider's name, credentials or licence (the provider, or an"
        " admin; never while masquerading). Self-clearance follows the licence."
    )
    async def update_provider_identity(
        self, info: Info, provider_id: strawberry.ID, input: ProviderIdentityInput
    ) -> ProviderProfilePayload:
        return await ProviderProfilePayload.run(
            info,
            Action.PROVIDER_UPDATE_IDENTITY,
            lambda: staff_resolvers.update_provider_identity(
                info.context,
                provider_id=decode_id_of(provider_id, "Provider"),
                change=staff_resolvers.IdentityChange(
                    display_name=input.display_name,
                    credentials=input.credentials,
                    license_state=input.license_state,
                    license_number=input.license_number,
                    license_expires_on=input.license_expires_on,
                ),
            ),
        )

    @strawberry.mutation(
        description="Name the medspa's medical director: an active MD or DO of the medspa."
    )
    async def set_medical_director(
        self, info: Info, provider_id: strawberry.ID
    ) -> ProviderProfilePayload:
        return await ProviderProfilePayload.run(
            info,
            Action.MEDSPA_UPDATE_SETTINGS,
            lambda: staff_resolvers.set_medical_director(
                info.context, provider_id=decode_id_of(provider_id, "Provider")
            ),
        )


STAFF_TYPES = [StaffMember, ProviderProfile]
