"""Appointment changes announced to every process: one NOTIFY per committing transaction.

Every write of an appointment goes through the ORM. As each is flushed, its session notes the
appointments it inserted or changed (with the calendar-relevant values they had before);
just before the commit it sends them all with one `pg_notify` on `CHANNEL`, inside the
writing transaction, so only committed changes reach the listeners and a rollback announces
nothing. (From the application, not a trigger: Citus runs no trigger on distributed tables.)

A notice names the appointment and its medspa, plus the window, provider and location it
had before an update: a subscriber that showed it there learns of its removal. Listeners
re-read the row through the subscriber's scope, so a notice from a savepoint that was later
rolled back (its row absent or unchanged) costs a read and shows nothing new.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session, object_session

from db.models import Appointment

CHANNEL = "calendar_changed"
_PENDING = "calendar_notices"
# What a subscriber's window looks at; a change of anything else keeps its place.
_PLACE = ("starts_at", "ends_at", "provider_id", "location_id")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an appointment sits on a calendar."""

    starts_at: datetime
    ends_at: datetime
    provider_id: uuid.UUID
    location_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Notice:
    medspa_id: uuid.UUID
    appointment_id: uuid.UUID
    before: Placement | None  # where an updated appointment was; None for a new one

    def encode(self) -> str:
        old = None
        if self.before is not None:
            b = self.before
            old = [
                b.starts_at.isoformat(),
                b.ends_at.isoformat(),
                str(b.provider_id),
                str(b.location_id),
            ]
        return json.dumps({"m": str(self.medspa_id), "a": str(self.appointment_id), "o": old})

    @classmethod
    def decode(cls, payload: str) -> Notice:
        """The notice of a payload; ValueError/KeyError/TypeError when it is not one."""
        data = json.loads(payload)
        old = data.get("o")
        before = None
        if old is not None:
            starts, ends, provider, location = old
            before = Placement(
                datetime.fromisoformat(starts),
                datetime.fromisoformat(ends),
                uuid.UUID(provider),
                uuid.UUID(location),
            )
        return cls(uuid.UUID(data["m"]), uuid.UUID(data["a"]), before)


def _before(row: Appointment) -> Placement | None:
    state = inspect(row)
    values: dict[str, Any] = {}
    moved = False
    for name in _PLACE:
        history = state.attrs[name].history
        if history.deleted:
            moved = True
            values[name] = history.deleted[0]
        else:
            values[name] = getattr(row, name)
    return Placement(**values) if moved else None


def _pending(row: Appointment) -> dict[uuid.UUID, Notice] | None:
    session = object_session(row)
    if session is None:
        return None
    pending: dict[uuid.UUID, Notice] = session.info.setdefault(_PENDING, {})
    return pending


# Mapper events, per written appointment: scanning the session (`dirty`) after every flush
# would cost a bulk write of other rows time in the size of its identity map.
@event.listens_for(Appointment, "after_insert")
def _inserted(_mapper: Any, _connection: Any, row: Appointment) -> None:
    pending = _pending(row)
    if pending is not None:
        pending[row.id] = Notice(row.medspa_id, row.id, None)


@event.listens_for(Appointment, "after_update")
def _updated(_mapper: Any, _connection: Any, row: Appointment) -> None:
    pending = _pending(row)
    if pending is None:
        return
    earlier = pending.get(row.id)
    # The first placement of the transaction is the one subscribers saw.
    before = earlier.before if earlier is not None and earlier.before else _before(row)
    pending[row.id] = Notice(row.medspa_id, row.id, before)


@event.listens_for(Session, "before_commit")
def _announce(session: Session) -> None:
    notices: dict[uuid.UUID, Notice] = session.info.pop(_PENDING, {})
    if not notices:
        return
    session.connection().execute(
        text("SELECT pg_notify(:channel, n) FROM unnest(CAST(:notices AS text[])) AS n"),
        {"channel": CHANNEL, "notices": [n.encode() for n in notices.values()]},
    )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
