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
    # The request pipeline's refusals (api/http; README "Limits").
    PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    URI_TOO_LONG = "URI_TOO_LONG"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    TRUSTED_DOCUMENT_NOT_FOUND = "TRUSTED_DOCUMENT_NOT_FOUND"
    TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"
    # The database was slow or gone (api/resilience.py); both are safe to retry.
    TIMEOUT = "TIMEOUT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


HTTP_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
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


class DomainErrorCode(StrEnum):
    """Why a mutation refused a write (`UserError.code`); the schema enum `DomainErrorCode`."""

    ALREADY_ASSIGNED = "ALREADY_ASSIGNED"
    ALREADY_CHECKED_OUT = "ALREADY_CHECKED_OUT"
    ALREADY_IMPORTED = "ALREADY_IMPORTED"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    ALREADY_TRANSITIONED = "ALREADY_TRANSITIONED"
    CANNOT_MASQUERADE_AS_SELF = "CANNOT_MASQUERADE_AS_SELF"
    CHECKOUT_VOIDED = "CHECKOUT_VOIDED"
    COVERAGE_ALREADY_ARRANGED = "COVERAGE_ALREADY_ARRANGED"
    COVERAGE_NOT_OFFERED = "COVERAGE_NOT_OFFERED"
    COVERING_PCC_NOT_ELIGIBLE = "COVERING_PCC_NOT_ELIGIBLE"
    COVERING_PCC_UNAVAILABLE = "COVERING_PCC_UNAVAILABLE"
    DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE"
    FEATURE_UNAVAILABLE = "FEATURE_UNAVAILABLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IMPORT_TOO_LARGE = "IMPORT_TOO_LARGE"
    INSUFFICIENT_CREDIT = "INSUFFICIENT_CREDIT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    INVITATION_INVALID = "INVITATION_INVALID"
    INVITATION_REVOKED = "INVITATION_REVOKED"
    INVITATION_USED = "INVITATION_USED"
    LAST_ADMIN = "LAST_ADMIN"
    LIBRARY_FIELD_LOCKED = "LIBRARY_FIELD_LOCKED"
    LOCATION_INACTIVE = "LOCATION_INACTIVE"
    NAME_TAKEN = "NAME_TAKEN"
    NOT_FOUND = "NOT_FOUND"
    NO_LICENSED_PROVIDER = "NO_LICENSED_PROVIDER"
    OOO_OVERLAPS = "OOO_OVERLAPS"
    OUTSIDE_AVAILABILITY = "OUTSIDE_AVAILABILITY"
    PATIENT_EXISTS = "PATIENT_EXISTS"
    PREPAID_USED_UP = "PREPAID_USED_UP"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PCC_NOT_ELIGIBLE = "PCC_NOT_ELIGIBLE"
    PRICE_CHANGED = "PRICE_CHANGED"
    PROVIDER_DOES_NOT_OFFER_TYPE = "PROVIDER_DOES_NOT_OFFER_TYPE"
    PROVIDER_INACTIVE = "PROVIDER_INACTIVE"
    PROVIDER_NOT_AT_LOCATION = "PROVIDER_NOT_AT_LOCATION"
    RATE_LIMITED = "RATE_LIMITED"
    REFUND_EXCEEDS_TENDER = "REFUND_EXCEEDS_TENDER"
    REGISTRATION_COMPLETED = "REGISTRATION_COMPLETED"
    REGISTRATION_LINK_EXPIRED = "REGISTRATION_LINK_EXPIRED"
    REGISTRATION_LINK_INVALID = "REGISTRATION_LINK_INVALID"
    REGISTRATION_LINK_USED = "REGISTRATION_LINK_USED"
    SELF_CLEARANCE_UNAVAILABLE = "SELF_CLEARANCE_UNAVAILABLE"
    SERVICE_INACTIVE = "SERVICE_INACTIVE"
    SHIPPING_ADDRESS_REQUIRED = "SHIPPING_ADDRESS_REQUIRED"
    SLOT_UNAVAILABLE = "SLOT_UNAVAILABLE"
    SLUG_TAKEN = "SLUG_TAKEN"
    TYPE_NOT_BOOKABLE = "TYPE_NOT_BOOKABLE"
    TYPE_NOT_OFFERED_AT_LOCATION = "TYPE_NOT_OFFERED_AT_LOCATION"
    UNCLEARED_PATIENT = "UNCLEARED_PATIENT"
    VALIDATION = "VALIDATION"
    VISIT_CLOSED = "VISIT_CLOSED"


@dataclass(frozen=True, slots=True)
class Problem:
    """A domain failure reported inside a mutation payload (`errors: [UserError]`)."""

    code: DomainErrorCode
    message: str
    field: str | None = None


class DomainError(Exception):
    """Raised by a use case to refuse a write; the mutation's savepoint is rolled back."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def invalid(
    field: str, message: str, code: DomainErrorCode = DomainErrorCode.VALIDATION
) -> DomainError:
    return DomainError(Problem(code=code, message=message, field=field))
