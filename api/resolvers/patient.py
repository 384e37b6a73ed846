"""Patients (minimal, as booking needs): create, read contact and registration status.

Scope: TENANT for admins and partners with `patients:read`; ASSIGNED for PCCs is the medspas
of their providers (a PCC books new patients for those providers); OWN for a provider is the
patients they have an appointment with. Every read of patient rows is audited (DESIGN §6.7):
one row per loader batch, naming the ids returned.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.exc import IntegrityError

from api.authz.actions import Action
from api.authz.principal import Principal
from api.authz.scopes import Anchor
from api.errors import DomainError, Problem, invalid, not_found
from api.resolvers import medspa as medspa_resolvers
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from db.models import Appointment, AuditOutcome, Medspa, Patient, PatientSource

if TYPE_CHECKING:
    from api.context import Context


def _own(principal: Principal) -> ColumnElement[bool]:
    if principal.provider_id is None:
        return false()  # OWN without a provider profile reaches nobody
    return Patient.id.in_(
        select(Appointment.patient_id).where(Appointment.provider_id == principal.provider_id)
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


def check_patient_input(data: PatientInput) -> PatientInput:
    first, last = data.first_name.strip(), data.last_name.strip()
    if not first or len(first) > 100:
        raise invalid("firstName", "1 to 100 characters.")
    if not last or len(last) > 100:
        raise invalid("lastName", "1 to 100 characters.")
    email, phone = normalise_email(data.email), normalise_phone(data.phone)
    if email is None and phone is None:
        raise invalid("email", "Give an email address or a phone number.")
    return PatientInput(first, last, email, phone)


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
