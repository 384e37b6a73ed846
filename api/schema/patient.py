"""Patient: contact details, date of birth and registration status (an explicit allow-list, no
clinical data), and the inputs and payloads of the patient mutations.

Its root fields and mutations (`PatientQuery`, `PatientMutation`) are one-liners: decode ids,
call the use case, wrap rows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import patient as patients
from api.resolvers import patient_import, patient_registration
from api.resolvers.patient import PatientInput as PatientData
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload, UserError
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
    ) -> Connection[Annotated[Appointment, strawberry.lazy("api.schema.appointment")]] | None:
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
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="createPatient: retrying with the same key returns the same patient.",
    )


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
class PatientPayload(Payload):
    patient: Patient | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(patient=Patient.from_row(result))


@strawberry.type
class CreatePatientPayload(Payload):
    patient: Patient | None = None
    replayed: bool = strawberry.field(
        default=False, description="True when the idempotency key had already created it."
    )

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(patient=Patient.from_row(result.patient), replayed=result.replayed)


@strawberry.type
class SendRegistrationLinkPayload(Payload):
    patient: Patient | None = None
    registration_path: str | None = strawberry.field(
        default=None,
        description="The link's path, carrying its single-use token: shown only in this answer.",
    )
    expires_at: datetime | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(
            patient=Patient.from_row(result.patient),
            registration_path=result.path,
            expires_at=result.link.expires_at,
        )


@strawberry.type
class CompleteRegistrationPayload(Payload):
    completed: bool = False

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(completed=True)


ImportOutcome = strawberry.enum(patient_import.ImportOutcome)


@strawberry.type(description="One record of an imported file and what became of it.")
class PatientImportRow:
    row_number: int = strawberry.field(description="The record's row; the header is row 1.")
    outcome: ImportOutcome  # type: ignore[valid-type]
    reasons: list[UserError]
    patient: Patient | None

    @classmethod
    def of(cls, row: patient_import.ImportRow) -> PatientImportRow:
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
class ImportPatientsPayload(Payload):
    report: PatientImportReport | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(
            report=PatientImportReport(
                created=result.created,
                rejected=result.rejected,
                rows=[PatientImportRow.of(r) for r in result.rows],
            )
        )


async def _fetch_patient(ctx: Context, id_: uuid.UUID) -> Patient | None:
    row = await ctx.loaders.patient_by_id.load(id_)
    return Patient.from_row(row) if row else None


node_type("Patient", _fetch_patient)


def _kept(value: Any) -> Any:
    """An input field left out of the query is kept as it is."""
    return patients.KEEP if value is strawberry.UNSET else value


@strawberry.type
class PatientQuery:
    @strawberry.field(description="One patient by id; null when absent or out of scope. Audited.")
    async def patient(self, info: Info, id: strawberry.ID) -> Patient | None:
        patient_id = decode_id_of(id, "Patient")
        row = await info.context.loaders.patient_by_id.load(patient_id) if patient_id else None
        return Patient.from_row(row) if row else None

    @strawberry.field(
        description="Patients in the viewer's scope, by name (contains), email or phone (exact)."
    )
    async def patients(
        self,
        info: Info,
        search: str | None = None,
        medspa_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Patient]:
        page = await patients.search_patients(
            info.context,
            search=search,
            medspa_id=decode_id_of(medspa_id, "Medspa") if medspa_id else None,
            first=first,
            after=after,
        )
        return Connection.from_page(page, Patient.from_row)


@strawberry.type
class PatientMutation:
    @strawberry.mutation
    async def create_patient(
        self,
        info: Info,
        input: PatientInput,
        medspa_id: strawberry.ID | None = None,
        provider_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The provider the patient is created for (a PCC reaches the"
                " patients it created for a provider it reaches)."
            ),
        ] = None,
    ) -> CreatePatientPayload:
        return await CreatePatientPayload.run(
            info,
            Action.PATIENT_CREATE,
            lambda: patients.create_patient(
                info.context,
                medspa_id=decode_id_of(medspa_id, "Medspa") if medspa_id else None,
                provider_id=decode_id_of(provider_id, "Provider") if provider_id else None,
                data=PatientData(
                    input.first_name,
                    input.last_name,
                    input.email,
                    input.phone,
                    input.date_of_birth,
                ),
                idempotency_key=input.idempotency_key,
            ),
        )

    @strawberry.mutation(description="Change a patient's names, email, phone or date of birth.")
    async def update_patient_contact(
        self, info: Info, id: strawberry.ID, input: PatientContactInput
    ) -> PatientPayload:
        changes = patients.ContactChanges(
            first_name=_kept(input.first_name),
            last_name=_kept(input.last_name),
            email=_kept(input.email),
            phone=_kept(input.phone),
            date_of_birth=_kept(input.date_of_birth),
        )
        return await PatientPayload.run(
            info,
            Action.PATIENT_UPDATE_CONTACT,
            lambda: patients.update_patient_contact(
                info.context, patient_id=decode_id_of(id, "Patient"), changes=changes
            ),
        )

    @strawberry.mutation(
        description="Record a registration link for the patient; its path is shown only here."
    )
    async def send_registration_link(
        self, info: Info, patient_id: strawberry.ID
    ) -> SendRegistrationLinkPayload:
        return await SendRegistrationLinkPayload.run(
            info,
            Action.PATIENT_SEND_REGISTRATION_LINK,
            lambda: patient_registration.send_registration_link(
                info.context, patient_id=decode_id_of(patient_id, "Patient")
            ),
        )

    @strawberry.mutation(description="A patient completes registration with their link's token.")
    async def complete_registration(
        self, info: Info, input: CompleteRegistrationInput
    ) -> CompleteRegistrationPayload:
        return await CompleteRegistrationPayload.run(
            info,
            Action.PATIENT_COMPLETE_REGISTRATION,
            lambda: patient_registration.complete_registration(
                info.context,
                data=patient_registration.Registration(
                    token=input.token,
                    date_of_birth=input.date_of_birth,
                    first_name=input.first_name,
                    last_name=input.last_name,
                ),
            ),
        )

    @strawberry.mutation(
        description="Medspa admins: create patients from a CSV of contacts (5,000 rows, 1 MB); "
        "good rows are kept, bad rows reported with their reasons."
    )
    async def import_patients(self, info: Info, csv: str) -> ImportPatientsPayload:
        return await ImportPatientsPayload.run(
            info,
            Action.PATIENT_IMPORT,
            lambda: patient_import.import_patients(info.context, content=csv),
        )
