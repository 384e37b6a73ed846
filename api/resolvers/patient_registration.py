"""Patient registration links (DESIGN §6.3): an admin or provider sends a link; the patient
completes their registration with its token, which is the only credential they hold.

Registration links: the token is returned once, as a URL path, and only its SHA-256 is kept.
A link is single-use, expires, and sending a new one supersedes the outstanding one. The
patient completes registration anonymously with the token (`complete_registration`), which
reaches the link's medspa through `app_registration_medspa` (migration 0006: it reads the
global `registration_token` look-up) the way the public booking page reaches a location's.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from api.authz.actions import Action
from api.errors import (
    DomainError,
    DomainErrorCode,
    Problem,
)
from api.resolvers.notification import queue_registration_link
from api.resolvers.patient import check_date_of_birth, check_name
from db.models import (
    Patient,
    RegistrationLink,
    RegistrationStatus,
)

if TYPE_CHECKING:
    from api.context import Context

REGISTRATION_LINK_TTL = timedelta(days=7)


REGISTRATION_PATH = "/register/"


MAX_TOKEN_LENGTH = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SentLink:
    patient: Patient
    link: RegistrationLink
    path: str  # carries the token: shown once, never stored


async def send_registration_link(ctx: Context, *, patient_id: uuid.UUID | None) -> SentLink:
    row = await ctx.find(
        Patient, patient_id, Action.PATIENT_SEND_REGISTRATION_LINK, for_update=True
    )
    if row.registration_status is RegistrationStatus.COMPLETED:
        raise DomainError(
            Problem(
                DomainErrorCode.REGISTRATION_COMPLETED,
                "This patient has completed registration.",
                "id",
            )
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
    # The message itself: the worker sends it (api/events), the URL's token with it.
    origin = urlsplit(ctx.settings.public_booking_base_url)._replace(path="", query="")
    await queue_registration_link(
        ctx, link=link, url=origin.geturl() + REGISTRATION_PATH + token, deliver_at=now
    )
    await ctx.session.flush()
    ctx.allowed(
        Action.PATIENT_SEND_REGISTRATION_LINK,
        resource_type="Patient",
        resource_id=row.id,
        medspa_id=row.medspa_id,
        detail={"registrationLinkId": str(link.id), "expiresAt": link.expires_at.isoformat()},
    )
    return SentLink(row, link, REGISTRATION_PATH + token)


def _link_problem(code: DomainErrorCode, message: str) -> DomainError:
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
        raise _link_problem(
            DomainErrorCode.REGISTRATION_LINK_INVALID, "This registration link is not valid."
        )
    digest = hash_token(token)
    # The link's medspa (a security-definer function answers it), then reachable by this
    # transaction (DESIGN §6.3).
    medspa_id = (
        await ctx.session.execute(select(func.app_registration_medspa(digest)))
    ).scalar_one_or_none()
    link = None
    if medspa_id is not None:
        await ctx.reach_tenants((medspa_id,))
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
        raise _link_problem(
            DomainErrorCode.REGISTRATION_LINK_INVALID, "This registration link is not valid."
        )
    now = datetime.now(UTC)
    if link.used_at is not None:
        raise _link_problem(
            DomainErrorCode.REGISTRATION_LINK_USED, "This registration link was already used."
        )
    if link.superseded_at is not None or link.expires_at <= now:
        raise _link_problem(
            DomainErrorCode.REGISTRATION_LINK_EXPIRED,
            "This registration link has expired; ask for a new one.",
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
    ctx.allowed(
        Action.PATIENT_COMPLETE_REGISTRATION,
        resource_type="Patient",
        resource_id=patient.id,
        medspa_id=patient.medspa_id,
        detail={"registrationLinkId": str(link.id)},
    )
