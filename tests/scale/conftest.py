"""Fixtures of the scale tests: a real PgBouncer in transaction mode, and fresh databases.

PgBouncer is Debian's `pgbouncer` package, installed with apt-get when missing. The fixture
starts it on a free port in front of the test server, with a server pool (3) much smaller than
the clients' pools, so consecutive transactions of one client connection land on different
server connections, as they do in production, and stops it after the session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

PGBOUNCER = "/usr/sbin/pgbouncer"
SERVER_POOL_SIZE = 3


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _install_pgbouncer() -> str | None:
    """Install Debian's package when missing; the reason when it cannot be had."""
    if Path(PGBOUNCER).exists():
        return None
    if shutil.which("apt-get") is None:
        return "pgbouncer is not installed and apt-get is not available"
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "pgbouncer"]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
    return None if Path(PGBOUNCER).exists() else "apt-get installed no /usr/sbin/pgbouncer"


@dataclass(frozen=True)
class Bouncer:
    """A running PgBouncer: `url(database)` is the SQLAlchemy URL of a database through it."""

    port: int
    server_url: str  # the test database's direct URL

    def url(self, database: str | None = None) -> str:
        direct = make_url(self.server_url)
        return direct.set(
            host="127.0.0.1", port=self.port, database=database or direct.database
        ).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pgbouncer(database_url: str) -> Iterator[Bouncer]:
    reason = _install_pgbouncer()
    if reason is not None:
        pytest.skip(f"PgBouncer tests skipped: {reason}")
    server = make_url(database_url)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    user = server.username or "postgres"
    (workdir / "userlist.txt").write_text(f'"{user}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={server.host or "127.0.0.1"} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/userlist.txt
pool_mode = transaction
default_pool_size = {SERVER_POOL_SIZE}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    command = [PGBOUNCER, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it drops to the `postgres` system user, which
        # must be able to write its log and pid file.
        command[1:1] = ["-u", "postgres"]
        for path in (workdir, *workdir.iterdir()):
            shutil.chown(path, "postgres")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    bouncer = Bouncer(port=port, server_url=database_url)
    try:
        _wait_until_up(bouncer, process, workdir)
        yield bouncer
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_up(bouncer: Bouncer, process: subprocess.Popen[bytes], workdir: Path) -> None:
    libpq = bouncer.url().replace("postgresql+psycopg://", "postgresql://", 1)
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            log_file = workdir / "pgbouncer.log"
            log = log_file.read_text() if log_file.exists() else ""
            raise RuntimeError(f"pgbouncer exited: {output}{log}")
        try:
            with psycopg.connect(libpq, connect_timeout=2, prepare_threshold=None) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
