"""The per-request Context: principal, session (one transaction), loaders, and the checks.

Resolvers ask the context to `authorize` an action (a set look-up in the permission set; a
denial is audited and raised) and to `scope` a query (the scope module's WHERE clause).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import Action
from api.authz.enforcer import Grant
from api.authz.masquerade import MASQUERADE_FORBIDDEN_REASON
from api.authz.principal import Principal
from api.authz.scopes import Anchor, scope_clause
from api.errors import ApiError, ErrorCode
from api.resolvers.audit import record
from api.settings import Settings
from db.models import AuditEvent, AuditOutcome
from db.session import set_tenant_settings

if TYPE_CHECKING:
    from api.resolvers.loaders import Loaders

log = logging.getLogger(__name__)


@dataclass
class Context:
    principal: Principal
    session: AsyncSession
    settings: Settings
    loaders: Loaders
    # Audit rows are queued and written once at the end of the request, after every
    # mutation savepoint, so a rolled-back write still leaves its DENIED/FAILED row.
    audit_events: list[AuditEvent] = field(default_factory=list)
    # Set when an unexpected error was masked: the request's writes are rolled back.
    failed: bool = False
    # The client's network address (rate limits of the public booking page).
    client_address: str | None = None

    @property
    def request_id(self) -> str:
        return self.principal.request_id

    def authorize(
        self,
        action: Action,
        *,
        resource_type: str | None = None,
        resource_id: uuid.UUID | str | None = None,
    ) -> Grant:
        """The grant for `action`, or an audited FORBIDDEN / MASQUERADE_FORBIDDEN."""
        grant = self.principal.grant(action)
        if grant is not None:
            return grant
        reason = self.principal.permissions.reason(action)
        self.audit(
            action.value,
            AuditOutcome.DENIED,
            resource_type=resource_type,
            resource_id=resource_id,
            detail={"reason": reason},
        )
        if reason == MASQUERADE_FORBIDDEN_REASON:
            raise ApiError(
                ErrorCode.MASQUERADE_FORBIDDEN, f"{action.value} is not allowed while masquerading."
            )
        if not self.principal.is_authenticated:
            raise ApiError(ErrorCode.UNAUTHENTICATED, "Authentication required.")
        raise ApiError(ErrorCode.FORBIDDEN, f"You are not allowed to {action.value}.")

    async def finish(self) -> bool:
        """End the request's transaction: commit its writes and audit rows, or, when an
        unexpected error was masked or the commit itself fails, roll back and keep only the
        audit rows (in a fresh transaction). True when the writes were committed."""
        events = list(self.audit_events)
        if not self.failed:
            try:
                self.session.add_all(events)
                await self.session.commit()
                return True
            except SQLAlchemyError:
                # E.g. GraphQL cancelled a sibling field mid-query and the connection's
                # transaction is unusable: nothing of this request's writes is kept.
                log.exception("commit failed in request %s", self.request_id)
                self.failed = True
        await self.session.rollback()
        try:
            async with self.session.begin():
                await set_tenant_settings(
                    self.session,
                    medspa_ids=self.principal.rls_medspa_ids,
                    platform=self.principal.rls_platform,
                )
                self.session.add_all(events)
        except SQLAlchemyError:
            log.exception("could not record the audit rows of request %s", self.request_id)
        return False

    def scope(self, action: Action, anchor: Anchor) -> ColumnElement[bool]:
        return scope_clause(self.principal, action, anchor)

    def audit(
        self,
        action: str,
        outcome: AuditOutcome,
        *,
        resource_type: str | None = None,
        resource_id: uuid.UUID | str | None = None,
        medspa_id: uuid.UUID | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.audit_events.append(
            record(
                self.principal,
                action=action,
                outcome=outcome,
                resource_type=resource_type,
                resource_id=resource_id,
                medspa_id=medspa_id,
                detail=detail,
            )
        )
