"""Per-request DataLoaders. Each applies the principal's scope; results come in key order.

The loaders of services, GFE and charting are grouped in `ServiceLoaders`
(`Loaders.services`).
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from strawberry.dataloader import DataLoader

from api.resolvers import appointment as appointments
from api.resolvers import appointment_type as appointment_types
from api.resolvers import (
    availability,
    chart,
    checkout,
    coverage,
    gfe,
    inventory,
    patient,
    pcc,
    scheduling_settings,
    service,
    service_document,
    service_library,
    support_ticket,
)
from api.resolvers import medspa as medspa_resolvers
from api.resolvers.location import locations_by_ids, locations_by_medspa
from api.resolvers.medspa import medspas_by_ids
from api.resolvers.pagination import Page
from api.resolvers.provider import (
    locations_by_provider,
    providers_by_ids,
    providers_by_location,
    providers_by_medspa,
)
from api.resolvers.user import users_by_ids
from db.models import (
    Appointment,
    AppointmentType,
    ChannelAccessGrant,
    Coverage,
    GfeRequest,
    LibraryService,
    Location,
    Medspa,
    MedspaFeeLine,
    MedspaIntegration,
    OooAffectedProvider,
    Patient,
    Pcc,
    Provider,
    SchedulingSettings,
    Service,
    ServiceDocument,
    ServiceGroup,
    ServiceVisit,
    SupportTicketComment,
    User,
    WeeklyHours,
)

if TYPE_CHECKING:
    from api.context import Context
PageKey = tuple[uuid.UUID, int | None, str | None]
K = TypeVar("K")
V = TypeVar("V")
W = TypeVar("W")
AppointmentPageKey = appointments.AppointmentPageKey


class Loaders:
    """Built once per request, bound to its Context."""

    def __init__(self, ctx: Context) -> None:
        self.medspa_by_id: DataLoader[uuid.UUID, Medspa | None] = DataLoader(
            lambda ids: medspas_by_ids(ctx, ids)
        )
        self.location_by_id: DataLoader[uuid.UUID, Location | None] = DataLoader(
            lambda ids: locations_by_ids(ctx, ids)
        )
        self.provider_by_id: DataLoader[uuid.UUID, Provider | None] = DataLoader(
            lambda ids: providers_by_ids(ctx, ids)
        )
        self.user_by_id: DataLoader[uuid.UUID, User | None] = DataLoader(
            lambda ids: users_by_ids(ctx, ids)
        )
        self.locations_by_medspa: DataLoader[PageKey, Page[Location]] = DataLoader(
            lambda keys: locations_by_medspa(ctx, keys)
        )
        self.providers_by_medspa: DataLoader[PageKey, Page[Provider]] = DataLoader(
            lambda keys: providers_by_medspa(ctx, keys)
        )
        # Scheduling (issue 4).
        self.appointment_by_id: DataLoader[uuid.UUID, Appointment | None] = DataLoader(
            lambda ids: appointments.appointments_by_ids(ctx, ids)
        )
        self.appointment_type_by_id: DataLoader[uuid.UUID, AppointmentType | None] = DataLoader(
            lambda ids: appointment_types.appointment_types_by_ids(ctx, ids)
        )
        self.patient_by_id: DataLoader[uuid.UUID, Patient | None] = DataLoader(
            lambda ids: patient.patients_by_ids(ctx, ids)
        )
        self.appointment_types_by_medspa: DataLoader[PageKey, Page[AppointmentType]] = DataLoader(
            lambda keys: appointment_types.appointment_types_by_medspa(ctx, keys)
        )
        self.patients_by_medspa: DataLoader[PageKey, Page[Patient]] = DataLoader(
            lambda keys: patient.patients_by_medspa(ctx, keys)
        )
        self.appointments_by_medspa: DataLoader[AppointmentPageKey, Page[Appointment]] = DataLoader(
            lambda keys: appointments.appointments_by_medspa(ctx, keys)
        )
        self.appointments_by_provider: DataLoader[AppointmentPageKey, Page[Appointment]] = (
            DataLoader(lambda keys: appointments.appointments_by_provider(ctx, keys))
        )
        self.appointments_by_location: DataLoader[AppointmentPageKey, Page[Appointment]] = (
            DataLoader(lambda keys: appointments.appointments_by_location(ctx, keys))
        )
        self.appointments_by_patient: DataLoader[AppointmentPageKey, Page[Appointment]] = (
            DataLoader(lambda keys: appointments.appointments_by_patient(ctx, keys))
        )
        self.appointment_types_by_location: DataLoader[uuid.UUID, list[AppointmentType]] = (
            DataLoader(lambda ids: appointment_types.appointment_types_by_location(ctx, ids))
        )
        self.appointment_types_by_provider: DataLoader[uuid.UUID, list[AppointmentType]] = (
            DataLoader(lambda ids: appointment_types.appointment_types_by_provider(ctx, ids))
        )
        self.locations_by_appointment_type: DataLoader[uuid.UUID, list[Location]] = DataLoader(
            lambda ids: appointment_types.locations_by_appointment_type(ctx, ids)
        )
        self.locations_by_provider: DataLoader[uuid.UUID, list[Location]] = DataLoader(
            lambda ids: locations_by_provider(ctx, ids)
        )
        self.providers_by_location: DataLoader[uuid.UUID, list[Provider]] = DataLoader(
            lambda ids: providers_by_location(ctx, ids)
        )
        self.weekly_hours_by_provider: DataLoader[uuid.UUID, list[WeeklyHours]] = DataLoader(
            lambda ids: availability.weekly_hours_by_provider(ctx, ids)
        )
        self.scheduling_settings_by_medspa: DataLoader[uuid.UUID, SchedulingSettings] = DataLoader(
            lambda ids: scheduling_settings.settings_by_medspa(ctx, ids)
        )
        # PCCs and coverage
        self.pcc_by_id: DataLoader[uuid.UUID, Pcc | None] = DataLoader(
            lambda ids: pcc.pccs_by_ids(ctx, ids)
        )
        self.pccs_by_provider: DataLoader[uuid.UUID, list[pcc.ProviderPcc]] = DataLoader(
            lambda ids: pcc.pccs_by_provider(ctx, ids)
        )
        self.affected_by_ooo: DataLoader[uuid.UUID, list[OooAffectedProvider]] = DataLoader(
            lambda ids: coverage.affected_by_ooo(ctx, ids)
        )
        self.coverage_by_ooo: DataLoader[uuid.UUID, Coverage | None] = DataLoader(
            lambda ids: coverage.coverage_by_ooo(ctx, ids)
        )
        self.grants_by_coverage: DataLoader[
            uuid.UUID, list[tuple[ChannelAccessGrant, Provider | None]]
        ] = DataLoader(lambda ids: coverage.grants_by_coverage(ctx, ids))
        self.integrations_by_medspa: DataLoader[uuid.UUID, list[MedspaIntegration]] = DataLoader(
            lambda ids: medspa_resolvers.integrations_of(ctx, ids)
        )
        self.fee_lines_by_medspa: DataLoader[uuid.UUID, list[MedspaFeeLine]] = DataLoader(
            lambda ids: medspa_resolvers.fee_lines_of(ctx, ids)
        )
        # Services, GFE and charting (issue 6)
        self.services = ServiceLoaders(ctx)
        self.inventory = inventory.InventoryLoaders(ctx)
        # Support tickets (issue 19)
        self.comments_by_ticket: DataLoader[uuid.UUID, list[SupportTicketComment]] = DataLoader(
            lambda ids: support_ticket.comments_by_ticket(ctx, ids)
        )
        # Checkout and earnings (issue 18)
        self.checkouts = checkout.CheckoutLoaders(ctx)


# Per request loader: its rows already wrapped as GraphQL objects, by (wrapper, future).
_WRAPPED: weakref.WeakKeyDictionary[DataLoader[Any, Any], dict[tuple[Any, Any], Any]] = (
    weakref.WeakKeyDictionary()
)
_MISSING = object()


def now_or_later(
    loader: DataLoader[K, V | None], key: K, wrap: Callable[[V], W]
) -> W | Awaitable[W | None] | None:
    """The wrapped value at once when the loader already holds it, else an awaitable.

    A relation field returning this costs a plain call for rows primed in bulk by the list
    that produced them (the calendar joins them), and still batches through the loader otherwise: an
    async resolver per nested object is what makes large lists slow in GraphQL.
    """
    future = loader.cache_map.get(key)
    settled = future is not None and future.done() and not future.cancelled()
    if future is not None and settled and future.exception() is None:
        value = future.result()
        if value is None:
            return None
        # 300 appointments of a week share a handful of providers: wrap each row once.
        # Keyed by the settled future (hashed by identity) rather than the key (a UUID).
        wrapped = _WRAPPED.setdefault(loader, {})
        found = wrapped.get((wrap, future), _MISSING)
        if found is _MISSING:
            found = wrapped[(wrap, future)] = wrap(value)
        return cast(W, found)

    async def later() -> W | None:
        value = await loader.load(key)
        return wrap(value) if value is not None else None

    return later()


class ServiceLoaders:
    def __init__(self, ctx: Context) -> None:
        self.service_by_id: DataLoader[uuid.UUID, Service | None] = DataLoader(
            lambda ids: service.services_by_ids(ctx, ids)
        )
        self.group_by_id: DataLoader[uuid.UUID, ServiceGroup | None] = DataLoader(
            lambda ids: service.groups_by_ids(ctx, ids)
        )
        self.document_by_id: DataLoader[uuid.UUID, ServiceDocument | None] = DataLoader(
            lambda ids: service_document.documents_by_ids(ctx, ids)
        )
        self.library_service_by_id: DataLoader[uuid.UUID, LibraryService | None] = DataLoader(
            lambda ids: service_library.library_services_by_ids(ctx, ids)
        )
        self.services_by_group: DataLoader[uuid.UUID, list[Service]] = DataLoader(
            lambda ids: service.services_by_group(ctx, ids)
        )
        self.documents_by_service: DataLoader[uuid.UUID, list[ServiceDocument]] = DataLoader(
            lambda ids: service_document.documents_by_service(ctx, ids)
        )
        self.services_by_appointment_type: DataLoader[uuid.UUID, list[Service]] = DataLoader(
            lambda ids: service.services_by_appointment_type(ctx, ids)
        )
        self.library_services_by_group: DataLoader[uuid.UUID, list[LibraryService]] = DataLoader(
            lambda ids: service_library.library_services_by_group(ctx, ids)
        )
        self.gfe_request_by_id: DataLoader[uuid.UUID, GfeRequest | None] = DataLoader(
            lambda ids: gfe.requests_by_ids(ctx, ids)
        )
        self.service_ids_by_request: DataLoader[uuid.UUID, list[uuid.UUID]] = DataLoader(
            lambda ids: gfe.services_by_request(ctx, ids)
        )
        self.clearance_status_by_appointment: DataLoader[uuid.UUID, gfe.ClearanceStatus] = (
            DataLoader(lambda ids: gfe.clearance_status_by_appointment(ctx, ids))
        )
        self.visit_by_id: DataLoader[uuid.UUID, ServiceVisit | None] = DataLoader(
            lambda ids: chart.visits_by_ids(ctx, ids)
        )
        self.services_by_visit: DataLoader[uuid.UUID, list[Service]] = DataLoader(
            lambda ids: chart.services_by_visit(ctx, ids)
        )
