"""Appointments, the calendar's slots, and the booking inputs and payloads."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import TypeAlias, TypeVar

import strawberry
from strawberry import Private
from strawberry.types.nodes import SelectedField, Selection

from api.context import Context
from api.resolvers.loaders import now_or_later, prime
from api.schema.appointment_type import AppointmentType
from api.schema.gfe import ClearanceStatus
from api.schema.node import Node, encode_global_id, node_type
from api.schema.patient import Patient
from api.schema.payload import UserError
from api.schema.types import Location, Provider
from db import models

Info = strawberry.Info[Context, None]
T = TypeVar("T")
Relation: TypeAlias = T | Awaitable[T | None] | None

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
    row: Private[models.Appointment]

    @classmethod
    def from_row(cls, row: models.Appointment) -> Appointment:
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


RELATION_KEYS = {
    "provider": ("provider_by_id", "provider_id"),
    "location": ("location_by_id", "location_id"),
    "patient": ("patient_by_id", "patient_id"),
    "appointmentType": ("appointment_type_by_id", "appointment_type_id"),
}


def _field_names(selections: list[Selection]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:  # fragments: look inside
            names |= _field_names(selection.selections)
    return names


async def prime_relations(info: Info, rows: list[models.Appointment]) -> None:
    """Load the relations this query selects on a list of appointments, in bulk, so each
    appointment's relation fields resolve without awaiting (one statement per relation)."""
    wanted = _field_names([s for field in info.selected_fields for s in field.selections])
    loaders = info.context.loaders
    await prime(
        *(
            (getattr(loaders, loader), [getattr(r, attribute) for r in rows])
            for name, (loader, attribute) in RELATION_KEYS.items()
            if name in wanted
        )
    )


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


@strawberry.type
class AppointmentPayload:
    appointment: Appointment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BookAppointmentPayload:
    appointment: Appointment | None = None
    replayed: bool = strawberry.field(
        default=False, description="True when the idempotency key had already booked it."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _fetch_appointment(ctx: Context, id_: uuid.UUID) -> Appointment | None:
    row = await ctx.loaders.appointment_by_id.load(id_)
    return Appointment.from_row(row) if row else None


node_type("Appointment", _fetch_appointment)
