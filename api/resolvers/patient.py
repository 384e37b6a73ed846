"""Patients: profile (contact, date of birth, registration status), search and contact updates.
Registration links live in `patient_registration`, the CSV import in `patient_import`.

Scope: TENANT for admins and partners with `patients:read`; ASSIGNED for PCCs is the patients
linked to the providers they reach right now (appointments, GFE requests, clearances, service
visits, or created by the PCC for one of them); OWN for a provider is the patients they have an
appointment, GFE request or clearance with. Every read of patient rows is audited (DESIGN §6.7):
one row per loader batch or page, naming the ids returned; a single read of an id that is
absent or out of scope is audited as DENIED (and answers null, like an absent row).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, exists, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.reach import linked_patients
from api.authz.scopes import Anchor, everywhere, register
from api.errors import (
    ApiError,
    DomainError,
    DomainErrorCode,
    ErrorCode,
    Problem,
    invalid,
    not_found,
)
from api.events.emit import EventKind, emit
from api.resolvers import medspa as medspa_resolvers
from api.resolvers.appointment_booking import check_idempotency_key
from api.resolvers.pagination import Page, SortKey, paginate, paginate_grouped
from db.models import (
    Appointment,
    AuditOutcome,
    Medspa,
    Patient,
    PatientSource,
    Provider,
)

if TYPE_CHECKING:
    from api.context import Context

T = TypeVar("T")


def _own(principal: Principal) -> ColumnElement[bool]:
    if principal.provider_id is None:
        return false()  # OWN without a provider profile reaches nobody
    # DESIGN §5: patients they have an appointment, a GFE request or a clearance with.
    return linked_patients(
        frozenset({principal.provider_id}), service_visits=False, created_by_user_id=None
    )


def _assigned(principal: Principal) -> ColumnElement[bool]:
    # DESIGN §5: the patients linked to the providers the PCC reaches right now (assigned or
    # covering), including those it created for one of them; never the rest of the medspa.
    return linked_patients(
        principal.assigned_provider_ids,
        service_visits=True,
        created_by_user_id=principal.user_id,
    )


def _seen_at_locations(principal: Principal) -> ColumnElement[bool]:
    # An alias, correlated to the patient only: the outer query may read appointments.
    seen = aliased(Appointment)
    return (
        exists()
        .where(
            seen.medspa_id == Patient.medspa_id,
            seen.patient_id == Patient.id,
            seen.location_id.in_(sorted(principal.location_ids or ())),
        )
        .correlate_except(seen)
    )


ANCHOR = register(
    Patient,
    Anchor(
        medspa=Patient.medspa_id,
        own=_own,
        assigned=_assigned,
        # A key limited to locations reads the patients seen at them.
        location=_seen_at_locations,
    ),
    read=Action.PATIENT_READ,
)
SORT = SortKey(
    (Patient.last_name, Patient.first_name, Patient.id), ("last_name", "first_name", "id")
)
# Which medspa a new patient may be created in: the principal's patient.create scope over
# medspa rows (TENANT/OWN: the active medspa; ASSIGNED: the PCC's medspas).
# A patient belongs to no location: a key limited to locations may create one.
CREATE_ANCHOR = Anchor(medspa=Medspa.id, location=everywhere)

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
        ctx.allowed(
            Action.PATIENT_READ,
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
    return account_patient_reads(ctx, ids, rows)


def account_patient_reads(
    ctx: Context, ids: Sequence[uuid.UUID], rows: Sequence[Patient]
) -> list[Patient | None]:
    """The patients asked for (`ids`) as the scoped read found them (`rows`), in key order;
    the read and the ids not found are on record. Every scoped read of patients by id ends
    here: the loader's, and the calendar's join."""
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
    ctx: Context,
    *,
    medspa_id: uuid.UUID,
    data: PatientInput,
    source: PatientSource,
    for_provider_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
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
        created_by_user_id=ctx.principal.user_id,
        created_for_provider_id=for_provider_id,
        idempotency_key=idempotency_key,
    )
    try:
        # Added inside the savepoint: `begin_nested` flushes what is pending before it
        # starts, and a conflict there would break the caller's transaction, not this one.
        async with ctx.session.begin_nested():
            ctx.session.add(row)
            await ctx.session.flush()
    except IntegrityError as exc:  # the savepoint's rollback has already dropped `row`
        if "idempotency_key" in str(exc.orig):
            raise _IdempotencyKeyTaken from exc
        raise DomainError(
            Problem(
                DomainErrorCode.PATIENT_EXISTS,
                "A patient with this email or phone already exists in this medspa.",
                "email" if data.email else "phone",
            )
        ) from exc
    await emit(ctx, EventKind.PATIENT_CREATED, row)
    return row


def _own_provider(ctx: Context) -> uuid.UUID | None:
    """A provider (or an admin masquerading as one) creates patients for themselves: only the
    provider dashboard carries a provider profile on the principal."""
    return ctx.principal.provider_id


class _IdempotencyKeyTaken(Exception):
    """A concurrent createPatient with the same key committed first."""


@dataclass(frozen=True)
class CreatedPatient:
    patient: Patient
    # True when the idempotency key had already created this patient (a retry).
    replayed: bool


def _same_patient(row: Patient, data: PatientInput) -> bool:
    return (
        row.first_name == data.first_name
        and row.last_name == data.last_name
        and (row.email or "").lower() == (data.email or "").lower()
        and row.phone == data.phone
        and row.date_of_birth == data.date_of_birth
    )


async def _replay(
    ctx: Context, *, medspa_id: uuid.UUID, key: str, data: PatientInput
) -> CreatedPatient | None:
    """The patient this key already created (a retry), or None when the key is new. The
    same key with other details is refused, as a booking's is."""
    existing = (
        await ctx.session.execute(
            select(Patient).where(Patient.medspa_id == medspa_id, Patient.idempotency_key == key)
        )
    ).scalar_one_or_none()
    if existing is None:
        return None
    if not _same_patient(existing, data):
        raise invalid(
            "idempotencyKey",
            "This idempotency key was used for a different patient.",
            DomainErrorCode.IDEMPOTENCY_KEY_REUSED,
        )
    ctx.allowed(
        Action.PATIENT_CREATE,
        resource_type="Patient",
        resource_id=existing.id,
        medspa_id=existing.medspa_id,
        detail={"replayed": True},
    )
    return CreatedPatient(existing, replayed=True)


async def create_patient(
    ctx: Context,
    *,
    medspa_id: uuid.UUID | None,
    provider_id: uuid.UUID | None = None,
    data: PatientInput,
    idempotency_key: str | None = None,
) -> CreatedPatient:
    """A new patient of a medspa, optionally for one provider.

    `provider_id` records whom the patient is created for: a PCC reaches the patients it
    created for a provider it reaches (DESIGN §5), so a PCC names the provider it books for;
    a provider creating a patient creates it for themselves. With an idempotency key (unique
    per medspa), a retry returns the patient the first attempt created instead of a duplicate.
    """
    for_provider = None
    if provider_id is not None:
        # Object check first: a provider outside patient.create's scope answers NOT_FOUND or
        # FORBIDDEN like any other object (invisible equals absent).
        for_provider = await ctx.find(Provider, provider_id, Action.PATIENT_CREATE)
        if medspa_id is not None and medspa_id != for_provider.medspa_id:
            raise invalid("providerId", "The provider works in another medspa.")
    target = medspa_id or (for_provider.medspa_id if for_provider else ctx.principal.medspa_id)
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
    key = check_idempotency_key(idempotency_key)
    if key is not None:
        replayed = await _replay(ctx, medspa_id=found, key=key, data=clean)
        if replayed is not None:
            return replayed
    try:
        row = await insert_patient(
            ctx,
            medspa_id=found,
            data=clean,
            source=PatientSource.STAFF,
            for_provider_id=for_provider.id if for_provider else _own_provider(ctx),
            idempotency_key=key,
        )
    except (_IdempotencyKeyTaken, DomainError):
        # A concurrent request with the same key committed first (its email or phone may
        # be the index that noticed): that is a retry, answered with its patient.
        replayed = await _replay(ctx, medspa_id=found, key=key, data=clean) if key else None
        if replayed is None:
            raise
        return replayed
    ctx.allowed(
        Action.PATIENT_CREATE,
        resource_type="Patient",
        resource_id=row.id,
        medspa_id=row.medspa_id,
    )
    return CreatedPatient(row, replayed=False)


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
    row = await ctx.find(Patient, patient_id, Action.PATIENT_UPDATE_CONTACT, for_update=True)
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
                DomainErrorCode.PATIENT_EXISTS,
                "A patient with this email or phone already exists in this medspa.",
                "phone" if "phone" in constraint else "email",
            )
        ) from exc
    ctx.allowed(
        Action.PATIENT_UPDATE_CONTACT,
        resource_type="Patient",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"fields": [_CAMEL[name] for name in changed]},  # names, never values
    )
    return row


# --- registration links -------------------------------------------------------------------


# --- CSV import ---------------------------------------------------------------------------
