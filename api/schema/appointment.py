"""Appointments, the calendar's slots, and the booking inputs and payloads."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Self, TypeAlias, TypeVar

import strawberry
from strawberry import Private
from strawberry.types.nodes import SelectedField, Selection

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of, decode_ids_of
from api.resolvers import appointment as appointments
from api.resolvers import appointment_booking, appointment_change, slots
from api.resolvers.appointment import AppointmentRecord
from api.resolvers.loaders import now_or_later
from api.schema.appointment_type import AppointmentType
from api.schema.checkout import DepositPaymentInput, deposit_payment
from api.schema.gfe import ClearanceStatus
from api.schema.location import Location
from api.schema.node import Node, encode_global_id, node_type
from api.schema.patient import Patient
from api.schema.payload import Payload
from api.schema.provider import Provider
from db import models

Info = strawberry.Info[Context, None]
T = TypeVar("T")
Relation: TypeAlias = T | Awaitable[T | None] | None
From = Annotated[datetime, strawberry.argument(name="from")]

AppointmentStatus = strawberry.enum(models.AppointmentStatus)
BookingSource = strawberry.enum(models.BookingSource)


@strawberry.type
class Appointment(Node):
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus  # type: ignore[valid-type]
    source: BookingSource  # type: ignore[valid-type]
    price_cents: int
    deposit_cents: int | None
    cancellation_fee_cents: int | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    cancellation_fee_applies: bool
    created_at: datetime
    # An ORM row, or a plain row of the calendar's columns.
    row: Private[AppointmentRecord]

    @classmethod
    def from_row(cls, row: AppointmentRecord) -> Appointment:
        return cls(
            id=encode_global_id("Appointment", row.id),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=row.status,
            source=row.source,
            price_cents=row.price_cents,
            deposit_cents=row.deposit_cents,
            cancellation_fee_cents=row.cancellation_fee_cents,
            cancelled_at=row.cancelled_at,
            cancellation_reason=row.cancellation_reason,
            cancellation_fee_applies=row.cancellation_fee_applies,
            created_at=row.created_at,
            row=row,
        )

    # Relations: a plain call when the list that produced this appointment primed them
    # (`prime_relations`), a batched DataLoader await otherwise.
    @strawberry.field(
        description="Null when the provider is outside the viewer's scope.",
        graphql_type=Provider | None,
    )
    def provider(self, info: Info) -> Relation[Provider]:
        return now_or_later(
            info.context.loaders.provider_by_id, self.row.provider_id, Provider.from_row
        )

    @strawberry.field(graphql_type=Location | None)
    def location(self, info: Info) -> Relation[Location]:
        return now_or_later(
            info.context.loaders.location_by_id, self.row.location_id, Location.from_row
        )

    @strawberry.field(
        description="Null unless the viewer may read this patient.", graphql_type=Patient | None
    )
    def patient(self, info: Info) -> Relation[Patient]:
        return now_or_later(
            info.context.loaders.patient_by_id, self.row.patient_id, Patient.from_row
        )

    @strawberry.field(graphql_type=AppointmentType | None)
    def appointment_type(self, info: Info) -> Relation[AppointmentType]:
        return now_or_later(
            info.context.loaders.appointment_type_by_id,
            self.row.appointment_type_id,
            AppointmentType.from_row,
        )

    @strawberry.field(
        description="Whether the patient is cleared for every service the appointment's type"
        " delivers, as of its start (booking an uncleared service is allowed, and flagged)."
    )
    async def clearance_status(self, info: Info) -> ClearanceStatus:  # type: ignore[valid-type]
        loader = info.context.loaders.services.clearance_status_by_appointment
        return await loader.load(self.row.id)


def _field_names(selections: list[Selection]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:  # fragments: look inside
            names |= _field_names(selection.selections)
    return names


def selected_relations(info: Info) -> set[str]:
    """The relation fields this query selects on the appointments of a list: the calendar
    joins those in its statement (`api.resolvers.appointment.RELATIONS`)."""
    return _field_names([s for field in info.selected_fields for s in field.selections])


@strawberry.type(description="A free slot, its times in the location's zone.")
class Slot:
    starts_at: datetime
    ends_at: datetime
    provider_id: strawberry.ID

    @strawberry.field
    async def provider(self, info: Info) -> Provider | None:
        from api.ids import decode_id_of

        provider_id = decode_id_of(self.provider_id, "Provider")
        row = await info.context.loaders.provider_by_id.load(provider_id) if provider_id else None
        return Provider.from_row(row) if row else None


@strawberry.input
class BookAppointmentInput:
    patient_id: strawberry.ID
    provider_id: strawberry.ID
    location_id: strawberry.ID
    appointment_type_id: strawberry.ID
    starts_at: datetime = strawberry.field(
        description="An instant, or a wall-clock time (no offset) in the location's zone."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the same appointment."
    )
    deposit_payment: DepositPaymentInput | None = strawberry.field(
        default=None, description="Pays the deposit, required when the medspa takes deposits."
    )


@strawberry.type
class AppointmentPayload(Payload):
    appointment: Appointment | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(appointment=Appointment.from_row(result))


@strawberry.type
class BookAppointmentPayload(Payload):
    appointment: Appointment | None = None
    replayed: bool = strawberry.field(
        default=False, description="True when the idempotency key had already booked it."
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(appointment=Appointment.from_row(result.appointment), replayed=result.replayed)


async def _fetch_appointment(ctx: Context, id_: uuid.UUID) -> Appointment | None:
    row = await ctx.loaders.appointment_by_id.load(id_)
    return Appointment.from_row(row) if row else None


node_type("Appointment", _fetch_appointment)


@strawberry.type
class AppointmentQuery:
    @strawberry.field(
        description="Appointments overlapping [from, to) in the viewer's scope (62 days at most)."
    )
    async def calendar(
        self,
        info: Info,
        from_: From,
        to: datetime,
        provider_ids: list[strawberry.ID] | None = None,
        location_ids: list[strawberry.ID] | None = None,
        statuses: list[AppointmentStatus] | None = None,  # type: ignore[valid-type]
    ) -> list[Appointment] | None:  # None only with an input error, beside the other fields
        rows = await appointments.calendar(
            info.context,
            filters=appointments.CalendarFilter(
                start=from_,
                end=to,
                provider_ids=decode_ids_of(provider_ids, "Provider"),
                location_ids=decode_ids_of(location_ids, "Location"),
                statuses=statuses,
            ),
            relations=selected_relations(info),
        )
        return [Appointment.from_row(r) for r in rows]

    @strawberry.field(description="Free slots in the location's zone (31 days at most).")
    async def available_slots(
        self,
        info: Info,
        location_id: strawberry.ID,
        appointment_type_id: strawberry.ID,
        from_: From,
        to: datetime,
        provider_id: strawberry.ID | None = None,
    ) -> list[Slot]:
        found = await slots.available_slots(
            info.context,
            location_id=decode_id_of(location_id, "Location"),
            appointment_type_id=decode_id_of(appointment_type_id, "AppointmentType"),
            provider_id=decode_id_of(provider_id, "Provider") if provider_id else None,
            start=from_,
            end=to,
        )
        return [
            Slot(
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                provider_id=encode_global_id("Provider", s.provider_id),
            )
            for s in found
        ]


@strawberry.type
class AppointmentMutation:
    @strawberry.mutation
    async def book_appointment(
        self, info: Info, input: BookAppointmentInput
    ) -> BookAppointmentPayload:
        return await BookAppointmentPayload.run(
            info,
            Action.APPOINTMENT_BOOK,
            lambda: appointment_booking.book_appointment(
                info.context,
                data=appointment_booking.BookingInput(
                    patient_id=decode_id_of(input.patient_id, "Patient"),
                    provider_id=decode_id_of(input.provider_id, "Provider"),
                    location_id=decode_id_of(input.location_id, "Location"),
                    appointment_type_id=decode_id_of(input.appointment_type_id, "AppointmentType"),
                    starts_at=input.starts_at,
                    idempotency_key=input.idempotency_key,
                    deposit_payment=deposit_payment(input.deposit_payment),
                ),
            ),
        )

    @strawberry.mutation
    async def reschedule_appointment(
        self,
        info: Info,
        id: strawberry.ID,
        starts_at: datetime,
        provider_id: strawberry.ID | None = None,
        location_id: strawberry.ID | None = None,
    ) -> AppointmentPayload:
        return await AppointmentPayload.run(
            info,
            Action.APPOINTMENT_RESCHEDULE,
            lambda: appointment_change.reschedule_appointment(
                info.context,
                appointment_id=decode_id_of(id, "Appointment"),
                starts_at=starts_at,
                provider_id=decode_id_of(provider_id, "Provider") if provider_id else None,
                location_id=decode_id_of(location_id, "Location") if location_id else None,
            ),
        )

    @strawberry.mutation
    async def cancel_appointment(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> AppointmentPayload:
        return await AppointmentPayload.run(
            info,
            Action.APPOINTMENT_CANCEL,
            lambda: appointment_change.cancel_appointment(
                info.context, appointment_id=decode_id_of(id, "Appointment"), reason=reason
            ),
        )

    @strawberry.mutation(description="Confirm, check in, complete, or mark a no-show.")
    async def set_appointment_status(
        self,
        info: Info,
        id: strawberry.ID,
        status: AppointmentStatus,  # type: ignore[valid-type]
    ) -> AppointmentPayload:
        return await AppointmentPayload.run(
            info,
            # One audit name per action: the transition's own (BOOKED is rescheduling's).
            appointments.STATUS_ACTIONS.get(
                models.AppointmentStatus(status), Action.APPOINTMENT_RESCHEDULE
            ),
            lambda: appointment_change.change_status(
                info.context,
                appointment_id=decode_id_of(id, "Appointment"),
                status=models.AppointmentStatus(status),
            ),
        )
