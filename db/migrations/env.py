"""Alembic environment: runs migrations as the database owner, synchronously."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from db.base import Base
from db.migrate import MIGRATION_LOCK_KEY
from db.models import __all__ as _models  # noqa: F401 - registers every table on the metadata

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "db.migrate sets sqlalchemy.url"
    engine = create_engine(url, poolclass=pool.NullPool, connect_args={"prepare_threshold": None})
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # One migrating process at a time: the others wait here, then read the version
            # the first one committed and find nothing to do (db.migrate).
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            context.run_migrations()
    engine.dispose()


run_migrations_online()
