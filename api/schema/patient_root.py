"""Root fields and mutations of patients (issue 6, item 3), mixed into the root Query and
Mutation. One-liners: decode ids, call the use case, wrap rows."""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import patient as patients
from api.schema.connection import Connection
from api.schema.patient import (
    CompleteRegistrationInput,
    CompleteRegistrationPayload,
    ImportPatientsPayload,
    Patient,
    PatientContactInput,
    PatientImportReport,
    PatientImportRow,
    PatientPayload,
    SendRegistrationLinkPayload,
)
from api.schema.payload import run_mutation

Info = strawberry.Info[Context, None]


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
        result = await run_mutation(
            info.context,
            "patient.update_contact",
            lambda: patients.update_patient_contact(
                info.context, patient_id=decode_id_of(id, "Patient"), changes=changes
            ),
        )
        if isinstance(result, list):
            return PatientPayload(errors=result)
        return PatientPayload(patient=Patient.from_row(result))

    @strawberry.mutation(
        description="Record a registration link for the patient; its path is shown only here."
    )
    async def send_registration_link(
        self, info: Info, patient_id: strawberry.ID
    ) -> SendRegistrationLinkPayload:
        result = await run_mutation(
            info.context,
            "patient.send_registration_link",
            lambda: patients.send_registration_link(
                info.context, patient_id=decode_id_of(patient_id, "Patient")
            ),
        )
        if isinstance(result, list):
            return SendRegistrationLinkPayload(errors=result)
        return SendRegistrationLinkPayload(
            patient=Patient.from_row(result.patient),
            registration_path=result.path,
            expires_at=result.link.expires_at,
        )

    @strawberry.mutation(description="A patient completes registration with their link's token.")
    async def complete_registration(
        self, info: Info, input: CompleteRegistrationInput
    ) -> CompleteRegistrationPayload:
        result = await run_mutation(
            info.context,
            patients.COMPLETE_REGISTRATION,
            lambda: patients.complete_registration(
                info.context,
                data=patients.Registration(
                    token=input.token,
                    date_of_birth=input.date_of_birth,
                    first_name=input.first_name,
                    last_name=input.last_name,
                ),
            ),
        )
        if isinstance(result, list):
            return CompleteRegistrationPayload(errors=result)
        return CompleteRegistrationPayload(completed=True)

    @strawberry.mutation(
        description="Medspa admins: create patients from a CSV of contacts (5,000 rows, 1 MB); "
        "good rows are kept, bad rows reported with their reasons."
    )
    async def import_patients(self, info: Info, csv: str) -> ImportPatientsPayload:
        result = await run_mutation(
            info.context,
            "patient.create",
            lambda: patients.import_patients(info.context, content=csv),
        )
        if isinstance(result, list):
            return ImportPatientsPayload(errors=result)
        return ImportPatientsPayload(
            report=PatientImportReport(
                created=result.created,
                rejected=result.rejected,
                rows=[PatientImportRow.of(r) for r in result.rows],
            )
        )
