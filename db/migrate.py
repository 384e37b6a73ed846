"""Apply and inspect Alembic migrations programmatically (no alembic.ini needed).

`upgrade` is safe to run from several processes at once (N replicas each running
`medspa-api db upgrade` before `serve`): the migration transaction first takes a
transaction-level PostgreSQL advisory lock (see `migrations/env.py`), so one process migrates
while the others wait, then find the schema at head and do nothing. A transaction-level lock
also works through a transaction-mode pooler, where a session lock would be released early.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# The advisory lock key of the migration transaction: any fixed bigint works as long as
# nothing else on the database uses it ("medspa" in ASCII).
MIGRATION_LOCK_KEY = 0x6D65647370610001


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a URL must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` (owner credentials) to `revision`."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("postgresql+psycopg://unused"))
    return script.get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def database_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None: never migrated)."""
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"prepare_threshold": None, "connect_timeout": 10}
    )
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()
