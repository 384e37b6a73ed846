"""Fixtures of the edge suite: a prod-mode API process, tokens it accepts, table counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from api.tokens import mint_user_token
from db.seed.demo import DemoIds
from tests.conftest import ALL_TABLES, StatementLog
from tests.edge.servers import PROD_SECRET, Process, start_api

PROD_SETTINGS = Settings(MEDSPA_ENV="prod", MEDSPA_JWT_SECRET=PROD_SECRET)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def api_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One prod-mode API process for the whole session (budgets in its memory)."""
    log = tmp_path_factory.mktemp("edge") / "api.log"
    process = start_api(database_url, log)
    yield process
    process.stop()


@pytest.fixture
def server_writes(statement_log: StatementLog, demo: DemoIds) -> None:
    """For a test whose requests to a server process may write (audit rows of patient reads
    or of mutations): those statements are not traced here, so every table is restored
    before the next test."""
    del demo  # restored first: the mark must outlive the restore, for the next test
    statement_log.written.add(ALL_TABLES)


def prod_token(demo: DemoIds, email: str) -> str:
    return mint_user_token(PROD_SETTINGS, user_id=demo.users[email], ttl=timedelta(minutes=10))


async def table_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows per table: the hostile suite checks that nothing was written."""
    async with engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
                )
            )
        ).scalars()
        counts: dict[str, int] = {}
        for table in tables:
            counts[table] = (
                await conn.execute(text(f"SELECT count(*) FROM public.{table}"))  # noqa: S608
            ).scalar_one()
        return counts


def log_lines(path: Path) -> list[dict[str, Any]]:
    import json

    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines
