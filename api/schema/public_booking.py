"""The anonymous booking page: explicit allow-lists, nothing beyond names, times and prices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import public_booking
from api.resolvers.patient import PatientInput as PatientData
from api.resolvers.scheduling import zone
from api.schema.checkout import DepositPaymentInput, deposit_payment
from api.schema.node import encode_global_id
from api.schema.payload import Payload
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
    deposit_payment: DepositPaymentInput | None = strawberry.field(
        default=None, description="Pays the deposit, required when the medspa takes deposits."
    )


@strawberry.type(description="What the visitor booked; no patient data is echoed back.")
class PublicBookingConfirmation:
    confirmation_code: str
    starts_at: datetime
    ends_at: datetime
    appointment_type_name: str
    provider_name: str
    location_name: str


@strawberry.type
class PublicBookAppointmentPayload(Payload):
    booking: PublicBookingConfirmation | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        row = result.booked.appointment
        tz = zone(result.location.time_zone)
        return cls(
            booking=PublicBookingConfirmation(
                confirmation_code=row.id.hex[:8].upper(),
                starts_at=row.starts_at.astimezone(tz),
                ends_at=row.ends_at.astimezone(tz),
                appointment_type_name=result.appointment_type.name,
                provider_name=result.provider.display_name,
                location_name=result.location.name,
            )
        )


@strawberry.type
class PublicBookingQuery:
    @strawberry.field(
        description="A location's public booking page; null unless active with this slug."
    )
    async def public_location(self, info: Info, booking_slug: str) -> PublicLocation | None:
        row = await public_booking.reach_public_location(info.context, booking_slug)
        return PublicLocation.from_row(row) if row else None


@strawberry.type
class PublicBookingMutation:
    @strawberry.mutation(description="Book through a location's public booking link.")
    async def public_book_appointment(
        self, info: Info, input: PublicBookAppointmentInput
    ) -> PublicBookAppointmentPayload:
        return await PublicBookAppointmentPayload.run(
            info,
            Action.APPOINTMENT_BOOK_PUBLIC,
            lambda: public_booking.public_book_appointment(
                info.context,
                data=public_booking.PublicBookingInput(
                    booking_slug=input.booking_slug,
                    appointment_type_id=decode_id_of(input.appointment_type_id, "AppointmentType"),
                    provider_id=decode_id_of(input.provider_id, "Provider"),
                    starts_at=input.starts_at,
                    patient=PatientData(
                        input.patient.first_name,
                        input.patient.last_name,
                        input.patient.email,
                        input.patient.phone,
                    ),
                    idempotency_key=input.idempotency_key,
                    deposit_payment=deposit_payment(input.deposit_payment),
                ),
            ),
        )
