"""Engines and transactions, safe behind a transaction-mode connection pooler.

Two connections to the same database:
- the *owner* engine (the `DATABASE_URL` user) runs the seed and the command-line tools;
  migrations run on their own connection (`db.migrate`);
- the *app* engine is what the service uses: it connects as `APP_DATABASE_URL` when set, or
  as the owner and runs every transaction as `medspa_app`, a non-owner role without
  BYPASSRLS, so PostgreSQL row-level security applies to every query the service makes.

Nothing is set per *connection*: behind PgBouncer in transaction mode consecutive
transactions of one client connection run on different server connections, so a connect-time
`SET ROLE` or `statement_timeout` would not follow them (issue 14 measured 3 of 200
transactions running as the superuser). Instead each transaction starts with its own
prelude, sent in the same round trip as its first statement:

    BEGIN; SET LOCAL ROLE medspa_app; SET LOCAL statement_timeout = ...;
    SET LOCAL TIME ZONE 'UTC'; SET LOCAL app.medspa_ids = '...'; <first statement>

`set_auth_settings` / `set_tenant_settings` (the RLS settings, see DESIGN §6.3) do not run a
statement either: they queue `SET LOCAL` lines that go out with the next statement. `SET LOCAL`
rather than `set_config(..., true)` because Citus forwards `SET LOCAL` to its workers and not
`set_config`. Everything is transaction-local, so nothing can leak to the next transaction
that borrows the pooled (or PgBouncer's) connection.

How: psycopg runs in autocommit mode (so it sends no `BEGIN` round trip of its own) with
client-side binding (`AsyncClientCursor`: the statement is sent as one simple query, which may
hold several statements, and no server-side prepared statement ever exists, which a
transaction pooler cannot keep). The SQLAlchemy `begin` event marks the connection; the cursor
then prefixes `BEGIN` and the prelude, and moves to the last result. `COMMIT` / `ROLLBACK` are
sent by psycopg as usual (it sees the connection in a transaction). Measured alternatives and
figures: `bench/pooler.py`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.abc import Params, Query, QueryNoTemplate
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from api.settings import Settings
from db.embedded import embedded_server_url, to_sqlalchemy_url

APP_ROLE = "medspa_app"


class PreludeConnection(psycopg.AsyncConnection[Any]):
    """A psycopg connection that opens each transaction with its `SET LOCAL` prelude.

    `prelude` is fixed per engine (role, timeout, time zone); `queued` holds the settings of
    the current transaction not sent yet; `begin_pending` is set by SQLAlchemy's `begin`
    event and cleared by the statement that carries the `BEGIN`.
    """

    prelude: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queued: list[str] = []
        self.begin_pending = False

    def start_transaction(self) -> None:
        """A new transaction begins: forget anything queued for an earlier one."""
        self.end_transaction()
        self.begin_pending = True

    def end_transaction(self) -> None:
        """The transaction ended (or never sent a statement): nothing of it may reach the
        next statement on this connection, not even a pool's liveness ping."""
        self.queued.clear()
        self.begin_pending = False

    def take_prefix(self) -> str:
        """The lines to send before the next statement, and forget them."""
        lines: list[str] = []
        if (
            self.begin_pending
            and self.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        ):
            lines = ["BEGIN", *self.prelude]
        self.begin_pending = False
        lines.extend(self.queued)
        self.queued.clear()
        return "".join(f"{line}; " for line in lines)


class PreludeCursor(psycopg.AsyncClientCursor[Any]):
    """Sends the connection's pending prefix together with the statement, in one query."""

    async def execute(
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> PreludeCursor:
        # SQLAlchemy sends plain strings (never a t-string template, which takes no params).
        statement = cast("QueryNoTemplate", query)
        prefix = _take_prefix(self.connection)
        if not prefix:
            await super().execute(statement, params, prepare=prepare, binary=binary)
            return self
        if not isinstance(statement, str):
            await super().execute(prefix)
            await super().execute(statement, params, prepare=prepare, binary=binary)
            return self
        # psycopg reads `%` as a placeholder only when parameters are given.
        escaped = prefix.replace("%", "%%") if params is not None else prefix
        await super().execute(escaped + statement, params, prepare=prepare, binary=binary)
        while self.nextset():  # the caller wants the result of its own statement: the last
            pass
        return self

    async def executemany(
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        prefix = _take_prefix(self.connection)
        if prefix:
            # Rare (a transaction that starts with a batch): one extra round trip.
            await super().execute(prefix)
        await super().executemany(query, params_seq, returning=returning)


def _take_prefix(connection: psycopg.AsyncConnection[Any]) -> str:
    return connection.take_prefix() if isinstance(connection, PreludeConnection) else ""


def owner_database_url(settings: Settings) -> str:
    """The migration owner's URL: `DATABASE_URL`, or the embedded server when unset."""
    if settings.database_url:
        return to_sqlalchemy_url(settings.database_url)
    return embedded_server_url(settings.data_dir)


def listen_database_url(settings: Settings) -> str:
    """Where the policy listener connects (libpq form): a direct connection, never through a
    transaction pooler, since a LISTEN there hears nothing once its transaction ends."""
    if settings.listen_database_url:
        return libpq_url(settings.listen_database_url)
    return libpq_url(owner_database_url(settings))


def libpq_url(url: str) -> str:
    """A URL psycopg accepts directly (no SQLAlchemy driver suffix)."""
    parsed = make_url(to_sqlalchemy_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _prelude_engine(
    url: str,
    *,
    prelude: tuple[str, ...],
    pool_size: int,
    pool_timeout_s: float = 30.0,
    connect_timeout_s: int | None = None,
) -> AsyncEngine:
    conninfo = libpq_url(url)
    # A dead peer is noticed by TCP keepalives (10 s idle, 3 probes 5 s apart) and by
    # `tcp_user_timeout` (unacknowledged data for 30 s) rather than never.
    network: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
    }
    if connect_timeout_s is not None:
        network["connect_timeout"] = connect_timeout_s

    async def connect() -> PreludeConnection:
        connection = await PreludeConnection.connect(
            conninfo,
            autocommit=True,  # the cursor sends BEGIN with the first statement
            prepare_threshold=None,  # never a server-side prepared statement
            cursor_factory=PreludeCursor,
            **network,
        )
        connection.prelude = prelude
        return connection

    engine = create_async_engine(
        to_sqlalchemy_url(url),
        async_creator=connect,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=pool_timeout_s,
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        driver = connection.connection.driver_connection
        if isinstance(driver, PreludeConnection):
            driver.start_transaction()

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _on_end(connection: Any) -> None:
        driver = connection.connection.driver_connection
        if isinstance(driver, PreludeConnection):
            driver.end_transaction()

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if isinstance(driver, PreludeConnection):
            driver.end_transaction()

    return engine


def create_owner_engine(url: str) -> AsyncEngine:
    """The owner's engine (seed, command-line tools): transactions as the connecting user."""
    return _prelude_engine(url, prelude=(), pool_size=2)


def create_app_engine(
    url: str,
    *,
    app_url: str | None = None,
    statement_timeout_ms: int,
    pool_size: int = 10,
    pool_timeout_s: float = 3.0,
    connect_timeout_s: int = 3,
    idle_in_transaction_timeout_ms: int = 30_000,
) -> AsyncEngine:
    """The service's engine: every transaction runs as the non-owner application role.

    With `app_url` the service logs in as that role (a member of `medspa_app`) and stays it.
    Every wait is bounded: a connection attempt (`connect_timeout`), a dead peer (TCP
    keepalives), a pooled connection (`pool_timeout`, then `sqlalchemy.exc.TimeoutError`:
    a 503), a statement, and a transaction left idle (the server ends it).
    """
    prelude = (
        *(() if app_url else (f"SET LOCAL ROLE {APP_ROLE}",)),
        f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}",
        f"SET LOCAL idle_in_transaction_session_timeout = {int(idle_in_transaction_timeout_ms)}",
        "SET LOCAL TIME ZONE 'UTC'",
    )
    return _prelude_engine(
        app_url or url,
        prelude=prelude,
        pool_size=pool_size,
        pool_timeout_s=pool_timeout_s,
        connect_timeout_s=connect_timeout_s,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def uuid_array_literal(ids: Iterable[uuid.UUID]) -> str:
    return "{" + ",".join(str(i) for i in ids) + "}"


async def queue_settings(session: AsyncSession, settings: Mapping[str, str]) -> None:
    """Queue transaction-local `SET LOCAL name = value` lines; they reach the server with the
    session's next statement (no round trip of their own). Names are the `app.*` settings the
    RLS policies read; values are quoted here.
    """
    # Objects added earlier belong to the settings in force when they were added: flush them
    # first, as a statement of their own would have (autoflush).
    await session.flush()
    driver = await _prelude_connection(session)
    for name, value in settings.items():
        if not name.startswith("app.") or not name[4:].replace("_", "").isalpha():
            raise ValueError(f"not an application setting: {name!r}")
        driver.queued.append(f"SET LOCAL {name} = {sql.quote(value)}")


async def _prelude_connection(session: AsyncSession) -> PreludeConnection:
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if not isinstance(driver, PreludeConnection):
        raise TypeError("settings are queued only on engines made by db.session")
    return driver


async def set_auth_settings(
    session: AsyncSession, *, user_ids: Iterable[uuid.UUID] = (), api_key_hash: str = ""
) -> None:
    """Authentication phase: reveal only the caller's own identity rows to RLS."""
    await queue_settings(
        session, {"app.user_ids": uuid_array_literal(user_ids), "app.api_key_hash": api_key_hash}
    )


async def set_tenant_settings(
    session: AsyncSession, *, medspa_ids: Iterable[uuid.UUID], platform: bool
) -> None:
    """Authorization phase: the medspas this principal may reach, or every one (platform)."""
    await queue_settings(
        session,
        {
            "app.medspa_ids": uuid_array_literal(medspa_ids),
            "app.platform": "on" if platform else "off",
        },
    )


def ensure_database(url: str) -> str:
    """Create the URL's database if the server lacks it (first run on a fresh server)."""
    parsed = make_url(url)
    name = parsed.database or "postgres"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            # Another process (a replica starting at the same time) may create it first.
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url
