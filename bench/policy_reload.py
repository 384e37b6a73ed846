"""Benchmark: rebuilding a tailored medspa's policy, and what the event loop sees meanwhile.
Prints figures; never passes or fails on time.

- building one medspa's policy (`build_domain_policy`) with N rows of its own (2,500 by
  default: the case issue 14 measured at ~0.5 s per role, blocking the process);
- the event loop's worst delay while that build runs inline (as before) versus in a worker
  thread (as `PolicyWatcher` does): a ticker sleeps 1 ms in a loop and records its lateness.

No database needed. Usage: .venv/bin/python bench/policy_reload.py [--rows 2500]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.authz.actions import Action
from api.authz.enforcer import PolicyRow, build_domain_policy

MEDSPA = "6f0c7e0e-0000-4000-8000-0000000000aa"
SUBJECTS = ("provider", "medspa_admin", "pcc_virtual")


def rows(count: int) -> list[PolicyRow]:
    actions = list(Action)
    return [
        PolicyRow(
            "p",
            (
                SUBJECTS[i % len(SUBJECTS)],
                MEDSPA,
                actions[i % len(actions)].resource,
                actions[i % len(actions)].verb,
                "TENANT",
                "deny" if i % 7 == 0 else "allow",
            ),
        )
        for i in range(count)
    ]


async def worst_lateness(work: asyncio.Future[object]) -> float:
    worst = 0.0
    while not work.done():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - started - 0.001)
    return worst


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2500)
    args = parser.parse_args()
    policy_rows = rows(args.rows)

    started = time.perf_counter()
    policy = build_domain_policy(MEDSPA, policy_rows)
    built = time.perf_counter() - started
    print(
        f"build one medspa with {args.rows} rows: {built * 1000:.0f} ms"
        f" ({len(policy.sets)} subjects' permission sets)"
    )

    loop = asyncio.get_running_loop()

    async def inline() -> object:
        await asyncio.sleep(0.01)  # let the ticker start
        return build_domain_policy(MEDSPA, policy_rows)

    inline_delay = await worst_lateness(asyncio.ensure_future(inline()))
    print(f"event loop worst delay, build inline:      {inline_delay * 1000:7.1f} ms")
    threaded = loop.run_in_executor(None, build_domain_policy, MEDSPA, policy_rows)
    thread_delay = await worst_lateness(threaded)
    print(f"event loop worst delay, build in a thread: {thread_delay * 1000:7.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
