"""Writing the audit trail (DESIGN §6.7): one row per decision, actor and subject together.

The Context queues these rows and writes them once at the end of the request, so a
rolled-back write still leaves its DENIED or FAILED row (`write_alone`, after the rollback).
A refused credential is a security event of its own (`authentication_failure`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.principal import Principal
from api.resilience import DeadlineExceeded, within_deadline
from db.models import AuditEvent, AuditOutcome
from db.session import set_tenant_settings

log = logging.getLogger(__name__)


def record(
    principal: Principal,
    *,
    action: str,
    outcome: AuditOutcome,
    resource_type: str | None = None,
    resource_id: uuid.UUID | str | None = None,
    medspa_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """An audit row carrying both the real actor and the effective user; a PCC acting
    under an active coverage window has the window on the row too."""
    detail = dict(detail or {})
    if principal.coverage:
        detail["coverage"] = [
            {"providerId": str(c.provider_id), "until": c.until.isoformat()}
            for c in principal.coverage
        ]
    return AuditEvent(
        id=uuid.uuid4(),
        medspa_id=medspa_id if medspa_id is not None else principal.medspa_id,
        actor_user_id=principal.actor_user_id,
        effective_user_id=principal.user_id,
        masquerade_session_id=principal.masquerade_session_id,
        api_client_id=principal.api_client_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        outcome=outcome,
        request_id=principal.request_id,
        detail=detail,
    )


def unrecorded(event: AuditEvent) -> dict[str, Any]:
    """An audit row as a log record, for when the database cannot take it: identifiers and
    the decision only (the detail may name patient data; it stays out of the log)."""
    return {
        "id": str(event.id),
        "medspa_id": str(event.medspa_id) if event.medspa_id else None,
        "actor_user_id": str(event.actor_user_id) if event.actor_user_id else None,
        "effective_user_id": str(event.effective_user_id) if event.effective_user_id else None,
        "api_client_id": str(event.api_client_id) if event.api_client_id else None,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "outcome": event.outcome.value,
        "request_id": event.request_id,
    }


# A request whose credential was refused (DESIGN §6.7: every denial is audited). The row
# names the caller's address and how many refusals it had lately, never the credential.
AUTHENTICATION_FAILED = "authentication.failed"


class FailedAuthentications:
    """Refused credentials per client address over the last `window_seconds`, in this
    process: the count an operator (or an alert) reads on each security event."""

    def __init__(self, *, window_seconds: float = 60.0, max_addresses: int = 10_000) -> None:
        self.window_seconds = window_seconds
        self.max_addresses = max_addresses
        self._seen: dict[str, deque[float]] = {}

    def count(self, address: str) -> int:
        """Count one more refusal from `address`; the refusals within the window."""
        now = time.monotonic()
        times = self._seen.pop(address, None) or deque()
        times.append(now)
        while times and times[0] < now - self.window_seconds:
            times.popleft()
        if len(self._seen) >= self.max_addresses:  # forget the least recently seen address
            self._seen.pop(next(iter(self._seen)))
        self._seen[address] = times  # re-inserted last: the dict is in recency order
        return len(times)


def signed_link_use(
    *,
    action: str,
    user_id: uuid.UUID,
    resource_type: str,
    resource_id: uuid.UUID,
    medspa_id: uuid.UUID,
    request_id: str,
    detail: dict[str, Any],
) -> AuditEvent:
    """A write made with a signed link (the link is the credential, no token is presented):
    attributed to the user the link was minted for, who was audited minting it."""
    return AuditEvent(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        actor_user_id=user_id,
        effective_user_id=user_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        outcome=AuditOutcome.ALLOWED,
        request_id=request_id,
        detail={**detail, "via": "signed link"},
    )


def authentication_failure(*, request_id: str, address: str, attempts: int) -> AuditEvent:
    """The security event of one refused credential."""
    return AuditEvent(
        id=uuid.uuid4(),
        medspa_id=None,
        action=AUTHENTICATION_FAILED,
        outcome=AuditOutcome.DENIED,
        request_id=request_id,
        detail={"clientAddress": address, "attemptsLastMinute": attempts},
    )


async def write_alone(
    session: AsyncSession,
    events: Sequence[AuditEvent],
    *,
    medspa_ids: Iterable[uuid.UUID],
    platform: bool,
    request_id: str,
    timeout_seconds: float = 2.0,
) -> bool:
    """Write `events` in a short transaction of their own (the request's own was rolled back
    or abandoned), within `timeout_seconds`. When even that fails (the database is gone or
    frozen), each row goes to the log instead, so no attempt is silently unrecorded. True
    when the rows were written."""
    if not events:
        return True

    async def write() -> None:
        async with session.begin():
            await set_tenant_settings(session, medspa_ids=medspa_ids, platform=platform)
            session.add_all(events)

    try:
        await within_deadline(write(), seconds=timeout_seconds)
    except (SQLAlchemyError, DeadlineExceeded) as exc:
        log.error("could not record the audit rows of request %s (%r)", request_id, exc)
        for event in events:
            log.warning("audit row not recorded: %s", unrecorded(event))
        return False
    return True
