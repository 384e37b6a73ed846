"""Appointments: the role-scoped calendar and connections, and the status machine. Booking
(slot planning, retried writes, idempotency) lives in `appointment_booking`; rescheduling,
cancelling and status changes in `appointment_change`, which reuses the booking's planner and
writer, so double booking is refused the same way.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import sqlalchemy
from sqlalchemy import ColumnElement, Text, Uuid, and_, func, select
from sqlalchemy import cast as cast_
from sqlalchemy.orm import InstrumentedAttribute

from api.authz.actions import Action
from api.authz.scopes import Anchor, at_locations, register
from api.errors import ApiError, ErrorCode
from api.execution.rows import Needs, RowRelation, row_source, row_type
from api.ids import decode_id_of
from api.resolvers import appointment_type as appointment_type_resolvers
from api.resolvers import location as location_resolvers
from api.resolvers import patient as patient_resolvers
from api.resolvers import provider as provider_resolvers
from api.resolvers.batching import rows_by_ids
from api.resolvers.pagination import Page, SortKey, paginate_grouped
from api.resolvers.scheduling import as_instant, check_range
from db.models import (
    MAX_APPOINTMENT_LENGTH,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    BookingSource,
    Location,
    Patient,
    Provider,
)

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = register(
    Appointment,
    Anchor(
        medspa=Appointment.medspa_id,
        provider=Appointment.provider_id,
        location=at_locations(Appointment.location_id),
    ),
    read=Action.APPOINTMENT_READ,
)
SORT = SortKey((Appointment.starts_at, Appointment.id), ("starts_at", "id"))
MAX_CALENDAR_ROWS = 2000


# The status machine: BOOKED -> CONFIRMED -> CHECKED_IN -> COMPLETED; NO_SHOW or CANCELLED
# before check-in. Each target status is one action of the policy (DESIGN §5); confirming is
# part of booking, and cancelling has its own mutation (it takes a reason).
TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    AppointmentStatus.BOOKED: frozenset(
        {AppointmentStatus.CONFIRMED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED}
    ),
    AppointmentStatus.CONFIRMED: frozenset(
        {AppointmentStatus.CHECKED_IN, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED}
    ),
    AppointmentStatus.CHECKED_IN: frozenset({AppointmentStatus.COMPLETED}),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
    AppointmentStatus.CANCELLED: frozenset(),
}
STATUS_ACTIONS: dict[AppointmentStatus, Action] = {
    AppointmentStatus.CONFIRMED: Action.APPOINTMENT_BOOK,
    AppointmentStatus.CHECKED_IN: Action.APPOINTMENT_CHECK_IN,
    AppointmentStatus.COMPLETED: Action.APPOINTMENT_COMPLETE,
    AppointmentStatus.NO_SHOW: Action.APPOINTMENT_NO_SHOW,
    AppointmentStatus.CANCELLED: Action.APPOINTMENT_CANCEL,
}
MOVABLE = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED})


# --- reads --------------------------------------------------------------------------------


async def appointments_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[Appointment | None]:
    return await rows_by_ids(ctx, Appointment, ids, ctx.scope(Action.APPOINTMENT_READ, ANCHOR))


@dataclass(frozen=True)
class CalendarFilter:
    start: datetime
    end: datetime
    provider_ids: Sequence[uuid.UUID | None] | None = None
    location_ids: Sequence[uuid.UUID | None] | None = None
    statuses: Sequence[AppointmentStatus] | None = None


class AppointmentRecord(Protocol):
    """What the calendar reads of an appointment: a plain row of these columns."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def status(self) -> AppointmentStatus: ...
    @property
    def source(self) -> BookingSource: ...
    @property
    def price_cents(self) -> int: ...
    @property
    def deposit_cents(self) -> int | None: ...
    @property
    def cancellation_fee_cents(self) -> int | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...
    @property
    def cancellation_reason(self) -> str | None: ...
    @property
    def cancellation_fee_applies(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def provider_id(self) -> uuid.UUID: ...
    @property
    def location_id(self) -> uuid.UUID: ...
    @property
    def patient_id(self) -> uuid.UUID: ...
    @property
    def appointment_type_id(self) -> uuid.UUID: ...


# The calendar selects these columns into rows (no ORM objects on the hottest read).
RECORD_COLUMNS = tuple(
    getattr(Appointment, name)
    for name in AppointmentRecord.__dict__
    if not name.startswith("_") and isinstance(AppointmentRecord.__dict__[name], property)
)


def overlapping(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """Appointments overlapping [start, end), bounded on both ends of `starts_at` (an
    appointment lasts at most MAX_APPOINTMENT_LENGTH) so the (…, starts_at) indexes serve it."""
    return [
        Appointment.starts_at < end,
        Appointment.starts_at > start - MAX_APPOINTMENT_LENGTH,
        Appointment.ends_at > start,
    ]


@dataclass(frozen=True)
class Relation:
    """A relation the calendar can join: the related rows in the same statement, each
    behind its own scope clause (a row out of scope joins as null, as its loader answers)."""

    model: Any
    foreign_key: str  # the appointment's column
    loader: str  # the `Loaders` attribute the joined rows prime
    action: Action
    anchor: Anchor


RELATIONS: dict[str, Relation] = {
    "provider": Relation(
        Provider, "provider_id", "provider_by_id", Action.PROVIDER_READ, provider_resolvers.ANCHOR
    ),
    "location": Relation(
        Location, "location_id", "location_by_id", Action.LOCATION_READ, location_resolvers.ANCHOR
    ),
    "patient": Relation(
        Patient, "patient_id", "patient_by_id", Action.PATIENT_READ, patient_resolvers.ANCHOR
    ),
    "appointmentType": Relation(
        AppointmentType,
        "appointment_type_id",
        "appointment_type_by_id",
        Action.APPOINTMENT_TYPE_READ,
        appointment_type_resolvers.ANCHOR,
    ),
}


def _calendar_statement(ctx: Context, filters: CalendarFilter, columns: Sequence[Any]) -> Any:
    """The scoped calendar statement over `columns` (authorized, range checked), cut one row
    past the most a calendar answers."""
    ctx.authorize(Action.APPOINTMENT_READ, resource_type="Appointment")
    start, end = as_instant(filters.start, field="from"), as_instant(filters.end, field="to")
    check_range(start, end)
    stmt = select(*columns).where(
        ctx.scope(Action.APPOINTMENT_READ, ANCHOR), *overlapping(start, end)
    )
    if filters.provider_ids is not None:
        stmt = stmt.where(Appointment.provider_id.in_([i for i in filters.provider_ids if i]))
    if filters.location_ids is not None:
        stmt = stmt.where(Appointment.location_id.in_([i for i in filters.location_ids if i]))
    if filters.statuses is not None:
        stmt = stmt.where(Appointment.status.in_(list(filters.statuses)))
    return stmt.order_by(*SORT.order_by()).limit(MAX_CALENDAR_ROWS + 1)


def _first_flags(joined: Sequence[Relation]) -> list[Any]:
    """Each related row is joined once, to the first appointment that names it (300
    appointments of a week share a few providers): `first_<key>` marks that one. (The
    numbering sees every row the LIMIT keeps: a cut list is refused anyway.)"""
    return [
        (
            func.row_number().over(
                partition_by=getattr(Appointment, r.foreign_key), order_by=SORT.order_by()
            )
            == 1
        ).label(f"first_{r.foreign_key}")
        for r in joined
    ]


def _join_condition(
    ctx: Context, window: Any, relation: Relation, model: Any, *, first_only: bool = True
) -> Any:
    return and_(
        *([window.c[f"first_{relation.foreign_key}"]] if first_only else []),
        # Tenant tables join on medspa_id too (Citus routes them to one node).
        model.medspa_id == window.c.calendar_medspa_id,
        model.id == window.c[relation.foreign_key],
        ctx.scope(relation.action, relation.anchor),
    )


def _too_many(rows: Sequence[Any]) -> None:
    if len(rows) > MAX_CALENDAR_ROWS:
        raise ApiError(
            ErrorCode.BAD_USER_INPUT,
            f"More than {MAX_CALENDAR_ROWS} appointments; narrow the range or the filters.",
        )


async def calendar(
    ctx: Context, *, filters: CalendarFilter, relations: Collection[str] = ()
) -> list[AppointmentRecord]:
    """Appointments overlapping [start, end) in the principal's scope, by start time, in one
    statement with the `relations` (names of `RELATIONS`) joined; their rows prime the
    request's loaders, so the relation fields resolve without another statement."""
    stmt = _calendar_statement(ctx, filters, RECORD_COLUMNS)
    joined = [RELATIONS[name] for name in RELATIONS if name in relations]
    width = len(RECORD_COLUMNS)
    if joined:
        stmt = stmt.add_columns(
            Appointment.medspa_id.label("calendar_medspa_id"), *_first_flags(joined)
        )
        # The appointments as a subquery: a scope clause that looks at `appointment` itself
        # (a provider's OWN patients) must not correlate with the calendar's rows.
        window = stmt.subquery("calendar")
        width = len(window.c)
        query = select(window, *(r.model for r in joined)).select_from(window)
        for relation in joined:
            query = query.outerjoin(
                relation.model, _join_condition(ctx, window, relation, relation.model)
            )
        stmt = query.order_by(window.c.starts_at, window.c.id)
    rows: list[Any] = list((await ctx.session.execute(stmt)).all())
    _too_many(rows)
    for position, relation in enumerate(joined, start=width):
        _prime(ctx, relation, rows, position)
    return rows


def _prime(ctx: Context, relation: Relation, rows: Sequence[Any], position: int) -> None:
    found: dict[uuid.UUID, Any] = {}
    first = f"first_{relation.foreign_key}"
    for row in rows:
        if getattr(row, first):  # the one row that carries this key's related row (or null)
            found[getattr(row, relation.foreign_key)] = row[position]
    ids = list(found)
    if relation.model is Patient:  # reads of patients are on record, as the loader's are
        values = patient_resolvers.account_patient_reads(
            ctx, ids, [p for p in found.values() if p is not None]
        )
    else:
        values = [found[i] for i in ids]
    loader = getattr(ctx.loaders, relation.loader)
    for key, value in zip(ids, values, strict=True):
        loader.prime(key, value)


@dataclass(frozen=True)
class _PatientRead:
    """What the patient-read audit needs of a joined patient."""

    id: uuid.UUID
    medspa_id: uuid.UUID


async def calendar_rows(
    ctx: Context,
    needs: Needs,
    *,
    from_: datetime,
    to: datetime,
    provider_ids: Sequence[str] | None = None,
    location_ids: Sequence[str] | None = None,
    statuses: Sequence[AppointmentStatus] | None = None,
) -> Sequence[Any]:
    """`calendar` for a row plan (`api.execution.rows`): the root field's arguments as its
    resolver receives them; only the columns `needs` names, the related rows' columns joined
    in the same statement behind their scope clauses, plain rows out (no ORM object). Reads
    of patients are on record as `calendar`'s are."""
    filters = CalendarFilter(
        start=from_,
        end=to,
        provider_ids=_decoded(provider_ids, "Provider"),
        location_ids=_decoded(location_ids, "Location"),
        statuses=statuses,
    )
    # Table columns (Core), and executed on the session's connection: plain rows, with none
    # of the ORM's result processing.
    table = sqlalchemy.inspect(Appointment).columns
    columns = [table[name] for name in needs.columns]
    joined = [(RELATIONS[key], names) for key, names in needs.relations.items()]
    connection = await ctx.session.connection()
    if not joined:
        plain = [_as_text(c, name) for c, name in zip(columns, needs.columns, strict=True)]
        stmt = _calendar_statement(ctx, filters, plain)
        rows = (await connection.execute(stmt)).all()
        _too_many(rows)
        return rows
    stmt = _calendar_statement(
        ctx,
        filters,
        [
            *columns,
            table["medspa_id"].label("calendar_medspa_id"),
            table["starts_at"].label("calendar_starts_at"),
            table["id"].label("calendar_id"),
        ],
    )
    # Every appointment joins its related rows (plain equalities: hash joins or key look-ups;
    # the plan builds each related object once anyway).
    window = stmt.subquery("calendar")
    audit_patients = "patient" in needs.relations
    query = select(
        *(_as_text(window.c[name], name) for name in needs.columns),
        *(
            _as_text(
                sqlalchemy.inspect(relation.model).columns[name], f"{relation.foreign_key}_{name}"
            )
            for relation, names in joined
            for name in names
        ),
        # Past the plan's columns: what the patient-read audit needs besides them.
        *(
            [_as_text(Patient.__table__.c.medspa_id, "calendar_patient_medspa_id")]
            if audit_patients
            else []
        ),
    ).select_from(window)
    for relation, _ in joined:
        query = query.outerjoin(
            relation.model,
            _join_condition(ctx, window, relation, relation.model, first_only=False),
        )
    query = query.order_by(window.c.calendar_starts_at, window.c.calendar_id)
    rows = (await connection.execute(query)).all()
    _too_many(rows)
    if audit_patients:
        offset = len(needs.columns)
        for key, names in needs.relations.items():
            if key == "patient":
                break
            offset += len(names)
        _account_patients(ctx, rows, needs.columns.index("patient_id"), offset)
    return rows


def _as_text(column: Any, name: str) -> Any:
    """Ids as text: a plan only compares them or encodes them into global ids, and a text
    column costs a fraction of building a `uuid.UUID` per value (2,700 per week)."""
    if isinstance(column.type, Uuid):
        return cast_(column, Text).label(name)
    return column


def _decoded(ids: Sequence[str] | None, type_name: str) -> list[uuid.UUID | None] | None:
    return None if ids is None else [decode_id_of(i, type_name) for i in ids]


def _account_patients(ctx: Context, rows: Sequence[Any], key: int, id_position: int) -> None:
    """The patients the calendar joined, on record as the loader's reads are: per patient
    named (in order of first appearance), found or not found."""
    ids: list[uuid.UUID] = []
    found: list[_PatientRead] = []
    seen: set[str] = set()
    medspas: dict[str, uuid.UUID] = {}
    for row in rows:
        patient_id = row[key]  # ids come as text (`_as_text`)
        if patient_id in seen:
            continue
        seen.add(patient_id)
        ids.append(uuid.UUID(patient_id))
        if row[id_position] is not None:
            medspa = medspas.get(row[-1])
            if medspa is None:
                medspa = medspas[row[-1]] = uuid.UUID(row[-1])
            found.append(_PatientRead(ids[-1], medspa))
    if ids:
        patient_resolvers.account_patient_reads(ctx, ids, cast(list[Patient], found))


# (parent id, first, after, from, to)
AppointmentPageKey = tuple[uuid.UUID, int | None, str | None, datetime | None, datetime | None]


async def _grouped(
    ctx: Context,
    keys: Sequence[AppointmentPageKey],
    *,
    column: InstrumentedAttribute[uuid.UUID],
    attribute: str,
) -> list[Page[Appointment] | ApiError]:
    """Appointment pages of many parents: one statement per distinct (from, to, first, after).

    A bad range fails only the fields that asked for it (the loader raises the error for
    their keys), never the other parents of the batch."""
    by_range: dict[tuple[datetime | None, datetime | None], list[AppointmentPageKey]] = defaultdict(
        list
    )
    for key in keys:
        by_range[(key[3], key[4])].append(key)
    results: dict[AppointmentPageKey, Page[Appointment] | ApiError] = {}
    for (start, end), range_keys in by_range.items():
        stmt = select(Appointment).where(ctx.scope(Action.APPOINTMENT_READ, ANCHOR))
        try:
            if start is not None:
                after = as_instant(start, field="from")
                stmt = stmt.where(
                    Appointment.ends_at > after,
                    Appointment.starts_at > after - MAX_APPOINTMENT_LENGTH,
                )
            if end is not None:
                stmt = stmt.where(Appointment.starts_at < as_instant(end, field="to"))
            if start is not None and end is not None:
                check_range(as_instant(start, field="from"), as_instant(end, field="to"))
        except ApiError as exc:
            results.update(dict.fromkeys(range_keys, exc))
            continue
        pages = await paginate_grouped(
            ctx.session,
            stmt,
            entity=Appointment,
            group_by=column,
            group_attribute=attribute,
            keys=[(k[0], k[1], k[2]) for k in range_keys],
            sort=SORT,
        )
        results.update(zip(range_keys, pages, strict=True))
    return [results[k] for k in keys]


def appointments_by(
    column: InstrumentedAttribute[uuid.UUID], attribute: str
) -> Callable[
    [Context, Sequence[AppointmentPageKey]], Awaitable[list[Page[Appointment] | ApiError]]
]:
    async def load(
        ctx: Context, keys: Sequence[AppointmentPageKey]
    ) -> list[Page[Appointment] | ApiError]:
        return await _grouped(ctx, keys, column=column, attribute=attribute)

    return load


appointments_by_medspa = appointments_by(Appointment.medspa_id, "medspa_id")
appointments_by_provider = appointments_by(Appointment.provider_id, "provider_id")
appointments_by_location = appointments_by(Appointment.location_id, "location_id")
appointments_by_patient = appointments_by(Appointment.patient_id, "patient_id")


# --- booking ------------------------------------------------------------------------------


# The calendar answers from plain rows when a document selects only columns and joined
# relations (`api.execution.rows`); other documents run its resolver.
row_source("Query", "calendar", "Appointment", calendar_rows)
row_type(
    "Appointment",
    Appointment,
    {
        "provider": RowRelation("Provider", "provider", "provider_id"),
        "location": RowRelation("Location", "location", "location_id"),
        "patient": RowRelation("Patient", "patient", "patient_id"),
        "appointmentType": RowRelation("AppointmentType", "appointmentType", "appointment_type_id"),
    },
)
row_type("Provider", Provider)
row_type("Location", Location)
row_type("Patient", Patient)
row_type("AppointmentType", AppointmentType)
