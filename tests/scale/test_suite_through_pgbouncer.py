"""The isolation and row-level security tests of the whole suite, run again with the
application's connections going through PgBouncer in transaction mode.

They run in a child pytest on a database of their own (the child rebuilds its schema), with
`TEST_APP_DATABASE_URL` pointing the application engine at PgBouncer; the owner's connections
(arranging and resetting data) stay direct.
"""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy.engine import make_url

from api.settings import PROJECT_ROOT
from db.session import ensure_database
from tests.scale.conftest import Bouncer

ISOLATION_TESTS = (
    "tests/core/test_rls.py",
    "tests/core/test_tenancy.py",
    "tests/core/test_transaction.py",
    "tests/authz/test_matrix.py",
    "tests/authz/test_masquerade.py",
    "tests/authz/test_api_client.py",
    "tests/patients/test_matrix.py",
    "tests/pcc/test_matrix.py",
    "tests/scheduling/test_public_booking_matrix.py",
)


def test_isolation_and_rls_tests_pass_through_pgbouncer(
    pgbouncer: Bouncer, database_url: str
) -> None:
    child_db = f"{make_url(database_url).database}_pgbouncer"
    direct = make_url(database_url).set(database=child_db).render_as_string(hide_password=False)
    ensure_database(direct)
    env = {
        # Not an xdist worker itself, whatever this process is: a worker's variables would
        # send the child's owner connections to a per-worker database beside the pooled one.
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
        "TEST_DATABASE_URL": direct,
        "TEST_APP_DATABASE_URL": pgbouncer.url(child_db),
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and test paths
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *ISOLATION_TESTS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary, summary
