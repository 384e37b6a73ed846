"""Benchmark: what authorization costs. Prints figures; never passes or fails on time.

- building a permission set (Casbin consulted for every action, cache cold),
- one check (a set look-up in a built permission set),
- end-to-end latency of a representative query (`viewer` + `medspas { locations providers }`
  as a medspa admin) with authorization on, versus a build with the checks bypassed
  (no Casbin look-ups, no audit of denials, scope reduced to the bare tenant filter, RLS off
  because it runs as the table owner), as a ratio. Target: authorization adds under 10 %.

Database: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the embedded server in .data/bench.
Usage: .venv/bin/python bench/authz.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import true

from api.app import build_services, create_app
from api.authz.actions import Action
from api.authz.enforcer import PolicyEngine
from api.context import Context
from api.settings import PROJECT_ROOT, Settings
from api.tokens import mint_user_token
from db.embedded import embedded_server_url, to_sqlalchemy_url
from db.migrate import upgrade
from db.seed.demo import seed_demo
from db.session import (
    create_app_engine,
    create_owner_engine,
    ensure_database,
    session_factory,
)

QUERY = """{ viewer { roles activeMedspa { slug } }
  medspas { edges { node { name slug
    locations { edges { node { name city timeZone bookingSlug } } }
    providers { edges { node { displayName credentials active } } } } } } }"""


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        return ensure_database(to_sqlalchemy_url(url))
    return ensure_database(embedded_server_url(PROJECT_ROOT / ".data" / "bench", database="bench"))


def micro(label: str, fn: Callable[[], Any], repeat: int) -> None:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    per_call = (time.perf_counter() - start) / repeat
    print(f"{label:<48} {per_call * 1e6:10.2f} us")


async def timed(call: Callable[[], Awaitable[None]], n: int) -> list[float]:
    for _ in range(20):  # warm-up: pools, caches, JIT-free but import-heavy paths
        await call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


async def main(requests: int) -> None:
    url = database_url()
    upgrade(url)
    owner = create_owner_engine(url)
    async with session_factory(owner)() as session, session.begin():
        ids = await seed_demo(session)

    settings = Settings(MEDSPA_ENV="test")  # type: ignore[call-arg]

    # --- micro: permission sets and checks ------------------------------------------------
    engine = PolicyEngine()
    domain = str(ids.medspas["glow"])

    def casbin_build() -> None:
        engine._cache.clear()  # cold cache: Casbin is asked about every action
        engine.permissions("medspa_admin", "*")

    def new_tenant() -> None:
        # A medspa without rows of its own reuses the baseline set (no Casbin call).
        engine.permissions("medspa_admin", str(uuid.uuid4()))

    micro(f"permission set build via Casbin ({len(Action)} actions)", casbin_build, 50)
    micro("permission set for a new untailored medspa", new_tenant, 1000)
    micro("policy reload (file + rows, new enforcer)", lambda: engine.reload([]), 10)
    micro("permission set (cached)", lambda: engine.permissions("medspa_admin", domain), 10_000)
    permissions = engine.permissions("medspa_admin", domain)
    micro("one check (set look-up)", lambda: permissions.grant(Action.LOCATION_READ), 100_000)

    # --- end to end -----------------------------------------------------------------------
    token = mint_user_token(
        settings, user_id=ids.users["dana@glow.example"], ttl=timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {token}"}

    async def run(app_engine: Any, n: int) -> list[float]:
        services = build_services(settings, engine=app_engine)
        app = create_app(settings, services=services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def call() -> None:
                response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
                body = response.json()
                assert not body.get("errors"), body

            return await timed(call, n)

    authorized_engine = create_app_engine(url, statement_timeout_ms=10_000)

    # Bypassed build: the owner connection (RLS does not apply to a superuser/owner), no
    # Casbin grant look-ups or denial audits, and every scope reduced to the tenant column.
    bypass_engine = create_app_engine(url, app_url=url, statement_timeout_ms=10_000)
    original_authorize, original_scope = Context.authorize, Context.scope
    allow_all = PolicyEngine().permissions("platform_admin", "*").grant(Action.MEDSPA_READ)

    def no_authorize(self: Context, action: Action, **_: Any) -> Any:
        return allow_all

    def tenant_only(principal: Any, action: Action, anchor: Any) -> Any:
        return anchor.medspa == principal.medspa_id if principal.medspa_id else true()

    def bypass(on: bool) -> None:
        if on:
            Context.authorize = no_authorize  # type: ignore[method-assign,assignment]
            Context.scope = lambda self, action, anchor: tenant_only(self.principal, action, anchor)  # type: ignore[method-assign,assignment,misc]
        else:
            Context.authorize = original_authorize  # type: ignore[method-assign]
            Context.scope = original_scope  # type: ignore[method-assign]

    # Interleave the two builds in rounds so drift on a shared machine hits both alike.
    with_authz: list[float] = []
    bypassed: list[float] = []
    rounds = 5
    for _ in range(rounds):
        with_authz += await run(authorized_engine, requests // rounds)
        bypass(True)
        try:
            bypassed += await run(bypass_engine, requests // rounds)
        finally:
            bypass(False)

    on50, on95 = summary(with_authz)
    off50, off95 = summary(bypassed)
    print(f"{'end to end, authorization on':<48} p50 {on50:7.2f} ms  p95 {on95:7.2f} ms")
    print(f"{'end to end, checks bypassed':<48} p50 {off50:7.2f} ms  p95 {off95:7.2f} ms")
    ratio = on50 / off50
    label = "authorization overhead (p50 ratio)"
    print(f"{label:<48} {ratio:10.3f}x  ({(ratio - 1) * 100:+.1f} %)")
    print(f"requests per build: {requests}")

    await authorized_engine.dispose()
    await bypass_engine.dispose()
    await owner.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args().requests))
