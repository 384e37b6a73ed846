"""When the database is slow, busy or gone: typed answers, deadlines and fair shares.

- `database_fault` names what a database failure means to a client. A statement or lock
  timeout is `TIMEOUT`; a server that refuses, drops or cannot take connections, and a pool
  with no free connection within `MEDSPA_POOL_TIMEOUT_S`, are `SERVICE_UNAVAILABLE` (HTTP 503
  with `Retry-After`). Both carry `retryable: true`: the request's transaction was rolled back.
- `within_deadline` bounds a whole request by `MEDSPA_REQUEST_TIMEOUT_MS`. The answer goes out
  at the deadline even when the work cannot be cancelled at once (a frozen server does not
  answer psycopg's cancel request for seconds): the work is cancelled and left to unwind.
- `CallerSlots` lets at most `MEDSPA_CALLER_CONCURRENCY` requests of one caller run at once, so
  one caller's heavy requests cannot take every pooled connection; the others wait for a slot
  (bounded by the pool timeout) and then answer 429 with `Retry-After`.
- `HeavyLane` lets at most `MEDSPA_HEAVY_CONCURRENCY` requests whose static cost reaches
  `MEDSPA_HEAVY_COST` run at once per process, so cheap requests keep answering while heavy
  ones queue (until the request deadline).
- `wait_for_database` is what `serve` does before it starts: retry with backoff, saying why.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from sqlalchemy import exc as sa_exc

from api.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a client is told to wait before retrying a TIMEOUT or SERVICE_UNAVAILABLE answer.
RETRY_AFTER_SECONDS = 1


def retryable(code: ErrorCode, message: str) -> ApiError:
    return ApiError(code, message, retryable=True, retryAfter=RETRY_AFTER_SECONDS)


def unavailable(message: str = "The database is unavailable; retry shortly.") -> ApiError:
    return retryable(ErrorCode.SERVICE_UNAVAILABLE, message)


def timed_out(message: str = "The database did not answer in time; retry shortly.") -> ApiError:
    return retryable(ErrorCode.TIMEOUT, message)


def retry_headers(error: ApiError) -> dict[str, str]:
    """`Retry-After` for a retryable error."""
    retry_after = (error.extensions or {}).get("retryAfter")
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: GraphQL's original error, the DBAPI error
    behind SQLAlchemy's, and the explicit or implicit causes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(
            [
                getattr(current, "original_error", None),
                getattr(current, "orig", None),
                current.__cause__,
                current.__context__,
            ]
        )


def database_fault(exc: BaseException) -> ApiError | None:
    """The retryable client error for a database failure, or None when `exc` is no such
    failure (a bug stays INTERNAL)."""
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, ApiError) and cause.code in (
            ErrorCode.TIMEOUT,
            ErrorCode.SERVICE_UNAVAILABLE,
        ):
            return cause
    for cause in causes:
        # QueryCanceled (57014: statement_timeout) is an OperationalError: test it first.
        if isinstance(cause, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
            return timed_out()
    for cause in causes:
        if isinstance(cause, sa_exc.TimeoutError):  # no pooled connection within the timeout
            return unavailable("The database is busy; retry shortly.")
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return unavailable()
        # Connection failures (08xxx), shutdowns (57P0x), too many connections (53300), a
        # connection closed under us, and the network itself.
        if isinstance(
            cause,
            psycopg.OperationalError | psycopg.InterfaceError | ConnectionError | TimeoutError,
        ):
            return unavailable()
    return None


class DeadlineExceeded(Exception):
    """The request ran past `MEDSPA_REQUEST_TIMEOUT_MS`; its work was cancelled."""


def _discard_outcome(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("abandoned request work ended with %r", task.exception())


async def within_deadline(
    work: Coroutine[Any, Any, T], *, seconds: float, unwind_seconds: float = 0.25
) -> T:
    """Run `work`, or cancel it and raise DeadlineExceeded after `seconds`. The cancelled
    work is awaited at most `unwind_seconds` more (its rollback); then it is left to finish
    unwinding on its own, so the caller answers on time whatever the database does."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:  # the server is shutting down: take the work with us
        task.cancel()
        raise
    if task in done or not task.cancel():  # done, if only just now: its answer stands
        return task.result()
    await asyncio.wait({task}, timeout=unwind_seconds)
    if task.done():
        # Whatever it answered after the cancellation is not an answer (a cancelled commit
        # comes back as a database error): only its outcome is collected.
        _discard_outcome(task)
    else:
        task.add_done_callback(_discard_outcome)
    raise DeadlineExceeded


def caller_key(headers: Mapping[str, str], address: str | None) -> str:
    """Who a request is, before authentication: a digest of its bearer credential (never
    the credential itself), or its client address when it has none."""
    authorization = headers.get("authorization", "")
    if authorization:
        return "bearer:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return f"address:{address or 'unknown'}"


@dataclass
class _Slot:
    semaphore: asyncio.Semaphore
    users: int = 0


class CallerSlots:
    """At most `limit` concurrent requests per caller; the rest wait up to `wait_seconds`."""

    def __init__(self, *, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._slots: dict[str, _Slot] = {}

    def running(self, caller: str) -> int:
        slot = self._slots.get(caller)
        return 0 if slot is None else self.limit - slot.semaphore._value

    @asynccontextmanager
    async def slot(self, caller: str) -> AsyncIterator[None]:
        entry = self._slots.get(caller)
        if entry is None:
            entry = self._slots[caller] = _Slot(asyncio.Semaphore(self.limit))
        entry.users += 1
        try:
            try:
                await asyncio.wait_for(entry.semaphore.acquire(), timeout=self.wait_seconds)
            except TimeoutError:
                raise ApiError(
                    ErrorCode.RATE_LIMITED,
                    f"At most {self.limit} of your requests run at once; retry shortly.",
                    retryable=True,
                    retryAfter=RETRY_AFTER_SECONDS,
                ) from None
            try:
                yield
            finally:
                entry.semaphore.release()
        finally:
            entry.users -= 1
            if entry.users == 0:  # forget idle callers: the map stays as small as the load
                del self._slots[caller]


class HeavyLane:
    """At most `limit` expensive requests (static cost at or above the heavy threshold) run at
    once in this process. Building a large answer is CPU time on the one event loop: with a
    few of them at a time, a cheap request waits behind at most that many. A heavy request
    waits up to `wait_seconds` for its turn (the request deadline), then answers 503 with
    `Retry-After`."""

    def __init__(self, *, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._semaphore = asyncio.Semaphore(limit)

    @property
    def running(self) -> int:
        return self.limit - self._semaphore._value

    @asynccontextmanager
    async def enter(self, *, heavy: bool) -> AsyncIterator[None]:
        if not heavy:
            yield
            return
        try:
            await asyncio.wait_for(self._semaphore.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            raise unavailable(
                f"{self.limit} expensive requests are running; retry shortly"
                " (or ask for less: a shorter window, a smaller `first`)."
            ) from None
        try:
            yield
        finally:
            self._semaphore.release()


def wait_for_database(url: str, *, limit_seconds: float, connect_timeout_s: int = 3) -> None:
    """Return once `url` accepts a connection; retry with exponential backoff (0.5 s doubling
    to 8 s) for at most `limit_seconds`, logging why each attempt failed; then raise the
    last error."""
    deadline = time.monotonic() + limit_seconds
    delay = 0.5
    attempt = 1
    while True:
        try:
            with psycopg.connect(url, connect_timeout=connect_timeout_s, autocommit=True) as conn:
                conn.execute("SELECT 1")
            if attempt > 1:
                log.info("the database answers (attempt %d)", attempt)
            return
        except psycopg.OperationalError as exc:
            reason = (str(exc).strip().splitlines() or ["no reason given"])[-1]
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("the database did not answer within %.0f s: %s", limit_seconds, reason)
                raise
            pause = min(delay, left)
            log.warning(
                "waiting for the database (attempt %d, retry in %.1f s): %s",
                attempt,
                pause,
                reason,
            )
            time.sleep(pause)
            delay = min(delay * 2, 8.0)
            attempt += 1
