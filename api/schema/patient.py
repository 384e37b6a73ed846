"""Patient: contact details and registration status (an explicit allow-list, no clinical data)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from api.context import Context
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import UserError
from db import models

if TYPE_CHECKING:
    from api.schema.appointment import Appointment

Info = strawberry.Info[Context, None]

RegistrationStatus = strawberry.enum(models.RegistrationStatus)


@strawberry.type
class Patient(Node):
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    registration_status: RegistrationStatus  # type: ignore[valid-type]
    registered_at: datetime | None
    created_at: datetime
    row: Private[models.Patient]

    @classmethod
    def from_row(cls, row: models.Patient) -> Patient:
        return cls(
            id=encode_global_id("Patient", row.id),
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            phone=row.phone,
            registration_status=row.registration_status,
            registered_at=row.registered_at,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @strawberry.field(description="The patient's appointments in the viewer's scope.")
    async def appointments(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Appointment, strawberry.lazy("api.schema.appointment")]]:
        from api.schema.appointment import Appointment

        page = await info.context.loaders.appointments_by_patient.load(
            (self.row.id, first, after, from_, to)
        )
        return Connection.from_page(page, Appointment.from_row)


@strawberry.input
class PatientInput:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None


@strawberry.type
class PatientPayload:
    patient: Patient | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _fetch_patient(ctx: Context, id_: uuid.UUID) -> Patient | None:
    row = await ctx.loaders.patient_by_id.load(id_)
    return Patient.from_row(row) if row else None


node_type("Patient", _fetch_patient)
