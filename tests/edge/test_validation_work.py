"""Validation is linear in the document (issue 11 §2): whatever a client writes under the token
limit (fragment fan-out, cycles, wide or repeated selections, directives) is parsed and
validated within a fixed work budget per token. Work is counted as Python function calls
made while preparing the document (deterministic, unlike time): a validator that re-walked
every spread would make 2^n calls on an n-fragment fan-out."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from graphql.language import Lexer, Source, TokenKind
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.documents import DocumentStore
from api.http.rules import ShapeCheck, ShapeLimits
from api.schema.schema import build_schema
from api.settings import Settings

PROD = Settings(MEDSPA_ENV="prod", MEDSPA_JWT_SECRET="s" * 40)  # type: ignore[call-arg]
SCHEMA = build_schema(PROD)._schema
# The budget: calls per token, plus a fixed part for the rules' set-up. Valid dashboard
# documents take about 90 calls per token; the budget leaves room, not exponents.
CALLS_PER_TOKEN = 250
FIXED_CALLS = 20_000


def tokens(text: str) -> int:
    lexer = Lexer(Source(text))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def calls_to_prepare(text: str) -> tuple[int, Any]:
    store = DocumentStore(SCHEMA, PROD)  # a fresh cache: the work is counted, not skipped
    count = 0

    def profile(_frame: FrameType, event: str, _arg: object) -> None:
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        prepared = store.prepare(text)
    finally:
        sys.setprofile(None)
    return count, prepared


def fan_out(fragments: int, spreads: int, leaf: str, *, cycle: bool) -> str:
    parts = ["query { ...F0 }"]
    for i in range(fragments):
        target = (i + 1) % fragments if cycle else i + 1
        body = " ".join([f"...F{target}"] * spreads) if cycle or i + 1 < fragments else leaf
        parts.append(f"fragment F{i} on Query {{ {body} }}")
    return "\n".join(parts)


def wide(field: str, times: int, *, inline: bool, directive: bool) -> str:
    one = f"{field} @include(if: true)" if directive else field
    if inline:
        one = f"... {{ {one} }}"
    return "{ viewer { " + " ".join([one] * times) + " } }"


documents = st.one_of(
    st.builds(
        fan_out,
        st.integers(1, 80),
        st.integers(1, 4),
        st.sampled_from(["__typename", "viewer { kind }", "a: viewer { kind } b: __typename"]),
        cycle=st.booleans(),
    ),
    st.builds(
        wide,
        st.sampled_from(["kind", "roles", "user { id }", "__typename"]),
        st.integers(1, 900),
        inline=st.booleans(),
        directive=st.booleans(),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_validation_stays_within_a_fixed_work_budget(text: str) -> None:
    size = tokens(text)
    if size > PROD.max_tokens:
        return  # refused by the lexer's count before any tree is built
    calls, _prepared = calls_to_prepare(text)
    assert calls <= CALLS_PER_TOKEN * size + FIXED_CALLS, (size, calls)


def test_the_31_fragment_document_is_refused_within_the_budget() -> None:
    text = fan_out(31, 2, "__typename", cycle=False)
    calls, prepared = calls_to_prepare(text)
    assert prepared.errors and prepared.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"
    assert calls <= CALLS_PER_TOKEN * tokens(text) + FIXED_CALLS


def test_fan_out_is_measured_on_the_expanded_operation() -> None:
    """Each fragment is summarised once, yet the limits see 2^n spreads and n levels."""
    from graphql import parse

    limits = ShapeLimits(
        max_depth=10,
        max_aliases=30,
        max_directives=30,
        max_directives_per_location=3,
        max_repeated_fields=10**12,
        max_fragment_spreads=200,
    )
    check = ShapeCheck(parse(fan_out(31, 2, "__typename", cycle=False)), limits)
    [error] = check.run()
    assert "over a million spreads" in error.message
    assert check.work < 1_000  # 31 fragments, each walked once
