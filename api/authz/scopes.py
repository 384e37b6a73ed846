"""Scopes become SQL (DESIGN §6 principle 2).

`scope_clause(principal, action, anchor)` is the one function that turns a grant's scope into
a WHERE clause. Every list, `node` look-up, DataLoader and mutation filters through it; no
resolver filters rows in Python after loading them.

An `Anchor` says how a table's rows relate to tenants and people: which column names the
medspa, which names the owning provider (for OWN and ASSIGNED), and what makes a row public.
Resources register their anchor once, next to their model's use cases (`register`): which
action makes a row visible and how the scopes reach it. `Context.find` reads the registry to
answer "invisible equals absent" for every object a write names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, true

from api.authz.actions import Action, Scope
from api.authz.principal import Principal

ClauseFactory = Callable[[Principal], ColumnElement[bool]]


@dataclass(frozen=True)
class Anchor:
    """How one table's rows are reached by scopes.

    - `medspa`: the tenant column (TENANT, and ASSIGNED for medspa-level rows).
    - `provider`: the owning provider column; OWN means "mine", ASSIGNED "my providers'".
    - `own`: for tables whose OWN is not a provider column (e.g. a PCC's own profile).
    - `tenant` / `assigned`: for rows that belong to no single medspa (a PCC, an absence),
      how TENANT and ASSIGNED reach them (usually an EXISTS over their tenant rows).
    - `public`: what anonymous visitors may see (PUBLIC scope); absent = nothing.
    - `location`: for a partner key limited to some locations, which rows belong to them
      (added to TENANT); absent = none of the rows (a limited key reaches only what is
      anchored to its locations).
    """

    medspa: SQLColumnExpression[Any] | None
    provider: SQLColumnExpression[Any] | None = None
    own: ClauseFactory | None = None
    tenant: ClauseFactory | None = None
    assigned: ClauseFactory | None = None
    public: ColumnElement[bool] | None = None
    location: ClauseFactory | None = None


@dataclass(frozen=True)
class Resource:
    """A model as the object of actions: its audit name, the action whose scope makes a row
    visible at all, its anchor, and the anchors of actions that reach rows differently."""

    name: str
    read: Action
    anchor: Anchor
    targets: Mapping[Action, Anchor] = field(default_factory=dict)

    def anchor_for(self, action: Action) -> Anchor:
        return self.targets.get(action, self.anchor)


_RESOURCES: dict[type[Any], Resource] = {}


def register(
    model: type[Any],
    anchor: Anchor,
    *,
    read: Action,
    name: str | None = None,
    targets: Mapping[Action, Anchor] | None = None,
) -> Anchor:
    """Declare how `model`'s rows are reached; returns `anchor` for the module's own use."""
    _RESOURCES[model] = Resource(
        name=name or model.__name__, read=read, anchor=anchor, targets=dict(targets or {})
    )
    return anchor


def resource_of(model: type[Any]) -> Resource:
    """The registered resource of `model` (a programming error when it has none)."""
    try:
        return _RESOURCES[model]
    except KeyError:
        raise LookupError(f"{model.__name__} is not a registered resource") from None


def scope_clause(principal: Principal, action: Action, anchor: Anchor) -> ColumnElement[bool]:
    """The WHERE clause restricting `anchor`'s rows to what `principal` may `action`."""
    scope = principal.scope(action)
    if scope is None:
        return false()
    if scope is Scope.ANY:
        return true()
    if scope is Scope.TENANT:
        if anchor.tenant is not None:
            tenant = anchor.tenant(principal)
        else:
            tenant = _in(anchor.medspa, {principal.medspa_id} if principal.medspa_id else set())
        if principal.location_ids is None:
            return tenant
        if anchor.location is None:
            return false()
        return and_(tenant, anchor.location(principal))
    if scope is Scope.ASSIGNED:
        if anchor.assigned is not None:
            return anchor.assigned(principal)
        if anchor.provider is not None:
            return _in(anchor.provider, principal.assigned_provider_ids)
        return _in(anchor.medspa, principal.assigned_medspa_ids)
    if scope is Scope.OWN:
        if anchor.own is not None:
            return anchor.own(principal)
        if anchor.provider is not None and principal.provider_id is not None:
            return anchor.provider == principal.provider_id
        # OWN on a tenant-level row (e.g. the medspa itself) means "the one I work in".
        if anchor.provider is None and anchor.medspa is not None and principal.medspa_id:
            return anchor.medspa == principal.medspa_id
        return false()
    if scope is Scope.PUBLIC:
        return anchor.public if anchor.public is not None else false()
    raise AssertionError(f"unhandled scope {scope}")


def at_locations(column: SQLColumnExpression[Any]) -> ClauseFactory:
    """A `location` anchor: rows whose `column` names one of the principal's locations."""
    return lambda principal: _in(column, principal.location_ids or frozenset())


def everywhere(_principal: Principal) -> ColumnElement[bool]:
    """A `location` anchor for rows that belong to no location (the medspa itself)."""
    return true()


def _in(
    column: SQLColumnExpression[Any] | None, ids: set[uuid.UUID] | frozenset[uuid.UUID]
) -> ColumnElement[bool]:
    if column is None or not ids:
        return false()
    if len(ids) == 1:
        return column == next(iter(ids))
    return column.in_(sorted(ids))
