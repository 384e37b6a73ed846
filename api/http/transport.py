"""Bytes in: method, media types, body size, UTF-8, JSON nesting and the request's shape.

Everything here runs before authentication and touches no database. Each check raises
`Refusal`, which the pipeline answers as a GraphQL-over-HTTP error (a JSON body with
`errors[0].message`, `extensions.code` and the request id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from api.errors import ErrorCode

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
_DOCUMENT_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


class Refusal(Exception):
    """A request refused before execution: its HTTP status, error code and message."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code.value
        self.message = message
        self.headers = headers or {}
        self.extensions = extensions or {}


def bad_request(message: str) -> Refusal:
    return Refusal(400, ErrorCode.BAD_REQUEST, message)


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parameters of a GraphQL-over-HTTP request, checked for shape only."""

    query: str | None
    document_id: str | None
    variables: dict[str, Any]
    operation_name: str | None
    via_get: bool


def response_media_type(accept: str | None) -> str:
    """The media type to answer in, per the Accept header (406 when none fits)."""
    if not accept or not accept.strip():
        return JSON  # legacy clients send none
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        chosen = {
            GRAPHQL_RESPONSE: (GRAPHQL_RESPONSE, 2),
            JSON: (JSON, 1),
            "application/*": (JSON, 0),
            "*/*": (JSON, 0),
        }.get(media)
        if chosen is None or q <= 0:
            continue
        candidate = (q, chosen[1], chosen[0])
        if best is None or candidate > best:
            best = candidate
    if best is None:
        raise Refusal(
            406,
            ErrorCode.NOT_ACCEPTABLE,
            f"Accept {JSON} or {GRAPHQL_RESPONSE}; nothing else is served.",
        )
    return best[2]


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The body, refusing (413) as soon as it is known to exceed `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise bad_request("Content-Length is not a number.")
        if int(declared) > max_bytes:
            raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> Refusal:
    return Refusal(
        413,
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"The request body is larger than {max_bytes} bytes.",
        extensions={"maxBytes": max_bytes},
    )


def check_content_type(value: str | None) -> None:
    """POST bodies must be JSON in UTF-8 (415 otherwise)."""
    media, *params = (p.strip() for p in (value or "").split(";"))
    if media.lower() != JSON:
        raise Refusal(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, f"Send the request as {JSON}.")
    for param in params:
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() != "utf-8":
            raise Refusal(
                415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Only UTF-8 request bodies are accepted."
            )


def decode_json(body: bytes, *, max_depth: int, what: str = "The request body") -> Any:
    """Strict UTF-8 JSON whose arrays and objects nest at most `max_depth` deep."""
    try:
        body.decode("utf-8")  # strict: orjson's own message would not name the problem
    except UnicodeDecodeError as exc:
        raise bad_request(f"{what} is not valid UTF-8.") from exc
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = "nests too deeply" if "depth" in str(exc) else "is not valid JSON"
        raise bad_request(f"{what} {reason}.") from exc
    if _depth_exceeds(value, max_depth):
        raise bad_request(f"{what} nests deeper than {max_depth} levels.")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def request_from_json(value: Any) -> GraphQLRequest:
    if isinstance(value, list):
        raise bad_request("Batched requests are not supported: send one operation per request.")
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.")
    return _checked(
        query=value.get("query"),
        document_id=value.get("documentId"),
        variables=value.get("variables"),
        operation_name=value.get("operationName"),
        extensions=value.get("extensions"),
        via_get=False,
    )


def request_from_query_string(request: Request, *, max_depth: int) -> GraphQLRequest:
    params = request.query_params
    raw_variables = params.get("variables")
    variables = None
    if raw_variables:
        variables = decode_json(
            raw_variables.encode("utf-8", "surrogatepass"), max_depth=max_depth, what="variables"
        )
    raw_extensions = params.get("extensions")
    extensions = None
    if raw_extensions:
        extensions = decode_json(
            raw_extensions.encode("utf-8", "surrogatepass"),
            max_depth=max_depth,
            what="extensions",
        )
    return _checked(
        query=params.get("query"),
        document_id=params.get("documentId"),
        variables=variables,
        operation_name=params.get("operationName") or None,
        extensions=extensions,
        via_get=True,
    )


def _checked(
    *,
    query: Any,
    document_id: Any,
    variables: Any,
    operation_name: Any,
    extensions: Any,
    via_get: bool,
) -> GraphQLRequest:
    if query is not None and not isinstance(query, str):
        raise bad_request("`query` must be a string.")
    if document_id is not None:
        if not isinstance(document_id, str) or not _DOCUMENT_ID.match(document_id):
            raise bad_request("`documentId` must be `sha256:` and 64 lowercase hex digits.")
        if query is not None:
            raise bad_request("Send either `query` or `documentId`, not both.")
    elif query is None or not query.strip():
        raise bad_request("Send a GraphQL document in `query` (or a `documentId`).")
    if variables is not None and not isinstance(variables, dict):
        raise bad_request("`variables` must be an object.")
    if operation_name is not None and (
        not isinstance(operation_name, str) or not _NAME.match(operation_name)
    ):
        raise bad_request("`operationName` must be a GraphQL name.")
    if extensions is not None and not isinstance(extensions, dict):
        raise bad_request("`extensions` must be an object.")
    return GraphQLRequest(
        query=query,
        document_id=document_id,
        variables=variables or {},
        operation_name=operation_name,
        via_get=via_get,
    )
