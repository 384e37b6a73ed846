"""Appointment types of the scheduling catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry import Private

from api.context import Context
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import UserError
from api.schema.types import Location
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type
class AppointmentType(Node):
    name: str
    description: str | None
    duration_minutes: int
    price_cents: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    deposit_cents: int | None
    cancellation_fee_cents: int | None
    active: bool
    archived_at: datetime | None
    row: Private[models.AppointmentType]

    @classmethod
    def from_row(cls, row: models.AppointmentType) -> AppointmentType:
        return cls(
            id=encode_global_id("AppointmentType", row.id),
            name=row.name,
            description=row.description,
            duration_minutes=row.duration_minutes,
            price_cents=row.price_cents,
            buffer_before_minutes=row.buffer_before_minutes,
            buffer_after_minutes=row.buffer_after_minutes,
            deposit_cents=row.deposit_cents,
            cancellation_fee_cents=row.cancellation_fee_cents,
            active=row.active,
            archived_at=row.archived_at,
            row=row,
        )

    @strawberry.field
    def archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field(description="Active, not archived: can be booked.")
    def bookable(self) -> bool:
        return self.row.bookable

    @strawberry.field(description="Where the type is offered.")
    async def locations(self, info: Info) -> list[Location]:
        rows = await info.context.loaders.locations_by_appointment_type.load(self.row.id)
        return [Location.from_row(r) for r in rows]


@strawberry.input
class AppointmentTypeInput:
    """Create: name, durationMinutes and priceCents are required. Update: omit to keep."""

    name: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    price_cents: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    deposit_cents: int | None = strawberry.field(
        default=None, description="Needs deposits enabled in the scheduling settings."
    )
    cancellation_fee_cents: int | None = strawberry.field(
        default=None, description="Needs cancellation fees enabled in the scheduling settings."
    )
    clear_deposit: bool = False
    clear_cancellation_fee: bool = False
    location_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the locations offering the type."
    )


@strawberry.type
class AppointmentTypePayload:
    appointment_type: AppointmentType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _fetch_appointment_type(ctx: Context, id_: uuid.UUID) -> AppointmentType | None:
    row = await ctx.loaders.appointment_type_by_id.load(id_)
    return AppointmentType.from_row(row) if row else None


node_type("AppointmentType", _fetch_appointment_type)
