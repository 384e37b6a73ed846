"""The per-request Context: principal, session (one transaction), loaders, and the checks.

Resolvers ask the context to `authorize` an action (a set look-up in the permission set; a
denial is audited and raised), to `scope` a query (the scope module's WHERE clause) and to
`find` the one row a write names ("invisible equals absent": a row the caller cannot see is
NOT_FOUND, a visible row outside the action's scope is FORBIDDEN; both audited).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import Action
from api.authz.audit import record, write_alone
from api.authz.enforcer import Grant
from api.authz.masquerade import MASQUERADE_FORBIDDEN_REASON
from api.authz.principal import Principal
from api.authz.scopes import Anchor, resource_of, scope_clause
from api.errors import ApiError, ErrorCode, forbidden, not_found
from api.resilience import database_fault
from api.settings import Settings
from db.models import AuditEvent, AuditOutcome
from db.session import set_tenant_settings

if TYPE_CHECKING:
    from api.authz.enforcer import PolicyEngine
    from api.http.budget import Budgets
    from api.resolvers.loaders import Loaders

log = logging.getLogger(__name__)

Row = TypeVar("Row")


@dataclass
class RunningMutation:
    """The mutation `Payload.run` is running: its declared action, and what its use case
    says it did (the ALLOWED audit row's resource and detail, written by the runner)."""

    action: Action
    subject: dict[str, Any] | None = None


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
    # Why, when the database was at fault (TIMEOUT or SERVICE_UNAVAILABLE): the answer says
    # so, with a 503 for the latter, instead of INTERNAL_SERVER_ERROR.
    fault: ApiError | None = None
    # The actions of mutations that started and have neither finished nor been audited: a
    # request abandoned at its deadline records them FAILED (`Payload.run`).
    pending_mutations: list[str] = field(default_factory=list)
    # The client's network address (rate limits of the public booking page).
    client_address: str | None = None
    # The shared rate-limit store (api.http.budget); None outside an HTTP request.
    budgets: Budgets | None = None
    # The medspas row-level security reveals to this transaction: the principal's, plus any
    # a public slug or a registration link reached (`reach_tenant`).
    rls_medspa_ids: frozenset[uuid.UUID] = frozenset()
    # The process's policy engine: webhook events decide a partner's reach with it
    # (api/events/emit.py); None outside an HTTP request (the baseline policy then).
    policy: PolicyEngine | None = None
    # The webhook endpoints an event kind of a medspa goes to, looked up once per request
    # (a patient import emits one event per row).
    event_endpoints: dict[tuple[uuid.UUID, str], list[Any]] = field(default_factory=dict)
    # What undoes an effect outside the database (a captured card payment) if the writes
    # that record it are not kept: run when the mutation's savepoint or the request's
    # transaction rolls back, forgotten once they commit (`compensate`).
    compensations: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The mutations being run, innermost last (`allowed`).
    running: list[RunningMutation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rls_medspa_ids = self.rls_medspa_ids | self.principal.rls_medspa_ids

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
        if not self.failed:
            try:
                self.session.add_all(self.audit_events)
                await self.session.commit()
                self.compensations.clear()
                return True
            except SQLAlchemyError as exc:
                # E.g. GraphQL cancelled a sibling field mid-query and the connection's
                # transaction is unusable, or the server went away: nothing of this
                # request's writes is kept (or known to be).
                self.fault = self.fault or database_fault(exc)
                log.log(
                    logging.WARNING if self.fault else logging.ERROR,
                    "commit failed in request %s",
                    self.request_id,
                    exc_info=self.fault is None,
                )
                self.failed = True
        try:
            await self.session.rollback()
        except SQLAlchemyError:
            log.warning("rollback failed in request %s (connection lost)", self.request_id)
        await self.run_compensations()
        await self.record_audit_alone(self.session)
        return False

    def compensate(self, undo: Callable[[], Awaitable[None]]) -> None:
        """Register `undo` for an outside effect this request's writes record: it runs if
        those writes are rolled back (the savepoint of the mutation, or the whole request,
        e.g. when its commit fails), so nothing is charged without a record of it."""
        self.compensations.append(undo)

    async def run_compensations(self, since: int = 0) -> None:
        """Undo the outside effects registered since `since` (their writes were rolled back);
        a failure to undo is logged with what it was about, for reconciliation by hand."""
        undo, self.compensations[since:] = self.compensations[since:], []
        for action in reversed(undo):
            try:
                await action()
            except Exception:
                log.exception(
                    "could not undo an outside effect of request %s (%r): reconcile it",
                    self.request_id,
                    action,
                )

    async def record_audit_alone(self, session: AsyncSession) -> None:
        """Write the queued audit rows, and a FAILED row for each mutation still pending, in
        a short transaction of their own (the request's own was rolled back or abandoned)."""
        for action in self.pending_mutations:
            self.audit(action, AuditOutcome.FAILED, detail={"error": ErrorCode.TIMEOUT.value})
        self.pending_mutations.clear()
        events, self.audit_events = self.audit_events, []
        await write_alone(
            session,
            events,
            medspa_ids=self.rls_medspa_ids,
            platform=self.principal.rls_platform,
            request_id=self.request_id,
        )

    def scope(self, action: Action, anchor: Anchor) -> ColumnElement[bool]:
        return scope_clause(self.principal, action, anchor)

    async def find(
        self,
        model: type[Row],
        row_id: uuid.UUID | None,
        action: Action,
        *,
        for_update: bool = False,
    ) -> Row:
        """The row `row_id` of `model` on which the principal may `action`, or an audited
        NOT_FOUND (absent, or outside the resource's read scope) / FORBIDDEN (visible, but
        outside the action's scope). `for_update` locks the row."""
        resource = resource_of(model)
        found = None
        if row_id is not None:
            table: Any = model
            stmt = select(
                table, self.scope(action, resource.anchor_for(action)).label("allowed")
            ).where(table.id == row_id, self.scope(resource.read, resource.anchor))
            if for_update:
                stmt = stmt.with_for_update(of=table)
            found = (await self.session.execute(stmt)).first()
        if found is None or not found[1]:
            self.audit(
                action.value,
                AuditOutcome.DENIED,
                resource_type=resource.name,
                resource_id=row_id,
                medspa_id=getattr(found[0], "medspa_id", None) if found is not None else None,
                detail={"reason": "outside scope" if found else "not found or outside scope"},
            )
            if found is None:
                raise not_found(f"{resource.name} not found.")
            raise forbidden(f"You are not allowed to {action.value} this {resource.name}.")
        row: Row = found[0]
        return row

    async def reach_tenants(self, medspa_ids: Iterable[uuid.UUID]) -> None:
        """Widen this transaction's row-level security to more medspas (a public booking
        slug, a registration link or a new coverage window reached them); the widenings of
        one request accumulate."""
        self.rls_medspa_ids = self.rls_medspa_ids | frozenset(medspa_ids)
        await set_tenant_settings(
            self.session, medspa_ids=self.rls_medspa_ids, platform=self.principal.rls_platform
        )

    def allowed(
        self,
        action: Action,
        *,
        resource_type: str | None = None,
        resource_id: uuid.UUID | str | None = None,
        medspa_id: uuid.UUID | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Say what was done under `action`, once it is done. For the mutation being run
        (Payload.run declared this action) the runner writes the ALLOWED audit row when the
        use case has succeeded; anything else (another use case's effect it carried out, a
        read worth auditing) is recorded now."""
        subject: dict[str, Any] = {
            "resource_type": resource_type,
            "resource_id": resource_id,
            "medspa_id": medspa_id,
            "detail": detail,
        }
        running = self.running[-1] if self.running else None
        if running is not None and running.action is action:
            if running.subject is not None:
                raise RuntimeError(f"{action.value} said twice what it did")
            running.subject = subject
            return
        self.audit(action.value, AuditOutcome.ALLOWED, **subject)

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
