"""The Starlette application: /graphql, /healthz, /readyz.

The lifespan owns the database engine and the policy engine. Each GraphQL request runs in one
transaction: authentication and RLS settings first, then the operation, then the queued audit
rows, then one commit (or a rollback when an unexpected error was masked).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from api.auth import Authenticator, RequestCredentials
from api.authz.enforcer import PolicyEngine
from api.authz.policy_store import PolicyWatcher
from api.context import Context
from api.errors import HTTP_STATUS, ApiError
from api.resolvers.loaders import Loaders
from api.schema.schema import build_schema
from api.settings import Settings
from db.migrate import current_revision, head_revision
from db.session import create_app_engine, owner_database_url, session_factory

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass
class Services:
    """Process-wide objects built by the lifespan."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    policy: PolicyEngine
    authenticator: Authenticator
    watcher: PolicyWatcher | None = None


def request_id_of(request: Request | WebSocket) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with our transaction, authentication and error handling."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.is_dev else None,
            allow_queries_via_get=False,
        )
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        request_id = request_id_of(request)
        request.state.request_id = request_id
        session = self.services.sessions()
        request.state.db_session = session
        await session.begin()
        creds = RequestCredentials.from_headers(request.headers, request_id=request_id)
        principal = await self.services.authenticator.authenticate(session, creds)
        ctx = Context(
            principal=principal,
            session=session,
            settings=self.services.settings,
            loaders=None,  # type: ignore[arg-type]  # set just below: loaders need the context
            client_address=request.client.host if request.client else None,
        )
        ctx.loaders = Loaders(ctx)
        request.state.ctx = ctx
        return ctx

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        ctx: Context = request.state.ctx
        if not await ctx.finish() and result.data is not None:
            # The writes were rolled back: never let an answer claim otherwise. (When the
            # operation already failed as a whole, its own errors are the truth; keep them.)
            result.data = None
            result.errors = [
                GraphQLError("Unexpected error.", extensions={"code": "INTERNAL_SERVER_ERROR"})
            ]
        data = process_result(result)
        errors = cast(list[dict[str, Any]], data.get("errors") or [])
        for error in errors:
            error.setdefault("extensions", {})["requestId"] = ctx.request_id
        return data

    async def run(  # type: ignore[override]
        self, request: Request | WebSocket, context: Any = None, root_value: Any = None
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):
            await request.close(code=4400)  # no subscriptions yet
            return request
        try:
            return await super().run(request)
        except ApiError as exc:  # raised while authenticating: no GraphQL execution happened
            return error_response(exc, request_id=getattr(request.state, "request_id", ""))
        except HTTPException as exc:  # malformed HTTP (batching, bad JSON, IDE off, ...)
            return PlainTextResponse(exc.reason, status_code=exc.status_code)
        finally:
            session: AsyncSession | None = getattr(request.state, "db_session", None)
            if session is not None:
                await session.close()  # rolls back anything not committed


def error_response(error: ApiError, *, request_id: str) -> JSONResponse:
    body = GraphQLError(error.message, extensions=error.extensions).formatted
    body["extensions"] = {**(body.get("extensions") or {}), "requestId": request_id}
    return JSONResponse(
        {"data": None, "errors": [body]},
        status_code=HTTP_STATUS.get(error.code, 400),
        headers={"x-request-id": request_id},
    )


def build_services(settings: Settings, *, engine: AsyncEngine | None = None) -> Services:
    if engine is None:
        engine = create_app_engine(
            owner_database_url(settings),
            app_url=settings.app_database_url,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_size=settings.pool_size,
        )
    policy = PolicyEngine()
    return Services(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=policy,
        authenticator=Authenticator(settings, policy),
    )


@dataclass
class _AppState:
    services: Services | None = None
    view: GraphQLView | None = None


def create_app(settings: Settings, *, services: Services | None = None) -> Starlette:
    """The ASGI application. Tests pass their own `services` (a test database engine)."""
    state = _AppState(services=services, view=GraphQLView(services) if services else None)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        svc = state.services or build_services(settings)
        state.services = svc
        listen_url = svc.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        svc.watcher = PolicyWatcher(svc.policy, svc.sessions, listen_url)
        await svc.watcher.start()
        state.view = state.view or GraphQLView(svc)
        try:
            yield
        finally:
            await svc.watcher.stop()
            if services is None:
                await svc.engine.dispose()

    async def graphql(request: Request) -> Response:
        assert state.view is not None, "the lifespan builds the view"
        response = await state.view.run(request)
        assert isinstance(response, Response)
        return response

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        svc = state.services
        assert svc is not None
        try:
            async with svc.engine.connect() as conn:
                revision = await conn.run_sync(current_revision)
                await conn.execute(text("SELECT 1"))
        except Exception:
            log.exception("readiness check failed")
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        head = head_revision()
        if revision != head:
            return JSONResponse(
                {"status": "unavailable", "migrations": {"current": revision, "head": head}}, 503
            )
        return JSONResponse({"status": "ok", "migrations": {"current": revision}})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
