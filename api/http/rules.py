"""Bounded validation: the document's shape limits, computed with each fragment once.

A fragment spread twice by each of 31 fragments expands to 2^31 selections; a validator that
re-walks every spread (as the depth limiter we replaced did) never finishes. Here each
fragment's summary (depth below it, aliases, directives, spreads, top-level response keys) is
computed once and reused at every spread, so the work is linear in the document's size while
the limits still apply to the *expanded* operation, which is what execution would walk.

The limits (Settings, README "Limits"): selection depth; aliases, directives and fragment
spreads in the expanded operation; directives on one location; how often one response key
may be selected in one selection set (graphql-core's overlap check is quadratic in that); and
fragment cycles. These run before graphql-core's specified rules, which only see documents
that passed them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

from api.errors import ErrorCode

LIMIT_CODE = ErrorCode.QUERY_TOO_COMPLEX.value


@dataclass(frozen=True, slots=True)
class ShapeLimits:
    max_depth: int
    max_aliases: int
    max_directives: int
    max_directives_per_location: int
    max_repeated_fields: int
    max_fragment_spreads: int


@dataclass(slots=True)
class _Summary:
    """What a selection set contributes to the expanded operation."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0
    spreads: int = 0
    keys: Counter[str] = field(default_factory=Counter)


@dataclass
class ShapeCheck:
    """One pass over a document; `work` counts the steps taken (for the work-budget test)."""

    document: DocumentNode
    limits: ShapeLimits
    errors: list[GraphQLError] = field(default_factory=list)
    work: int = 0
    _fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    _done: dict[str, _Summary] = field(default_factory=dict)
    _visiting: set[str] = field(default_factory=set)
    _reported: set[str] = field(default_factory=set)

    def run(self) -> list[GraphQLError]:
        for definition in self.document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self._fragments.setdefault(definition.name.value, definition)
        for definition in self.document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                self._operation(definition)
            elif isinstance(definition, FragmentDefinitionNode):
                self._fragment(definition.name.value)
            if self.errors:
                break
        return self.errors

    def _operation(self, operation: OperationDefinitionNode) -> None:
        directives = self._directives(operation)
        for variable in operation.variable_definitions or ():
            directives += self._directives(variable)
        summary = self._selection_set(operation.selection_set)
        name = f"Operation '{operation.name.value}'" if operation.name else "The operation"
        limits = self.limits
        directives += summary.directives
        checks = (
            (summary.depth, limits.max_depth, "is nested {n} levels deep; at most {m}"),
            (summary.aliases, limits.max_aliases, "uses {n} aliases; at most {m}"),
            (directives, limits.max_directives, "uses {n} directives; at most {m}"),
            (summary.spreads, limits.max_fragment_spreads, "expands {n} spreads; at most {m}"),
        )
        for value, maximum, template in checks:
            if value > maximum:
                message = template.format(n=_count(value), m=maximum)
                self._error(f"{name} {message}.", operation)

    def _fragment(self, name: str) -> _Summary:
        done = self._done.get(name)
        if done is not None:
            return done
        definition = self._fragments.get(name)
        if definition is None:  # unknown fragment: graphql-core's rules report it
            return _Summary()
        if name in self._visiting:
            if name not in self._reported:
                self._reported.add(name)
                self._error(f"Fragment '{name}' spreads itself.", definition)
            return _Summary()
        self._visiting.add(name)
        summary = self._selection_set(definition.selection_set)
        summary.directives += self._directives(definition)
        self._visiting.discard(name)
        self._done[name] = summary
        return summary

    def _selection_set(self, selection_set: SelectionSetNode) -> _Summary:
        total = _Summary()
        for selection in selection_set.selections:
            self.work += 1
            if self.errors:
                return total
            directives = self._directives(selection)
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                total.keys[key] += 1
                total.aliases += selection.alias is not None
                total.directives += directives
                if selection.selection_set is not None:
                    child = self._selection_set(selection.selection_set)
                    total.depth = max(total.depth, child.depth + 1)
                    total.aliases += child.aliases
                    total.directives += child.directives
                    total.spreads += child.spreads
                else:
                    total.depth = max(total.depth, 1)
            else:
                if isinstance(selection, FragmentSpreadNode):
                    inner = self._fragment(selection.name.value)
                    total.spreads += 1 + inner.spreads
                else:
                    assert isinstance(selection, InlineFragmentNode)
                    inner = self._selection_set(selection.selection_set)
                    total.spreads += inner.spreads
                total.depth = max(total.depth, inner.depth)
                total.aliases += inner.aliases
                total.directives += directives + inner.directives
                self.work += len(inner.keys)
                total.keys.update(inner.keys)
        self.work += len(total.keys)
        key, times = total.keys.most_common(1)[0] if total.keys else ("", 0)
        if times > self.limits.max_repeated_fields:
            self._error(
                f"'{key}' is selected {_count(times)} times in one selection set;"
                f" at most {self.limits.max_repeated_fields}.",
                selection_set,
            )
        return total

    def _directives(self, node: Node) -> int:
        directives = getattr(node, "directives", None) or ()
        if len(directives) > self.limits.max_directives_per_location:
            self._error(
                f"{len(directives)} directives on one location;"
                f" at most {self.limits.max_directives_per_location}.",
                node,
            )
        return len(directives)

    def _error(self, message: str, node: Node) -> None:
        self.errors.append(GraphQLError(message, node, extensions={"code": LIMIT_CODE}))


def _count(value: int) -> str:
    return str(value) if value < 10**6 else "over a million"


def check_shape(document: DocumentNode, limits: ShapeLimits) -> list[GraphQLError]:
    """The limit errors of `document` (empty when it is within every limit)."""
    return ShapeCheck(document, limits).run()
