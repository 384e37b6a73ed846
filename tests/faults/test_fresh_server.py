"""A server that has never seen the app role: several databases migrated at once.

Roles belong to the server, not to a database. On a fresh server, parallel test workers (or
two services sharing one PostgreSQL) migrate their databases at the same moment and race to
create and grant `medspa_app`; the loser must treat "already exists" as done, not fail.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from db.migrate import head_revision
from tests.faults.processes import MEDSPA_API, PROJECT_ROOT, Cluster, postgres_bin

DATABASES = ("one", "two", "three", "four")


@pytest.fixture
def fresh_cluster() -> Iterator[Cluster]:
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql) and apt-get failed")
    own = Cluster(binaries)
    own.init()
    yield own
    own.destroy()


def test_databases_migrated_at_once_on_a_fresh_server_all_reach_head(
    fresh_cluster: Cluster,
) -> None:
    with psycopg.connect(fresh_cluster.url(), autocommit=True) as admin:
        assert admin.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = 'medspa_app'"
        ).fetchone() == (0,)
        for name in DATABASES:
            admin.execute(f"CREATE DATABASE {name}")

    processes = [
        subprocess.Popen(  # noqa: S603
            [str(MEDSPA_API), "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": fresh_cluster.url(name)},
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name in DATABASES
    ]
    outputs = [process.communicate(timeout=300)[0].decode() for process in processes]
    assert [process.returncode for process in processes] == [0] * len(DATABASES), outputs

    for name in DATABASES:
        with psycopg.connect(fresh_cluster.url(name)) as connection:
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            assert revision == (head_revision(),)
            # The app role exists once and the migrating user may act as it.
            assert connection.execute(
                "SELECT pg_has_role(current_user, 'medspa_app', 'MEMBER')"
            ).fetchone() == (True,)
