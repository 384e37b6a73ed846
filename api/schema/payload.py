"""Mutation payloads: typed domain errors, and the one runner every mutation goes through.

A mutation is declared once: `await CancelAppointmentPayload.run(info, Action.X, use_case)`.
`Payload.run` owns the ceremony around the use case:

- the declared permission check (`Context.authorize`: a denial is audited DENIED and raised as
  a top-level GraphQL error);
- a SAVEPOINT: a `DomainError` rolls back everything the use case wrote and comes back as the
  payload's typed `errors`, audited FAILED under the same action with its problems;
- any other failure (a statement timeout, a lost connection, the request's deadline, a bug)
  fails the request: it rolls back, and the attempt is audited FAILED in a transaction of
  its own after the rollback (`Context.finish`);
- the payload, built from the use case's result by the subclass's `of`.

The use case keeps only the object check (`Context.find`) and the write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Self

import strawberry

from api.authz.actions import Action
from api.context import Context, RunningMutation
from api.errors import ApiError, DomainError, DomainErrorCode, ErrorCode, Problem
from api.resilience import database_fault
from db.models import AuditOutcome

strawberry.enum(DomainErrorCode, description="Why a mutation refused a write.")


@strawberry.type(description="A domain failure of a mutation: nothing was changed.")
class UserError:
    code: DomainErrorCode
    field: str | None
    message: str

    @classmethod
    def of(cls, problem: Problem) -> UserError:
        return cls(code=problem.code, field=problem.field, message=problem.message)


@strawberry.type
class Payload:
    """The base of every mutation payload (not itself a GraphQL type anyone returns)."""

    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, result: Any) -> Self:
        """The payload showing a successful use case's result."""
        raise NotImplementedError(f"{cls.__name__} does not say how it shows a result")

    @classmethod
    async def run(
        cls,
        info: strawberry.Info[Context, None],
        action: Action,
        use_case: Callable[[], Awaitable[Any]],
    ) -> Self:
        """Check `action`, run `use_case` in a savepoint, audit it, and answer the payload.

        Every attempt leaves one audit row of `action`: DENIED (by `authorize` / `find`),
        FAILED (with its problems), or ALLOWED, written here with what the use case said it
        did (`ctx.allowed`), else the row it returned."""
        ctx = info.context
        ctx.authorize(action)
        ctx.pending_mutations.append(action.value)
        undo_mark = len(ctx.compensations)
        running = RunningMutation(action)
        ctx.running.append(running)
        try:
            async with ctx.session.begin_nested():
                result = await use_case()
        except DomainError as exc:
            # The savepoint rolled back: undo what it had done outside the database.
            await ctx.run_compensations(since=undo_mark)
            ctx.audit(
                action.value,
                AuditOutcome.FAILED,
                detail={"errors": [{"code": p.code, "field": p.field} for p in exc.problems]},
            )
            return cls(errors=[UserError.of(p) for p in exc.problems])
        except ApiError:
            await ctx.run_compensations(since=undo_mark)
            raise  # a refusal: `authorize` / `find` audited it DENIED
        except BaseException as exc:
            # A statement timeout, a lost connection, a cancelled request or a bug: the
            # whole request rolls back, and this attempt is audited FAILED after it.
            fault = database_fault(exc)
            ctx.failed = True
            ctx.fault = ctx.fault or fault
            code = fault.code if fault else ErrorCode.INTERNAL
            if isinstance(exc, asyncio.CancelledError):
                code = ErrorCode.TIMEOUT
            ctx.audit(action.value, AuditOutcome.FAILED, detail={"error": code.value})
            raise
        finally:
            ctx.pending_mutations.remove(action.value)
            ctx.running.remove(running)
        ctx.audit(action.value, AuditOutcome.ALLOWED, **(running.subject or _subject_of(result)))
        return cls.of(result)


def _subject_of(result: Any) -> dict[str, Any]:
    """The audit subject of a use case that said nothing of what it did: the row it returned
    (its type, id and medspa), when it returned one."""
    row_id = getattr(result, "id", None)
    if row_id is None:
        return {}
    return {
        "resource_type": type(result).__name__,
        "resource_id": row_id,
        "medspa_id": getattr(result, "medspa_id", None),
    }
