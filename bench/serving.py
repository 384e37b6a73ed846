"""The servers and the load of the calendar benchmark's HTTP mode (`bench/calendar.py --http`).

Two ASGI factories that uvicorn serves in their own processes, configured by the environment
the benchmark gives them:
- `api_app`: this API exactly as `medspa-api serve` builds it (`create_app(get_settings())`),
  in prod mode (`MEDSPA_ENV=prod`, a real signing secret);
- `floor_app`: the raw floor, Starlette + psycopg + orjson, one SQL statement per request and
  no GraphQL or authorization: what the same rows cost at the least.

And the measuring side: a keep-alive HTTP client for unloaded latency, `wrk` for throughput at
a concurrency (installed with apt-get when missing and we are root), and the peak resident
memory of each serving process read from /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The raw floor's one statement: the admin (or, with a provider, the provider's) week with
# every relation joined. Same rows and columns as the GraphQL calendar document selects.
FLOOR_SQL = """
SELECT a.id, a.starts_at, a.ends_at, a.status, p.display_name, l.name AS location,
       pt.first_name, pt.last_name, pt.email, t.name AS type, t.duration_minutes
FROM appointment a
JOIN provider p ON p.id = a.provider_id
JOIN location l ON l.id = a.location_id
JOIN patient pt ON pt.id = a.patient_id
JOIN appointment_type t ON t.id = a.appointment_type_id
WHERE a.medspa_id = %(m)s AND a.starts_at < %(t)s AND a.ends_at > %(f)s
  AND (%(p)s::uuid IS NULL OR a.provider_id = %(p)s::uuid)
ORDER BY a.starts_at, a.id"""


def api_app() -> Any:
    """uvicorn factory: the API as `medspa-api serve` builds it, from the environment."""
    from api.app import create_app
    from api.settings import get_settings

    return create_app(get_settings())


def floor_app() -> Any:
    """uvicorn factory: the raw floor (BENCH_FLOOR_URL is a libpq URL)."""
    import orjson
    from psycopg_pool import AsyncConnectionPool
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    pool = AsyncConnectionPool(os.environ["BENCH_FLOOR_URL"], min_size=2, max_size=8, open=False)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    async def calendar(request: Any) -> Response:
        params = orjson.loads(await request.body())
        async with pool.connection() as conn:
            cursor = await conn.execute(FLOOR_SQL, params)
            names = [c.name for c in cursor.description or []]
            rows = await cursor.fetchall()
        body = orjson.dumps({"data": [dict(zip(names, r, strict=True)) for r in rows]})
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/calendar", calendar, methods=["POST"])], lifespan=lifespan)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A uvicorn process tree serving one factory on one port."""

    label: str
    port: int
    workers: int
    process: subprocess.Popen[bytes]

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: the workers, or uvicorn itself with one."""
        children = _children(self.process.pid)
        return children if self.workers > 1 and children else [self.process.pid]

    def cpu_seconds(self) -> float:
        """User + system CPU time the serving processes have used so far."""
        return sum(_cpu_seconds(pid) for pid in self.serving_pids())

    def peak_rss_mb(self) -> list[float]:
        return [_vm_hwm_kb(pid) / 1024 for pid in self.serving_pids()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(label: str, factory: str, *, workers: int, env: dict[str, str]) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}
    )
    server = Server(label=label, port=port, workers=workers, process=process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{label} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            # Every worker must be up, not only the socket: give the others a moment.
            time.sleep(1.0 if workers > 1 else 0.2)
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{label} did not listen within 60 s")


@contextlib.contextmanager
def serving(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            # multiprocessing's resource tracker is a child too, and serves nothing.
            if (
                int(fields[1]) == pid
                and b"resource_tracker" not in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
    return sorted(found)


def _cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime and stime: fields 14 and 15 of stat(5), here 11 and 12 after the name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _vm_hwm_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class Request:
    """One request of a case: what to POST where, and how to count the rows it answered."""

    path: str
    body: bytes
    headers: dict[str, str]

    def send(self, conn: HTTPConnection) -> bytes:
        conn.request("POST", self.path, body=self.body, headers=self.headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {payload[:300]!r}")
        return payload


def rows_of(payload: bytes) -> int:
    """The length of the first list in the answer (the calendar), or 1 for an object."""
    body = json.loads(payload)
    if body.get("errors"):
        raise RuntimeError(f"errors in the answer: {body['errors']}")
    data = body["data"]
    if isinstance(data, list):
        return len(data)
    value = next(iter(data.values()))
    return len(value) if isinstance(value, list) else 1


def unloaded(port: int, request: Request, *, n: int) -> list[float]:
    """Milliseconds of `n` sequential requests on one keep-alive connection (after warm-up)."""
    conn = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for _ in range(5):
            request.send(conn)
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            request.send(conn)
            samples.append((time.perf_counter() - start) * 1000)
        return samples
    finally:
        conn.close()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # The benchmark installs its load generator itself, as the tests do their servers.
        for command in (["update", "-qq"], ["install", "-y", "-qq", "wrk"]):
            subprocess.run(["apt-get", *command], check=False, capture_output=True)  # noqa: S603,S607
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("the HTTP mode needs `wrk` (apt-get install wrk)")


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    errors: int


def loaded(
    port: int, request: Request, *, concurrency: int, seconds: int, pin: str | None = None
) -> Load:
    """Throughput and median latency at `concurrency` open connections, measured by wrk
    (pinned to the CPUs `pin` names, `taskset -c` syntax, when given)."""
    wrk = ensure_wrk()
    pinned = ["taskset", "-c", pin] if pin else []
    headers = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in request.headers.items()
    )
    script = f'wrk.method = "POST"\nwrk.body = {json.dumps(request.body.decode())}\n{headers}'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        threads = min(2, concurrency)
        out = subprocess.run(  # noqa: S603 - wrk with our own arguments
            [
                *pinned,
                wrk,
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                handle.name,
                f"http://127.0.0.1:{port}{request.path}",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        Path(handle.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _wrk_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Load(requests_per_second=rps, p50_ms=p50, errors=int(bad.group(1)) if bad else 0)


def _wrk_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]
