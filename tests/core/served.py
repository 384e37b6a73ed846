"""A real `medspa-api serve` process on the test database, for the README and IDE tests.

The process writes through its own connections, which the harness cannot trace: the fixture
that uses it marks every table written, so the next test starts from the seeded state again.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from api.settings import PROJECT_ROOT

CLI = Path(sys.executable).parent / "medspa-api"
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Served:
    url: str  # http://127.0.0.1:PORT
    env: dict[str, str]  # the environment the CLI needs to reach the same database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSPA_")}
    env.update(DATABASE_URL=database_url, MEDSPA_ENV="dev", **extra)
    return env


@contextmanager
def serve(database_url: str, **extra_env: str) -> Iterator[Served]:
    """`medspa-api serve` in development mode on a free loopback port, stopped afterwards
    (`extra_env`: more settings, e.g. MEDSPA_MAX_SUBSCRIPTIONS="2")."""
    port = free_port()
    # A small pool: the suite shares its PostgreSQL server (and its connection limit).
    env = cli_env(
        database_url,
        MEDSPA_HOST="127.0.0.1",
        MEDSPA_PORT=str(port),
        MEDSPA_POOL_SIZE="2",
        **extra_env,
    )
    # The log goes to a file, not a pipe: a full pipe would block the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [str(CLI), "serve"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield Served(url=_wait_ready(process, log, port=port), env=env)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], log: IO[bytes], *, port: int) -> str:
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"serve exited: {log.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("serve did not become ready in time")
        time.sleep(0.3)
