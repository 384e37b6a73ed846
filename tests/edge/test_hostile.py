# ruff: noqa: E501  (the table of hostile inputs reads best one input to a line)
"""Hostile inputs against a prod-mode server (issue 11): each is refused with a 4xx JSON error
carrying `extensions.code` and the request id, within a fixed time, while `/healthz` keeps
answering another client, and nothing is written to the database.

The requests accept `application/graphql-response+json`, under which the GraphQL-over-HTTP
spec answers parse and validation failures with 4xx as well.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.edge.conftest import log_lines, prod_token, table_counts
from tests.edge.servers import Process

# A hostile request must be answered within this (seconds); the 31-fragment document used to
# take longer than 8 minutes. A correctness bound (no stall), not a speed measurement.
ANSWER_WITHIN = 10.0
HEALTHZ_WITHIN = 5.0
GRAPHQL_RESPONSE = "application/graphql-response+json"


def fan_out(fragments: int) -> str:
    """Each fragment spreads the next twice: 2^fragments selections once expanded."""
    parts = ["query { ...F0 }"]
    for i in range(fragments):
        nxt = f"...F{i + 1} ...F{i + 1}" if i + 1 < fragments else "__typename"
        parts.append(f"fragment F{i} on Query {{ {nxt} }}")
    return "\n".join(parts)


CALENDAR_BOMB = (
    "{ "
    + " ".join(
        f"""c{i}: calendar(from: "2026-01-01T00:00:00Z", to: "2026-03-04T00:00:00Z") {{
            id startsAt patient {{ firstName appointments {{ edges {{ node {{ id startsAt }} }} }} }} }}"""
        for i in range(30)
    )
    + " }"
)


@dataclass
class Hostile:
    name: str
    status: int
    code: str
    body: bytes | None = None
    json_body: Any = None
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    caller: str | None = None  # a demo email whose prod token is sent
    params: dict[str, str] | None = None


def _q(query: str, **variables: Any) -> dict[str, Any]:
    return {"query": query, "variables": variables}


HOSTILE = [
    Hostile("31 fragments each spreading the next twice", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": fan_out(31)}),
    Hostile("19 fragments each spreading the next twice", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": fan_out(19)}),
    Hostile("a JSON string body", 400, "BAD_REQUEST", body=b'"{ viewer { kind } }"'),
    Hostile("a JSON number body", 400, "BAD_REQUEST", body=b"42"),
    Hostile("a JSON null body", 400, "BAD_REQUEST", body=b"null"),
    Hostile("a batch", 400, "BAD_REQUEST",
            json_body=[{"query": "{ viewer { kind } }"}, {"query": "{ viewer { kind } }"}]),
    Hostile("malformed JSON", 400, "BAD_REQUEST", body=b'{"query": "{ viewer { kind } }"'),
    Hostile("invalid UTF-8", 400, "BAD_REQUEST", body=b'{"query": "{ viewer { kind \xff\xfe } }"}'),
    Hostile("variables nested 5000 deep", 400, "BAD_REQUEST",
            body=b'{"query": "{ viewer { kind } }", "variables": {"v": '
            + b"[" * 5000 + b"]" * 5000 + b"}}"),
    Hostile("variables nested 40 deep", 400, "BAD_REQUEST",
            body=b'{"query": "{ viewer { kind } }", "variables": {"v": '
            + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}}"),
    Hostile("variables not an object", 400, "BAD_REQUEST",
            json_body={"query": "{ viewer { kind } }", "variables": [1]}),
    Hostile("operationName not a name", 400, "BAD_REQUEST",
            json_body={"query": "{ viewer { kind } }", "operationName": "x y"}),
    Hostile("query not a string", 400, "BAD_REQUEST", json_body={"query": {"a": 1}}),
    Hostile("no query", 400, "BAD_REQUEST", json_body={"variables": {}}),
    Hostile("a 20 MB body", 413, "PAYLOAD_TOO_LARGE",
            json_body={"query": "{ viewer { kind } }", "pad": "x" * 20_000_000}),
    Hostile("a 10 MB comment", 413, "PAYLOAD_TOO_LARGE",
            json_body={"query": "#" + "c" * 10_000_000 + "\n{ viewer { kind } }"}),
    Hostile("a 250 KB comment under the body limit", 400, "GRAPHQL_PARSE_FAILED",
            json_body={"query": "#" + "c" * 250_000 + "\n{ viewer { kind }"}),
    Hostile("a chunked 1 MB body without Content-Length", 413, "PAYLOAD_TOO_LARGE",
            body=b"chunked"),
    Hostile("250 @skip directives on one field", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ viewer { kind " + "@skip(if: false) " * 250 + "} }"}),
    Hostile("5 directives on one field", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ viewer { kind " + "@include(if: true) " * 5 + "} }"}),
    Hostile("40 fields each with 1 directive", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ viewer { "
                       + " ".join(f"k{i}: kind @skip(if: false)" for i in range(29))
                       + " roles @skip(if: false) dashboard @skip(if: false) } }"}),
    Hostile("2500 tokens", 400, "GRAPHQL_PARSE_FAILED",
            json_body={"query": "{ viewer { " + "kind " * 2500 + "} }"}),
    Hostile("one field repeated 1500 times", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ viewer { " + "kind " * 1500 + "} }"}),
    Hostile("one field repeated through 300 inline fragments", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ viewer { " + "... { kind } " * 300 + "} }"}),
    Hostile("40 aliases", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ " + " ".join(f"a{i}: viewer {{ kind }}" for i in range(40)) + " }"}),
    Hostile("a fragment cycle", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}),
    Hostile("nesting 19 levels deep", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": "{ viewer { provider { " + "medspa { locations { edges { node { " * 4
                       + "name" + " } } } }" * 4 + " } } }"}),
    Hostile("brackets nested 600 deep", 400, "GRAPHQL_PARSE_FAILED",
            json_body={"query": "{ nodes(ids: " + "[" * 600 + "]" * 600 + ") { id } }"}),
    Hostile("a 62-day calendar 30 times with nested appointments", 400, "QUERY_TOO_COMPLEX",
            json_body={"query": CALENDAR_BOMB}),
    Hostile("introspection in production", 400, "GRAPHQL_VALIDATION_FAILED",
            json_body={"query": "{ __schema { types { name } } }"}),
    Hostile("an unknown trusted document", 400, "TRUSTED_DOCUMENT_NOT_FOUND",
            json_body={"documentId": "sha256:" + "0" * 64}),
    Hostile("a malformed documentId", 400, "BAD_REQUEST", json_body={"documentId": "md5:abc"}),
    Hostile("wrong content type", 415, "UNSUPPORTED_MEDIA_TYPE",
            body=b"{ viewer { kind } }", headers={"content-type": "application/graphql"}),
    Hostile("a non-UTF-8 charset", 415, "UNSUPPORTED_MEDIA_TYPE",
            body=b'{"query": "{ viewer { kind } }"}',
            headers={"content-type": "application/json; charset=latin-1"}),
    Hostile("Accept: text/plain only", 406, "NOT_ACCEPTABLE",
            json_body={"query": "{ viewer { kind } }"}, headers={"accept": "text/plain"}),
    Hostile("PUT", 405, "METHOD_NOT_ALLOWED", method="PUT",
            json_body={"query": "{ viewer { kind } }"}),
    Hostile("a mutation over GET", 405, "METHOD_NOT_ALLOWED", method="GET",
            params={"query": 'mutation { createLibraryServiceGroup(name: "x") { errors { code } } }'}),
    Hostile("GET with variables nested 5000 deep", 400, "BAD_REQUEST", method="GET",
            params={"query": "{ viewer { kind } }", "variables": "[" * 5000 + "]" * 5000}),
    Hostile("an invalid DateTime variable", 400, "BAD_USER_INPUT", caller="dana@glow.example",
            json_body=_q("query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) { id } }",
                         f="yesterday", t="2026-01-02T00:00:00Z")),
    Hostile("an invalid Int variable", 400, "BAD_USER_INPUT", caller="dana@glow.example",
            json_body=_q("query($n: Int) { patients(first: $n) { edges { cursor } } }", n="ten")),
    Hostile("an invalid enum variable", 400, "BAD_USER_INPUT", caller="dana@glow.example",
            json_body=_q("query($a: Action!) { viewer { can(action: $a) { allowed } } }", a="NOPE")),
    Hostile("an invalid Date literal", 400, "BAD_USER_INPUT", caller="dana@glow.example",
            json_body={"query": '{ calendar(from: "not a time", to: "2026-01-02T00:00:00Z") { id } }'}),
    Hostile("NUL in patients(search:)", 400, "BAD_USER_INPUT", caller="dana@glow.example",
            json_body=_q("query($s: String) { patients(search: $s) { edges { cursor } } }", s="Av\x00a")),
    Hostile("NUL in a publicLocation(bookingSlug:) literal", 400, "BAD_USER_INPUT",
            json_body={"query": '{ publicLocation(bookingSlug: "glow\\u0000") { name } }'}),
    Hostile("a lone surrogate in a variable", 400, "BAD_REQUEST",
            body=b'{"query": "query($s: String!) { publicLocation(bookingSlug: $s) { name } }",'
            b' "variables": {"s": "\\ud800"}}'),
    Hostile("a lone surrogate in a literal", 400, "GRAPHQL_PARSE_FAILED",
            json_body={"query": '{ publicLocation(bookingSlug: "\\uD800") { name } }'}),
    Hostile("NUL in createLibraryServiceGroup(name:)", 400, "BAD_USER_INPUT",
            caller="ops@portrait.example",
            json_body={"query": 'mutation { createLibraryServiceGroup(name: "Peels\\u0000") { errors { code } } }'}),
    Hostile("NUL in an ID variable", 400, "BAD_USER_INPUT", caller="dana@glow.example",
            json_body=_q("query($id: ID!) { node(id: $id) { id } }", id="TG9j\x00")),
]  # fmt: skip


async def _send(http: httpx.AsyncClient, case: Hostile, demo: DemoIds) -> httpx.Response:
    headers = {"accept": GRAPHQL_RESPONSE, **case.headers}
    if case.caller:
        headers["authorization"] = f"Bearer {prod_token(demo, case.caller)}"
    if case.method == "GET":
        return await http.get("/graphql", params=case.params, headers=headers)
    if case.body == b"chunked":

        async def chunks() -> Any:
            yield b'{"query": "{ viewer { kind } }", "pad": "'
            for _ in range(64):
                yield b"x" * 16_384
            yield b'"}'

        headers.setdefault("content-type", "application/json")
        return await http.post("/graphql", content=chunks(), headers=headers)
    content = case.body if case.body is not None else json.dumps(case.json_body).encode()
    headers.setdefault("content-type", "application/json")
    return await http.request(case.method, "/graphql", content=content, headers=headers)


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
async def test_hostile_input_is_refused_quickly_and_changes_nothing(
    case: Hostile, api_server: Process, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    before = await table_counts(owner_engine)
    async with (
        httpx.AsyncClient(base_url=api_server.url, timeout=ANSWER_WITHIN) as attacker,
        httpx.AsyncClient(base_url=api_server.url, timeout=HEALTHZ_WITHIN) as bystander,
    ):

        async def healthz_while_attacked() -> int:
            await asyncio.sleep(0.05)  # let the hostile request reach the server first
            return (await bystander.get("/healthz")).status_code

        response, health = await asyncio.gather(
            _send(attacker, case, demo), healthz_while_attacked()
        )
    assert health == 200
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"].split(";")[0] in (GRAPHQL_RESPONSE, "application/json")
    body = response.json()
    assert "data" not in body or body["data"] is None
    error = body["errors"][0]
    assert error["message"]
    assert error["extensions"]["code"] == case.code, body
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert await table_counts(owner_engine) == before


async def test_bad_values_name_the_variable_or_argument(api_server: Process, demo: DemoIds) -> None:
    token = prod_token(demo, "dana@glow.example")
    headers = {"authorization": f"Bearer {token}", "accept": GRAPHQL_RESPONSE}
    async with httpx.AsyncClient(base_url=api_server.url, timeout=ANSWER_WITHIN) as http:
        variable = await http.post(
            "/graphql",
            json=_q(
                "query($when: DateTime!) { calendar(from: $when, to: $when) { id } }", when="x"
            ),
            headers=headers,
        )
        literal = await http.post(
            "/graphql",
            json={"query": '{ patients(first: "ten") { edges { cursor } } }'},
            headers=headers,
        )
        nul = await http.post(
            "/graphql",
            json=_q("query($s: String) { patients(search: $s) { edges { cursor } } }", s="a\x00"),
            headers=headers,
        )
    assert "$when" in variable.json()["errors"][0]["message"]
    assert literal.json()["errors"][0]["extensions"]["argumentName"] == "first"
    assert "$s" in nul.json()["errors"][0]["message"]
    assert "NUL" in nul.json()["errors"][0]["message"]


async def test_a_good_request_still_answers(
    api_server: Process, demo: DemoIds, server_writes: None
) -> None:
    """The limits refuse the hostile documents, not the dashboards' own."""
    token = prod_token(demo, "dana@glow.example")
    month = {"f": "2026-01-01T00:00:00Z", "t": "2026-02-01T00:00:00Z"}
    query = """query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) {
        id startsAt endsAt status clearanceStatus provider { id displayName }
        location { id name } patient { id firstName lastName }
        appointmentType { id name durationMinutes } } }"""
    async with httpx.AsyncClient(base_url=api_server.url, timeout=ANSWER_WITHIN) as http:
        response = await http.post(
            "/graphql", json=_q(query, **month), headers={"authorization": f"Bearer {token}"}
        )
        node = await http.post(
            "/graphql",
            json=_q(
                "query($id: ID!) { node(id: $id) { id } }",
                id=encode_global_id("Medspa", demo.medspas["glow"]),
            ),
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    assert isinstance(body["data"]["calendar"], list)
    cost = body["extensions"]["cost"]
    assert 0 < cost["requested"] <= cost["limit"]
    assert node.json()["data"]["node"]["id"]


async def test_the_server_log_holds_no_patient_data_nor_expected_tracebacks(
    api_server: Process, demo: DemoIds, server_writes: None
) -> None:
    """After the hostile battery (and a calendar answered with every patient's name): one JSON
    line per request, all at INFO (every refusal is an expected client error), no names, no
    variables, and a traceback only in an ERROR line (none comes from a request here; the
    shared database may still make the policy watcher log one)."""
    from db.seed.scheduling import FIRST_NAMES, LAST_NAMES

    token = prod_token(demo, "dana@glow.example")
    async with httpx.AsyncClient(base_url=api_server.url, timeout=ANSWER_WITHIN) as http:
        # The battery again, here: the suite runs in random order and over several workers,
        # so the parametrised tests above may not have reached this worker's server yet.
        for case in HOSTILE:
            await _send(http, case, demo)
        await http.post(
            "/graphql",
            json=_q(
                "query($s: String) { patients(search: $s) { edges { node { lastName } } } }",
                s="Farah",
            ),
            headers={"authorization": f"Bearer {token}"},
        )
    lines = log_lines(api_server.log_path)
    requests = [line for line in lines if line.get("event") == "graphql request"]
    assert len(requests) >= len(HOSTILE)
    assert all(line["request_id"] and line["status"] for line in requests)
    text = api_server.log()
    for name in (*FIRST_NAMES, *LAST_NAMES):
        assert name not in text, f"{name} leaked into the server log"
    assert all(line["level"] == "info" for line in requests)
    for raw in text.splitlines():
        if "Traceback" in raw:
            assert raw.startswith("{") and '"level":"error"' in raw, raw[:300]
            assert '"graphql request"' not in raw
