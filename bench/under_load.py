"""Benchmark: cheap requests while heavy ones run, and how fast readiness sees a frozen
database. Prints figures; never fails on time.

Starts what tests/faults starts (a PostgreSQL of its own from Debian's binaries, the demo
data plus 1,860 appointments in a 62-day window, `medspa-api serve`), then:
- 20 concurrent 62-day calendars as one admin (static cost about 20,000: the heavy lane)
  while `{ viewer { kind } }` goes out every 100 ms as another user and anonymously:
  p50 / p95 / max of the cheap latency, and how the heavy ones were answered;
- SIGSTOP on every server process: the time until `/readyz` answers 503.

Usage: .venv/bin/python bench/under_load.py [--heavy 20]
"""

# ruff: noqa: E402 - the path fix below must run before the project's imports

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

# bench/calendar.py would shadow the standard library's `calendar`: drop this folder first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx

from tests.faults.processes import Cluster, Server, postgres_bin
from tests.faults.test_outages import (
    CHEAP,
    HEAVY,
    HEAVY_FROM,
    HEAVY_TO,
    Answer,
    post,
    prepare,
)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _load(server: Server, tokens: dict[str, str], heavy_count: int) -> None:
    variables = {"f": HEAVY_FROM.isoformat(), "t": HEAVY_TO.isoformat()}
    cheap: list[Answer] = []

    async def heavy() -> Answer:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
            return await post(http, HEAVY, variables, tokens["dana"])

    heavies = [asyncio.create_task(heavy()) for _ in range(heavy_count)]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
        await asyncio.sleep(0.3)
        while not all(h.done() for h in heavies):
            cheap.append(await post(http, CHEAP, {}, tokens["nina"]))
            cheap.append(await post(http, CHEAP, {}, None))
            await asyncio.sleep(0.1)
    outcomes = Counter(",".join(a.codes) or "ok" for a in (h.result() for h in heavies))
    seconds = [a.seconds for a in cheap]
    heavy_seconds = [h.result().seconds for h in heavies]
    print(
        f"{heavy_count} heavy calendars (1,860 rows each): {dict(outcomes)},"
        f" slowest {max(heavy_seconds):.2f} s"
    )
    print(
        f"cheap requests during them: n={len(seconds)}"
        f" p50={statistics.median(seconds) * 1000:.0f} ms"
        f" p95={_percentile(seconds, 0.95) * 1000:.0f} ms"
        f" max={max(seconds) * 1000:.0f} ms"
    )


async def _readiness_after_freeze(server: Server, cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        assert (await http.get("/readyz")).status_code == 200
        cluster.freeze()
        frozen = time.monotonic()
        try:
            for _ in range(200):  # 10 s at most
                if (await http.get("/readyz")).status_code == 503:
                    print(f"/readyz answered 503 {time.monotonic() - frozen:.2f} s after SIGSTOP")
                    break
                await asyncio.sleep(0.05)
        finally:
            cluster.thaw()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--heavy", type=int, default=20)
    args = parser.parse_args()
    binaries = postgres_bin()
    if binaries is None:
        print("no PostgreSQL server binaries under /usr/lib/postgresql")
        return
    cluster = Cluster(binaries)
    cluster.init()
    env = {"DATABASE_URL": cluster.url(), "MEDSPA_ENV": "test"}
    server = Server(env, cluster.root / "serve.log")
    try:
        demo = prepare(cluster, env)
        server.start()
        server.wait_healthy()
        tokens = {
            "dana": demo.token("dana@glow.example"),
            "nina": demo.token("nina@glow.example"),
        }
        asyncio.run(_load(server, tokens, args.heavy))
        asyncio.run(_readiness_after_freeze(server, cluster))
    finally:
        server.stop()
        cluster.destroy()


if __name__ == "__main__":
    main()
