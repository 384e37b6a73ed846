"""Every example of the README runs as written against a served demo, on any day.

The README's `graphql` blocks run as the caller their first line names, with the `<NAME>`
placeholders filled from the seeded demo (the values `medspa-api demo` prints); its `sh`
blocks run in bash from the repository's root (all but the `make` ones, which start the
service or the suite), with the served address in place of :8000. An example passes when the
answer has no error, every payload's `errors` is empty, and every root field has data (a
calendar example that found no appointment fails: the demo weeks must include today's).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.ide.examples import README, Example, code_blocks, parse_examples
from api.ide.facts import DemoFacts, demo_facts
from api.settings import PROJECT_ROOT, Settings
from api.tokens import mint_user_token
from db.seed.demo import DemoIds
from tests.conftest import ALL_TABLES, StatementLog
from tests.core.served import Served, serve

DEV = Settings(MEDSPA_ENV="dev")  # type: ignore[call-arg]
README_TEXT = README.read_text(encoding="utf-8")
EXAMPLES = parse_examples(README_TEXT)
SHELL = [b for b in code_blocks(README_TEXT, "sh") if not b.lstrip().startswith("make ")]
README_PORT = "http://127.0.0.1:8000"
PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]+>")


@pytest.fixture
async def served(
    database_url: str, demo: DemoIds, statement_log: StatementLog
) -> AsyncIterator[Served]:
    try:
        with serve(database_url) as running:
            yield running
    finally:
        statement_log.written.add(ALL_TABLES)  # the server wrote through its own connections


@pytest.fixture
async def facts(services: Any, demo: DemoIds) -> DemoFacts:
    found = await demo_facts(services.sessions, DEV)
    assert found is not None
    return found


def test_the_readme_has_the_examples_the_issue_asked_for() -> None:
    documents = "\n".join(e.document for e in EXAMPLES)
    for needed in (
        'startMasquerade(providerId: "<NINA_PROVIDER_ID>"',
        'transitionBusinessModel(medspaId: "<LEGACY_ID>"',
        'startsAt: "<SLOT_STARTS_AT>"',
        "setAppointmentStatus(",
        "outOfOffice(currentOrUpcoming: false)",
    ):
        assert needed in documents
    # Every mutation asks for its payload's errors, where the reason of a refusal is.
    for example in EXAMPLES:
        if "mutation {" in example.document:
            assert "errors {" in example.document, example.title
    # No dead references, and the CLI as it is installed.
    assert "../shared/" not in README_TEXT
    assert not re.search(r"(?<![/\w])medspa-api (token|demo|seed|api-client|db|serve)", README_TEXT)


def _check_answer(title: str, body: dict[str, Any]) -> None:
    assert "errors" not in body, (title, body)
    data = body["data"]
    assert data, (title, body)
    for field, value in data.items():
        assert value not in (None, [], {}), (title, field, body)
        if isinstance(value, dict) and "edges" in value:
            assert value["edges"], (title, field, body)

    def payload_errors(node: Any) -> None:
        if isinstance(node, dict):
            if "errors" in node:
                assert node["errors"] == [], (title, node["errors"])
            for child in node.values():
                payload_errors(child)
        elif isinstance(node, list):
            for child in node:
                payload_errors(child)

    payload_errors(data)
    for field, value in data.items():
        # A calendar over the current week must show the demo's appointments.
        if field == "calendar":
            assert len(value) > 0, title


async def test_every_graphql_example_answers_with_data(
    served: Served, facts: DemoFacts, demo: DemoIds
) -> None:
    assert len(EXAMPLES) >= 10
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        for example in EXAMPLES:
            body = await _run(http, example, facts=facts, demo=demo)
            _check_answer(example.title, body)


async def test_the_calendar_examples_show_each_callers_week(
    served: Served, facts: DemoFacts, demo: DemoIds
) -> None:
    """Dana sees every Glow provider, Nina herself, Vera Glow's providers (README's claims)."""
    calendars = {(e.caller, e.title): e for e in EXAMPLES if "calendar(" in e.document and e.caller}
    seen = {}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        for (caller, _title), example in calendars.items():
            body = await _run(http, example, facts=facts, demo=demo)
            seen[caller] = {a["provider"]["displayName"] for a in body["data"]["calendar"]}
    glow = {"Dana Whitfield", "Nina Patel", "Omar Haddad"}
    assert seen["dana@glow.example"] == glow
    assert seen["nina@glow.example"] == {"Nina Patel"}
    assert seen["vera@portrait.example"] == glow


async def _run(
    http: httpx.AsyncClient, example: Example, *, facts: DemoFacts, demo: DemoIds
) -> dict[str, Any]:
    document = facts.fill(example.document)
    assert not PLACEHOLDER.search(document), f"{example.title}: unknown placeholder"
    headers = dict(example.headers)
    if example.caller is not None:
        token = mint_user_token(
            DEV,
            user_id=demo.users[example.caller],
            ttl=timedelta(minutes=10),
        )
        headers["Authorization"] = f"Bearer {token}"
    response = await http.post("/graphql", json={"query": document}, headers=headers)
    assert response.status_code == 200, (example.title, response.text)
    body: dict[str, Any] = response.json()
    return body


async def test_every_shell_example_runs(served: Served) -> None:
    assert len(SHELL) >= 3
    for block in SHELL:
        script = block.replace(README_PORT, served.url)
        done = await asyncio.to_thread(
            subprocess.run,
            ["/bin/bash", "-euo", "pipefail", "-c", script],
            cwd=PROJECT_ROOT,
            env=served.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (block, done.stderr[-2000:])
        answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        assert answers or "curl" not in block, (block, done.stdout)
        for answer in answers:
            _check_answer(block.splitlines()[0], answer)
        assert "Traceback" not in done.stderr
