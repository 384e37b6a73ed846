"""Deploying N replicas on one database (issue 14): `db upgrade` is a locked step of its own,
`serve` never migrates and refuses (or waits for) a schema behind the code, and `serve
--workers N` runs uvicorn workers from an import string.

These start real `medspa-api` processes on a fresh database of their own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from api.settings import PROJECT_ROOT
from db.migrate import MIGRATIONS_DIR, database_revision, head_revision, upgrade
from db.session import libpq_url
from tests.scale.conftest import free_port

REVISIONS = len(list((MIGRATIONS_DIR / "versions").glob("0*.py")))
UP_WITHIN_SECONDS = 120  # four interpreters importing the app on a shared, loaded machine


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    port: int
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[str]:
    """A database that does not exist yet (the replicas create it); dropped afterwards."""
    name = f"{make_url(database_url).database}_replicas"
    admin = libpq_url(make_url(database_url).set(database="postgres").render_as_string(False))

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    drop()
    yield libpq_url(make_url(database_url).set(database=name).render_as_string(False))
    drop()


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:  # each replica is the leader of its own process group
        if replica.process.poll() is None:
            os.killpg(replica.process.pid, signal.SIGTERM)
    for replica in started:
        try:
            replica.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(replica.process.pid, signal.SIGKILL)
            replica.process.wait()


def start(replicas: list[Replica], tmp_path: Path, url: str, shell: str, **env: str) -> Replica:
    port = free_port()
    output = tmp_path / f"replica-{len(replicas)}.log"
    cli = f"{sys.executable} -m api.cli"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        ["/bin/sh", "-c", shell.format(cli=cli)],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "MEDSPA_ENV": "test",
            "MEDSPA_PORT": str(port),
            "MEDSPA_POOL_SIZE": "2",
            **env,
        },
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    replica = Replica(process, port, output)
    replicas.append(replica)
    return replica


def wait_ready(replica: Replica, *, seconds: float = UP_WITHIN_SECONDS) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            pytest.fail(f"replica exited with {replica.process.returncode}:\n{replica.text()}")
        try:
            response = httpx.get(f"http://127.0.0.1:{replica.port}/readyz", timeout=2)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"replica not ready after {seconds} s:\n{replica.text()}")


def test_four_replicas_started_at_once_come_up_after_one_migration(
    fresh_database: str, replicas: list[Replica], tmp_path: Path
) -> None:
    # What an operator's deployment runs per replica (and `make run` locally); one of them
    # with two uvicorn workers.
    for workers in (1, 1, 1, 2):
        start(
            replicas,
            tmp_path,
            fresh_database,
            "{cli} db upgrade && exec {cli} serve --workers " + str(workers),
        )
    for replica in replicas:
        assert wait_ready(replica)["migrations"] == {"current": head_revision()}
    logs = [replica.text() for replica in replicas]
    upgrades = [re.findall(r"Running upgrade", log) for log in logs]
    # Exactly one process ran the migrations, each revision once; the others waited on the
    # lock and found the schema at head.
    assert sorted(len(found) for found in upgrades) == [0, 0, 0, REVISIONS], logs
    assert all("Traceback" not in log for log in logs), logs
    # Readiness answers once one worker serves; the second may still be starting on a loaded
    # machine: wait for it (within the same bound) rather than read its log too early.
    deadline = time.monotonic() + UP_WITHIN_SECONDS
    while len(re.findall(r"Started server process", replicas[3].text())) < 2:
        assert time.monotonic() < deadline, replicas[3].text()
        time.sleep(0.2)
    logs[3] = replicas[3].text()
    assert len(re.findall(r"Started server process", logs[3])) == 2, logs[3]
    assert "uvloop" in logs[3] or _uses_uvloop(replicas[3]), logs[3]
    for replica in replicas:
        response = httpx.post(
            f"http://127.0.0.1:{replica.port}/graphql",
            json={"query": "{ viewer { roles } }"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


def _uses_uvloop(replica: Replica) -> bool:
    """Whether the replica's workers run uvloop (their open files name its extension)."""
    children = Path(f"/proc/{replica.process.pid}/task/{replica.process.pid}/children")
    pids = children.read_text().split() if children.exists() else []
    for pid in pids:
        maps = Path(f"/proc/{pid}/maps")
        if maps.exists() and "uvloop" in maps.read_text():
            return True
    return False


def _create(url: str) -> None:
    admin = libpq_url(make_url(url).set(database="postgres").render_as_string(False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(make_url(url).database)))


def test_serve_refuses_a_database_behind_the_code(
    fresh_database: str, replicas: list[Replica], tmp_path: Path
) -> None:
    _create(fresh_database)
    replica = start(replicas, tmp_path, fresh_database, "exec {cli} serve")
    assert replica.process.wait(timeout=UP_WITHIN_SECONDS) == 1
    assert "run `medspa-api db upgrade` first" in replica.text()
    assert database_revision(fresh_database) is None  # and it migrated nothing


def test_serve_can_wait_for_the_upgrade_step(
    fresh_database: str, replicas: list[Replica], tmp_path: Path
) -> None:
    _create(fresh_database)
    replica = start(
        replicas, tmp_path, fresh_database, "exec {cli} serve", MEDSPA_SCHEMA_BEHIND="wait"
    )
    deadline = time.monotonic() + UP_WITHIN_SECONDS
    while "waiting for" not in replica.text():
        assert time.monotonic() < deadline and replica.process.poll() is None, replica.text()
        time.sleep(0.3)
    upgrade(fresh_database.replace("postgresql://", "postgresql+psycopg://", 1))
    assert wait_ready(replica)["migrations"] == {"current": head_revision()}
