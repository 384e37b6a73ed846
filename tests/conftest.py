"""Test harness: a real PostgreSQL, migrated once per session, reset between tests.

`TEST_DATABASE_URL` names the server (CI: the local one); unset, the embedded server in
`.data/test` is used. The database's public schema is rebuilt from the migrations at the start
of the session, then the demo data is seeded. After a test that wrote anything, every table is
truncated and the demo data seeded again, so each test starts from the same state.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.app import Services, build_services, create_app
from api.settings import PROJECT_ROOT, Settings
from api.tokens import mint_user_token
from db.embedded import embedded_server_url, to_sqlalchemy_url
from db.migrate import upgrade
from db.models.enums import Dashboard
from db.seed.demo import DemoIds, seed_demo
from db.session import (
    create_app_engine,
    create_owner_engine,
    ensure_database,
    session_factory,
    set_tenant_settings,
)
from tests.matrix import (
    ALL_CALLERS,
    MATRIX_RECORD,
    PARTNER_SCOPES,
    guard_message,
    missing_pairs,
    schema_root_fields,
)

__all__ = ["ALL_CALLERS"]

TEST_SETTINGS = Settings(MEDSPA_ENV="test")  # type: ignore[call-arg]

_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:public\.)?\"?(\w+)",
    re.IGNORECASE,
)


def _test_database_url() -> str:
    """The server's test database; under pytest-xdist each worker gets its own database on
    that server (`<name>_gw0`, ...), so workers never see each other's writes."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        sqlalchemy_url = make_url(to_sqlalchemy_url(url))
        if worker:
            sqlalchemy_url = sqlalchemy_url.set(database=f"{sqlalchemy_url.database}_{worker}")
        return sqlalchemy_url.render_as_string(hide_password=False)
    database = f"medspa_test_{worker}" if worker else "medspa_test"
    return embedded_server_url(PROJECT_ROOT / ".data" / "test", database=database)


def _reset_schema(url: str) -> None:
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE")
        conn.execute("CREATE SCHEMA public")


@dataclass
class StatementLog:
    """Every SQL statement the application engine ran, for count assertions."""

    statements: list[str] = field(default_factory=list)
    # Tables written since the last reset (through the app or the owner engine); ALL_TABLES
    # when a test wrote in a way that cannot be traced (an `owner_session`).
    written: set[str] = field(default_factory=set)

    def note_write(self, statement: str) -> None:
        match = _WRITE.match(statement)
        if match:
            self.written.add(match.group(1).lower())

    def clear(self) -> None:
        self.statements.clear()

    def count(self, *, excluding_setup: bool = True) -> int:
        if not excluding_setup:
            return len(self.statements)
        return sum(
            1 for s in self.statements if not s.lstrip().upper().startswith("SELECT SET_CONFIG")
        )


@pytest.fixture(scope="session")
def database_url() -> str:
    url = ensure_database(_test_database_url())
    _reset_schema(url)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
async def owner_engine(
    database_url: str, statement_log: StatementLog
) -> AsyncIterator[AsyncEngine]:
    engine = create_owner_engine(database_url)

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not conn.info.get("restoring"):
            statement_log.note_write(statement)

    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def statement_log() -> StatementLog:
    return StatementLog()


@pytest.fixture(scope="session")
async def app_engine(database_url: str, statement_log: StatementLog) -> AsyncIterator[AsyncEngine]:
    # TEST_APP_DATABASE_URL routes the application's connections elsewhere, e.g. through
    # PgBouncer in transaction mode (tests/scale runs the isolation tests that way).
    # 12 kept + 12 overflow: room for the 24-way booking race, while the idle connections each
    # xdist worker keeps stay a small share of a server other suites use too.
    app_url = os.environ.get("TEST_APP_DATABASE_URL")
    engine = create_app_engine(
        to_sqlalchemy_url(app_url) if app_url else database_url,
        statement_timeout_ms=10_000,
        pool_size=12,
    )

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statement_log.statements.append(statement)
        statement_log.note_write(statement)

    yield engine
    await engine.dispose()


ALL_TABLES = "*"


@dataclass
class SeedState:
    ids: DemoIds | None = None
    # Per table of the snapshot: its insertable columns, and the tables that reference it
    # (restoring a table means restoring those too, foreign keys being off for the copy).
    columns: dict[str, str] = field(default_factory=dict)
    referencing: dict[str, set[str]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def seed_state() -> SeedState:
    return SeedState()


SNAPSHOT = "seed_snapshot"


async def _data_tables(conn: Any) -> list[str]:
    result = await conn.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('alembic_version', 'policy_version')"
            # The worker's queue (migration 0011) is no data of the demo: never restored.
            " AND left(tablename, 14) <> 'procrastinate_' ORDER BY tablename"
        )
    )
    return list(result.scalars())


async def _seed_and_snapshot(owner_engine: AsyncEngine, state: SeedState) -> DemoIds:
    """Seed once, then copy every table into a snapshot schema to restore from."""
    async with session_factory(owner_engine)() as session, session.begin():
        ids = await seed_demo(session)
    async with owner_engine.begin() as conn:
        conn.info["restoring"] = True
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SNAPSHOT}"))
        tables = await _data_tables(conn)
        for table in tables:
            await conn.execute(text(f"CREATE TABLE {SNAPSHOT}.{table} AS TABLE public.{table}"))
            state.columns[table] = (
                await conn.execute(
                    text(
                        "SELECT string_agg(quote_ident(column_name), ', '"
                        " ORDER BY ordinal_position)"
                        " FROM information_schema.columns WHERE table_schema = 'public'"
                        " AND table_name = :t AND is_generated = 'NEVER'"
                    ),
                    {"t": table},
                )
            ).scalar_one()
        edges = (
            await conn.execute(
                text(
                    "SELECT confrelid::regclass::text, conrelid::regclass::text"
                    " FROM pg_constraint WHERE contype = 'f'"
                    " AND connamespace = 'public'::regnamespace"
                )
            )
        ).all()
        conn.info["restoring"] = False
    direct: dict[str, set[str]] = {t: set() for t in tables}
    for referenced, referencing in edges:
        direct.setdefault(referenced, set()).add(referencing)
    for table in tables:  # transitive closure
        seen: set[str] = set()
        todo = [table]
        while todo:
            for child in direct.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        state.referencing[table] = seen
    return ids


async def _restore_snapshot(owner_engine: AsyncEngine, state: SeedState, written: set[str]) -> None:
    """Put the written tables (and those referencing them) back to the seeded state, in one
    transaction; foreign keys and triggers are off for the copy (a superuser setting)."""
    if ALL_TABLES in written:
        tables = set(state.columns)
    else:
        tables = {t for t in written if t in state.columns}
        for table in list(tables):
            tables |= state.referencing.get(table, set())
    if not tables:
        return
    async with owner_engine.begin() as conn:
        conn.info["restoring"] = True
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in sorted(tables):
            columns = state.columns[table]
            await conn.execute(text(f"DELETE FROM public.{table}"))  # noqa: S608 - catalog names
            await conn.execute(
                text(
                    f"INSERT INTO public.{table} ({columns})"  # noqa: S608 - catalog names
                    f" SELECT {columns} FROM {SNAPSHOT}.{table}"
                )
            )
        conn.info["restoring"] = False


@pytest.fixture
async def demo(
    owner_engine: AsyncEngine, seed_state: SeedState, statement_log: StatementLog
) -> DemoIds:
    """The demo dataset's ids, with every table the previous test wrote restored to the
    seeded state."""
    if seed_state.ids is None:
        seed_state.ids = await _seed_and_snapshot(owner_engine, seed_state)
    else:
        await _restore_snapshot(owner_engine, seed_state, statement_log.written)
    statement_log.written.clear()
    statement_log.clear()
    return seed_state.ids


@pytest.fixture
async def owner_session(
    owner_engine: AsyncEngine, statement_log: StatementLog, demo: DemoIds
) -> AsyncIterator[AsyncSession]:
    """A session as the database owner with platform visibility, for arranging test data."""
    statement_log.written.add(ALL_TABLES)  # ORM flushes are traced too, but play safe
    async with session_factory(owner_engine)() as session:
        await session.begin()
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        yield session
        if session.in_transaction():
            await session.rollback()


@pytest.fixture
def services(app_engine: AsyncEngine) -> Services:
    return build_services(TEST_SETTINGS, engine=app_engine)


@pytest.fixture
async def client(services: Services, demo: DemoIds) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(TEST_SETTINGS, services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def token_for(demo: DemoIds, email: str, **kwargs: Any) -> str:
    token = mint_user_token(
        TEST_SETTINGS, user_id=demo.users[email], ttl=timedelta(minutes=10), **kwargs
    )
    if not kwargs:  # a plain token stands for its user in the matrix record
        MATRIX_RECORD.register(token, email)
    return token


@dataclass
class Answer:
    """A GraphQL answer. `body` is the answer without its cost report (`extensions.cost`,
    which carries the caller's own remaining budget and so differs from one request to the
    next); the report is kept in `cost` (tests/edge asserts it)."""

    status: int
    body: dict[str, Any]
    cost: dict[str, Any] | None = None

    @classmethod
    def of(cls, status: int, body: dict[str, Any]) -> Answer:
        extensions = dict(body.get("extensions") or {})
        cost = extensions.pop("cost", None)
        body = {k: v for k, v in body.items() if k != "extensions"}
        if extensions:
            body["extensions"] = extensions
        return cls(status, body, cost)

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


@dataclass
class Gql:
    """Posts GraphQL as a demo user (by email), a raw bearer, or anonymously."""

    http: httpx.AsyncClient
    demo: DemoIds

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: str | None = None,
        bearer: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if as_ is not None:
            bearer = token_for(self.demo, as_)
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )
        answer = Answer.of(response.status_code, response.json())
        caller = MATRIX_RECORD.caller_of(bearer)
        if caller is not None and headers:
            # A header choosing another dashboard or medspa makes another kind of caller.
            caller = None
        MATRIX_RECORD.note(
            document=query,
            operation_name=None,
            caller=caller,
            # Executed: data came back, or a field's error (it has a path; a refusal makes a
            # non-null payload's `data` null). Parse and validation errors have no path.
            executed=answer.data is not None or any("path" in e for e in answer.errors),
        )
        return answer


@pytest.fixture
def gql(client: httpx.AsyncClient, demo: DemoIds) -> Gql:
    return Gql(client, demo)


@dataclass
class Audit:
    """Reads the audit trail as the owner (outside any request) for assertions."""

    engine: AsyncEngine

    async def rows(self, **where: Any) -> list[dict[str, Any]]:
        clauses = " AND ".join(f"{k} = :{k}" for k in where) or "true"
        async with self.engine.connect() as conn:
            result = await conn.execute(
                text(f"SELECT * FROM audit_event WHERE {clauses} ORDER BY occurred_at"),  # noqa: S608
                {k: str(v) for k, v in where.items()},
            )
            return [dict(r._mapping) for r in result]


@pytest.fixture
def audit(owner_engine: AsyncEngine) -> Audit:
    return Audit(owner_engine)


@dataclass
class Principals:
    """Bearer tokens for every kind of caller the matrix tries."""

    gql: Gql
    demo: DemoIds
    owner_engine: AsyncEngine
    _cache: dict[str, str] = field(default_factory=dict)

    async def masquerade(
        self, actor: str = "dana@glow.example", provider: str = "nina@glow.example"
    ) -> str:
        from api.ids import encode_global_id

        key = f"masquerade:{actor}:{provider}"
        if key not in self._cache:
            answer = await self.gql(
                """mutation($p: ID!) { startMasquerade(providerId: $p, reason: "support") {
                    token errors { code } } }""",
                {"p": encode_global_id("Provider", self.demo.providers[provider])},
                as_=actor,
            )
            payload = answer.data["startMasquerade"]
            assert payload["errors"] == [], payload
            self._cache[key] = payload["token"]
        return self._cache[key]

    async def api_key(
        self,
        scopes: tuple[str, ...] = (
            "APPOINTMENTS_READ",
            "APPOINTMENTS_WRITE",
            "PATIENTS_READ",
            "CATALOG_READ",
        ),
        admin: str = "dana@glow.example",
    ) -> str:
        key = f"api:{admin}:{','.join(scopes)}"
        if key not in self._cache:
            answer = await self.gql(
                """mutation($n: String!, $s: [ApiScope!]!) { createApiClient(name: $n, scopes: $s) {
                    key errors { code } } }""",
                {"n": f"partner {len(self._cache)}", "s": list(scopes)},
                as_=admin,
            )
            payload = answer.data["createApiClient"]
            assert payload["errors"] == [], payload
            self._cache[key] = payload["key"]
        return self._cache[key]

    async def covering(self) -> str:
        """Sam's token inside a window covering Vera (so Glow's providers) right now."""
        if "covering" not in self._cache:
            from tests.pcc.helpers import absence

            now = datetime.now(UTC)
            async with session_factory(self.owner_engine)() as session:
                await session.begin()
                await set_tenant_settings(session, medspa_ids=(), platform=True)
                await absence(
                    session,
                    self.demo,
                    starts=now - timedelta(hours=2),
                    ends=now + timedelta(hours=2),
                    covering="sam@portrait.example",
                )
            self._cache["covering"] = token_for(self.demo, "sam@portrait.example")
        return self._cache["covering"]

    async def bearer(self, who: str) -> str | None:
        """A bearer for any caller of ALL_CALLERS (a demo email, `email:PROVIDER` for that
        user's provider dashboard, `masquerade`, `covering`, `api_key[:SCOPE]`, `anonymous`)."""
        if who == "anonymous":
            return None
        if who == "masquerade":
            bearer = await self.masquerade()
        elif who == "covering":
            bearer = await self.covering()
        elif who == "api_key":
            bearer = await self.api_key()
        elif who.startswith("api_key:"):
            scope = who.removeprefix("api_key:")
            assert scope in PARTNER_SCOPES, who
            bearer = await self.api_key(scopes=(scope,))
        elif who.endswith(":PROVIDER"):
            email = who.removesuffix(":PROVIDER")
            bearer = token_for(self.demo, email, dashboard=Dashboard.PROVIDER)
        else:
            return token_for(self.demo, who)
        MATRIX_RECORD.register(bearer, who)
        return bearer


@pytest.fixture
def principals(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> Principals:
    return Principals(gql, demo, owner_engine)


# --- the runtime matrix guard (issue 10 §1) -------------------------------------------------


def _runs_the_whole_suite(session: pytest.Session) -> bool:
    """Only a run of every test can say a field was never tried; a selection is silent."""
    config = session.config
    option = config.option
    if option.keyword or option.markexpr or getattr(option, "deselect", None):
        return False
    if getattr(option, "lf", False) or getattr(option, "exitfirst", False):
        return False
    if option.collectonly:
        return False
    if session.shouldstop or session.shouldfail:
        return False
    tests_root = (config.rootpath / "tests").resolve()
    args = [a for a in config.args if not a.startswith("-")]
    return all((config.rootpath / a.split("::")[0]).resolve() == tests_root for a in args)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker hands its record to the controller
        workeroutput["matrix_seen"] = sorted(MATRIX_RECORD.seen)
        return
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    if not _runs_the_whole_suite(session):
        return
    missing = missing_pairs(schema_root_fields(), MATRIX_RECORD.seen)
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "role matrix guard", red=True)
            reporter.write_line(guard_message(missing))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    MATRIX_RECORD.merge(node.workeroutput.get("matrix_seen", []))
