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
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.app import Services, build_services, create_app
from api.auth import mint_user_token
from api.settings import PROJECT_ROOT, Settings
from db.embedded import embedded_server_url, to_sqlalchemy_url
from db.migrate import upgrade
from db.seed.demo import DemoIds, seed_demo
from db.session import (
    create_app_engine,
    create_owner_engine,
    ensure_database,
    session_factory,
    set_tenant_settings,
)

TEST_SETTINGS = Settings(MEDSPA_ENV="test")  # type: ignore[call-arg]

_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:public\.)?\"?(\w+)",
    re.IGNORECASE,
)


def _test_database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return to_sqlalchemy_url(url)
    return embedded_server_url(PROJECT_ROOT / ".data" / "test", database="medspa_test")


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
    engine = create_app_engine(database_url, statement_timeout_ms=10_000, pool_size=25)

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
            " AND tablename NOT IN ('alembic_version', 'policy_version') ORDER BY tablename"
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
    return mint_user_token(
        TEST_SETTINGS, user_id=demo.users[email], ttl=timedelta(minutes=10), **kwargs
    )


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

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
        return Answer(response.status_code, response.json())


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

    async def bearer(self, who: str) -> str | None:
        """`who` is a demo email, `masquerade`, `api_key` or `anonymous`."""
        if who == "anonymous":
            return None
        if who == "masquerade":
            return await self.masquerade()
        if who == "api_key":
            return await self.api_key()
        return token_for(self.demo, who)


@pytest.fixture
def principals(gql: Gql, demo: DemoIds) -> Principals:
    return Principals(gql, demo)


ALL_CALLERS = (
    "ops@portrait.example",
    "maria@portrait.example",
    "vera@portrait.example",
    "dean@portrait.example",
    "cody@portrait.example",
    "sam@portrait.example",
    "dana@glow.example",
    "nina@glow.example",
    "omar@glow.example",
    "ruth@radiance.example",
    "lee@radiance.example",
    "lena@legacy.example",
    "kim@legacy.example",
    "masquerade",
    "api_key",
    "anonymous",
)
