"""GraphQL over WebSocket: the `graphql-transport-ws` protocol on /graphql.

One connection: the client offers the `graphql-transport-ws` subprotocol, sends
`connection_init` within `MEDSPA_WS_INIT_TIMEOUT_S` whose payload carries the credentials an
HTTP request would send as headers (`Authorization`, `X-Medspa-Id`, `X-Dashboard`), and gets
`connection_ack`. It may then run up to `MEDSPA_MAX_SUBSCRIPTIONS` subscriptions at once
(`subscribe` / `next` / `error` / `complete`); queries and mutations go over HTTP.

Every subscription is bounded like a request before it starts (the same document store,
shape limits, variables and cost as the HTTP pipeline). The connection's credentials are
checked again for every event and every `MEDSPA_SUBSCRIPTION_RECHECK_S` between events, and
at the token's expiry: an ended masquerade, an expired token or a revoked key closes the
connection with 4401.

Close codes (those of the protocol): 4400 invalid message, 4401 unauthorized (subscribe
before the ack, or the credentials stopped being valid), 4403 forbidden (connection_init
refused), 4406 subprotocol not acceptable, 4408 initialisation timeout, 4409 duplicate
subscription id, 4429 repeated connection_init, 1009 message too big.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    subscribe,
)
from graphql.execution.values import get_variable_values
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from api.authz.authenticate import Authenticator, RequestCredentials
from api.authz.principal import Principal
from api.context import Context
from api.errors import ApiError, AuthenticationError, ErrorCode
from api.http.cost import operation_cost
from api.http.documents import DocumentStore, Prepared
from api.http.transport import Refusal, decode_json, request_from_json
from api.settings import Settings
from api.subscriptions.hub import CalendarHub
from api.subscriptions.live import LiveContext, LiveSource, SubscriptionOverflow
from api.tokens import API_KEY_PREFIX

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"


class _Closed(Exception):
    """The connection is over (closed by either side)."""


class GraphQLSocket:
    def __init__(
        self,
        websocket: WebSocket,
        *,
        schema: GraphQLSchema,
        documents: DocumentStore,
        settings: Settings,
        authenticator: Authenticator,
        sessions: async_sessionmaker[AsyncSession],
        hub: CalendarHub,
        make_loaders: Callable[[Context], Any],
        request_id: str,
    ) -> None:
        self.websocket = websocket
        self.schema = schema
        self.documents = documents
        self.settings = settings
        self.authenticator = authenticator
        self.sessions = sessions
        self.hub = hub
        self.make_loaders = make_loaders
        self.request_id = request_id
        self.credentials: RequestCredentials | None = None
        self.principal: Principal | None = None
        self.running: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()
        self._closed = False

    # --- the connection ---------------------------------------------------------------

    async def run(self) -> None:
        if PROTOCOL not in self.websocket.scope.get("subprotocols", []):
            await self.websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await self.websocket.accept(subprotocol=PROTOCOL)
        watchdog: asyncio.Task[None] | None = None
        try:
            try:
                first = await asyncio.wait_for(self._receive(), self.settings.ws_init_timeout_s)
            except TimeoutError:
                await self._close(4408, "Connection initialisation timeout")
                return
            if first.get("type") != "connection_init":
                await self._close(4401, "Unauthorized")
                return
            if not await self._init(first.get("payload")):
                await self._close(4403, "Forbidden")
                return
            await self._send({"type": "connection_ack"})
            watchdog = asyncio.create_task(self._watch(), name="ws-credentials")
            while True:
                await self._handle(await self._receive())
        except _Closed:
            pass
        finally:
            if watchdog is not None:
                watchdog.cancel()
            for task in list(self.running.values()):
                task.cancel()
            await asyncio.gather(*self.running.values(), return_exceptions=True)
            if watchdog is not None:
                await asyncio.gather(watchdog, return_exceptions=True)

    async def _receive(self) -> dict[str, Any]:
        try:
            message = await self.websocket.receive()
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise _Closed from exc
        if message["type"] == "websocket.disconnect":
            self._closed = True
            raise _Closed
        data = message.get("text")
        raw = data.encode() if data is not None else message.get("bytes") or b""
        if len(raw) > self.settings.max_body_bytes:
            await self._close(1009, "Message too big")
            raise _Closed
        try:
            value = decode_json(raw, max_depth=self.settings.max_json_depth, what="A message")
        except Refusal:
            value = None
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            await self._close(4400, "Invalid message")
            raise _Closed
        return value

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            if self._closed:
                raise _Closed
            try:
                await self.websocket.send_text(json.dumps(message, separators=(",", ":")))
            except (WebSocketDisconnect, RuntimeError) as exc:
                self._closed = True
                raise _Closed from exc

    async def _close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            if self._closed:
                return
            self._closed = True
            if self.websocket.application_state is not WebSocketState.DISCONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.websocket.close(code=code, reason=reason)

    async def _init(self, payload: Any) -> bool:
        if payload is not None and not isinstance(payload, dict):
            return False
        headers = {
            str(k).lower(): v for k, v in (payload or {}).items() if isinstance(v, str) and k
        }
        try:
            credentials = RequestCredentials.from_headers(headers, request_id=self.request_id)
        except AuthenticationError:
            return False
        if credentials.bearer is None:
            return False  # nothing live is public
        try:
            self.principal = await self._authenticate(credentials)
        except ApiError:
            return False
        self.credentials = credentials
        return True

    async def _authenticate(self, credentials: RequestCredentials) -> Principal:
        async with self.sessions() as session, session.begin():
            return await self.authenticator.authenticate(session, credentials)

    async def _watch(self) -> None:
        """Close the connection when its credentials stop being valid, between events."""
        assert self.credentials is not None
        expiry = _token_expiry(self.credentials.bearer)
        while True:
            wait = self.settings.subscription_recheck_s
            if expiry is not None:
                wait = min(wait, max(0.0, expiry - time.time()))
            await asyncio.sleep(wait)
            if expiry is not None and time.time() >= expiry:
                await self._close(4401, "The token expired")
                return
            try:
                await self._authenticate(self.credentials)
            except ApiError:
                await self._close(4401, "The credentials are no longer valid")
                return
            except Exception:
                log.warning("credential recheck failed; retrying", exc_info=True)

    # --- messages ---------------------------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "connection_init":
            await self._close(4429, "Too many initialisation requests")
            raise _Closed
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.running.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            await self._close(4400, "Invalid message")
            raise _Closed

    async def _subscribe(self, message: dict[str, Any]) -> None:
        sub_id = message.get("id")
        if not isinstance(sub_id, str) or not 0 < len(sub_id) <= 128:
            await self._close(4400, "Invalid message")
            raise _Closed
        if sub_id in self.running:
            await self._close(4409, f"Subscriber for {sub_id} already exists")
            raise _Closed
        if len(self.running) >= self.settings.max_subscriptions:
            await self._error(
                sub_id,
                ApiError(
                    ErrorCode.QUERY_TOO_COMPLEX,
                    f"At most {self.settings.max_subscriptions} subscriptions per connection;"
                    " complete one first.",
                ),
            )
            return
        try:
            started = await self._start(message.get("payload"))
        except GraphQLError as error:
            await self._error(sub_id, error)
            return
        if isinstance(started, ExecutionResult):
            await self._error(sub_id, *(started.errors or ()))
            return
        stream, ctx = started
        assert ctx.live is not None
        task = asyncio.create_task(self._pump(sub_id, stream, ctx))
        self.running[sub_id] = task
        # Its opening checks (permission, window) answer before the next message is read.
        ready = asyncio.create_task(ctx.live.started.wait())
        try:
            await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()

    async def _start(
        self, payload: Any
    ) -> tuple[AsyncIterator[ExecutionResult], LiveContext] | ExecutionResult:
        """Check a subscription like a request, then start it (its listener registered)."""
        try:
            params = request_from_json(payload)
        except Refusal as refusal:
            raise ApiError(ErrorCode(refusal.code), refusal.message) from refusal
        prepared = self._prepared(params.query, params.document_id)
        if prepared.errors:
            return ExecutionResult(None, list(prepared.errors))
        operation = prepared.operation(params.operation_name)
        if isinstance(operation, str):
            raise ApiError(ErrorCode.OPERATION_RESOLUTION_FAILURE, operation)
        if operation.operation is not OperationType.SUBSCRIPTION:
            raise ApiError(
                ErrorCode.BAD_REQUEST,
                "Only subscriptions are served over WebSocket; send queries and mutations"
                " with POST.",
            )
        assert prepared.document is not None
        coerced = get_variable_values(
            self.schema,
            operation.variable_definitions or (),
            params.variables or {},
            max_errors=10,
            hide_suggestions=not self.settings.is_dev,
        )
        if isinstance(coerced, list):
            return ExecutionResult(
                None,
                [
                    GraphQLError(
                        e.message,
                        e.nodes,
                        extensions={**(e.extensions or {}), "code": "BAD_USER_INPUT"},
                    )
                    for e in coerced
                ],
            )
        fragments = {
            d.name.value: d
            for d in prepared.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        cost = operation_cost(
            self.schema,
            fragments=fragments,
            operation=operation,
            variables=params.variables or {},
        )
        if cost > self.settings.max_cost:
            raise ApiError(
                ErrorCode.QUERY_TOO_COMPLEX,
                f"The subscription costs {cost} points per event; at most"
                f" {self.settings.max_cost}.",
            )
        assert self.principal is not None and self.credentials is not None
        live = LiveSource(
            authenticator=self.authenticator,
            sessions=self.sessions,
            credentials=self.credentials,
            hub=self.hub,
            make_loaders=self.make_loaders,
        )
        ctx = LiveContext(
            principal=self.principal,
            session=None,  # type: ignore[arg-type]  # each event opens its own
            settings=self.settings,
            loaders=None,  # type: ignore[arg-type]  # each event builds its own
            live=live,
        )
        # Registered now, before the answer to any later message: a client that pings after
        # subscribing knows that every change committed after the pong reaches it.
        live.listener = self.hub.add(
            medspa_ids=self.principal.rls_medspa_ids, platform=self.principal.rls_platform
        )
        try:
            result = subscribe(
                self.schema,
                prepared.document,
                context_value=ctx,
                variable_values=params.variables or {},
                operation_name=operation.name.value if operation.name else None,
            )
            if not isinstance(result, (ExecutionResult, AsyncIterator)):
                result = await result
        except BaseException:
            self.hub.remove(live.listener)
            raise
        if isinstance(result, ExecutionResult):
            self.hub.remove(live.listener)
            return result
        return result, ctx

    def _prepared(self, query: str | None, document_id: str | None) -> Prepared:
        if document_id is not None:
            trusted = self.documents.trusted(document_id)
            if trusted is None:
                raise ApiError(
                    ErrorCode.TRUSTED_DOCUMENT_NOT_FOUND,
                    f"No trusted document has the id {document_id}.",
                )
            return trusted
        assert query is not None
        return self.documents.prepare(query)

    async def _pump(
        self, sub_id: str, stream: AsyncIterator[ExecutionResult], ctx: LiveContext
    ) -> None:
        live = ctx.live
        assert live is not None
        try:
            async for result in stream:
                answer: dict[str, Any] = {"data": result.data}
                if result.errors:
                    answer["errors"] = [_format(e) for e in result.errors]
                await self._send({"id": sub_id, "type": "next", "payload": answer})
            await self._send({"id": sub_id, "type": "complete"})
        except AuthenticationError:
            await self._close(4401, "The credentials are no longer valid")
        except GraphQLError as error:
            await self._error(sub_id, _original(error))
        except SubscriptionOverflow:
            await self._error(
                sub_id,
                ApiError(ErrorCode.RATE_LIMITED, "Too many changes unread; subscribe again."),
            )
        except (asyncio.CancelledError, _Closed):
            pass
        except Exception:
            log.exception("subscription %s failed (request %s)", sub_id, self.request_id)
            with contextlib.suppress(_Closed):
                await self._error(sub_id, ApiError(ErrorCode.INTERNAL, "Unexpected error."))
        finally:
            if live.listener is not None:
                self.hub.remove(live.listener)
            self.running.pop(sub_id, None)
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    async def _error(self, sub_id: str, *errors: GraphQLError) -> None:
        with contextlib.suppress(_Closed):
            await self._send(
                {"id": sub_id, "type": "error", "payload": [_format(e) for e in errors]}
            )


def _original(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, AuthenticationError):
        raise original
    return original if isinstance(original, ApiError) else error


def _format(error: GraphQLError) -> dict[str, Any]:
    """A client error as it is; anything else masked (logged, never sent)."""
    original = error.original_error
    if original is not None and not isinstance(original, ApiError):
        log.error("subscription field failed", exc_info=original)
        return {"message": "Unexpected error.", "extensions": {"code": ErrorCode.INTERNAL.value}}
    formatted: dict[str, Any] = {"message": error.message}
    if error.path:
        formatted["path"] = list(error.path)
    code = (error.extensions or {}).get("code") or ErrorCode.VALIDATION_FAILED.value
    formatted["extensions"] = {**(error.extensions or {}), "code": code}
    return formatted


def _token_expiry(bearer: str | None) -> float | None:
    """A user token's `exp` (already verified by connection_init); None for API keys."""
    if bearer is None or bearer.startswith(API_KEY_PREFIX):
        return None
    try:
        claims = jwt.decode(bearer, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else None
