"""Global look-ups: what must stay unique across every medspa, mapped to the tenant row.

A distributed database (Citus, distributed by `medspa_id`) can enforce a unique key only
within one medspa. A booking slug, an API key's hash and a registration link's token hash must
be unique platform-wide and found without knowing the medspa, so each lives in a small global
table (a Citus reference table) keyed by it and naming `(medspa_id, <row id>)` (migration
0006). The tenant rows keep their column, unique within the medspa.

The rows are kept here, by the ORM, whenever a `Location`, `ApiClient` or `RegistrationLink`
is added, changed or deleted through a session (a database trigger would do it on one server,
but Citus refuses triggers on distributed tables). A slug taken elsewhere fails on
`pk_booking_slug` in the same flush as the location that wanted it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, String, delete, event, inspect
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base, TenantMixin
from db.models.api_client import ApiClient
from db.models.invitation import Invitation
from db.models.location import Location
from db.models.patient import RegistrationLink


class BookingSlug(TenantMixin, Base):
    """A location's public booking slug; `bookable` mirrors the location being active."""

    __tablename__ = "booking_slug"

    slug: Mapped[str] = mapped_column(String(63), primary_key=True)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    bookable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ApiKey(TenantMixin, Base):
    """An API key's hash and the client it belongs to."""

    __tablename__ = "api_key"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)


class RegistrationToken(TenantMixin, Base):
    """A registration link's token hash and the link."""

    __tablename__ = "registration_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    registration_link_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)


class InvitationToken(TenantMixin, Base):
    """An invitation's token hash and the invitation (migration 0015)."""

    __tablename__ = "invitation_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    invitation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)


def _booking_slug(location: Location) -> BookingSlug:
    return BookingSlug(
        slug=location.booking_slug,
        medspa_id=location.medspa_id,
        location_id=location.id,
        bookable=bool(location.active_for_scheduling),
    )


def _invitation_token(invitation: Invitation) -> InvitationToken:
    return InvitationToken(
        token_hash=invitation.token_hash,
        medspa_id=invitation.medspa_id,
        invitation_id=invitation.id,
    )


def _changed(row: Any, *names: str) -> bool:
    state = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def keep_global_lookups(session: Session, _context: Any, _instances: Any) -> None:
    """Add, move or remove the look-up rows of the tenant rows this flush writes."""
    for row in list(session.new):
        if isinstance(row, (Location, ApiClient, RegistrationLink, Invitation)) and row.id is None:
            row.id = uuid.uuid4()  # the look-up names it before the INSERT would
        if isinstance(row, Location) and row.booking_slug:
            session.add(_booking_slug(row))
        elif isinstance(row, ApiClient):
            session.add(
                ApiKey(key_hash=row.key_hash, medspa_id=row.medspa_id, api_client_id=row.id)
            )
        elif isinstance(row, RegistrationLink):
            session.add(
                RegistrationToken(
                    token_hash=row.token_hash,
                    medspa_id=row.medspa_id,
                    registration_link_id=row.id,
                )
            )
        elif isinstance(row, Invitation):
            session.add(_invitation_token(row))
    for row in list(session.dirty):
        if isinstance(row, Invitation) and _changed(row, "token_hash"):
            # A resend replaces the token: the old one stops leading anywhere.
            session.execute(
                delete(InvitationToken).where(
                    InvitationToken.medspa_id == row.medspa_id,
                    InvitationToken.invitation_id == row.id,
                )
            )
            session.add(_invitation_token(row))
        if isinstance(row, Location) and _changed(row, "booking_slug", "active_for_scheduling"):
            session.execute(
                delete(BookingSlug).where(
                    BookingSlug.medspa_id == row.medspa_id, BookingSlug.location_id == row.id
                )
            )
            if row.booking_slug:
                session.add(_booking_slug(row))
    for row in list(session.deleted):
        if isinstance(row, Location):
            session.execute(
                delete(BookingSlug).where(
                    BookingSlug.medspa_id == row.medspa_id, BookingSlug.location_id == row.id
                )
            )
        elif isinstance(row, ApiClient):
            session.execute(delete(ApiKey).where(ApiKey.key_hash == row.key_hash))
        elif isinstance(row, RegistrationLink):
            session.execute(
                delete(RegistrationToken).where(RegistrationToken.token_hash == row.token_hash)
            )
