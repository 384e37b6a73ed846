"""Text that may reach SQL: the String and ID scalars refuse NUL and lone surrogates.

PostgreSQL cannot store NUL in text, and a lone UTF-16 surrogate cannot be encoded as UTF-8:
either one reaching the driver raises deep inside a resolver and used to come back as an
internal error. The check lives in the scalars themselves, the one place every String and ID
input passes through (variables and literals alike), so graphql-core answers with its usual
invalid-value error naming the variable or the argument, before any resolver runs.

graphql-core forbids defining another type named `String` or `ID` (introspection refers to
the standard objects), so the standard scalars' input parsers are wrapped in place, once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLID, GraphQLScalarType, GraphQLString

# NUL, and any surrogate code point (a valid string never holds one: pairs are decoded).
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def unsafe_text_reason(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    match = _UNSAFE.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Text must not contain NUL characters."
    return "Text must not contain unpaired surrogate characters."


def _checked(value: Any) -> Any:
    if isinstance(value, str):
        reason = unsafe_text_reason(value)
        if reason is not None:
            raise GraphQLError(reason, extensions={"code": "BAD_USER_INPUT"})
    return value


def _harden(scalar: GraphQLScalarType) -> None:
    if getattr(scalar, "_text_checked", False):
        return
    # graphql-core 3.3 coerces through `coerce_input_value` / `coerce_input_literal` and
    # keeps `parse_value` / `parse_literal` for older callers: wrap every one present.
    for name in ("coerce_input_value", "coerce_input_literal", "parse_value", "parse_literal"):
        parse: Callable[..., Any] | None = getattr(scalar, name, None)
        if parse is not None:
            setattr(scalar, name, _checking(parse))
    scalar._text_checked = True  # type: ignore[attr-defined]


def _checking(parse: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        return _checked(parse(*args, **kwargs))

    return checked


def harden_text_scalars() -> None:
    """Make String and ID refuse text PostgreSQL cannot hold (idempotent)."""
    _harden(GraphQLString)
    _harden(GraphQLID)
