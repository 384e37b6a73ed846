"""Alembic environment: runs migrations as the database owner, synchronously."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from db.base import Base
from db.models import __all__ as _models  # noqa: F401 - registers every table on the metadata

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "db.migrate sets sqlalchemy.url"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
