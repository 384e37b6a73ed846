"""Importing patients from a CSV of contacts (medspa admins, `patient.import`): each good row is
created in its own savepoint, every row is reported with its outcome and reasons.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import func, or_, select

from api.authz.actions import Action
from api.errors import (
    DomainError,
    DomainErrorCode,
    Problem,
    invalid,
)
from api.resolvers.patient import (
    PatientInput,
    check_date_of_birth,
    check_name,
    insert_patient,
    normalise_email,
    normalise_phone,
)
from api.resolvers.scheduling import tenant_of
from db.models import (
    Patient,
    PatientSource,
)

if TYPE_CHECKING:
    from api.context import Context

T = TypeVar("T")

MAX_IMPORT_ROWS = 5_000


MAX_IMPORT_BYTES = 1_000_000


# Header names, compared without case, spaces, dashes or underscores.
IMPORT_COLUMNS = {
    "firstname": "first_name",
    "lastname": "last_name",
    "email": "email",
    "phone": "phone",
    "dateofbirth": "date_of_birth",
    "dob": "date_of_birth",
}


EXPECTED_HEADER = "first_name, last_name, email, phone, date_of_birth (optional)"


class ImportOutcome(enum.StrEnum):
    CREATED = "CREATED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class ImportRow:
    row_number: int  # the record's row in the file, the header being row 1
    outcome: ImportOutcome
    reasons: tuple[Problem, ...] = ()
    patient: Patient | None = None


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.outcome is ImportOutcome.CREATED)

    @property
    def rejected(self) -> int:
        return len(self.rows) - self.created


def _too_large(message: str) -> DomainError:
    return DomainError(Problem(DomainErrorCode.IMPORT_TOO_LARGE, message, "csv"))


def _read_csv(content: str) -> tuple[list[str], list[list[str]]]:
    """The header's column keys and the non-blank records, or a VALIDATION error."""
    if len(content.encode()) > MAX_IMPORT_BYTES:
        raise _too_large(f"The file is larger than {MAX_IMPORT_BYTES:,} bytes; split it.")
    try:
        records = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    except csv.Error as exc:
        raise invalid("csv", f"Not a readable CSV file: {exc}.") from exc
    if not records or not any(v.strip() for v in records[0]):
        raise invalid("csv", f"The first row must name the columns: {EXPECTED_HEADER}.")
    keys = [re.sub(r"[\s_\-]", "", h).lower() for h in records[0]]
    unknown = [h for h, k in zip(records[0], keys, strict=True) if k not in IMPORT_COLUMNS]
    columns = [IMPORT_COLUMNS.get(k, "") for k in keys]
    if unknown:
        raise invalid("csv", f"Unknown column(s) {', '.join(unknown)}; expected {EXPECTED_HEADER}.")
    if len(set(columns)) != len(columns):
        raise invalid("csv", "A column is named twice.")
    if not {"first_name", "last_name"} <= set(columns) or not {"email", "phone"} & set(columns):
        raise invalid("csv", f"Columns needed: {EXPECTED_HEADER}, with email or phone.")
    body = records[1:]
    if len(body) > MAX_IMPORT_ROWS:
        raise _too_large(f"At most {MAX_IMPORT_ROWS:,} rows per import; split the file.")
    return columns, body


def _parse_date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise invalid("dateOfBirth", "Write the date as YYYY-MM-DD.") from exc


def _check_row(values: dict[str, str]) -> tuple[PatientInput | None, list[Problem]]:
    """Every problem of one row (not only the first), or its clean input."""
    problems: list[Problem] = []

    def attempt(check: Callable[[], T]) -> T | None:
        try:
            return check()
        except DomainError as exc:
            problems.extend(exc.problems)
            return None

    first = attempt(lambda: check_name(values.get("first_name", ""), "firstName"))
    last = attempt(lambda: check_name(values.get("last_name", ""), "lastName"))
    email = attempt(lambda: normalise_email(values.get("email")))
    phone = attempt(lambda: normalise_phone(values.get("phone")))
    born = attempt(lambda: check_date_of_birth(_parse_date(values.get("date_of_birth", ""))))
    has_contact = bool((values.get("email") or "").strip() or (values.get("phone") or "").strip())
    if not has_contact:
        problems.append(
            Problem(DomainErrorCode.VALIDATION, "Give an email address or a phone number.", "email")
        )
    if problems or first is None or last is None:
        return None, problems
    return PatientInput(first, last, email, phone, born), problems


async def import_patients(ctx: Context, *, content: str) -> ImportReport:
    """Create the good rows of a CSV of contacts, each in its own savepoint; report every row.

    Medspa admins only (patient.import), into the active medspa."""
    medspa_id = tenant_of(ctx)
    columns, body = _read_csv(content)
    report = ImportReport()
    checked: list[tuple[int, PatientInput | None, list[Problem]]] = []
    for number, record in enumerate(body, start=2):
        if not any(v.strip() for v in record):
            continue  # blank lines are not rows
        if len(record) != len(columns):
            problem = Problem(
                DomainErrorCode.VALIDATION,
                f"Expected {len(columns)} fields, found {len(record)}.",
                None,
            )
            checked.append((number, None, [problem]))
            continue
        data, problems = _check_row(dict(zip(columns, record, strict=True)))
        checked.append((number, data, problems))
    existing_emails, existing_phones = await _existing_contacts(
        ctx, medspa_id=medspa_id, rows=[d for _, d, _ in checked if d is not None]
    )
    first_row_of: dict[tuple[str, str], int] = {}  # contact -> row that created it
    for number, data, problems in checked:
        if data is None:
            report.rows.append(ImportRow(number, ImportOutcome.REJECTED, tuple(problems)))
            continue
        contacts = [("email", data.email.lower())] if data.email else []
        contacts += [("phone", data.phone)] if data.phone else []
        for kind, value in contacts:
            if (kind, value) in first_row_of:
                problems.append(
                    Problem(
                        DomainErrorCode.DUPLICATE_IN_FILE,
                        f"Same {kind} as row {first_row_of[(kind, value)]}.",
                        kind,
                    )
                )
            elif value in (existing_emails if kind == "email" else existing_phones):
                problems.append(
                    Problem(
                        DomainErrorCode.PATIENT_EXISTS,
                        f"A patient with this {kind} already exists.",
                        kind,
                    )
                )
        if not problems:
            try:
                created = await insert_patient(
                    ctx, medspa_id=medspa_id, data=data, source=PatientSource.STAFF
                )
            except DomainError as exc:  # a concurrent insert won the unique index
                problems.extend(exc.problems)
            else:
                for contact in contacts:
                    first_row_of[contact] = number
                report.rows.append(ImportRow(number, ImportOutcome.CREATED, patient=created))
                continue
        report.rows.append(ImportRow(number, ImportOutcome.REJECTED, tuple(problems)))
    ctx.allowed(
        Action.PATIENT_CREATE,
        resource_type="Patient",
        medspa_id=medspa_id,
        detail={
            "import": {"rows": len(report.rows), "created": report.created},
            "patientIds": [str(r.patient.id) for r in report.rows if r.patient is not None],
        },
    )
    return report


async def _existing_contacts(
    ctx: Context, *, medspa_id: uuid.UUID, rows: Sequence[PatientInput]
) -> tuple[set[str], set[str]]:
    """The (lower-case) emails and phones of `rows` the medspa's patients already have."""
    emails = {r.email.lower() for r in rows if r.email}
    phones = {r.phone for r in rows if r.phone}
    if not emails and not phones:
        return set(), set()
    found = await ctx.session.execute(
        select(func.lower(Patient.email), Patient.phone).where(
            Patient.medspa_id == medspa_id,
            or_(func.lower(Patient.email).in_(sorted(emails)), Patient.phone.in_(sorted(phones))),
        )
    )
    taken_emails: set[str] = set()
    taken_phones: set[str] = set()
    for email, phone in found:
        if email in emails:
            taken_emails.add(email)
        if phone in phones:
            taken_phones.add(phone)
    return taken_emails, taken_phones
