"""`make fuzz`: schemathesis over every operation of the committed schema.graphql, against a
prod-mode server, as an admin, a provider and a partner key. Fails on any 5xx or
INTERNAL_SERVER_ERROR (tests/fuzz/checks.py). schemathesis's own `not_a_server_error` is not
used: it counts every GraphQL error as a failure, and FORBIDDEN or NOT_FOUND for a random id
is the policy's right answer (DESIGN §6.4, §6.5).

The database is `FUZZ_DATABASE_URL`, else TEST_DATABASE_URL's server with a `_fuzz` database
(fuzzing writes: it never uses the test database itself); it is migrated and seeded first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from api.settings import PROJECT_ROOT
from tests.edge.servers import PROD_SECRET, start_api

BIN = Path(sys.executable).parent


def fuzz_database_url() -> str:
    explicit = os.environ.get("FUZZ_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        sys.exit("set FUZZ_DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL server to fuzz on)")
    url = make_url(base)
    return url.set(database=f"{url.database}_fuzz").render_as_string(hide_password=False)


def main() -> int:
    database = fuzz_database_url()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "MEDSPA_ENV": "prod",
        "MEDSPA_JWT_SECRET": PROD_SECRET,
    }

    def cli(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own console script
            [str(BIN / "medspa-api"), *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            sys.exit(f"medspa-api {args[0]} failed: {done.stderr[-1000:]}")
        return done.stdout.strip()

    cli("seed", "demo")  # migrates first; idempotent
    callers = {
        "admin": cli("token", "dana@glow.example"),
        "provider": cli("token", "nina@glow.example", "--dashboard", "PROVIDER"),
        "partner": cli(
            "api-client", "create", "--medspa", "glow", "--name", f"fuzz {time.time():.0f}",
            "--scopes", "appointments:read,appointments:write,patients:read,catalog:read",
        ).split()[-1],
    }  # fmt: skip
    examples = os.environ.get("FUZZ_EXAMPLES", "10")
    log = Path(tempfile.mkdtemp(prefix="fuzz-")) / "api.log"
    server = start_api(
        database,
        log,
        MEDSPA_BUDGET_PER_MINUTE="100000000",
        MEDSPA_ANONYMOUS_BUDGET_PER_MINUTE="100000000",
    )
    failed = False
    try:
        for who, bearer in callers.items():
            print(f"== fuzzing as the {who}", flush=True)
            run = subprocess.run(  # noqa: S603
                [
                    str(BIN / "schemathesis"), "run", str(PROJECT_ROOT / "schema.graphql"),
                    "--url", server.url + "/graphql",
                    "-H", f"Authorization: Bearer {bearer}",
                    "--checks", "no_internal_server_error",
                    "--max-examples", examples, "--workers", "1",
                ],
                env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.checks",
                     "PYTHONPATH": str(PROJECT_ROOT)},
                cwd=PROJECT_ROOT, check=False,
            )  # fmt: skip
            failed = failed or run.returncode != 0
    finally:
        server.stop()
    print(f"server log: {log}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
