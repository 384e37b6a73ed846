"""Real processes for the edge tests: the API under uvicorn in prod mode, and redis-server.

Hostile inputs are tried against a separate server process so that a stall would show as
`/healthz` not answering another client, exactly as in production. Each process is started on
a free port by its fixture and stopped by it; their output goes to a file the tests read.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from api.settings import PROJECT_ROOT

PROD_SECRET = "edge-tests-signing-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log_path: Path
    url: str

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_api(database_url: str, log_path: Path, **env: str) -> Process:
    """`uvicorn` serving `create_app(Settings())` in prod mode on a free port."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDSPA_ENV": "prod",
        "MEDSPA_JWT_SECRET": PROD_SECRET,
        **env,
    }
    command = [
        sys.executable, "-m", "uvicorn", "tests.edge.asgi:app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    out = log_path.open("ab")
    popen = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
    )
    process = Process(popen, log_path, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"the API server exited:\n{process.log()[-3000:]}")
        try:
            if httpx.get(process.url + "/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.stop()
    raise RuntimeError(f"the API server did not start:\n{process.log()[-3000:]}")


def redis_server_binary() -> str | None:
    """`redis-server`, installed from Debian when missing (the tests run as root)."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["apt-get", "update"], check=False, **quiet)  # noqa: S607
        subprocess.run(
            ["apt-get", "install", "-y", "redis-server"],  # noqa: S607
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            **quiet,
        )
    return shutil.which("redis-server")


def start_redis(binary: str, log_path: Path) -> Process:
    port = free_port()
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    out = log_path.open("ab")
    popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    process = Process(popen, log_path, f"redis://127.0.0.1:{port}/0")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.1)
    process.stop()
    raise RuntimeError("redis-server did not start")
