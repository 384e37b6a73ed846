"""Engines and transactions.

Two connections to the same database:
- the *owner* engine (the `DATABASE_URL` user) runs migrations and the seed;
- the *app* engine is what the service uses: it connects as `APP_DATABASE_URL` when set, or
  as the owner and immediately `SET ROLE medspa_app`, a non-owner role without BYPASSRLS, so
  PostgreSQL row-level security applies to every query the service makes.

Each request runs in one transaction that first calls `set_config(..., true)` (transaction
local) to tell the RLS policies who is asking; nothing session-level can leak to the next
request that borrows the pooled connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from api.settings import Settings
from db.embedded import embedded_server_url, to_sqlalchemy_url

APP_ROLE = "medspa_app"


def owner_database_url(settings: Settings) -> str:
    """The migration owner's URL: `DATABASE_URL`, or the embedded server when unset."""
    if settings.database_url:
        return to_sqlalchemy_url(settings.database_url)
    return embedded_server_url(settings.data_dir)


def create_owner_engine(url: str) -> AsyncEngine:
    return create_async_engine(url, pool_size=2, max_overflow=2, pool_pre_ping=True)


def create_app_engine(
    url: str, *, app_url: str | None = None, statement_timeout_ms: int, pool_size: int = 10
) -> AsyncEngine:
    """The service's engine: every connection runs as the non-owner application role."""
    engine = create_async_engine(
        to_sqlalchemy_url(app_url) if app_url else url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Runs once per physical connection: the role and timeout are fixed for its lifetime.
        cursor = dbapi_connection.cursor()
        if not app_url:
            cursor.execute(f"SET ROLE {APP_ROLE}")
        cursor.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.commit()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def uuid_array_literal(ids: Iterable[uuid.UUID]) -> str:
    return "{" + ",".join(str(i) for i in ids) + "}"


async def set_auth_settings(
    session: AsyncSession, *, user_ids: Iterable[uuid.UUID] = (), api_key_hash: str = ""
) -> None:
    """Authentication phase: reveal only the caller's own identity rows to RLS."""
    await session.execute(
        text(
            "SELECT set_config('app.user_ids', :user_ids, true),"
            " set_config('app.api_key_hash', :key_hash, true)"
        ),
        {"user_ids": uuid_array_literal(user_ids), "key_hash": api_key_hash},
    )


async def set_tenant_settings(
    session: AsyncSession, *, medspa_ids: Iterable[uuid.UUID], platform: bool
) -> None:
    """Authorization phase: the medspas this principal may reach, or every one (platform)."""
    await session.execute(
        text(
            "SELECT set_config('app.medspa_ids', :ids, true),"
            " set_config('app.platform', :platform, true)"
        ),
        {"ids": uuid_array_literal(medspa_ids), "platform": "on" if platform else "off"},
    )


def ensure_database(url: str) -> str:
    """Create the URL's database if the server lacks it (first run on a fresh server)."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or "postgres"
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url
