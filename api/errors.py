"""Error codes and helpers (DESIGN §6.5).

Authentication and authorization failures are top-level GraphQL errors carrying
`extensions.code`. Domain failures are typed `UserError`s inside mutation payloads. Anything
else is masked as INTERNAL and logged with the request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from graphql import GraphQLError


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    MASQUERADE_FORBIDDEN = "MASQUERADE_FORBIDDEN"
    BAD_REQUEST = "BAD_REQUEST"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INTERNAL = "INTERNAL_SERVER_ERROR"


HTTP_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BAD_REQUEST: 400,
}


class ApiError(GraphQLError):
    """An error the client is meant to see, with its code in `extensions`."""

    code: ErrorCode

    def __init__(self, code: ErrorCode, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})
        self.code = code


class AuthenticationError(ApiError):
    """Raised while computing the principal; never says which check failed."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.UNAUTHENTICATED, "Authentication required or invalid.")


def forbidden(message: str = "You are not allowed to do this.") -> ApiError:
    return ApiError(ErrorCode.FORBIDDEN, message)


def not_found(message: str = "Not found.") -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, message)


def masquerade_forbidden(message: str = "Not allowed while masquerading.") -> ApiError:
    return ApiError(ErrorCode.MASQUERADE_FORBIDDEN, message)


def bad_request(message: str) -> ApiError:
    return ApiError(ErrorCode.BAD_REQUEST, message)


def is_client_error(error: GraphQLError) -> bool:
    """Errors safe to show as they are: ours, and GraphQL's own (syntax, validation)."""
    original = error.original_error
    if original is None:
        return True
    return isinstance(original, ApiError)


@dataclass(frozen=True, slots=True)
class Problem:
    """A domain failure reported inside a mutation payload (`errors: [UserError]`)."""

    code: str
    message: str
    field: str | None = None


class DomainError(Exception):
    """Raised by a use case to refuse a write; the mutation's savepoint is rolled back."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def invalid(field: str, message: str, code: str = "VALIDATION") -> DomainError:
    return DomainError(Problem(code=code, message=message, field=field))
