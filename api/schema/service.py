"""Services: Portrait's library and the medspa catalogue (types, payloads, root fields)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import service as services
from api.schema.connection import Connection
from api.schema.node import Node, encode_global_id, node_type
from api.schema.payload import UserError, run_mutation
from db import models

if TYPE_CHECKING:
    from api.schema.appointment_type import AppointmentType

Info = strawberry.Info[Context, None]
LazyAppointmentType = Annotated["AppointmentType", strawberry.lazy("api.schema.appointment_type")]

ServiceDocumentKind = strawberry.enum(models.ServiceDocumentKind)


def _ids(ids: list[strawberry.ID], type_name: str) -> list[uuid.UUID | None]:
    return [decode_id_of(i, type_name) for i in ids]


@strawberry.type(description="A document of a library service (copied into importing medspas).")
class LibraryDocument:
    title: str
    body: str


@strawberry.type(description="A service of Portrait's library.")
class LibraryService(Node):
    name: str
    description: str | None
    default_price_cents: int
    standing_orders: str | None
    version: int = strawberry.field(description="Bumped by every library edit.")
    consents: list[LibraryDocument]
    care_messages: list[LibraryDocument]
    updated_at: datetime
    row: Private[models.LibraryService]

    @classmethod
    def from_row(cls, row: models.LibraryService) -> LibraryService:
        return cls(
            id=encode_global_id("LibraryService", row.id),
            name=row.name,
            description=row.description,
            default_price_cents=row.default_price_cents,
            standing_orders=row.standing_orders,
            version=row.version,
            consents=[LibraryDocument(title=d["title"], body=d["body"]) for d in row.consents],
            care_messages=[
                LibraryDocument(title=d["title"], body=d["body"]) for d in row.care_messages
            ],
            updated_at=row.updated_at,
            row=row,
        )


@strawberry.type(description="A group of Portrait's library, e.g. Neuromodulators.")
class LibraryServiceGroup(Node):
    name: str
    description: str | None
    row: Private[models.LibraryServiceGroup]

    @classmethod
    def from_row(cls, row: models.LibraryServiceGroup) -> LibraryServiceGroup:
        return cls(
            id=encode_global_id("LibraryServiceGroup", row.id),
            name=row.name,
            description=row.description,
            row=row,
        )

    @strawberry.field
    async def services(self, info: Info) -> list[LibraryService]:
        rows = await info.context.loaders.services.library_services_by_group.load(self.row.id)
        return [LibraryService.from_row(r) for r in rows]


@strawberry.type(description="One version of a medspa's consent or care message.")
class ServiceDocument(Node):
    kind: ServiceDocumentKind  # type: ignore[valid-type]
    lineage_id: strawberry.ID = strawberry.field(
        description="Shared by every version of this document."
    )
    version: int
    title: str
    body: str
    from_library: bool = strawberry.field(description="Copied from Portrait's library: locked.")
    created_at: datetime
    row: Private[models.ServiceDocument]

    @classmethod
    def from_row(cls, row: models.ServiceDocument) -> ServiceDocument:
        return cls(
            id=encode_global_id("ServiceDocument", row.id),
            kind=row.kind,
            lineage_id=encode_global_id("ServiceDocument", row.lineage_id),
            version=row.version,
            title=row.title,
            body=row.body,
            from_library=row.library_service_id is not None,
            created_at=row.created_at,
            row=row,
        )


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


@strawberry.input
class LibraryDocumentInput:
    title: str
    body: str


@strawberry.input
class LibraryServiceInput:
    name: str | None = None
    description: str | None = None
    default_price_cents: int | None = None
    standing_orders: str | None = None
    consents: list[LibraryDocumentInput] | None = None
    care_messages: list[LibraryDocumentInput] | None = None


@strawberry.type
class ServicePayload:
    service: Service | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ServicesPayload:
    services: list[Service] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ServiceGroupPayload:
    group: ServiceGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ServiceDocumentPayload:
    document: ServiceDocument | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LibraryServicePayload:
    library_service: LibraryService | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LibraryServiceGroupPayload:
    group: LibraryServiceGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AppointmentTypeServicesPayload:
    appointment_type: LazyAppointmentType | None = None
    services: list[Service] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


def _library_changes(data: LibraryServiceInput) -> services.LibraryChanges:
    def docs(
        items: list[LibraryDocumentInput] | None,
    ) -> list[services.LibraryDocumentData] | None:
        if items is None:
            return None
        return [services.LibraryDocumentData(title=d.title, body=d.body) for d in items]

    return services.LibraryChanges(
        name=data.name,
        description=data.description,
        default_price_cents=data.default_price_cents,
        standing_orders=data.standing_orders,
        consents=docs(data.consents),
        care_messages=docs(data.care_messages),
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

    @strawberry.field(description="Consent and care message versions of the catalogue.")
    async def service_documents(
        self,
        info: Info,
        kind: ServiceDocumentKind | None = None,  # type: ignore[valid-type]
        lineage_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ServiceDocument]:
        page = await services.list_documents(
            info.context,
            kind=kind,
            lineage_id=decode_id_of(lineage_id, "ServiceDocument") if lineage_id else None,
            first=first,
            after=after,
        )
        return Connection.from_page(page, ServiceDocument.from_row)

    @strawberry.field(description="Portrait's service library, by group.")
    async def service_library(self, info: Info) -> list[LibraryServiceGroup]:
        return [LibraryServiceGroup.from_row(r) for r in await services.list_library(info.context)]


@strawberry.type
class CatalogueMutation:
    @strawberry.mutation(description="Add library services to your catalogue (inactive).")
    async def import_library_services(
        self, info: Info, library_service_ids: list[strawberry.ID]
    ) -> ServicesPayload:
        async def use_case() -> tuple[models.Service, ...]:
            return tuple(
                await services.import_library_services(
                    info.context, library_service_ids=_ids(library_service_ids, "LibraryService")
                )
            )

        result = await run_mutation(info.context, "service.manage", use_case)
        if isinstance(result, list):
            return ServicesPayload(errors=result)
        return ServicesPayload(services=[Service.from_row(r) for r in result])

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
        result = await run_mutation(
            info.context,
            "service.manage",
            lambda: services.update_service(
                info.context, service_id=decode_id_of(id, "Service"), changes=changes
            ),
        )
        if isinstance(result, list):
            return ServicePayload(errors=result)
        return ServicePayload(service=Service.from_row(result))

    @strawberry.mutation(description="Offer a service (or stop offering it).")
    async def set_service_active(
        self, info: Info, id: strawberry.ID, active: bool
    ) -> ServicePayload:
        result = await run_mutation(
            info.context,
            "service.manage",
            lambda: services.set_service_active(
                info.context, service_id=decode_id_of(id, "Service"), active=active
            ),
        )
        if isinstance(result, list):
            return ServicePayload(errors=result)
        return ServicePayload(service=Service.from_row(result))

    @strawberry.mutation(description="A custom service group (LAUNCH/FLEX).")
    async def create_service_group(self, info: Info, name: str) -> ServiceGroupPayload:
        result = await run_mutation(
            info.context,
            "service.manage",
            lambda: services.create_service_group(info.context, name=name),
        )
        if isinstance(result, list):
            return ServiceGroupPayload(errors=result)
        return ServiceGroupPayload(group=ServiceGroup.from_row(result))

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
        result = await run_mutation(
            info.context,
            "service.manage",
            lambda: services.create_service(info.context, data=data),
        )
        if isinstance(result, list):
            return ServicePayload(errors=result)
        return ServicePayload(service=Service.from_row(result))

    @strawberry.mutation(description="A new consent or care message, version 1 (LAUNCH/FLEX).")
    async def create_service_document(
        self,
        info: Info,
        kind: ServiceDocumentKind,  # type: ignore[valid-type]
        title: str,
        body: str,
    ) -> ServiceDocumentPayload:
        result = await run_mutation(
            info.context,
            "service.manage",
            lambda: services.create_document(info.context, kind=kind, title=title, body=body),
        )
        if isinstance(result, list):
            return ServiceDocumentPayload(errors=result)
        return ServiceDocumentPayload(document=ServiceDocument.from_row(result))

    @strawberry.mutation(
        description="A new version of a document; the old version stays. With"
        " applyToServices, services requiring an older version move to this one."
    )
    async def revise_service_document(
        self,
        info: Info,
        id: strawberry.ID,
        title: str,
        body: str,
        apply_to_services: bool = False,
    ) -> ServiceDocumentPayload:
        result = await run_mutation(
            info.context,
            "service.manage",
            lambda: services.revise_document(
                info.context,
                document_id=decode_id_of(id, "ServiceDocument"),
                title=title,
                body=body,
                apply_to_services=apply_to_services,
            ),
        )
        if isinstance(result, list):
            return ServiceDocumentPayload(errors=result)
        return ServiceDocumentPayload(document=ServiceDocument.from_row(result))

    @strawberry.mutation(description="The exact document versions a custom service requires.")
    async def set_service_documents(
        self, info: Info, id: strawberry.ID, document_ids: list[strawberry.ID]
    ) -> ServicePayload:
        result = await run_mutation(
            info.context,
            "service.manage",
            lambda: services.set_service_documents(
                info.context,
                service_id=decode_id_of(id, "Service"),
                document_ids=_ids(document_ids, "ServiceDocument"),
            ),
        )
        if isinstance(result, list):
            return ServicePayload(errors=result)
        return ServicePayload(service=Service.from_row(result))

    @strawberry.mutation(description="The (active) services an appointment type delivers.")
    async def set_appointment_type_services(
        self, info: Info, appointment_type_id: strawberry.ID, service_ids: list[strawberry.ID]
    ) -> AppointmentTypeServicesPayload:
        from api.schema.appointment_type import AppointmentType

        result = await run_mutation(
            info.context,
            "appointment_type.manage",
            lambda: services.set_appointment_type_services(
                info.context,
                appointment_type_id=decode_id_of(appointment_type_id, "AppointmentType"),
                service_ids=_ids(service_ids, "Service"),
            ),
        )
        if isinstance(result, list):
            return AppointmentTypeServicesPayload(errors=result)
        linked = await services.services_by_appointment_type(info.context, [result.id])
        return AppointmentTypeServicesPayload(
            appointment_type=AppointmentType.from_row(result),
            services=[Service.from_row(s) for s in linked[0]],
        )

    @strawberry.mutation(description="A group of Portrait's library (platform admins).")
    async def create_library_service_group(
        self, info: Info, name: str, description: str | None = None
    ) -> LibraryServiceGroupPayload:
        result = await run_mutation(
            info.context,
            "service_library.manage",
            lambda: services.create_library_group(info.context, name=name, description=description),
        )
        if isinstance(result, list):
            return LibraryServiceGroupPayload(errors=result)
        return LibraryServiceGroupPayload(group=LibraryServiceGroup.from_row(result))

    @strawberry.mutation(description="A service of Portrait's library (platform admins).")
    async def create_library_service(
        self, info: Info, group_id: strawberry.ID, input: LibraryServiceInput
    ) -> LibraryServicePayload:
        result = await run_mutation(
            info.context,
            "service_library.manage",
            lambda: services.create_library_service(
                info.context,
                group_id=decode_id_of(group_id, "LibraryServiceGroup"),
                changes=_library_changes(input),
            ),
        )
        if isinstance(result, list):
            return LibraryServicePayload(errors=result)
        return LibraryServicePayload(library_service=LibraryService.from_row(result))

    @strawberry.mutation(
        description="Edit a library service; imported copies follow, keeping their price."
    )
    async def update_library_service(
        self, info: Info, id: strawberry.ID, input: LibraryServiceInput
    ) -> LibraryServicePayload:
        result = await run_mutation(
            info.context,
            "service_library.manage",
            lambda: services.update_library_service(
                info.context,
                library_service_id=decode_id_of(id, "LibraryService"),
                changes=_library_changes(input),
            ),
        )
        if isinstance(result, list):
            return LibraryServicePayload(errors=result)
        return LibraryServicePayload(library_service=LibraryService.from_row(result))


async def _fetch_service(ctx: Context, id_: uuid.UUID) -> Service | None:
    row = await ctx.loaders.services.service_by_id.load(id_)
    return Service.from_row(row) if row else None


async def _fetch_group(ctx: Context, id_: uuid.UUID) -> ServiceGroup | None:
    row = await ctx.loaders.services.group_by_id.load(id_)
    return ServiceGroup.from_row(row) if row else None


async def _fetch_document(ctx: Context, id_: uuid.UUID) -> ServiceDocument | None:
    row = await ctx.loaders.services.document_by_id.load(id_)
    return ServiceDocument.from_row(row) if row else None


async def _fetch_library_service(ctx: Context, id_: uuid.UUID) -> LibraryService | None:
    row = await ctx.loaders.services.library_service_by_id.load(id_)
    return LibraryService.from_row(row) if row else None


node_type("Service", _fetch_service)
node_type("ServiceGroup", _fetch_group)
node_type("ServiceDocument", _fetch_document)
node_type("LibraryService", _fetch_library_service)

CATALOGUE_TYPES = [Service, ServiceGroup, ServiceDocument, LibraryService, LibraryServiceGroup]
