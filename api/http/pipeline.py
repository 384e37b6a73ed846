"""The request pipeline: every /graphql request, from bytes in to bytes out (DESIGN §6).

    transport (size, UTF-8, JSON, shape) -> document (parse + validate, cached)
    -> operation and variables -> static cost -> authenticate (opens the transaction)
    -> trusted-document policy -> caller budget -> execute -> finish (commit) -> serialize

`execute` is one replaceable step: any callable taking the validated document, the operation,
the checked variables and the Context (graphql-core's executor by default). Every refusal on
the way is a GraphQL-over-HTTP error with `extensions.code` and the request id; the request
is logged once, as one structured line.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
)
from graphql.execution.values import get_variable_values
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from api.authz.audit import authentication_failure, write_alone
from api.authz.authenticate import RequestCredentials
from api.context import Context
from api.errors import HTTP_STATUS, ApiError, AuthenticationError, ErrorCode, is_client_error
from api.http.budget import Budgets, Caller, Spend, client_address, trusted_networks
from api.http.cost import MUTATION_COST, actual_cost, operation_cost
from api.http.documents import (
    BAD_USER_INPUT,
    DocumentStore,
    Prepared,
    load_manifest,
)
from api.http.logs import request_logger
from api.http.rules import LIMIT_CODE
from api.http.transport import (
    GRAPHQL_RESPONSE,
    JSON,
    GraphQLRequest,
    Refusal,
    bad_request,
    check_content_type,
    decode_json,
    read_body,
    request_from_json,
    request_from_query_string,
    response_media_type,
)
from api.resilience import (
    DeadlineExceeded,
    caller_key,
    database_fault,
    retry_headers,
    timed_out,
    unavailable,
    within_deadline,
)

# Statements the current request ran (SQLAlchemy's cursor events see the request's context:
# its async bridge runs the driver in a greenlet that shares the task's contextvars).
_STATEMENTS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "statements", default=None
)


class Execute(Protocol):
    """The execution step: run one validated operation with checked variables."""

    def __call__(
        self,
        *,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        context: Context,
    ) -> Awaitable[ExecutionResult]: ...


@dataclass(frozen=True)
class GraphQLCoreExecute:
    """graphql-core's executor on the strawberry schema (the default `Execute`)."""

    schema: GraphQLSchema
    executor_class: Any = None

    async def __call__(
        self,
        *,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        context: Context,
    ) -> ExecutionResult:
        result = execute(
            self.schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation.name.value if operation.name else None,
            executor_class=self.executor_class,
        )
        if isinstance(result, ExecutionResult):
            return result
        awaited: ExecutionResult = await result
        return awaited


@dataclass
class Outcome:
    """What the request line logs; filled in as the request goes through the stages."""

    request_id: str
    started: float = field(default_factory=time.perf_counter)
    operation: str | None = None
    document: str | None = None
    caller_kind: str | None = None
    caller_id: str | None = None
    cost: int | None = None
    status: int = 200
    codes: list[str] = field(default_factory=list)
    statements: list[int] = field(default_factory=lambda: [0])
    # The request's Context once authenticated: a request abandoned at its deadline still
    # writes its audit rows.
    context: Context | None = None


class Pipeline:
    """One per application: the document cache, the budgets and the execution step."""

    def __init__(
        self,
        services: Any,
        *,
        schema: GraphQLSchema,
        executor_class: Any = None,
        execute_step: Execute | None = None,
        make_loaders: Callable[[Context], Any],
    ) -> None:
        self.services = services
        # The request's DataLoaders, built by the composition root (api/app.py): the
        # pipeline sits below the resolvers and never imports them.
        self.make_loaders = make_loaders
        settings = services.settings
        self.settings = settings
        self.schema = schema
        self.log = request_logger()
        self.documents = DocumentStore(schema, settings)
        self.documents.load_trusted(load_manifest())
        self._check_trusted_costs()
        self.budgets = Budgets(settings)
        self.trusted_proxies = trusted_networks(settings.trusted_proxies)
        self.execute: Execute = execute_step or GraphQLCoreExecute(schema, executor_class)
        # Work that outlives its request's answer (audit rows of an abandoned request).
        self._background: set[asyncio.Task[None]] = set()
        _count_statements(services.engine)

    def _check_trusted_costs(self) -> None:
        """Cost every manifest operation once, at its widest (no variables: windows and pages
        at their caps). Over the limit is a warning, not a failure: with narrower variables
        (a week rather than 62 days) the same document passes, and requests are costed with
        their own variables."""
        for prepared in self.documents.trusted_documents():
            assert prepared.document is not None
            fragments = _fragments(prepared.document)
            for operation in prepared.operations.values():
                cost = operation_cost(
                    self.schema, fragments=fragments, operation=operation, variables={}
                )
                if cost > self.settings.max_cost:
                    self.log.warning(
                        "trusted document may exceed MEDSPA_MAX_COST",
                        document=prepared.id,
                        operation=operation.name.value if operation.name else None,
                        widest_cost=cost,
                        max_cost=self.settings.max_cost,
                    )

    # --- the request --------------------------------------------------------------------

    async def handle(self, request: Request, *, request_id: str) -> Response:
        outcome = Outcome(request_id=request_id)
        token = _STATEMENTS.set(outcome.statements)
        media = JSON
        try:
            media = response_media_type(request.headers.get("accept"))
            # Within the request deadline: wait for one of the caller's slots (before taking
            # any connection), then run (api/resilience.py).
            address = client_address(
                request.client.host if request.client else None,
                request.headers,
                trusted=self.trusted_proxies,
            )
            body, status, headers = await within_deadline(
                self._run_in_slot(
                    request, outcome, media, caller=caller_key(request.headers, address)
                ),
                seconds=self.settings.request_timeout_ms / 1000,
            )
            outcome.status = status
            return self._respond(body, status=status, media=media, headers=headers, outcome=outcome)
        except Refusal as refusal:
            outcome.status = refusal.status
            outcome.codes.append(refusal.code)
            error = {
                "message": refusal.message,
                "extensions": {**refusal.extensions, "code": refusal.code},
            }
            return self._respond(
                {"errors": [error]},
                status=refusal.status,
                media=media,
                headers=refusal.headers,
                outcome=outcome,
            )
        except DeadlineExceeded:
            self.log.warning(
                "request past its deadline, cancelled",
                request_id=request_id,
                timeout_ms=self.settings.request_timeout_ms,
            )
            self._audit_abandoned(outcome)
            late = timed_out(
                f"The request took longer than {self.settings.request_timeout_ms} ms and was"
                " cancelled; nothing it wrote was kept. Retry shortly."
            )
            return self._fault(late, status=503, media=media, outcome=outcome)
        except ApiError as busy:  # no slot for this caller, or no turn in the heavy lane
            status = HTTP_STATUS.get(busy.code, 503)
            return self._fault(busy, status=status, media=media, outcome=outcome)
        except asyncio.CancelledError:
            # The server is shutting down and its grace period is over: the work was
            # cancelled (its transaction rolls back); answer rather than drop the request.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            self.log.warning("request cancelled by the shutdown", request_id=request_id)
            closing = unavailable("The server is shutting down; nothing was kept. Retry.")
            return self._fault(closing, status=503, media=media, outcome=outcome)
        except Exception as exc:
            fault = database_fault(exc)
            if fault is not None:  # e.g. the database failing while authenticating
                self.log.warning("database fault", request_id=request_id, error=repr(exc))
                return self._fault(fault, status=503, media=media, outcome=outcome)
            # Outside GraphQL execution: still one JSON answer, and the traceback only in
            # the log.
            outcome.status = 500
            outcome.codes.append(ErrorCode.INTERNAL.value)
            self.log.exception("unexpected error", request_id=request_id)
            error = {"message": "Unexpected error.", "extensions": {"code": ErrorCode.INTERNAL}}
            return self._respond(
                {"errors": [error]}, status=500, media=media, headers={}, outcome=outcome
            )
        finally:
            _STATEMENTS.reset(token)
            self._log(outcome)

    async def _run_in_slot(
        self, request: Request, outcome: Outcome, media: str, *, caller: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        async with self.services.slots.slot(caller):
            return await self._run(request, outcome, media)

    async def _run(
        self, request: Request, outcome: Outcome, media: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        settings = self.settings
        if request.method == "POST":
            check_content_type(request.headers.get("content-type"))
            body = await read_body(request, max_bytes=settings.max_body_bytes)
            params = request_from_json(decode_json(body, max_depth=settings.max_json_depth))
        elif request.method == "GET":
            if len(request.url.query) > settings.max_body_bytes:
                raise Refusal(
                    414, ErrorCode.URI_TOO_LONG, "The query string is too long; use POST."
                )
            params = request_from_query_string(request, max_depth=settings.max_json_depth)
        else:
            raise Refusal(
                405, ErrorCode.METHOD_NOT_ALLOWED, "Use POST (or GET for queries).",
                headers={"Allow": "GET, POST"},
            )  # fmt: skip
        outcome.operation = params.operation_name

        prepared = self._prepared(params)
        outcome.document = prepared.id
        graphql_status = 400 if media == GRAPHQL_RESPONSE else 200
        if prepared.errors:
            return self._errors(prepared.errors, outcome), graphql_status, {}
        operation = prepared.operation(params.operation_name)
        if isinstance(operation, str):
            error = GraphQLError(
                operation, extensions={"code": ErrorCode.OPERATION_RESOLUTION_FAILURE.value}
            )
            return self._errors([error], outcome), graphql_status, {}
        outcome.operation = operation.name.value if operation.name else None
        if params.via_get and operation.operation is not OperationType.QUERY:
            raise Refusal(
                405, ErrorCode.METHOD_NOT_ALLOWED, "Only queries may be sent with GET; use POST.",
                headers={"Allow": "POST"},
            )  # fmt: skip
        if operation.operation is OperationType.SUBSCRIPTION:
            raise bad_request("Subscriptions are not served over HTTP.")
        assert prepared.document is not None

        coerced = get_variable_values(
            self.schema,
            operation.variable_definitions or (),
            params.variables,
            max_errors=10,
            hide_suggestions=not settings.is_dev,
        )
        if isinstance(coerced, list):
            errors = [_bad_input(error) for error in coerced]
            return self._errors(errors, outcome), graphql_status, {}

        cost = operation_cost(
            self.schema,
            fragments=_fragments(prepared.document),
            operation=operation,
            variables=params.variables,
        )
        outcome.cost = cost
        if cost > settings.max_cost:
            error = GraphQLError(
                f"The operation costs {cost} points; at most {settings.max_cost} per request."
                " Ask for fewer items (`first`) or a shorter window.",
                extensions={"code": LIMIT_CODE, "cost": {"requested": cost}},
            )
            return self._errors([error], outcome), graphql_status, {}
        return await self._execute(
            request,
            outcome,
            prepared=prepared,
            operation=operation,
            variables=params.variables,
            cost=cost,
        )

    def _prepared(self, params: GraphQLRequest) -> Prepared:
        if params.document_id is not None:
            trusted = self.documents.trusted(params.document_id)
            if trusted is None:
                raise Refusal(
                    400,
                    ErrorCode.TRUSTED_DOCUMENT_NOT_FOUND,
                    f"No trusted document has the id {params.document_id}.",
                )
            return trusted
        assert params.query is not None
        return self.documents.prepare(params.query)

    async def _execute(
        self,
        request: Request,
        outcome: Outcome,
        *,
        prepared: Prepared,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        cost: int,
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        # An expensive request waits for its turn before it takes a connection: building a
        # large answer holds the event loop, and cheap requests must not wait behind many.
        async with self.services.heavy_lane.enter(heavy=cost >= self.settings.heavy_cost):
            return await self._execute_now(
                request,
                outcome,
                prepared=prepared,
                operation=operation,
                variables=variables,
                cost=cost,
            )

    async def _execute_now(
        self,
        request: Request,
        outcome: Outcome,
        *,
        prepared: Prepared,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        cost: int,
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        services = self.services
        session = services.sessions()
        try:
            await session.begin()
            address = client_address(
                request.client.host if request.client else None,
                request.headers,
                trusted=self.trusted_proxies,
            )
            try:
                creds = RequestCredentials.from_headers(
                    request.headers, request_id=outcome.request_id
                )
                principal = await services.authenticator.authenticate(session, creds)
            except ApiError as error:
                if isinstance(error, AuthenticationError):
                    await self._refused(session, address=address, outcome=outcome)
                outcome.codes.append(error.code.value)
                return (
                    {"data": None, "errors": [self._format(error, outcome)]},
                    HTTP_STATUS.get(error.code, 400),
                    {},
                )
            caller = Caller.of(principal, address=address)
            outcome.caller_kind, outcome.caller_id = caller.kind, caller.id
            if (
                self.settings.trusted_documents == "only"
                and not prepared.trusted
                and caller.kind != "API_CLIENT"
            ):
                raise Refusal(
                    403,
                    ErrorCode.TRUSTED_DOCUMENT_REQUIRED,
                    "This caller may run only trusted documents: send their `documentId`.",
                )
            spend = await self.budgets.spend(caller, cost)
            if not spend.allowed:
                raise Refusal(
                    429,
                    ErrorCode.RATE_LIMITED,
                    f"This request costs {cost} points and {spend.remaining} remain;"
                    f" retry in {max(1, spend.reset_seconds)} s.",
                    headers=spend.headers(),
                    extensions={"cost": _cost(cost, None, self.settings.max_cost, spend)},
                )
            ctx = Context(
                principal=principal,
                session=session,
                settings=self.settings,
                loaders=None,  # type: ignore[arg-type]  # set just below: loaders need the context
                client_address=address,
                budgets=self.budgets,
                policy=self.services.policy,
            )
            ctx.loaders = self.make_loaders(ctx)
            outcome.context = ctx
            assert prepared.document is not None
            result = await self.execute(
                document=prepared.document, operation=operation, variables=variables, context=ctx
            )
            errors = [self._mask(error, ctx, outcome) for error in result.errors or ()]
            data = result.data
            if not await ctx.finish() and data is not None:
                # The writes were rolled back: never let an answer claim otherwise. (When the
                # operation already failed as a whole, its own errors are the truth.)
                data = None
                errors = [
                    ctx.fault
                    or GraphQLError(
                        "Unexpected error.", extensions={"code": ErrorCode.INTERNAL.value}
                    )
                ]
            actual = actual_cost(data)
            if operation.operation is OperationType.MUTATION:
                actual += MUTATION_COST * len(data or {})
            body: dict[str, Any] = {}
            if errors:
                body["errors"] = [self._format(e, outcome) for e in errors]
            body["data"] = data
            body["extensions"] = {"cost": _cost(cost, actual, self.settings.max_cost, spend)}
            headers = spend.headers()
            if ctx.fault is None:
                return body, 200, headers
            # The database was at fault: retryable, and a 503 when it was unavailable.
            status = 503 if ctx.fault.code == ErrorCode.SERVICE_UNAVAILABLE else 200
            return body, status, {**headers, **retry_headers(ctx.fault)}
        finally:
            try:
                await session.close()  # rolls back anything not committed
            except SQLAlchemyError:
                self.log.warning("connection lost", request_id=outcome.request_id)

    async def _refused(self, session: AsyncSession, *, address: str, outcome: Outcome) -> None:
        """Audit a refused credential as a security event (its address and how often it was
        refused lately, never the token), in a transaction of its own: the request's is
        rolled back."""
        attempts = self.services.refusals.count(address)
        self.log.warning(
            "refused credential",
            request_id=outcome.request_id,
            security_event="authentication.failed",
            client_address=address,
            attempts_last_minute=attempts,
        )
        try:
            await session.rollback()
        except SQLAlchemyError:
            self.log.warning("connection lost", request_id=outcome.request_id)
        event = authentication_failure(
            request_id=outcome.request_id, address=address, attempts=attempts
        )
        await write_alone(
            session, [event], medspa_ids=(), platform=False, request_id=outcome.request_id
        )

    def _audit_abandoned(self, outcome: Outcome) -> None:
        """The audit rows of a request abandoned at its deadline (its mutations in flight
        FAILED), written after the answer: the database that made it late may be as slow
        to take them."""
        ctx = outcome.context
        if ctx is None:
            return
        task = asyncio.create_task(ctx.record_audit_alone(self.services.sessions()))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _fault(self, error: ApiError, *, status: int, media: str, outcome: Outcome) -> Response:
        """A whole-request answer for a retryable fault (or a refusal raised as ApiError)."""
        outcome.status = status
        return self._respond(
            {"data": None, "errors": [self._format(error, outcome)]},
            status=status,
            media=media,
            headers=retry_headers(error),
            outcome=outcome,
        )

    # --- errors ---------------------------------------------------------------------------

    def _mask(self, error: GraphQLError, ctx: Context, outcome: Outcome) -> GraphQLError:
        if is_client_error(error):
            return error
        ctx.failed = True
        fault = database_fault(error)
        if fault is not None:  # not a bug: retryable, logged without a traceback
            ctx.fault = ctx.fault or fault
            self.log.warning(
                "database fault",
                request_id=outcome.request_id,
                path=error.path,
                error=fault.message,
            )
            return GraphQLError(
                fault.message, error.nodes, path=error.path, extensions=fault.extensions
            )
        self.log.error(
            "unexpected error",
            request_id=outcome.request_id,
            path=error.path,
            exc_info=error.original_error,
        )
        return GraphQLError(
            "Unexpected error.",
            error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.INTERNAL.value},
        )

    def _errors(self, errors: Any, outcome: Outcome) -> dict[str, Any]:
        return {"errors": [self._format(e, outcome) for e in errors]}

    def _format(self, error: GraphQLError, outcome: Outcome) -> dict[str, Any]:
        formatted = error.formatted
        extensions = dict(formatted.get("extensions") or {})
        extensions.setdefault("code", ErrorCode.VALIDATION_FAILED.value)
        extensions["requestId"] = outcome.request_id
        formatted["extensions"] = extensions
        outcome.codes.append(str(extensions["code"]))
        return dict(formatted)

    # --- bytes out ------------------------------------------------------------------------

    def _respond(
        self,
        body: dict[str, Any],
        *,
        status: int,
        media: str,
        headers: dict[str, str],
        outcome: Outcome,
    ) -> Response:
        for error in body.get("errors") or ():
            error.setdefault("extensions", {})["requestId"] = outcome.request_id
        try:
            content = orjson.dumps(body)
        except TypeError:
            # A lone surrogate echoed in an error message: orjson refuses it, the standard
            # encoder escapes it (still valid JSON).
            content = json.dumps(body, default=str).encode()
        return Response(
            content,
            status_code=status,
            media_type=f"{media}; charset=utf-8",
            headers={**headers, "x-request-id": outcome.request_id},
        )

    def _log(self, outcome: Outcome) -> None:
        expected = outcome.status < 500 and ErrorCode.INTERNAL.value not in outcome.codes
        (self.log.info if expected else self.log.error)(
            "graphql request",
            request_id=outcome.request_id,
            operation=outcome.operation,
            document=outcome.document,
            caller_kind=outcome.caller_kind,
            caller_id=outcome.caller_id,
            cost=outcome.cost,
            statements=outcome.statements[0],
            duration_ms=round((time.perf_counter() - outcome.started) * 1000, 2),
            status=outcome.status,
            codes=sorted(set(outcome.codes)) or None,
        )


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _bad_input(error: GraphQLError) -> GraphQLError:
    extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
    return GraphQLError(error.message, error.nodes, extensions=extensions)


def _cost(requested: int, actual: int | None, maximum: int, spend: Spend) -> dict[str, Any]:
    return {
        "requested": requested,
        "actual": actual,
        "limit": maximum,
        "budget": spend.limit,
        "remaining": spend.remaining,
        "resetSeconds": spend.reset_seconds,
    }


_COUNTED: set[int] = set()


def _count_statements(engine: Any) -> None:
    sync_engine = engine.sync_engine
    if id(sync_engine) in _COUNTED:
        return
    _COUNTED.add(id(sync_engine))

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        counter = _STATEMENTS.get()
        if counter is not None:
            counter[0] += 1
