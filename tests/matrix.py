"""The role matrix: its callers, their kinds, and the runtime guard that every root field and
mutation is tried by every kind of caller (issue 10 §1).

A matrix test is parametrised over `ALL_CALLERS` and looks its expectation up in a
hand-written table keyed by caller (`table(...)` builds one and refuses a table that forgets a
caller). While the suite runs, the test client records which kind of caller sent which root
field (`MatrixRecord.note`); at the end of a whole-suite run `missing_pairs` lists every
field x kind pair nobody tried and the session fails with that list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

OK = "ok"
T = TypeVar("T")

PARTNER_SCOPES = ("APPOINTMENTS_READ", "APPOINTMENTS_WRITE", "PATIENTS_READ", "CATALOG_READ")

# Every caller a matrix test tries. Glow is the "own" tenant of the matrix: tests aim at Glow's
# rows (and Radiance's), so Radiance's and Legacy's people are the other tenant.
CALLER_KINDS: dict[str, str] = {
    "ops@portrait.example": "platform admin",
    "maria@portrait.example": "PCC manager",
    "vera@portrait.example": "virtual PCC",
    "dean@portrait.example": "designated PCC",
    "cody@portrait.example": "other tenant",  # virtual PCC of Legacy's providers
    "sam@portrait.example": "other tenant",  # virtual PCC with no assignment, not covering
    "covering": "covering PCC",  # Sam inside a window covering Vera's (Glow's) providers
    "dana@glow.example": "medspa admin (admin dashboard)",
    "dana@glow.example:PROVIDER": "medspa admin (provider dashboard)",
    "nina@glow.example": "provider",
    "omar@glow.example": "provider",
    "ruth@radiance.example": "other tenant",
    "lee@radiance.example": "other tenant",
    "lena@legacy.example": "other tenant",
    "kim@legacy.example": "other tenant",
    "masquerade": "masquerade session",  # Dana as Nina
    "api_key": "partner key (every scope)",
    **{f"api_key:{scope}": f"partner key ({scope})" for scope in PARTNER_SCOPES},
    "anonymous": "anonymous",
}

ALL_CALLERS: tuple[str, ...] = tuple(CALLER_KINDS)

# The kinds the guard demands for every root field and mutation (issue 10 §1).
MATRIX_KINDS: frozenset[str] = frozenset(CALLER_KINDS.values())


def expect(rows: Mapping[str, T], *, default: T | None = None) -> dict[str, T]:
    """A matrix table: every caller's expected answer (`OK` or an error code).

    Callers missing from `rows` take `default`; without a default a missing caller is a
    mistake in the table, not a silent denial. Unknown callers are refused either way.
    """
    merged = dict(rows)
    unknown = sorted(set(merged) - set(ALL_CALLERS))
    if unknown:
        raise ValueError(f"matrix table names unknown callers: {unknown}")
    if default is None:
        missing = sorted(set(ALL_CALLERS) - set(merged))
        if missing:
            raise ValueError(f"matrix table has no row for callers: {missing}")
        return dict(merged)
    return {who: merged.get(who, default) for who in ALL_CALLERS}


def root_fields(document: str, operation_name: str | None = None) -> list[tuple[str, str]]:
    """(operation type, root field name) pairs a document's executed operation selects."""
    try:
        parsed: DocumentNode = parse(document)
    except GraphQLError:
        return []
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return []
    operation = operations[0]
    kind = operation.operation.value
    found: list[tuple[str, str]] = []

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    found.append((kind, selection.name.value))
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    walk(fragment.selection_set)

    walk(operation.selection_set)
    return found


@dataclass
class MatrixRecord:
    """What the run tried: (operation type, root field, caller kind) triples."""

    seen: set[tuple[str, str, str]] = field(default_factory=set)
    # Bearer tokens handed out by the fixtures, by the caller name they stand for.
    bearers: dict[str, str] = field(default_factory=dict)

    def register(self, bearer: str, caller: str) -> None:
        self.bearers[bearer] = caller

    def caller_of(self, bearer: str | None) -> str | None:
        if bearer is None:
            return "anonymous"
        return self.bearers.get(bearer)

    def note(
        self,
        *,
        document: str,
        operation_name: str | None,
        caller: str | None,
        executed: bool,
    ) -> None:
        """Record a request that reached execution, sent by a known caller."""
        kind = CALLER_KINDS.get(caller or "")
        if kind is None or not executed:
            return
        for operation, name in root_fields(document, operation_name):
            self.seen.add((operation, name, kind))

    def merge(self, triples: Iterable[Iterable[str]]) -> None:
        for operation, name, kind in triples:
            self.seen.add((operation, name, kind))


MATRIX_RECORD = MatrixRecord()


def missing_pairs(
    fields: Iterable[tuple[str, str]],
    seen: Iterable[tuple[str, str, str]],
    kinds: Iterable[str] = MATRIX_KINDS,
) -> list[str]:
    """Every `operation field x caller kind` that no request of the run tried, sorted."""
    tried = {(operation, name, kind) for operation, name, kind in seen}
    return sorted(
        f"{operation} {name} x {kind}"
        for operation, name in fields
        for kind in kinds
        if (operation, name, kind) not in tried
    )


def schema_root_fields() -> list[tuple[str, str]]:
    """Every root query field and mutation of the served schema."""
    from graphql import build_schema as from_sdl

    from api.schema.schema import build_schema
    from api.settings import Settings

    graphql_schema = from_sdl(build_schema(Settings(MEDSPA_ENV="test")).as_str())  # type: ignore[call-arg]
    found: list[tuple[str, str]] = []
    for operation, root in (
        ("query", graphql_schema.query_type),
        ("mutation", graphql_schema.mutation_type),
    ):
        if root is not None:
            found.extend((operation, name) for name in root.fields)
    return found


def guard_message(missing: list[str]) -> str:
    return (
        f"{len(missing)} root field x caller kind pairs were never tried by a matrix test"
        " (add the field to a matrix parametrised over ALL_CALLERS, with its expectations):\n  "
        + "\n  ".join(missing)
    )
