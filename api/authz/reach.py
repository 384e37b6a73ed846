"""A PCC's reach: the providers and medspas its ASSIGNED scope covers right now (DESIGN §3).

Assigned: the providers with a current assignment (VIRTUAL) or every provider of the medspa
it sits in (DESIGNATED). Covering: the providers whose absence it covers inside an active
coverage window. Access follows time: both are computed per request, nothing is revoked.

Rows that belong to a provider follow the provider (DESIGN §5): `linked_patients` is the one
definition of "the patients linked to these providers", read by the patient scopes (ASSIGNED
for PCCs, OWN for a provider).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, false, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.principal import CoverageInfo
from db.models import (
    Appointment,
    ChannelAccessGrant,
    Clearance,
    Coverage,
    GfeRequest,
    Medspa,
    OooAffectedProvider,
    Patient,
    Pcc,
    PccAssignment,
    PccKind,
    Provider,
    ServiceVisit,
)
from db.session import set_tenant_settings


@dataclass(frozen=True, slots=True)
class AssignedReach:
    provider_ids: frozenset[uuid.UUID]
    medspa_ids: frozenset[uuid.UUID]
    coverage: tuple[CoverageInfo, ...]
    # Row-level security: the medspas above plus those where the PCC holds a channel grant
    # not over yet, so that it can read whose lines it will hold (the grant's provider)
    # before the window opens. Scopes, not this fence, decide which rows it reads there.
    rls_medspa_ids: frozenset[uuid.UUID]


async def assigned_reach(session: AsyncSession, pcc: Pcc) -> AssignedReach:
    """The ASSIGNED scope of a PCC right now.

    VIRTUAL: the providers with a current assignment. DESIGNATED: every provider of the medspa
    it sits in, while that medspa has the PCC service. Both: plus the providers it covers right
    now (an active coverage window), so access follows coverage in time with nothing to
    revoke.
    """
    now = datetime.now(UTC)
    rows = (
        await session.execute(
            select(PccAssignment.provider_id, PccAssignment.medspa_id).where(
                PccAssignment.pcc_id == pcc.id,
                PccAssignment.starts_at <= now,
                (PccAssignment.ends_at.is_(None)) | (PccAssignment.ends_at > now),
            )
        )
    ).all()
    provider_ids = {r.provider_id for r in rows}
    medspa_ids = {r.medspa_id for r in rows}
    if pcc.kind is PccKind.DESIGNATED and pcc.designated_medspa_id is not None:
        # A designated PCC works in its medspa only while that medspa has the PCC service
        # (turning it off, or losing Portrait's EHR, ends it: DESIGN §2).
        # (Row-level security shows the medspa row only once the medspa is in the settings.)
        await set_tenant_settings(
            session, medspa_ids={*medspa_ids, pcc.designated_medspa_id}, platform=False
        )
        in_service = (
            await session.execute(
                select(Medspa.pcc_service).where(Medspa.id == pcc.designated_medspa_id)
            )
        ).scalar_one_or_none()
        if in_service:
            medspa_ids.add(pcc.designated_medspa_id)
            provider_ids.update(
                (
                    await session.execute(
                        select(Provider.id).where(Provider.medspa_id == pcc.designated_medspa_id)
                    )
                ).scalars()
            )
    covered = await covering_reach(session, pcc.id, now)
    provider_ids.update(provider for provider, _medspa, _until in covered)
    medspa_ids.update(medspa for _provider, medspa, _until in covered)
    lines = (
        await session.execute(
            select(ChannelAccessGrant.medspa_id)
            .where(
                ChannelAccessGrant.pcc_id == pcc.id,
                ChannelAccessGrant.ends_at > now,
                ChannelAccessGrant.revoked_at.is_(None),
            )
            .distinct()
        )
    ).scalars()
    return AssignedReach(
        provider_ids=frozenset(provider_ids),
        medspa_ids=frozenset(medspa_ids),
        coverage=coverage_infos(covered),
        rls_medspa_ids=frozenset(medspa_ids).union(lines),
    )


async def covering_reach(
    session: AsyncSession, pcc_id: uuid.UUID, now: datetime
) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    """(provider, medspa, until) a PCC covers right now, per active coverage windows."""
    rows = (
        await session.execute(
            select(OooAffectedProvider.provider_id, OooAffectedProvider.medspa_id, Coverage.ends_at)
            .join(Coverage, Coverage.ooo_id == OooAffectedProvider.ooo_id)
            .where(
                Coverage.covering_pcc_id == pcc_id,
                Coverage.starts_at <= now,
                Coverage.ends_at > now,
                OooAffectedProvider.covers_own_lines.is_(False),
            )
        )
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def coverage_infos(
    rows: Sequence[tuple[uuid.UUID, uuid.UUID, datetime]],
) -> tuple[CoverageInfo, ...]:
    return tuple(CoverageInfo(provider_id=p, until=until) for p, _m, until in rows)


def linked_patients(
    provider_ids: frozenset[uuid.UUID],
    *,
    service_visits: bool,
    created_by_user_id: uuid.UUID | None,
) -> ColumnElement[bool]:
    """Patients linked to `provider_ids`: an appointment, a GFE request or a clearance signed
    with one of them; with `service_visits`, a service visit with one of them; with
    `created_by_user_id`, a patient that user created for one of them (DESIGN §5).

    A condition on `Patient` rows; an empty set of providers reaches no patient.
    """
    if not provider_ids:
        return false()
    ids = sorted(provider_ids)
    # Matched on (medspa_id, patient_id), the tenant key, so a distributed database finds
    # each pair on the patient's own node.
    patient = tuple_(Patient.medspa_id, Patient.id)
    links: list[ColumnElement[bool]] = [
        patient.in_(
            select(Appointment.medspa_id, Appointment.patient_id).where(
                Appointment.provider_id.in_(ids)
            )
        ),
        patient.in_(
            select(GfeRequest.medspa_id, GfeRequest.patient_id).where(
                GfeRequest.provider_id.in_(ids)
            )
        ),
        patient.in_(
            select(Clearance.medspa_id, Clearance.patient_id).where(
                Clearance.signed_by_provider_id.in_(ids)
            )
        ),
    ]
    if service_visits:
        links.append(
            patient.in_(
                select(ServiceVisit.medspa_id, ServiceVisit.patient_id).where(
                    ServiceVisit.provider_id.in_(ids)
                )
            )
        )
    if created_by_user_id is not None:
        links.append(
            Patient.created_for_provider_id.in_(ids)
            & (Patient.created_by_user_id == created_by_user_id)
        )
    return or_(*links)
