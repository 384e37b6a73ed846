"""Masking of unexpected errors: logged with the request id, shown as INTERNAL_SERVER_ERROR."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from api.errors import ErrorCode, is_client_error

log = logging.getLogger("api.errors")


class MaskUnexpectedErrors(MaskErrors):
    """Masks every error that is not ours or GraphQL's own, and marks the request failed."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_client_error(e))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        if context is not None and hasattr(context, "failed"):
            context.failed = True
        log.error(
            "unexpected error in request %s at %s",
            request_id,
            error.path,
            exc_info=error.original_error,
        )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": ErrorCode.INTERNAL.value}
        return masked
