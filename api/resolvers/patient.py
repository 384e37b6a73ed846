"""Patients: profile (contact, date of birth, registration status), search, contact updates,
registration links, and CSV import.

Scope: TENANT for admins and partners with `patients:read`; ASSIGNED for PCCs is the medspas
of their providers (a PCC books new patients for those providers); OWN for a provider is the
patients they have an appointment with. Every read of patient rows is audited (DESIGN §6.7):
one row per loader batch or page, naming the ids returned; a single read of an id that is
absent or out of scope is audited as DENIED (and answers null, like an absent row).

Registration links: the token is returned once, as a URL path, and only its SHA-256 is kept.
A link is single-use, expires, and sending a new one supersedes the outstanding one. The
patient completes registration anonymously with the token (`complete_registration`), which
reaches the link's medspa through `app_registration_medspa` (migration 0005) the way the
public booking page reaches a location's.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, false, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from api.authz.actions import Action, Scope
from api.authz.principal import Principal
from api.authz.scopes import Anchor
from api.errors import ApiError, DomainError, ErrorCode, Problem, forbidden, invalid, not_found
from api.resolvers import medspa as medspa_resolvers
from api.resolvers.pagination import Page, SortKey, paginate, paginate_grouped
from db.models import (
    Appointment,
    AuditOutcome,
    Clearance,
    GfeRequest,
    Medspa,
    Patient,
    PatientSource,
    RegistrationLink,
    RegistrationStatus,
)

if TYPE_CHECKING:
    from api.context import Context

T = TypeVar("T")


def _own(principal: Principal) -> ColumnElement[bool]:
    if principal.provider_id is None:
        return false()  # OWN without a provider profile reaches nobody
    # DESIGN §5: patients they have an appointment, a GFE request or a clearance with.
    return or_(
        Patient.id.in_(
            select(Appointment.patient_id).where(Appointment.provider_id == principal.provider_id)
        ),
        Patient.id.in_(
            select(GfeRequest.patient_id).where(GfeRequest.provider_id == principal.provider_id)
        ),
        Patient.id.in_(
            select(Clearance.patient_id).where(
                Clearance.signed_by_provider_id == principal.provider_id
            )
        ),
    )


ANCHOR = Anchor(medspa=Patient.medspa_id, own=_own)
SORT = SortKey(
    (Patient.last_name, Patient.first_name, Patient.id), ("last_name", "first_name", "id")
)
# Which medspa a new patient may be created in: the principal's patient.create scope over
# medspa rows (TENANT/OWN: the active medspa; ASSIGNED: the PCC's medspas).
CREATE_ANCHOR = Anchor(medspa=Medspa.id)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    email = value.strip()
    if len(email) > 254 or not EMAIL.match(email):
        raise invalid("email", "Not an email address.")
    return email


def normalise_phone(value: str | None) -> str | None:
    """E.164: a 10-digit number is taken as North American (+1)."""
    if value is None or not value.strip():
        return None
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+"):
        phone = "+" + digits
    elif len(digits) == 10:
        phone = "+1" + digits
    elif len(digits) == 11 and digits.startswith("1"):
        phone = "+" + digits
    else:
        raise invalid("phone", "Give the number with its country code, e.g. +1 555 010 2030.")
    if not 8 <= len(phone) - 1 <= 15:
        raise invalid("phone", "Not a phone number.")
    return phone


def _audit_read(ctx: Context, patients: Sequence[Patient]) -> None:
    if patients:
        ctx.audit(
            Action.PATIENT_READ.value,
            AuditOutcome.ALLOWED,
            resource_type="Patient",
            resource_id=patients[0].id if len(patients) == 1 else None,
            medspa_id=patients[0].medspa_id if len({p.medspa_id for p in patients}) == 1 else None,
            detail={"patientIds": [str(p.id) for p in patients]},
        )


async def patients_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Patient | None]:
    rows = list(
        (
            await ctx.session.execute(
                select(Patient).where(Patient.id.in_(ids), ctx.scope(Action.PATIENT_READ, ANCHOR))
            )
        ).scalars()
    )
    _audit_read(ctx, rows)
    found = {r.id: r for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        # Absent and out of scope answer alike (null); the attempt is still on record.
        ctx.audit(
            Action.PATIENT_READ.value,
            AuditOutcome.DENIED,
            resource_type="Patient",
            resource_id=missing[0] if len(missing) == 1 else None,
            detail={"patientIds": [str(i) for i in missing], "reason": "not found or out of scope"},
        )
    return [found.get(i) for i in ids]


async def patients_by_medspa(
    ctx: Context, keys: Sequence[tuple[uuid.UUID, int | None, str | None]]
) -> list[Page[Patient]]:
    stmt = select(Patient).where(ctx.scope(Action.PATIENT_READ, ANCHOR))
    pages = await paginate_grouped(
        ctx.session,
        stmt,
        entity=Patient,
        group_by=Patient.medspa_id,
        group_attribute="medspa_id",
        keys=keys,
        sort=SORT,
    )
    _audit_read(ctx, [p for page in pages for p in page.rows])
    return pages


@dataclass(frozen=True)
class PatientInput:
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    date_of_birth: date | None = None


def check_name(value: str, field_name: str) -> str:
    clean = value.strip()
    if not clean or len(clean) > 100:
        raise invalid(field_name, "1 to 100 characters.")
    return clean


EARLIEST_BIRTH = date(1900, 1, 1)


def check_date_of_birth(value: date | None) -> date | None:
    if value is not None and not EARLIEST_BIRTH <= value <= datetime.now(UTC).date():
        raise invalid("dateOfBirth", "A date between 1900-01-01 and today.")
    return value


def check_patient_input(data: PatientInput) -> PatientInput:
    first, last = check_name(data.first_name, "firstName"), check_name(data.last_name, "lastName")
    email, phone = normalise_email(data.email), normalise_phone(data.phone)
    if email is None and phone is None:
        raise invalid("email", "Give an email address or a phone number.")
    return PatientInput(first, last, email, phone, check_date_of_birth(data.date_of_birth))


async def find_by_contact(
    ctx: Context, *, medspa_id: uuid.UUID, email: str | None, phone: str | None
) -> Patient | None:
    """The medspa's patient with this email (preferred) or phone. Not scoped: callers decide."""
    clauses = []
    if email is not None:
        clauses.append(func.lower(Patient.email) == email.lower())
    if phone is not None:
        clauses.append(Patient.phone == phone)
    if not clauses:
        return None
    rows = (
        await ctx.session.execute(
            select(Patient).where(Patient.medspa_id == medspa_id, or_(*clauses))
        )
    ).scalars()
    matches = list(rows)
    if email is not None:
        for row in matches:
            if row.email is not None and row.email.lower() == email.lower():
                return row
    return matches[0] if matches else None


async def insert_patient(
    ctx: Context, *, medspa_id: uuid.UUID, data: PatientInput, source: PatientSource
) -> Patient:
    row = Patient(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        phone=data.phone,
        date_of_birth=data.date_of_birth,
        source=source,
    )
    ctx.session.add(row)
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:  # the savepoint's rollback has already dropped `row`
        raise DomainError(
            Problem(
                "PATIENT_EXISTS",
                "A patient with this email or phone already exists in this medspa.",
                "email" if data.email else "phone",
            )
        ) from exc
    return row


async def create_patient(
    ctx: Context, *, medspa_id: uuid.UUID | None, data: PatientInput
) -> Patient:
    ctx.authorize(Action.PATIENT_CREATE, resource_type="Patient")
    target = medspa_id or ctx.principal.medspa_id
    found = None
    if target is not None:
        found = (
            await ctx.session.execute(
                select(Medspa.id).where(
                    Medspa.id == target,
                    ctx.scope(Action.PATIENT_CREATE, CREATE_ANCHOR),
                    ctx.scope(Action.MEDSPA_READ, medspa_resolvers.ANCHOR),
                )
            )
        ).scalar_one_or_none()
    if found is None:
        ctx.audit(
            Action.PATIENT_CREATE.value,
            AuditOutcome.DENIED,
            resource_type="Medspa",
            resource_id=target,
            detail={"reason": "medspa not found or outside scope"},
        )
        raise not_found("Medspa not found.")
    clean = check_patient_input(data)
    row = await insert_patient(ctx, medspa_id=found, data=clean, source=PatientSource.STAFF)
    ctx.audit(
        Action.PATIENT_CREATE.value,
        AuditOutcome.ALLOWED,
        resource_type="Patient",
        resource_id=row.id,
        medspa_id=row.medspa_id,
    )
    return row


# --- reading one patient, searching -------------------------------------------------------

MAX_SEARCH_LENGTH = 100


def _like_pattern(term: str) -> str:
    """`%term%` with the LIKE wildcards of `term` taken literally (escape character `\\`)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_clause(term: str) -> ColumnElement[bool]:
    """Names contain the term (case-insensitive, wildcards literal); or the email is the term
    (case-insensitive); or the phone is the term once normalised to E.164."""
    pattern = _like_pattern(term)
    clauses: list[ColumnElement[bool]] = [
        Patient.first_name.ilike(pattern, escape="\\"),
        Patient.last_name.ilike(pattern, escape="\\"),
        (Patient.first_name + " " + Patient.last_name).ilike(pattern, escape="\\"),
    ]
    if "@" in term:
        clauses.append(func.lower(Patient.email) == term.lower())
    try:
        phone = normalise_phone(term) if re.search(r"\d{3}", term) else None
    except DomainError:
        phone = None
    if phone is not None:
        clauses.append(Patient.phone == phone)
    return or_(*clauses)


async def search_patients(
    ctx: Context,
    *,
    search: str | None,
    medspa_id: uuid.UUID | None,
    first: int | None,
    after: str | None,
) -> Page[Patient]:
    """Patients in the caller's patient.read scope, by name, email or phone; audited."""
    ctx.authorize(Action.PATIENT_READ, resource_type="Patient")
    stmt = select(Patient).where(ctx.scope(Action.PATIENT_READ, ANCHOR))
    if medspa_id is not None:
        stmt = stmt.where(Patient.medspa_id == medspa_id)
    term = (search or "").strip()
    if len(term) > MAX_SEARCH_LENGTH:
        raise ApiError(
            ErrorCode.BAD_USER_INPUT, f"search is at most {MAX_SEARCH_LENGTH} characters."
        )
    if term:
        stmt = stmt.where(_search_clause(term))
    page: Page[Patient] = await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)
    _audit_read(ctx, page.rows)
    return page


# --- writes to one patient ----------------------------------------------------------------


async def _patient_for(ctx: Context, action: Action, patient_id: uuid.UUID | None) -> Patient:
    """The patient `action` may change, locked: NOT_FOUND when the caller cannot read it (or
    it does not exist), FORBIDDEN when they can read it but not `action` it; both audited."""
    ctx.authorize(action, resource_type="Patient", resource_id=patient_id)
    found = None
    if patient_id is not None:
        found = (
            await ctx.session.execute(
                select(Patient, ctx.scope(action, ANCHOR).label("allowed"))
                .where(Patient.id == patient_id, ctx.scope(Action.PATIENT_READ, ANCHOR))
                .with_for_update(of=Patient)
            )
        ).one_or_none()
    if found is None or not found.allowed:
        ctx.audit(
            action.value,
            AuditOutcome.DENIED,
            resource_type="Patient",
            resource_id=patient_id,
            medspa_id=found.Patient.medspa_id if found is not None else None,
            detail={"reason": "out of scope" if found is not None else "not found or out of scope"},
        )
        if found is None:
            raise not_found("Patient not found.")
        raise forbidden(f"You are not allowed to {action.value} this patient.")
    patient: Patient = found.Patient
    return patient


class Keep(enum.Enum):
    """A field left out of an update: keep its value (None means clear it)."""

    KEEP = "KEEP"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class ContactChanges:
    first_name: str | Keep | None = KEEP
    last_name: str | Keep | None = KEEP
    email: str | Keep | None = KEEP
    phone: str | Keep | None = KEEP
    date_of_birth: date | Keep | None = KEEP


_CAMEL = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone": "phone",
    "date_of_birth": "dateOfBirth",
}


async def update_patient_contact(
    ctx: Context, *, patient_id: uuid.UUID | None, changes: ContactChanges
) -> Patient:
    row = await _patient_for(ctx, Action.PATIENT_UPDATE_CONTACT, patient_id)
    # Every value is checked before the row is touched: a refusal leaves it as it was.
    wanted: dict[str, object] = {}
    for name, field_name in (("first_name", "firstName"), ("last_name", "lastName")):
        value = getattr(changes, name)
        if not isinstance(value, Keep):
            wanted[name] = check_name(value or "", field_name)
    if not isinstance(changes.email, Keep):
        wanted["email"] = normalise_email(changes.email)
    if not isinstance(changes.phone, Keep):
        wanted["phone"] = normalise_phone(changes.phone)
    if not isinstance(changes.date_of_birth, Keep):
        wanted["date_of_birth"] = check_date_of_birth(changes.date_of_birth)
    if wanted.get("email", row.email) is None and wanted.get("phone", row.phone) is None:
        raise invalid("email", "A patient needs an email address or a phone number.")
    changed = [name for name, value in wanted.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, wanted[name])
    try:
        async with ctx.session.begin_nested():
            await ctx.session.flush()
    except IntegrityError as exc:
        # The savepoint's rollback expired `row`; the violated index names the field.
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
        raise DomainError(
            Problem(
                "PATIENT_EXISTS",
                "A patient with this email or phone already exists in this medspa.",
                "phone" if "phone" in constraint else "email",
            )
        ) from exc
    ctx.audit(
        Action.PATIENT_UPDATE_CONTACT.value,
        AuditOutcome.ALLOWED,
        resource_type="Patient",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"fields": [_CAMEL[name] for name in changed]},  # names, never values
    )
    return row


# --- registration links -------------------------------------------------------------------

REGISTRATION_LINK_TTL = timedelta(days=7)
REGISTRATION_PATH = "/register/"
MAX_TOKEN_LENGTH = 200
COMPLETE_REGISTRATION = "patient.complete_registration"  # anonymous: no policy action


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SentLink:
    patient: Patient
    link: RegistrationLink
    path: str  # carries the token: shown once, never stored


async def send_registration_link(ctx: Context, *, patient_id: uuid.UUID | None) -> SentLink:
    row = await _patient_for(ctx, Action.PATIENT_SEND_REGISTRATION_LINK, patient_id)
    if row.registration_status is RegistrationStatus.COMPLETED:
        raise DomainError(
            Problem("REGISTRATION_COMPLETED", "This patient has completed registration.", "id")
        )
    # Only people send links (API keys hold no patient write grant); record who, as whom.
    assert ctx.principal.user_id is not None
    now = datetime.now(UTC)
    await ctx.session.execute(
        update(RegistrationLink)
        .where(
            RegistrationLink.patient_id == row.id,
            RegistrationLink.used_at.is_(None),
            RegistrationLink.superseded_at.is_(None),
        )
        .values(superseded_at=now)
    )
    token = secrets.token_urlsafe(32)
    link = RegistrationLink(
        id=uuid.uuid4(),
        medspa_id=row.medspa_id,
        patient_id=row.id,
        token_hash=hash_token(token),
        sent_to=row.email or row.phone or "",
        sent_by_user_id=ctx.principal.user_id,
        sent_by_actor_user_id=ctx.principal.actor_user_id,
        sent_at=now,
        expires_at=now + REGISTRATION_LINK_TTL,
    )
    ctx.session.add(link)
    row.registration_status = RegistrationStatus.LINK_SENT
    await ctx.session.flush()
    ctx.audit(
        Action.PATIENT_SEND_REGISTRATION_LINK.value,
        AuditOutcome.ALLOWED,
        resource_type="Patient",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"registrationLinkId": str(link.id), "expiresAt": link.expires_at.isoformat()},
    )
    return SentLink(row, link, REGISTRATION_PATH + token)


# The one statement that lets a token holder reach the link's medspa for this transaction
# (DESIGN §6.3): the function answers the link's medspa, which is added to `app.medspa_ids`.
_REACH_BY_TOKEN = text(
    "SELECT m, set_config('app.medspa_ids', array_append(app_medspa_ids(), m)::text, true)"
    " FROM (SELECT app_registration_medspa(:hash) AS m) found WHERE m IS NOT NULL"
)


def _link_problem(code: str, message: str) -> DomainError:
    return DomainError(Problem(code, message, "token"))


@dataclass(frozen=True)
class Registration:
    token: str
    date_of_birth: date
    first_name: str | None = None
    last_name: str | None = None


async def complete_registration(ctx: Context, *, data: Registration) -> None:
    """Mark the link's patient COMPLETED and the link used. Any refusal changes nothing."""
    token = data.token.strip().removeprefix(REGISTRATION_PATH)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise _link_problem("REGISTRATION_LINK_INVALID", "This registration link is not valid.")
    digest = hash_token(token)
    medspa_id = (await ctx.session.execute(_REACH_BY_TOKEN, {"hash": digest})).scalar_one_or_none()
    link = None
    if medspa_id is not None:
        link = (
            await ctx.session.execute(
                select(RegistrationLink)
                .where(
                    RegistrationLink.token_hash == digest, RegistrationLink.medspa_id == medspa_id
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
    if link is None:
        raise _link_problem("REGISTRATION_LINK_INVALID", "This registration link is not valid.")
    now = datetime.now(UTC)
    if link.used_at is not None:
        raise _link_problem("REGISTRATION_LINK_USED", "This registration link was already used.")
    if link.superseded_at is not None or link.expires_at <= now:
        raise _link_problem(
            "REGISTRATION_LINK_EXPIRED", "This registration link has expired; ask for a new one."
        )
    born = check_date_of_birth(data.date_of_birth)
    patient = (
        await ctx.session.execute(
            select(Patient)
            .where(Patient.id == link.patient_id, Patient.medspa_id == link.medspa_id)
            .with_for_update()
        )
    ).scalar_one()
    if data.first_name is not None:
        patient.first_name = check_name(data.first_name, "firstName")
    if data.last_name is not None:
        patient.last_name = check_name(data.last_name, "lastName")
    patient.date_of_birth = born
    patient.registration_status = RegistrationStatus.COMPLETED
    patient.registered_at = now
    link.used_at = now
    await ctx.session.flush()
    ctx.audit(
        COMPLETE_REGISTRATION,
        AuditOutcome.ALLOWED,
        resource_type="Patient",
        resource_id=patient.id,
        medspa_id=patient.medspa_id,
        detail={"registrationLinkId": str(link.id)},
    )


# --- CSV import ---------------------------------------------------------------------------

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
    return DomainError(Problem("IMPORT_TOO_LARGE", message, "csv"))


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
        problems.append(Problem("VALIDATION", "Give an email address or a phone number.", "email"))
    if problems or first is None or last is None:
        return None, problems
    return PatientInput(first, last, email, phone, born), problems


async def import_patients(ctx: Context, *, content: str) -> ImportReport:
    """Create the good rows of a CSV of contacts, each in its own savepoint; report every row.

    Medspa admins only: patient.create at TENANT scope, into the active medspa."""
    grant = ctx.authorize(Action.PATIENT_CREATE, resource_type="Patient")
    medspa_id = ctx.principal.medspa_id
    if grant.scope is not Scope.TENANT or medspa_id is None:
        ctx.audit(
            Action.PATIENT_CREATE.value,
            AuditOutcome.DENIED,
            resource_type="Patient",
            detail={"reason": "import needs patient.create at TENANT scope", "import": True},
        )
        raise forbidden("Importing patients is for medspa admins.")
    columns, body = _read_csv(content)
    report = ImportReport()
    checked: list[tuple[int, PatientInput | None, list[Problem]]] = []
    for number, record in enumerate(body, start=2):
        if not any(v.strip() for v in record):
            continue  # blank lines are not rows
        if len(record) != len(columns):
            problem = Problem(
                "VALIDATION", f"Expected {len(columns)} fields, found {len(record)}.", None
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
                        "DUPLICATE_IN_FILE",
                        f"Same {kind} as row {first_row_of[(kind, value)]}.",
                        kind,
                    )
                )
            elif value in (existing_emails if kind == "email" else existing_phones):
                problems.append(
                    Problem("PATIENT_EXISTS", f"A patient with this {kind} already exists.", kind)
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
    ctx.audit(
        Action.PATIENT_CREATE.value,
        AuditOutcome.ALLOWED,
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
