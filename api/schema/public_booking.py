"""The anonymous booking page: explicit allow-lists, nothing beyond names, times and prices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Private

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import public_booking
from api.schema.node import encode_global_id
from api.schema.payload import UserError
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type(description="An appointment type as the public booking page shows it.")
class PublicAppointmentType:
    id: strawberry.ID
    name: str
    description: str | None
    duration_minutes: int
    price_cents: int
    deposit_cents: int | None

    @classmethod
    def from_row(cls, row: models.AppointmentType, *, deposits: bool) -> PublicAppointmentType:
        return cls(
            id=encode_global_id("AppointmentType", row.id),
            name=row.name,
            description=row.description,
            duration_minutes=row.duration_minutes,
            price_cents=row.price_cents,
            deposit_cents=row.deposit_cents if deposits else None,
        )


@strawberry.type(description="A provider on the public booking page: a name, nothing else.")
class PublicProvider:
    id: strawberry.ID
    display_name: str

    @classmethod
    def from_row(cls, row: models.Provider) -> PublicProvider:
        return cls(id=encode_global_id("Provider", row.id), display_name=row.display_name)


@strawberry.type
class PublicSlot:
    starts_at: datetime
    ends_at: datetime
    provider_id: strawberry.ID
    provider_name: str


@strawberry.type(description="An active location's public booking page.")
class PublicLocation:
    name: str
    booking_slug: str
    address_line1: str
    address_line2: str | None
    city: str
    region: str
    postal_code: str
    country: str
    time_zone: str
    row: Private[models.Location]

    @classmethod
    def from_row(cls, row: models.Location) -> PublicLocation:
        return cls(
            name=row.name,
            booking_slug=row.booking_slug or "",
            address_line1=row.address_line1,
            address_line2=row.address_line2,
            city=row.city,
            region=row.region,
            postal_code=row.postal_code,
            country=row.country,
            time_zone=row.time_zone,
            row=row,
        )

    @strawberry.field
    async def medspa_name(self, info: Info) -> str:
        return await public_booking.public_medspa_name(info.context, self.row)

    @strawberry.field
    async def appointment_types(self, info: Info) -> list[PublicAppointmentType]:
        rows = await public_booking.public_appointment_types(info.context, self.row)
        settings = await info.context.loaders.scheduling_settings_by_medspa.load(self.row.medspa_id)
        return [PublicAppointmentType.from_row(r, deposits=settings.deposits_enabled) for r in rows]

    @strawberry.field
    async def providers(self, info: Info) -> list[PublicProvider]:
        rows = await public_booking.public_providers(info.context, self.row)
        return [PublicProvider.from_row(r) for r in rows]

    @strawberry.field(description="Free slots, in the location's zone (at most 31 days).")
    async def available_slots(
        self,
        info: Info,
        appointment_type_id: strawberry.ID,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        provider_id: strawberry.ID | None = None,
    ) -> list[PublicSlot]:
        slots = await public_booking.public_slots(
            info.context,
            self.row,
            appointment_type_id=decode_id_of(appointment_type_id, "AppointmentType"),
            provider_id=decode_id_of(provider_id, "Provider") if provider_id else None,
            start=from_,
            end=to,
        )
        names = {
            p.id: p.display_name
            for p in await public_booking.public_providers(info.context, self.row)
        }
        return [
            PublicSlot(
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                provider_id=encode_global_id("Provider", s.provider_id),
                provider_name=names.get(s.provider_id, ""),
            )
            for s in slots
        ]


@strawberry.input
class PublicPatientInput:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None


@strawberry.input
class PublicBookAppointmentInput:
    booking_slug: str
    appointment_type_id: strawberry.ID
    provider_id: strawberry.ID
    starts_at: datetime = strawberry.field(
        description="A slot's start: an instant, or a wall-clock time in the location's zone."
    )
    patient: PublicPatientInput
    idempotency_key: str | None = None


@strawberry.type(description="What the visitor booked; no patient data is echoed back.")
class PublicBookingConfirmation:
    confirmation_code: str
    starts_at: datetime
    ends_at: datetime
    appointment_type_name: str
    provider_name: str
    location_name: str


@strawberry.type
class PublicBookAppointmentPayload:
    booking: PublicBookingConfirmation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
