"""Row plans: lists answered from plain rows, with no resolver per field (issue 12).

A field registered as a row source (`row_source`) returns a list of one object type whose
fields are columns of one table, and relations to other tables' rows joined in the same
statement. When every field a document selects under it is such a column (or `__typename`),
or such a relation whose own fields are all columns, the executor compiles a `RowPlan` for it:
the columns to select (only those), and per response key the position of its value in the
row, its transform (a node's global id) and the type's output coercion. Running it is one
call of the source's fetch with the field's arguments, converted as strawberry converts them,
and a loop over the rows building the response dicts. No ORM objects, no strawberry objects,
no resolve-info, no resolver call per field; each related row's response object is built once
and shared by the rows that name it. The answer, errors included, is the one the resolvers
give (tests/core/test_compiled_execution.py runs both).

A type's row-readable fields are derived from its strawberry definition: the fields without a
resolver whose Python name is a column of the type's model (the `from_row` convention: the
object copies its row's columns), plus a `Node`'s `id` (the row's id as a global id).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy
from graphql import (
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet

from api.ids import encode_global_id


@dataclass(frozen=True)
class RowRelation:
    """A field of a row type answered by another table's row joined to it."""

    type_name: str  # the related GraphQL object type (a registered row type)
    key: str  # the source's name for the relation (what its fetch joins)
    foreign_key: str  # this row's column holding the related row's id


@dataclass(frozen=True)
class RowType:
    model: Any  # the ORM class: only its table's columns are read
    relations: dict[str, RowRelation] = field(default_factory=dict)  # by GraphQL field name
    node: bool = True  # `id` is the row's id as a global id of the type


@dataclass(frozen=True)
class Needs:
    """What a row plan reads: the item table's columns and, per joined relation, its
    columns (the related row's `id` first: null when absent or out of scope)."""

    columns: tuple[str, ...]
    relations: dict[str, tuple[str, ...]]


# fetch(ctx, needs, **arguments) -> rows: the `needs.columns` values in order, then each
# relation's columns in `needs.relations` order. Rows are in response order. Only the first
# row naming a related row needs to carry it: later ones may carry nulls in its columns.
RowFetch = Callable[..., Awaitable[Sequence[Sequence[Any]]]]


@dataclass(frozen=True)
class RowSource:
    item_type: str
    fetch: RowFetch


ROW_TYPES: dict[str, RowType] = {}
ROW_SOURCES: dict[tuple[str, str], RowSource] = {}


def row_type(type_name: str, model: Any, relations: dict[str, RowRelation] | None = None) -> None:
    ROW_TYPES[type_name] = RowType(model, relations or {})


def row_source(parent_type: str, field_name: str, item_type: str, fetch: RowFetch) -> None:
    ROW_SOURCES[(parent_type, field_name)] = RowSource(item_type, fetch)


# -- plans -------------------------------------------------------------------------------------


@dataclass(eq=False)
class LeafRead:
    response_name: str
    index: int  # position in the row
    transform: Callable[[Any], Any] | None  # the global id of a node's `id`
    coerce: Callable[[Any], Any]
    non_null: bool
    type: GraphQLOutputType  # the field's type (for error handling)
    leaf_type: Any
    coordinate: str
    details: FieldDetailsList
    ref: Any = None  # the column's name before positions are assigned


@dataclass(eq=False)
class ObjectRead:
    """One selection set on a row type: its keys in response order."""

    type_name: str
    # ("leaf", LeafRead) | ("typename", name) | ("relation", RelationRead)
    keys: list[tuple[str, str, Any]]
    leaves_only: bool


@dataclass(eq=False)
class RelationRead:
    response_name: str
    key_index: int  # the foreign key's position in the row
    id_index: int  # the related row's id position (null: no related row)
    key: str
    plan: ObjectRead
    type: GraphQLOutputType
    details: FieldDetailsList


@dataclass(eq=False)
class RowPlan:
    source: RowSource
    needs: Needs
    item: ObjectRead
    item_type: GraphQLOutputType  # the list's item type
    list_type: GraphQLOutputType  # the field's type
    relations: list[RelationRead]  # every relation read: one cache of built objects each
    # build(row, caches) -> the item's response object; raises on anything but the plain
    # case (a null in a non-null column, a value its type refuses), and the executor then
    # builds that row again the careful way, with graphql-core's error rules.
    build: Callable[[Any, dict[RelationRead, dict[Any, Any]]], dict[str, Any]]


Collect = Callable[[GraphQLObjectType, FieldDetailsList], GroupedFieldSet]


def readable_columns(object_type: GraphQLObjectType, row: RowType) -> dict[str, str]:
    """GraphQL field name -> column, for the type's resolver-less fields that copy a column."""
    columns = set(sqlalchemy.inspect(row.model).columns.keys())
    found: dict[str, str] = {}
    for name, field_def in object_type.fields.items():
        definition = (field_def.extensions or {}).get("strawberry-definition")
        if definition is None or not definition.is_basic_field:
            continue
        if getattr(definition.default_resolver, "__name__", "") != "getattr":
            continue
        if not is_leaf_type(_named(field_def.type)):
            continue
        python_name = definition.python_name
        if python_name in columns:
            found[name] = python_name
    return found


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


class _Layout:
    """Assigns row positions: item columns first, then each relation's."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.relations: dict[str, list[str]] = {}

    def column(self, name: str) -> int:
        if name not in self.columns:
            self.columns.append(name)
        return self.columns.index(name)

    def relation_column(self, key: str, name: str) -> tuple[str, str]:
        columns = self.relations.setdefault(key, ["id"])
        if name not in columns:
            columns.append(name)
        return key, name

    def position(self, ref: tuple[str, str] | int) -> int:
        if isinstance(ref, int):
            return ref
        key, name = ref
        offset = len(self.columns)
        for relation, columns in self.relations.items():
            if relation == key:
                return offset + columns.index(name)
            offset += len(columns)
        raise KeyError(ref)


def compile_row_plan(
    schema: GraphQLSchema,
    parent_type: GraphQLObjectType,
    field_def: GraphQLField,
    field_name: str,
    details: FieldDetailsList,
    collect: Collect,
) -> RowPlan | None:
    """The field's row plan, or None when it is no row source or the selection reaches a
    field that needs its resolver."""
    source = ROW_SOURCES.get((parent_type.name, field_name))
    if source is None:
        return None
    list_type: Any = field_def.type
    inner = list_type.of_type if is_non_null_type(list_type) else list_type
    if not is_list_type(inner):
        return None
    item_type = inner.of_type
    object_type = _named(item_type)
    if not is_object_type(object_type) or object_type.name != source.item_type:
        return None
    if is_list_type(item_type.of_type if is_non_null_type(item_type) else item_type):
        return None  # a list of lists
    layout = _Layout()
    item = _object_read(schema, object_type, collect(object_type, details), layout, collect, 0)
    if item is None:
        return None
    _resolve_positions(item, layout)
    needs = Needs(tuple(layout.columns), {k: tuple(v) for k, v in layout.relations.items()})
    relations = [read for kind, _n, read in item.keys if kind == "relation"]
    return RowPlan(source, needs, item, item_type, list_type, relations, _builder(item))


def _object_read(
    schema: GraphQLSchema,
    object_type: GraphQLObjectType,
    grouped: GroupedFieldSet,
    layout: _Layout,
    collect: Collect,
    depth: int,
    relation: str | None = None,
) -> ObjectRead | None:
    row = ROW_TYPES.get(object_type.name)
    if row is None:
        return None
    readable = readable_columns(object_type, row)
    keys: list[tuple[str, str, Any]] = []
    leaves_only = True
    for response_name, details in grouped.items():
        name = details[0].node.name.value
        if name == "__typename":
            keys.append(("typename", response_name, object_type.name))
            continue
        field_def = schema.get_field(object_type, name)
        if field_def is None:
            continue  # as graphql-core: validation forbids unknown fields
        column = "id" if name == "id" and row.node else readable.get(name)
        if column is not None:
            ref: Any = (
                layout.column(column)
                if relation is None
                else layout.relation_column(relation, column)
            )
            named = _named(field_def.type)
            transform = None
            if name == "id" and row.node:
                type_name = object_type.name

                def transform(value: Any, type_name: str = type_name) -> str:
                    return encode_global_id(type_name, value)

            keys.append(
                (
                    "leaf",
                    response_name,
                    LeafRead(
                        response_name=response_name,
                        index=ref if isinstance(ref, int) else -1,
                        transform=transform,
                        coerce=named.coerce_output_value,
                        non_null=is_non_null_type(field_def.type),
                        type=field_def.type,
                        leaf_type=named,
                        coordinate=f"{object_type.name}.{name}",
                        details=details,
                        ref=ref,
                    ),
                )
            )
            continue
        link = row.relations.get(name)
        if link is None or depth > 0 or relation is not None:
            return None  # a field with a resolver, or a relation of a relation
        if is_non_null_type(field_def.type) or field_def.args:
            return None
        definition = (field_def.extensions or {}).get("strawberry-definition")
        if definition is None or definition.extensions:
            return None  # permission classes and other field extensions run with resolvers
        target = field_def.type
        if not is_object_type(target) or target.name != link.type_name:
            return None
        fk = layout.column(link.foreign_key)
        layout.relation_column(link.key, "id")
        child = _object_read(
            schema, target, collect(target, details), layout, collect, depth + 1, link.key
        )
        if child is None:
            return None
        leaves_only = False
        read = RelationRead(
            response_name=response_name,
            key_index=fk,
            id_index=-1,
            key=link.key,
            plan=child,
            type=field_def.type,
            details=details,
        )
        keys.append(("relation", response_name, read))
    return ObjectRead(object_type.name, keys, leaves_only)


def _resolve_positions(plan: ObjectRead, layout: _Layout) -> None:
    for kind, _name, read in plan.keys:
        if kind == "leaf":
            read.index = layout.position(read.ref)
        elif kind == "relation":
            read.id_index = layout.position((read.key, "id"))
            _resolve_positions(read.plan, layout)


class _NotPlain(Exception):
    """The fast builder met what only the careful one answers exactly."""


_STRINGS = (GraphQLString.coerce_output_value, GraphQLID.coerce_output_value)


def _builder(item: ObjectRead) -> Callable[[Any, dict[Any, Any]], dict[str, Any]]:
    """The item's builder as Python source compiled once per plan: a dict display per object,
    each value read at its position (strings as they are: what their serializer returns)."""
    env: dict[str, Any] = {"MISSING": _MISSING, "Undefined": Undefined, "NotPlain": _NotPlain}
    functions: list[str] = []

    def bind(value: Any) -> str:
        name = f"v{len(env)}"
        env[name] = value
        return name

    def function(read: ObjectRead) -> str:
        name = f"build{len(functions)}"
        functions.append("")  # reserve the slot: relations add theirs after
        slot = len(functions) - 1
        body = ["    result = {}"]
        for kind, response_name, r in read.keys:
            key = repr(response_name)
            if kind == "typename":
                body.append(f"    result[{key}] = {r!r}")
            elif kind == "leaf":
                body.append(f"    value = row[{r.index}]")
                body.append("    if value is None:")
                body.append(
                    "        raise NotPlain" if r.non_null else f"        result[{key}] = None"
                )
                body.append("    else:")
                if r.transform is not None:
                    body.append(f"        value = {bind(r.transform)}(value)")
                coerce = bind(r.coerce)
                if r.coerce in _STRINGS:
                    body.append(
                        f"        coerced = value if type(value) is str else {coerce}(value)"
                    )
                else:
                    body.append(f"        coerced = {coerce}(value)")
                body.append("        if coerced is None or coerced is Undefined:")
                body.append("            raise NotPlain")
                body.append(f"        result[{key}] = coerced")
            else:
                child = function(r.plan)
                body.append(f"    cache = caches[{bind(r)}]")
                body.append(f"    found = cache.get(row[{r.key_index}], MISSING)")
                body.append("    if found is MISSING:")
                body.append(
                    f"        found = None if row[{r.id_index}] is None else {child}(row, caches)"
                )
                body.append(f"        cache[row[{r.key_index}]] = found")
                body.append(f"    result[{key}] = found")
        body.append("    return result")
        functions[slot] = f"def {name}(row, caches):\n" + "\n".join(body)
        return name

    entry = function(item)
    exec(compile("\n\n".join(functions), "<row plan>", "exec"), env)  # noqa: S102 - our code
    built: Callable[[Any, dict[Any, Any]], dict[str, Any]] = env[entry]
    return built


_MISSING: Any = object()


__all__ = [
    "ROW_SOURCES",
    "ROW_TYPES",
    "LeafRead",
    "Needs",
    "ObjectRead",
    "RelationRead",
    "RowPlan",
    "RowRelation",
    "RowSource",
    "compile_row_plan",
    "row_source",
    "row_type",
]
