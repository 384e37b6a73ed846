"""Per-request DataLoaders of services, GFE and charting (attached to `Loaders.services`).

Each applies the principal's scope through its resolver; results come in key order.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from api.resolvers import chart, gfe, service
from db.models import (
    GfeRequest,
    LibraryService,
    Service,
    ServiceDocument,
    ServiceGroup,
    ServiceVisit,
)

if TYPE_CHECKING:
    from api.context import Context


class ServiceLoaders:
    def __init__(self, ctx: Context) -> None:
        self.service_by_id: DataLoader[uuid.UUID, Service | None] = DataLoader(
            lambda ids: service.services_by_ids(ctx, ids)
        )
        self.group_by_id: DataLoader[uuid.UUID, ServiceGroup | None] = DataLoader(
            lambda ids: service.groups_by_ids(ctx, ids)
        )
        self.document_by_id: DataLoader[uuid.UUID, ServiceDocument | None] = DataLoader(
            lambda ids: service.documents_by_ids(ctx, ids)
        )
        self.library_service_by_id: DataLoader[uuid.UUID, LibraryService | None] = DataLoader(
            lambda ids: service.library_services_by_ids(ctx, ids)
        )
        self.services_by_group: DataLoader[uuid.UUID, list[Service]] = DataLoader(
            lambda ids: service.services_by_group(ctx, ids)
        )
        self.documents_by_service: DataLoader[uuid.UUID, list[ServiceDocument]] = DataLoader(
            lambda ids: service.documents_by_service(ctx, ids)
        )
        self.services_by_appointment_type: DataLoader[uuid.UUID, list[Service]] = DataLoader(
            lambda ids: service.services_by_appointment_type(ctx, ids)
        )
        self.library_services_by_group: DataLoader[uuid.UUID, list[LibraryService]] = DataLoader(
            lambda ids: service.library_services_by_group(ctx, ids)
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
