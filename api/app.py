"""The Starlette application: /graphql, /healthz, /readyz.

The lifespan owns the database engine and the policy engine. Every /graphql request goes
through the request pipeline (api/http): it is bounded, parsed, validated and costed before
it runs, then runs in one transaction: authentication and RLS settings first, then the
operation, then the queued audit rows, then one commit (or a rollback when an unexpected
error was masked).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from api import ide
from api.authz.audit import FailedAuthentications
from api.authz.authenticate import Authenticator
from api.authz.enforcer import PolicyEngine
from api.authz.policy_store import PolicyWatcher
from api.http import staff_files
from api.http.logs import configure_logging, install_json_output
from api.http.pipeline import Pipeline
from api.resilience import CallerSlots, DeadlineExceeded, HeavyLane, within_deadline
from api.resolvers.loaders import Loaders
from api.schema.schema import build_schema
from api.settings import Settings, get_settings
from api.subscriptions import notices
from api.subscriptions.hub import CalendarHub
from api.subscriptions.socket import GraphQLSocket
from db.migrate import current_revision, head_revision
from db.session import (
    create_app_engine,
    libpq_url,
    listen_database_url,
    owner_database_url,
    session_factory,
)

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
    slots: CallerSlots
    heavy_lane: HeavyLane
    refusals: FailedAuthentications
    # A pool-less engine for /readyz: it measures the database, not the request pool.
    readiness_engine: AsyncEngine
    # The policy listener's direct connection (libpq URL); see db.session.listen_database_url.
    listen_url: str = ""
    watcher: PolicyWatcher | None = None
    # Live subscriptions of this process, fed by the watcher's LISTEN connection.
    hub: CalendarHub = field(default_factory=CalendarHub)


def request_id_of(request: Request | WebSocket) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


@lru_cache(maxsize=2)
def _schema(settings: Settings) -> strawberry.Schema:
    # One schema per configuration: building it takes tens of milliseconds, and a schema
    # holds no request state, so every application built with these settings shares it.
    return build_schema(settings)


def build_pipeline(services: Services) -> Pipeline:
    schema = _schema(services.settings)
    return Pipeline(
        services,
        schema=schema._schema,
        executor_class=schema.execution_context_class,
        make_loaders=Loaders,
    )


def build_services(settings: Settings, *, engine: AsyncEngine | None = None) -> Services:
    if engine is None:
        engine = create_app_engine(
            owner_database_url(settings),
            app_url=settings.app_database_url,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_size=settings.pool_size,
            pool_timeout_s=settings.pool_timeout_s,
            connect_timeout_s=settings.db_connect_timeout_s,
            idle_in_transaction_timeout_ms=settings.idle_in_transaction_timeout_ms,
        )
        listen_url = listen_database_url(settings)
        if settings.db_pooler == "transaction" and listen_url == libpq_url(
            str(engine.url.render_as_string(hide_password=False))
        ):
            raise RuntimeError(
                "MEDSPA_DB_POOLER=transaction: set MEDSPA_LISTEN_DATABASE_URL to a direct"
                " connection (LISTEN through a transaction pooler receives nothing)"
            )
    else:  # a caller's own engine (tests, benchmarks): listen on the same server
        listen_url = libpq_url(engine.url.render_as_string(hide_password=False))
    policy = PolicyEngine()
    return Services(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=policy,
        authenticator=Authenticator(settings, policy),
        slots=CallerSlots(limit=settings.caller_concurrency, wait_seconds=settings.pool_timeout_s),
        # Expensive requests queue for their turn until the request deadline cuts them off.
        heavy_lane=HeavyLane(
            limit=settings.heavy_concurrency, wait_seconds=settings.request_timeout_ms / 1000
        ),
        refusals=FailedAuthentications(),
        readiness_engine=create_async_engine(
            engine.url,
            poolclass=NullPool,
            connect_args={"connect_timeout": settings.db_connect_timeout_s},
        ),
        listen_url=listen_url,
    )


@dataclass
class _AppState:
    services: Services | None = None
    pipeline: Pipeline | None = None


def create_app(settings: Settings, *, services: Services | None = None) -> Starlette:
    """The ASGI application. Tests pass their own `services` (a test database engine)."""
    configure_logging()
    state = _AppState(services=services, pipeline=build_pipeline(services) if services else None)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        install_json_output()
        svc = state.services or build_services(settings)
        state.services = svc
        svc.watcher = PolicyWatcher(
            svc.policy,
            svc.sessions,
            svc.listen_url,
            poll_seconds=settings.policy_poll_seconds,
            channels={notices.CHANNEL: svc.hub.publish},
        )
        await svc.watcher.start()
        state.pipeline = state.pipeline or build_pipeline(svc)
        try:
            yield
        finally:
            await svc.watcher.stop()
            await svc.readiness_engine.dispose()
            if services is None:
                await svc.engine.dispose()

    async def graphql(request: Request) -> Response:
        assert state.pipeline is not None, "the lifespan builds the pipeline"
        return await state.pipeline.handle(request, request_id=request_id_of(request))

    async def graphql_socket(websocket: WebSocket) -> None:
        svc, pipeline = state.services, state.pipeline
        assert svc is not None and pipeline is not None, "the lifespan builds them"
        await GraphQLSocket(
            websocket,
            schema=pipeline.schema,
            documents=pipeline.documents,
            settings=svc.settings,
            authenticator=svc.authenticator,
            sessions=svc.sessions,
            hub=svc.hub,
            make_loaders=pipeline.make_loaders,
            request_id=request_id_of(websocket),
        ).run()

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        """503 within `MEDSPA_READINESS_TIMEOUT_S` when the database refuses, fails or does
        not answer at all (a frozen server never refuses)."""
        svc = state.services
        assert svc is not None

        async def revision() -> str | None:
            async with svc.readiness_engine.connect() as conn:
                found: str | None = await conn.run_sync(current_revision)
                await conn.execute(text("SELECT 1"))
                return found

        try:
            current = await within_deadline(
                revision(), seconds=svc.settings.readiness_timeout_s, unwind_seconds=0.05
            )
        except DeadlineExceeded:
            log.warning("readiness check: the database did not answer in time")
            return JSONResponse({"status": "unavailable", "database": "not answering"}, 503)
        except Exception as exc:
            log.warning("readiness check failed: %r", exc)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        head = head_revision()
        if current != head:
            return JSONResponse(
                {"status": "unavailable", "migrations": {"current": current, "head": head}}, 503
            )
        return JSONResponse({"status": "ok", "migrations": {"current": current}})

    def sessions() -> async_sessionmaker[AsyncSession] | None:
        return state.services.sessions if state.services else None

    dev = settings.is_dev
    return Starlette(
        routes=[
            # Every method reaches the pipeline, which answers 405 in the protocol's shape;
            # in development a browser's GET gets the offline IDE (api/ide).
            Route(
                "/graphql",
                ide.with_ide(graphql, settings=settings, sessions=sessions) if dev else graphql,
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
            WebSocketRoute("/graphql", graphql_socket),
            *(ide.asset_routes() if dev else []),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *staff_files.routes(settings, sessions),
        ],
        lifespan=lifespan,
    )


def app_factory() -> Starlette:
    """The application with settings from the environment, for uvicorn's import string
    (`api.app:app_factory`, `factory=True`): each worker process builds its own."""
    return create_app(get_settings())
