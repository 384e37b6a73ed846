"""Logs are for operators (DESIGN §6.13, CONVENTIONS 15): one structured line per request with
its id, operation, document hash, caller, cost, statements, duration and status; expected
client errors at INFO without traceback; never literals, variables or response data."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from api.http.logs import REQUEST_LOGGER, json_formatter
from db.seed.scheduling import FIRST_NAMES, LAST_NAMES
from tests.conftest import Gql, Principals

SEARCH = "query Search($s: String) { patients(search: $s) { edges { node { firstName } } } }"
CALENDAR = """query Week { calendar(from: "2026-01-01T00:00:00Z", to: "2026-01-08T00:00:00Z") {
    id patient { firstName lastName email } } }"""


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = json_formatter()
    return [orjson.loads(formatter.format(r)) for r in caplog.records if r.name == REQUEST_LOGGER]


async def test_one_line_per_request_with_the_operator_fields(
    gql: Gql, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await gql(SEARCH, {"s": "Farah"}, as_="dana@glow.example")
    assert answer.data["patients"]["edges"]
    [line] = _request_lines(caplog)
    request_id = line["request_id"]
    assert len(request_id) >= 8
    assert line["operation"] == "Search"
    assert line["document"].startswith("sha256:")
    assert line["caller_kind"] == "USER"
    assert line["caller_id"]  # the user's id, never the token
    assert line["cost"] > 0
    assert line["statements"] >= 1
    assert line["duration_ms"] >= 0
    assert line["status"] == 200
    assert line["level"] == "info"


async def test_no_patient_data_variables_or_expected_tracebacks_in_the_log(
    gql: Gql, principals: Principals, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await principals.masquerade()
    caplog.clear()
    await gql(SEARCH, {"s": "Farah"}, as_="dana@glow.example")  # variables
    await gql('{ patients(search: "Wolfe") { edges { cursor } } }', as_="dana@glow.example")
    await gql(CALENDAR, as_="dana@glow.example")  # response data with every patient's name
    await gql("{ auditEvents { edges { cursor } } }", bearer=token)  # FORBIDDEN
    await gql("{ medspas { edges { cursor } } }")  # UNAUTHENTICATED
    await gql(SEARCH, {"s": "Chloe\x00"}, as_="dana@glow.example")  # BAD_USER_INPUT
    await gql(SEARCH, {"s": "Tran" * 50_000}, as_="dana@glow.example")  # a 200 KB search
    await gql('{ patients(search: "Isla" @skip(if: 3)) { edges { cursor } } }')  # invalid
    lines = [json_formatter().format(r) for r in caplog.records]
    text = "\n".join(lines)
    for name in (*FIRST_NAMES, *LAST_NAMES):
        assert name not in text, f"{name} leaked into the log"
    assert "@example" not in text  # no e-mail address either
    for record in caplog.records:
        if record.levelno < logging.ERROR:
            assert record.exc_info is None
            assert "Traceback" not in json_formatter().format(record)
    requests = _request_lines(caplog)
    assert len(requests) == 8
    codes = {code for line in requests for code in line.get("codes") or ()}
    assert {"FORBIDDEN", "UNAUTHENTICATED", "BAD_USER_INPUT"} <= codes
    assert all(line["level"] == "info" for line in requests)


def _casbin_dump(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    from api.authz.enforcer import build_enforcer
    from api.http.logs import configure_logging

    configure_logging()
    # casbin dumps its model and policy while loading, then disables its loggers for good;
    # enable them again so that this enforcer dumps like the process's first one does.
    # Another test's logging configuration (casbin's own dictConfig gives its loggers levels
    # and propagate=False) must not hide the dump from caplog either: the filter is what is
    # under test here, not those settings.
    for name in ("casbin", "casbin.policy", "casbin.model", "casbin.role", "casbin.enforcer"):
        logger = logging.getLogger(name)
        logger.disabled = False
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    caplog.clear()
    caplog.set_level(level)
    build_enforcer()
    return [r for r in caplog.records if r.name.startswith("casbin")]


def test_the_policy_dump_is_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    assert _casbin_dump(caplog, logging.INFO) == []
    at_debug = _casbin_dump(caplog, logging.DEBUG)
    assert at_debug, "casbin dumped nothing: the test would prove nothing"
    assert {r.levelname for r in at_debug} == {"DEBUG"}
