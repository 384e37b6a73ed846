"""The root Query and Mutation, and the Schema with its limits (DESIGN §6.9, §6.10).

Root fields are one-liners: parse ids, call the use case, wrap the rows.
"""

from __future__ import annotations

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig

from api.authz.actions import ApiScope as ApiScopeValue
from api.context import Context
from api.errors import ApiError, ErrorCode
from api.ids import decode_id_of
from api.resolvers import api_client, audit, masquerade, medspa
from api.resolvers.audit import AuditFilter
from api.schema.api_client import ApiClient, CreateApiClientPayload, RevokeApiClientPayload
from api.schema.audit_event import AuditEvent, AuditEventFilter
from api.schema.connection import Connection
from api.schema.enums import ApiScope
from api.schema.errors import MaskUnexpectedErrors
from api.schema.masquerade import EndMasqueradePayload, MasqueradeSession, StartMasqueradePayload
from api.schema.node import Node, resolve_node
from api.schema.patient_root import PatientMutation, PatientQuery
from api.schema.payload import run_mutation
from api.schema.pcc import PCC_TYPES, PccMutation, PccQuery
from api.schema.scheduling_root import SCHEDULING_TYPES, SchedulingMutation, SchedulingQuery
from api.schema.services_root import SERVICE_TYPES, ServiceMutation, ServiceQuery
from api.schema.types import Location, Medspa, Provider, User
from api.schema.viewer import Viewer
from api.settings import Settings

Info = strawberry.Info[Context, None]


@strawberry.type
class Query(SchedulingQuery, PccQuery, PatientQuery, ServiceQuery):
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        return Viewer.of(info.context)

    @strawberry.field(description="Any object by global id; null when absent or out of scope.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info.context, id)  # type: ignore[no-any-return]

    @strawberry.field
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            raise ApiError(ErrorCode.BAD_USER_INPUT, "At most 100 ids at once.")
        return [await resolve_node(info.context, i) for i in ids]

    @strawberry.field
    async def medspa(self, info: Info, id: strawberry.ID) -> Medspa | None:
        medspa_id = decode_id_of(id, "Medspa")
        row = await info.context.loaders.medspa_by_id.load(medspa_id) if medspa_id else None
        return Medspa.from_row(row) if row else None

    @strawberry.field
    async def medspas(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Medspa]:
        page = await medspa.list_medspas(info.context, first=first, after=after)
        return Connection.from_page(page, Medspa.from_row)

    @strawberry.field
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        f = filter or AuditEventFilter()
        filters = AuditFilter(
            actor_user_id=decode_id_of(f.actor_user_id, "User") if f.actor_user_id else None,
            effective_user_id=(
                decode_id_of(f.effective_user_id, "User") if f.effective_user_id else None
            ),
            action=f.action,
            outcome=f.outcome,
            occurred_from=f.occurred_from,
            occurred_to=f.occurred_to,
        )
        page = await audit.list_audit_events(
            info.context, filters=filters, first=first, after=after
        )
        return Connection.from_page(page, AuditEvent.from_row)

    @strawberry.field
    async def api_clients(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ApiClient]:
        page = await api_client.list_api_clients(info.context, first=first, after=after)
        return Connection.from_page(page, ApiClient.from_row)

    @strawberry.field
    async def masquerade_sessions(
        self,
        info: Info,
        active_only: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[MasqueradeSession]:
        page = await masquerade.list_masquerade_sessions(
            info.context, active_only=active_only, first=first, after=after
        )
        return Connection.from_page(page, MasqueradeSession.from_row)


@strawberry.type
class Mutation(SchedulingMutation, PccMutation, PatientMutation, ServiceMutation):
    @strawberry.mutation(description="Act as one of your providers (an audited, expiring session).")
    async def start_masquerade(
        self,
        info: Info,
        provider_id: strawberry.ID,
        reason: str | None = None,
        minutes: int | None = None,
    ) -> StartMasqueradePayload:
        result = await run_mutation(
            info.context,
            "masquerade.start",
            lambda: masquerade.start_masquerade(
                info.context,
                provider_id=decode_id_of(provider_id, "Provider"),
                reason=reason,
                minutes=minutes,
            ),
        )
        if isinstance(result, list):
            return StartMasqueradePayload(errors=result)
        return StartMasqueradePayload(
            session=MasqueradeSession.from_row(result.session), token=result.token
        )

    @strawberry.mutation(description="End the current masquerade, or one you started.")
    async def end_masquerade(
        self, info: Info, session_id: strawberry.ID | None = None
    ) -> EndMasqueradePayload:
        sid = decode_id_of(session_id, "MasqueradeSession") if session_id else None
        result = await run_mutation(
            info.context,
            "masquerade.end",
            lambda: masquerade.end_masquerade(info.context, session_id=sid),
        )
        if isinstance(result, list):
            return EndMasqueradePayload(errors=result)
        return EndMasqueradePayload(session=MasqueradeSession.from_row(result))

    @strawberry.mutation(description="Create a partner API key for your medspa; shown once.")
    async def create_api_client(
        self, info: Info, name: str, scopes: list[ApiScope]
    ) -> CreateApiClientPayload:
        result = await run_mutation(
            info.context,
            "api_client.manage",
            lambda: api_client.create_api_client(
                info.context, name=name, scopes=[ApiScopeValue(s) for s in scopes]
            ),
        )
        if isinstance(result, list):
            return CreateApiClientPayload(errors=result)
        return CreateApiClientPayload(client=ApiClient.from_row(result.client), key=result.key)

    @strawberry.mutation(description="Revoke a partner API key; effective on its next request.")
    async def revoke_api_client(self, info: Info, id: strawberry.ID) -> RevokeApiClientPayload:
        result = await run_mutation(
            info.context,
            "api_client.manage",
            lambda: api_client.revoke_api_client(
                info.context, client_id=decode_id_of(id, "ApiClient")
            ),
        )
        if isinstance(result, list):
            return RevokeApiClientPayload(errors=result)
        return RevokeApiClientPayload(client=ApiClient.from_row(result))


TYPES = [
    Medspa,
    Location,
    Provider,
    User,
    MasqueradeSession,
    ApiClient,
    AuditEvent,
    *SCHEDULING_TYPES,
    *PCC_TYPES,
    *SERVICE_TYPES,
]


def build_schema(settings: Settings) -> strawberry.Schema:
    """The schema with its limits; introspection and suggestions only in development."""
    extensions: list[object] = [
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        MaskUnexpectedErrors,
    ]
    if not settings.is_dev:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=TYPES,
        extensions=extensions,  # type: ignore[arg-type]
        config=StrawberryConfig(disable_field_suggestions=not settings.is_dev),
    )
