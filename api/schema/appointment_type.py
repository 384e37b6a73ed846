"""Appointment types of the scheduling catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of, decode_ids_of
from api.resolvers import appointment_type as appointment_types
from api.schema.location import Location
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
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
class AppointmentTypePayload(Payload):
    appointment_type: AppointmentType | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(appointment_type=AppointmentType.from_row(result))


async def _fetch_appointment_type(ctx: Context, id_: uuid.UUID) -> AppointmentType | None:
    row = await ctx.loaders.appointment_type_by_id.load(id_)
    return AppointmentType.from_row(row) if row else None


node_type("AppointmentType", _fetch_appointment_type)


def _type_changes(data: AppointmentTypeInput) -> appointment_types.AppointmentTypeChanges:
    return appointment_types.AppointmentTypeChanges(
        name=data.name,
        description=data.description,
        duration_minutes=data.duration_minutes,
        price_cents=data.price_cents,
        buffer_before_minutes=data.buffer_before_minutes,
        buffer_after_minutes=data.buffer_after_minutes,
        deposit_cents=data.deposit_cents,
        cancellation_fee_cents=data.cancellation_fee_cents,
        clear_deposit=data.clear_deposit,
        clear_cancellation_fee=data.clear_cancellation_fee,
        location_ids=decode_ids_of(data.location_ids, "Location"),
    )


@strawberry.type
class AppointmentTypeMutation:
    @strawberry.mutation
    async def create_appointment_type(
        self, info: Info, input: AppointmentTypeInput
    ) -> AppointmentTypePayload:
        return await AppointmentTypePayload.run(
            info,
            Action.APPOINTMENT_TYPE_MANAGE,
            lambda: appointment_types.create_appointment_type(
                info.context, changes=_type_changes(input)
            ),
        )

    @strawberry.mutation
    async def update_appointment_type(
        self, info: Info, id: strawberry.ID, input: AppointmentTypeInput
    ) -> AppointmentTypePayload:
        return await AppointmentTypePayload.run(
            info,
            Action.APPOINTMENT_TYPE_MANAGE,
            lambda: appointment_types.update_appointment_type(
                info.context,
                type_id=decode_id_of(id, "AppointmentType"),
                changes=_type_changes(input),
            ),
        )

    @strawberry.mutation(description="Activate or deactivate, archive or unarchive a type.")
    async def set_appointment_type_state(
        self,
        info: Info,
        id: strawberry.ID,
        active: bool | None = None,
        archived: bool | None = None,
    ) -> AppointmentTypePayload:
        return await AppointmentTypePayload.run(
            info,
            Action.APPOINTMENT_TYPE_MANAGE,
            lambda: appointment_types.set_appointment_type_state(
                info.context,
                type_id=decode_id_of(id, "AppointmentType"),
                active=active,
                archived=archived,
            ),
        )
