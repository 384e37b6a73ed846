"""schemathesis checks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS).

Beyond schemathesis's own `not_a_server_error`: an answer whose GraphQL errors include
INTERNAL_SERVER_ERROR is a failure too, whatever its HTTP status.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def no_internal_server_error(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise AssertionError("the answer is not JSON") from exc
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or ():
        if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"INTERNAL_SERVER_ERROR at {error.get('path')}")
