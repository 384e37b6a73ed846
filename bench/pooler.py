"""Benchmark: how a transaction's role, timeout and RLS settings reach the server. Prints
figures; never passes or fails on time.

Each variant runs the same transaction many times on one connection: role, statement timeout,
time zone and two tenant settings, then one small SELECT, then COMMIT.

- `connect-time + set_config` (before issue 14): settings per connection, psycopg's own
  BEGIN round trip, a `SELECT set_config(...)` round trip, the statement, COMMIT: 4 round trips
  (and not pooler-safe);
- `SET LOCAL, one statement each`: pooler-safe but naive: BEGIN, 5 SET LOCAL, statement, COMMIT;
- `pipeline mode`: the same statements queued in psycopg's pipeline, extended protocol, one
  sync: 2 round trips (statements + COMMIT), server-side binding kept;
- `prefixed simple query` (chosen, db.session): `BEGIN; SET LOCAL ...; <statement>` as one
  client-bound simple query, then COMMIT: 2 round trips, no prepared statements.

Database: BENCH_DATABASE_URL, else TEST_DATABASE_URL (direct); BENCH_PGBOUNCER_URL adds the same
runs through a PgBouncer in transaction mode. Usage: .venv/bin/python bench/pooler.py [-n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.session import APP_ROLE, PreludeConnection, PreludeCursor, libpq_url

SETTINGS = (
    f"SET LOCAL ROLE {APP_ROLE}",
    "SET LOCAL statement_timeout = 5000",
    "SET LOCAL TIME ZONE 'UTC'",
    "SET LOCAL app.medspa_ids = '{00000000-0000-0000-0000-000000000001}'",
    "SET LOCAL app.platform = 'off'",
)
STATEMENT = "SELECT count(*) FROM medspa WHERE slug <> %(slug)s"


async def connect_time_set_config(url: str, n: int) -> list[float]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute(f"SET ROLE {APP_ROLE}")
        await conn.execute("SET statement_timeout = 5000")
        await conn.commit()
        times = []
        for _ in range(n):
            started = time.perf_counter()
            await conn.execute(
                "SELECT set_config('app.medspa_ids', %(ids)s, true),"
                " set_config('app.platform', 'off', true)",
                {"ids": "{00000000-0000-0000-0000-000000000001}"},
            )
            await (await conn.execute(STATEMENT, {"slug": "x"})).fetchall()
            await conn.commit()
            times.append(time.perf_counter() - started)
        return times


async def set_local_each(url: str, n: int) -> list[float]:
    async with await psycopg.AsyncConnection.connect(url, prepare_threshold=None) as conn:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            for line in SETTINGS:
                await conn.execute(line)
            await (await conn.execute(STATEMENT, {"slug": "x"})).fetchall()
            await conn.commit()
            times.append(time.perf_counter() - started)
        return times


async def pipeline(url: str, n: int) -> list[float]:
    async with await psycopg.AsyncConnection.connect(url, prepare_threshold=None) as conn:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            async with conn.pipeline():
                for line in SETTINGS:
                    await conn.execute(line)
                cursor = await conn.execute(STATEMENT, {"slug": "x"})
            await cursor.fetchall()
            await conn.commit()
            times.append(time.perf_counter() - started)
        return times


async def prefixed(url: str, n: int) -> list[float]:
    conn = await PreludeConnection.connect(
        url, autocommit=True, prepare_threshold=None, cursor_factory=PreludeCursor
    )
    conn.prelude = SETTINGS[:3]
    async with conn:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            conn.start_transaction()
            conn.queued.extend(SETTINGS[3:])
            cursor = conn.cursor()
            await cursor.execute(STATEMENT, {"slug": "x"})
            await cursor.fetchall()
            await conn.commit()
            times.append(time.perf_counter() - started)
        return times


VARIANTS = {
    "connect-time + set_config": connect_time_set_config,
    "SET LOCAL, one statement each": set_local_each,
    "pipeline mode": pipeline,
    "prefixed simple query (chosen)": prefixed,
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="transactions per variant")
    args = parser.parse_args()
    targets = {"direct": os.environ.get("BENCH_DATABASE_URL") or os.environ["TEST_DATABASE_URL"]}
    if os.environ.get("BENCH_PGBOUNCER_URL"):
        targets["pgbouncer"] = os.environ["BENCH_PGBOUNCER_URL"]
    print(f"{args.n} transactions per variant; median and p95 per transaction")
    for target, url in targets.items():
        for name, variant in VARIANTS.items():
            await variant(libpq_url(url), 50)  # warm up
            times = sorted(await variant(libpq_url(url), args.n))
            p95 = times[int(len(times) * 0.95)]
            print(
                f"{target:10} {name:32} median {statistics.median(times) * 1e6:7.0f} us"
                f"   p95 {p95 * 1e6:7.0f} us"
            )


if __name__ == "__main__":
    asyncio.run(main())
