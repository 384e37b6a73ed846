"""Services: the medspa catalogue (types, payloads, root fields). Portrait's library is in
`api/schema/service_library.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import Private

from api.authz.actions import Action
from api.context import Context
from api.ids import decode_id_of
from api.resolvers import service as services
from api.resolvers import service_document, service_library
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import Payload
from api.schema.service_document import ServiceDocument
from api.schema.service_library import LibraryService
from db import models

if TYPE_CHECKING:
    from api.schema.appointment_type import AppointmentType

Info = strawberry.Info[Context, None]
LazyAppointmentType = Annotated["AppointmentType", strawberry.lazy("api.schema.appointment_type")]


def _ids(ids: list[strawberry.ID], type_name: str) -> list[uuid.UUID | None]:
    return [decode_id_of(i, type_name) for i in ids]


@strawberry.type(description="A service of the medspa's catalogue.")
class Service(Node):
    name: str
    description: str | None
    price_cents: int
    standing_orders: str | None
    active: bool
    imported: bool = strawberry.field(
        description="From Portrait's library: only the price is the medspa's to edit."
    )
    library_version: int | None
    updated_at: datetime
    row: Private[models.Service]

    @classmethod
    def from_row(cls, row: models.Service) -> Service:
        return cls(
            id=encode_global_id("Service", row.id),
            name=row.name,
            description=row.description,
            price_cents=row.price_cents,
            standing_orders=row.standing_orders,
            active=row.active,
            imported=row.imported,
            library_version=row.library_version,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field
    async def group(self, info: Info) -> ServiceGroup | None:
        row = await info.context.loaders.services.group_by_id.load(self.row.group_id)
        return ServiceGroup.from_row(row) if row else None

    @strawberry.field(description="The library service it was imported from.")
    async def library_service(self, info: Info) -> LibraryService | None:
        if self.row.library_service_id is None:
            return None
        loader = info.context.loaders.services.library_service_by_id
        row = await loader.load(self.row.library_service_id)
        return LibraryService.from_row(row) if row else None

    @strawberry.field(description="The consent versions a patient signs for this service.")
    async def consents(self, info: Info) -> list[ServiceDocument]:
        rows = await info.context.loaders.services.documents_by_service.load(self.row.id)
        return [
            ServiceDocument.from_row(r)
            for r in rows
            if r.kind is models.ServiceDocumentKind.CONSENT
        ]

    @strawberry.field(description="The care message versions sent for this service.")
    async def care_messages(self, info: Info) -> list[ServiceDocument]:
        rows = await info.context.loaders.services.documents_by_service.load(self.row.id)
        return [
            ServiceDocument.from_row(r)
            for r in rows
            if r.kind is models.ServiceDocumentKind.CARE_MESSAGE
        ]


@strawberry.type
class ServiceGroup(Node):
    name: str
    imported: bool
    row: Private[models.ServiceGroup]

    @classmethod
    def from_row(cls, row: models.ServiceGroup) -> ServiceGroup:
        return cls(
            id=encode_global_id("ServiceGroup", row.id),
            name=row.name,
            imported=row.library_group_id is not None,
            row=row,
        )

    @strawberry.field
    async def services(self, info: Info) -> list[Service]:
        rows = await info.context.loaders.services.services_by_group.load(self.row.id)
        return [Service.from_row(r) for r in rows]


# --- inputs and payloads ------------------------------------------------------------------


@strawberry.input(description="Fields to change; omitted fields stay as they are.")
class UpdateServiceInput:
    name: str | None = None
    description: str | None = None
    price_cents: int | None = None
    standing_orders: str | None = None
    group_id: strawberry.ID | None = None


@strawberry.input
class CreateServiceInput:
    group_id: strawberry.ID
    name: str
    price_cents: int
    description: str | None = None
    standing_orders: str | None = None
    document_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The consent and care message versions required."
    )


@strawberry.type
class ServicePayload(Payload):
    service: Service | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(service=Service.from_row(result))


@strawberry.type
class ServicesPayload(Payload):
    services: list[Service] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(services=[Service.from_row(r) for r in result])


@strawberry.type
class ServiceGroupPayload(Payload):
    group: ServiceGroup | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(group=ServiceGroup.from_row(result))


@strawberry.type
class AppointmentTypeServicesPayload(Payload):
    appointment_type: LazyAppointmentType | None = None
    services: list[Service] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: Any) -> Self:
        from api.schema.appointment_type import AppointmentType

        row, linked = result
        return cls(
            appointment_type=AppointmentType.from_row(row),
            services=[Service.from_row(s) for s in linked],
        )


# --- root fields --------------------------------------------------------------------------


@strawberry.type
class CatalogueQuery:
    @strawberry.field(description="The catalogue in the caller's service.read scope.")
    async def services(
        self,
        info: Info,
        active_only: bool = False,
        group_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Service]:
        page = await services.list_services(
            info.context,
            active_only=active_only,
            group_id=decode_id_of(group_id, "ServiceGroup") if group_id else None,
            first=first,
            after=after,
        )
        return Connection.from_page(page, Service.from_row)

    @strawberry.field
    async def service_groups(self, info: Info) -> list[ServiceGroup]:
        return [ServiceGroup.from_row(r) for r in await services.list_groups(info.context)]


@strawberry.type
class CatalogueMutation:
    @strawberry.mutation(description="Add library services to your catalogue (inactive).")
    async def import_library_services(
        self, info: Info, library_service_ids: list[strawberry.ID]
    ) -> ServicesPayload:
        async def use_case() -> tuple[models.Service, ...]:
            return tuple(
                await service_library.import_library_services(
                    info.context, library_service_ids=_ids(library_service_ids, "LibraryService")
                )
            )

        return await ServicesPayload.run(
            info,
            Action.SERVICE_MANAGE,
            use_case,
        )

    @strawberry.mutation(description="Edit a service; library services accept only a price.")
    async def update_service(
        self, info: Info, id: strawberry.ID, input: UpdateServiceInput
    ) -> ServicePayload:
        changes = services.ServiceChanges(
            name=input.name,
            description=input.description,
            price_cents=input.price_cents,
            standing_orders=input.standing_orders,
            group_id=decode_id_of(input.group_id, "ServiceGroup") if input.group_id else None,
        )
        return await ServicePayload.run(
            info,
            Action.SERVICE_MANAGE,
            lambda: services.update_service(
                info.context, service_id=decode_id_of(id, "Service"), changes=changes
            ),
        )

    @strawberry.mutation(description="Offer a service (or stop offering it).")
    async def set_service_active(
        self, info: Info, id: strawberry.ID, active: bool
    ) -> ServicePayload:
        return await ServicePayload.run(
            info,
            Action.SERVICE_MANAGE,
            lambda: services.set_service_active(
                info.context, service_id=decode_id_of(id, "Service"), active=active
            ),
        )

    @strawberry.mutation(description="A custom service group (LAUNCH/FLEX).")
    async def create_service_group(self, info: Info, name: str) -> ServiceGroupPayload:
        return await ServiceGroupPayload.run(
            info,
            Action.SERVICE_MANAGE,
            lambda: services.create_service_group(info.context, name=name),
        )

    @strawberry.mutation(description="A custom service (LAUNCH/FLEX), created inactive.")
    async def create_service(self, info: Info, input: CreateServiceInput) -> ServicePayload:
        data = services.NewService(
            group_id=decode_id_of(input.group_id, "ServiceGroup"),
            name=input.name,
            price_cents=input.price_cents,
            description=input.description,
            standing_orders=input.standing_orders,
            document_ids=_ids(input.document_ids, "ServiceDocument"),
        )
        return await ServicePayload.run(
            info,
            Action.SERVICE_MANAGE,
            lambda: services.create_service(info.context, data=data),
        )

    @strawberry.mutation(description="The exact document versions a custom service requires.")
    async def set_service_documents(
        self, info: Info, id: strawberry.ID, document_ids: list[strawberry.ID]
    ) -> ServicePayload:
        return await ServicePayload.run(
            info,
            Action.SERVICE_MANAGE,
            lambda: service_document.set_service_documents(
                info.context,
                service_id=decode_id_of(id, "Service"),
                document_ids=_ids(document_ids, "ServiceDocument"),
            ),
        )

    @strawberry.mutation(description="The (active) services an appointment type delivers.")
    async def set_appointment_type_services(
        self, info: Info, appointment_type_id: strawberry.ID, service_ids: list[strawberry.ID]
    ) -> AppointmentTypeServicesPayload:
        async def link() -> tuple[models.AppointmentType, list[models.Service]]:
            row = await services.set_appointment_type_services(
                info.context,
                appointment_type_id=decode_id_of(appointment_type_id, "AppointmentType"),
                service_ids=_ids(service_ids, "Service"),
            )
            linked = await services.services_by_appointment_type(info.context, [row.id])
            return row, linked[0]

        return await AppointmentTypeServicesPayload.run(info, Action.APPOINTMENT_TYPE_MANAGE, link)


async def _fetch_service(ctx: Context, id_: uuid.UUID) -> Service | None:
    row = await ctx.loaders.services.service_by_id.load(id_)
    return Service.from_row(row) if row else None


async def _fetch_group(ctx: Context, id_: uuid.UUID) -> ServiceGroup | None:
    row = await ctx.loaders.services.group_by_id.load(id_)
    return ServiceGroup.from_row(row) if row else None


node_type("Service", _fetch_service)
node_type("ServiceGroup", _fetch_group)

CATALOGUE_TYPES = [Service, ServiceGroup, ServiceDocument]
