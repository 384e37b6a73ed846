"""Typed domain errors inside mutation payloads, and the one place mutations run.

`run_mutation` gives each mutation a SAVEPOINT: a `DomainError` rolls back everything the
mutation wrote and comes back as `errors`, audited as FAILED; authorization errors propagate
as top-level GraphQL errors (their audit rows were queued by `Context.authorize`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from api.context import Context
from api.errors import DomainError, Problem
from db.models import AuditOutcome

T = TypeVar("T")


@strawberry.type(description="A domain failure of a mutation: nothing was changed.")
class UserError:
    code: str
    field: str | None
    message: str

    @classmethod
    def of(cls, problem: Problem) -> UserError:
        return cls(code=problem.code, field=problem.field, message=problem.message)


async def run_mutation(
    ctx: Context, action: str, use_case: Callable[[], Awaitable[T]]
) -> T | list[UserError]:
    """Run `use_case` in a savepoint; domain failures become `UserError`s."""
    try:
        async with ctx.session.begin_nested():
            return await use_case()
    except DomainError as exc:
        ctx.audit(
            action,
            AuditOutcome.FAILED,
            detail={"errors": [{"code": p.code, "field": p.field} for p in exc.problems]},
        )
        return [UserError.of(p) for p in exc.problems]
