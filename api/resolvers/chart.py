"""Charting minimum: service visits, open then closed, with the services performed.

`chart.read` / `chart.write` are OWN for providers only (DESIGN §5): a provider charts their
own visits on the provider dashboard; an admin masquerading as the provider charts as that
provider (the visit records the real actor; the audit row carries both identities). Reading a
chart is reading a patient record, so it is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from api.authz.actions import Action
from api.authz.scopes import Anchor, register
from api.errors import DomainError, DomainErrorCode, Problem, forbidden, invalid
from api.resolvers.pagination import Page, SortKey, paginate
from api.resolvers.service import active_services
from db.models import (
    Appointment,
    AuditOutcome,
    Patient,
    Service,
    ServiceVisit,
    ServiceVisitService,
    ServiceVisitStatus,
)

if TYPE_CHECKING:
    from api.context import Context

ANCHOR = register(
    ServiceVisit,
    Anchor(medspa=ServiceVisit.medspa_id, provider=ServiceVisit.provider_id),
    read=Action.CHART_READ,
)
SORT = SortKey((ServiceVisit.opened_at, ServiceVisit.id), ("opened_at", "id"))


def _audit_read(ctx: Context, visits: Sequence[ServiceVisit]) -> None:
    if visits:
        ctx.allowed(
            Action.CHART_READ,
            resource_type="ServiceVisit",
            resource_id=visits[0].id if len(visits) == 1 else None,
            detail={"serviceVisitIds": [str(v.id) for v in visits]},
        )


async def visits_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[ServiceVisit | None]:
    rows = list(
        (
            await ctx.session.execute(
                select(ServiceVisit).where(
                    ServiceVisit.id.in_(ids), ctx.scope(Action.CHART_READ, ANCHOR)
                )
            )
        ).scalars()
    )
    _audit_read(ctx, rows)
    found = {r.id: r for r in rows}
    return [found.get(i) for i in ids]


async def services_by_visit(ctx: Context, visit_ids: Sequence[uuid.UUID]) -> list[list[Service]]:
    rows = (
        await ctx.session.execute(
            select(ServiceVisitService.service_visit_id, Service)
            .join(Service, Service.id == ServiceVisitService.service_id)
            .where(ServiceVisitService.service_visit_id.in_(visit_ids))
            .order_by(Service.name, Service.id)
        )
    ).all()
    grouped: dict[uuid.UUID, list[Service]] = {i: [] for i in visit_ids}
    for visit_id, service in rows:
        grouped[visit_id].append(service)
    return [grouped[i] for i in visit_ids]


async def list_visits(
    ctx: Context,
    *,
    patient_id: uuid.UUID | None,
    status: ServiceVisitStatus | None,
    first: int | None,
    after: str | None,
) -> Page[ServiceVisit]:
    ctx.authorize(Action.CHART_READ)
    stmt = select(ServiceVisit).where(ctx.scope(Action.CHART_READ, ANCHOR))
    if patient_id is not None:
        stmt = stmt.where(ServiceVisit.patient_id == patient_id)
    if status is not None:
        stmt = stmt.where(ServiceVisit.status == status)
    page = await paginate(ctx.session, stmt, sort=SORT, first=first, after=after)
    _audit_read(ctx, page.rows)
    return page


async def _set_services(
    ctx: Context, visit: ServiceVisit, service_ids: Sequence[uuid.UUID | None]
) -> None:
    services = await active_services(
        ctx, medspa_id=visit.medspa_id, service_ids=service_ids, field="serviceIds"
    )
    await ctx.session.execute(
        delete(ServiceVisitService).where(ServiceVisitService.service_visit_id == visit.id)
    )
    ctx.session.add_all(
        ServiceVisitService(medspa_id=visit.medspa_id, service_visit_id=visit.id, service_id=s.id)
        for s in services
    )
    await ctx.session.flush()


def _audit_write(ctx: Context, visit: ServiceVisit, operation: str) -> None:
    ctx.allowed(
        Action.CHART_WRITE,
        resource_type="ServiceVisit",
        resource_id=visit.id,
        medspa_id=visit.medspa_id,
        detail={"operation": operation, "patientId": str(visit.patient_id)},
    )


async def open_visit(
    ctx: Context,
    *,
    patient_id: uuid.UUID | None,
    appointment_id: uuid.UUID | None,
    service_ids: Sequence[uuid.UUID | None],
    notes: str | None,
) -> ServiceVisit:
    provider_id = ctx.principal.provider_id
    if provider_id is None:
        ctx.audit(Action.CHART_WRITE.value, AuditOutcome.DENIED, detail={"reason": "no provider"})
        raise forbidden("Only a provider charts, on their provider dashboard.")
    patient = await ctx.find(Patient, patient_id, Action.CHART_WRITE)
    if appointment_id is not None:
        appointment = (
            await ctx.session.execute(
                select(Appointment.id).where(
                    Appointment.id == appointment_id,
                    Appointment.provider_id == provider_id,
                    Appointment.patient_id == patient.id,
                )
            )
        ).scalar_one_or_none()
        if appointment is None:
            raise invalid("appointmentId", "Not one of your appointments with this patient.")
    visit = ServiceVisit(
        id=uuid.uuid4(),
        medspa_id=patient.medspa_id,
        provider_id=provider_id,
        patient_id=patient.id,
        appointment_id=appointment_id,
        status=ServiceVisitStatus.OPEN,
        notes=(notes or "").strip() or None,
        opened_at=datetime.now(UTC),
        charted_by_user_id=ctx.principal.actor_user_id,
    )
    ctx.session.add(visit)
    await ctx.session.flush()
    if service_ids:
        await _set_services(ctx, visit, service_ids)
    await ctx.session.refresh(visit)
    _audit_write(ctx, visit, "open")
    return visit


async def _writable(ctx: Context, visit_id: uuid.UUID | None) -> ServiceVisit:
    visit: ServiceVisit = await ctx.find(ServiceVisit, visit_id, Action.CHART_WRITE)
    if visit.status is ServiceVisitStatus.CLOSED:
        raise DomainError(
            Problem(DomainErrorCode.VISIT_CLOSED, "A closed visit is not edited.", "id")
        )
    return visit


async def update_visit(
    ctx: Context,
    *,
    visit_id: uuid.UUID | None,
    service_ids: Sequence[uuid.UUID | None] | None,
    notes: str | None,
) -> ServiceVisit:
    visit = await _writable(ctx, visit_id)
    if service_ids is not None:
        await _set_services(ctx, visit, service_ids)
    if notes is not None:
        visit.notes = notes.strip() or None
    await ctx.session.flush()
    _audit_write(ctx, visit, "update")
    return visit


async def close_visit(ctx: Context, *, visit_id: uuid.UUID | None) -> ServiceVisit:
    visit = await _writable(ctx, visit_id)
    performed = (
        await ctx.session.execute(
            select(ServiceVisitService.service_id).where(
                ServiceVisitService.service_visit_id == visit.id
            )
        )
    ).first()
    if performed is None:
        raise invalid("serviceIds", "Record the services performed before closing the visit.")
    visit.status = ServiceVisitStatus.CLOSED
    visit.closed_at = datetime.now(UTC)
    await ctx.session.flush()
    _audit_write(ctx, visit, "close")
    return visit
