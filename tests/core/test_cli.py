"""The `medspa-api` command: one-line errors, help texts, scopes, tokens the API would accept.

Commands run in process (`main(argv)` in a worker thread, as they start their own event loop)
against the test database; one runs as a real process to see exactly what a terminal shows.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api import cli
from api.authz.actions import ApiScope
from api.authz.enforcer import PolicyEngine
from api.ide.facts import DESCRIPTIONS
from api.ids import decode_global_id
from api.settings import get_settings
from db.seed.demo import DemoIds, demo_people
from tests.conftest import ALL_TABLES, Gql, StatementLog
from tests.core.served import CLI, cli_env


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def database_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def run(
    database_env: None,
    demo: DemoIds,
    statement_log: StatementLog,
    capfd: pytest.CaptureFixture[str],
) -> AsyncIterator[Any]:
    async def run(*argv: str) -> Ran:
        capfd.readouterr()
        code = await asyncio.to_thread(cli.main, list(argv))
        out, err = capfd.readouterr()
        return Ran(code, out, err)

    try:
        yield run
    finally:
        statement_log.written.add(ALL_TABLES)  # the CLI writes through its own engine


def _refused(ran: Ran, *expected: str) -> None:
    assert ran.code == 1
    lines = [line for line in ran.err.splitlines() if line.startswith("medspa-api: ")]
    assert len(lines) == 1, ran.err
    for text_ in expected:
        assert text_ in lines[0], lines[0]
    assert "Traceback" not in ran.err
    assert ran.out == ""


async def test_token_refuses_what_the_api_would_refuse(run: Any) -> None:
    _refused(await run("token", "nobody@glow.example"), "no user with email nobody@glow.example")
    _refused(await run("token", "nina@glow.example", "--medspa", "nowhere"), "no medspa")
    _refused(
        await run("token", "nina@glow.example", "--medspa", "radiance"),
        "would refuse",
        "do not belong",
    )
    _refused(
        await run("token", "nina@glow.example", "--dashboard", "ADMIN"),
        "would refuse",
        "dashboard",
    )
    _refused(await run("token", "ops@portrait.example", "--medspa", "glow"), "staff")
    for ttl in ("0", "-5", str(cli.MAX_TTL + 1)):
        _refused(await run("token", "nina@glow.example", "--ttl", ttl), "--ttl")


async def test_a_token_the_api_accepts(run: Any, gql: Gql) -> None:
    ran = await run("token", "dana@glow.example", "--dashboard", "PROVIDER", "--medspa", "glow")
    assert ran.code == 0
    token = ran.out.strip()
    answer = await gql("{ viewer { dashboard activeMedspa { name } } }", bearer=token)
    assert answer.data == {
        "viewer": {"dashboard": "PROVIDER", "activeMedspa": {"name": "Glow Aesthetics"}}
    }
    longest = await run("token", "nina@glow.example", "--ttl", str(cli.MAX_TTL))
    assert longest.code == 0


async def test_api_client_duplicates_and_bad_scopes_are_one_line(
    run: Any, owner_engine: AsyncEngine, demo: DemoIds
) -> None:
    first = await run(
        "api-client",
        "create",
        "--medspa",
        "glow",
        "--name",
        "site",
        "--scopes",
        "CATALOG_READ, appointments:read",
    )
    assert first.code == 0 and first.out.startswith("msk_")
    _refused(
        await run(
            "api-client",
            "create",
            "--medspa",
            "glow",
            "--name",
            " site ",
            "--scopes",
            "catalog:read",
        ),
        "already has an API client named 'site'",
    )
    _refused(
        await run("api-client", "create", "--medspa", "glow", "--name", "x", "--scopes", "bogus"),
        "unknown scope 'bogus'",
        "catalog:read",
    )
    _refused(
        await run("api-client", "create", "--medspa", "glow", "--name", "x", "--scopes", ","),
        "at least one scope",
    )
    _refused(
        await run(
            "api-client",
            "create",
            "--medspa",
            "glow",
            "--name",
            "n" * 121,
            "--scopes",
            "catalog:read",
        ),
        "1 to 120",
    )
    _refused(
        await run(
            "api-client", "create", "--medspa", "nowhere", "--name", "x", "--scopes", "catalog:read"
        ),
        "no medspa",
    )
    async with owner_engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT name, scopes FROM api_client WHERE medspa_id = :m"),
                {"m": demo.medspas["glow"]},
            )
        ).all()
    assert [(r.name, sorted(r.scopes)) for r in rows] == [
        ("site", ["appointments:read", "catalog:read"])
    ]


def test_every_scope_is_explained_by_what_the_policy_grants_it() -> None:
    assert set(cli.SCOPE_MEANINGS) == set(ApiScope)
    policy = PolicyEngine()
    domain = "00000000-0000-0000-0000-000000000001"
    baseline = set.intersection(
        *(set(policy.permissions_for((s.subject,), domain).grants) for s in ApiScope)
    )
    for scope, meaning in cli.SCOPE_MEANINGS.items():
        own = set(policy.permissions_for((scope.subject,), domain).grants) - baseline
        assert own, scope
        for action in own:
            resource, verb = action.value.split(".")
            assert resource.replace("_", " ") in meaning, (scope, action)
            assert verb in meaning, (scope, action)
        assert scope.value in cli.SCOPES_HELP and scope.name in cli.SCOPES_HELP


def test_every_argument_has_help() -> None:
    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for name, sub in commands.choices.items():
        assert sub.description or name == "schema", name
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        parsers = [sub, *(p for a in nested for p in a.choices.values())]
        for each in parsers:
            for action in each._actions:
                if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                    continue
                assert action.help, (name, action.dest)
                checked += 1
    assert checked >= 10


async def test_demo_prints_tokens_ids_and_a_slot(run: Any, demo: DemoIds) -> None:
    ran = await run("demo")
    assert ran.code == 0
    for email, _who in demo_people():
        assert f".venv/bin/medspa-api token {email}" in ran.out
    env = await run("demo", "--env")
    values = dict(
        line.removeprefix("export ").split("=", 1) for line in env.out.strip().splitlines()
    )
    assert set(values) == set(DESCRIPTIONS)
    assert decode_global_id(values["NINA_PROVIDER_ID"]) == (
        "Provider",
        demo.providers["nina@glow.example"],
    )
    assert decode_global_id(values["LEGACY_ID"]) == ("Medspa", demo.medspas["legacy"])
    assert values["SLOT_STARTS_AT"] > values["WEEK_FROM"]


def test_an_unreachable_database_is_one_line_without_warnings() -> None:
    env = cli_env("postgresql://postgres@127.0.0.1:1/nowhere")
    env.pop("XDG_RUNTIME_DIR", None)
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "token", "nina@glow.example"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("medspa-api: database unavailable: ")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
