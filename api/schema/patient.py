"""Patient: contact details, date of birth and registration status (an explicit allow-list, no
clinical data), and the inputs and payloads of the patient mutations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from api.context import Context
from api.resolvers import patient as resolvers
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
    date_of_birth: date | None
    registration_status: RegistrationStatus  # type: ignore[valid-type]
    registered_at: datetime | None = strawberry.field(
        description="When the patient completed registration."
    )
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
            date_of_birth=row.date_of_birth,
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
    date_of_birth: date | None = None


@strawberry.input(description="Fields left out are kept; email, phone or dateOfBirth null clears.")
class PatientContactInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    date_of_birth: date | None = strawberry.UNSET


@strawberry.input
class CompleteRegistrationInput:
    token: str = strawberry.field(description="The token of the link, or the link's path.")
    date_of_birth: date
    first_name: str | None = None
    last_name: str | None = None


@strawberry.type
class PatientPayload:
    patient: Patient | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SendRegistrationLinkPayload:
    patient: Patient | None = None
    registration_path: str | None = strawberry.field(
        default=None,
        description="The link's path, carrying its single-use token: shown only in this answer.",
    )
    expires_at: datetime | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CompleteRegistrationPayload:
    completed: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


ImportOutcome = strawberry.enum(resolvers.ImportOutcome)


@strawberry.type(description="One record of an imported file and what became of it.")
class PatientImportRow:
    row_number: int = strawberry.field(description="The record's row; the header is row 1.")
    outcome: ImportOutcome  # type: ignore[valid-type]
    reasons: list[UserError]
    patient: Patient | None

    @classmethod
    def of(cls, row: resolvers.ImportRow) -> PatientImportRow:
        return cls(
            row_number=row.row_number,
            outcome=row.outcome,
            reasons=[UserError.of(p) for p in row.reasons],
            patient=Patient.from_row(row.patient) if row.patient else None,
        )


@strawberry.type
class PatientImportReport:
    created: int
    rejected: int
    rows: list[PatientImportRow]


@strawberry.type
class ImportPatientsPayload:
    report: PatientImportReport | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _fetch_patient(ctx: Context, id_: uuid.UUID) -> Patient | None:
    row = await ctx.loaders.patient_by_id.load(id_)
    return Patient.from_row(row) if row else None


node_type("Patient", _fetch_patient)
