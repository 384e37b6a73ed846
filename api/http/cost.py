"""Static cost of an operation, before it runs (DESIGN §6.10; README "Cost").

Every field costs 1. A field that returns many things multiplies the cost of what is
selected under it: a connection (`...Connection`) or list by its `first` argument (at most
the page-size cap of 100), or by the default page size (50) when `first` is absent; a
windowed list (`calendar`, `availableSlots`) by the days of its `from`/`to` window times an
estimate per day; `nodes(ids:)` by the number of ids; any other list by a fixed estimate. A
mutation's root field adds a fixed charge for the write. Each fragment is costed once and
multiplied at its spreads, so costing is linear in the document.

The requested cost is charged to the caller's budget before execution; the actual cost is the
same count over the response (each field present in `data`, lists by their real length).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

PAGE_CAP = 100  # api.resolvers.pagination.MAX_PAGE_SIZE: a connection never returns more
PAGE_DEFAULT = 50  # api.resolvers.pagination.DEFAULT_PAGE_SIZE: what an absent `first` returns
LIST_ESTIMATE = 20  # a plain list with no size argument (a location's providers, ...)
MUTATION_COST = 10  # the write itself, beyond the fields of its payload
MAX_WINDOW_DAYS = 62  # the calendar's own cap (api.resolvers.scheduling.MAX_RANGE)
# Windowed lists: rows per day of the window.
PER_DAY = {"calendar": 25, "availableSlots": 40}


@dataclass
class _Costing:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    _memo: dict[str, int] = field(default_factory=dict)
    _visiting: set[str] = field(default_factory=set)

    def selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, inner or parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        if name in self._memo:
            return self._memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self._visiting:  # validation refuses both
            return 0
        self._visiting.add(name)
        parent = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection_set(definition.selection_set, parent) if parent else 0
        self._visiting.discard(name)
        self._memo[name] = cost
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        fields: dict[str, GraphQLField] = getattr(parent, "fields", {})
        definition = fields.get(name)
        if definition is None or node.selection_set is None:
            return 1
        child_type = get_named_type(definition.type)
        children = self.selection_set(node.selection_set, child_type)
        if parent.name.endswith("Connection"):  # `edges`: the connection field multiplied
            return 1 + children
        return 1 + self.multiplier(node, definition) * children

    def multiplier(self, node: FieldNode, definition: GraphQLField) -> int:
        name = node.name.value
        returns = get_nullable_type(definition.type)
        is_connection = get_named_type(returns).name.endswith("Connection")
        if not is_connection and not isinstance(returns, GraphQLList):
            return 1
        arguments = {a.name.value: a.value for a in node.arguments or ()}
        if name in PER_DAY:
            return PER_DAY[name] * self._window_days(arguments.get("from"), arguments.get("to"))
        if "first" in definition.args:
            first = self._value(arguments.get("first"))
            if isinstance(first, int) and not isinstance(first, bool):
                return max(0, min(first, PAGE_CAP))
            return PAGE_DEFAULT
        if "ids" in definition.args:
            ids = self._value(arguments.get("ids"))
            return len(ids) if isinstance(ids, list) else PAGE_CAP
        if is_connection:
            return PAGE_CAP
        return LIST_ESTIMATE

    def _window_days(self, start: ValueNode | None, end: ValueNode | None) -> int:
        try:
            since = datetime.fromisoformat(str(self._value(start)))
            until = datetime.fromisoformat(str(self._value(end)))
            days = math.ceil((until - since).total_seconds() / 86_400)
        except (TypeError, ValueError):
            return MAX_WINDOW_DAYS
        return max(1, min(days, MAX_WINDOW_DAYS))

    def _value(self, node: ValueNode | None) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, StringValueNode):
            return node.value
        if isinstance(node, ListValueNode):
            return list(node.values)
        return None


def operation_cost(
    schema: GraphQLSchema,
    *,
    fragments: dict[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
) -> int:
    """The requested cost of `operation` with these (already checked) variable values."""
    root: GraphQLObjectType | None = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        name = definition.variable.name.value
        if name not in values and isinstance(default, IntValueNode | StringValueNode):
            values[name] = (
                int(default.value) if isinstance(default, IntValueNode) else default.value
            )
    costing = _Costing(schema, fragments, values)
    cost = costing.selection_set(operation.selection_set, root)
    if operation.operation is OperationType.MUTATION:
        cost += MUTATION_COST * sum(
            1 for s in operation.selection_set.selections if isinstance(s, FieldNode)
        )
    return cost


def actual_cost(data: Any) -> int:
    """Fields present in the response, each counted once per occurrence."""
    count = 0
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            count += len(value) - ("__typename" in value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return count
