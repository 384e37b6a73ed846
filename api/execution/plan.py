"""Execution plans: what to do for each field of a document, decided once per document.

A `SelectionPlan` is one selection set on one concrete object type: its `FieldPlan`s in
response order. A `FieldPlan` knows how the value is read (a plain attribute for strawberry's
resolver-less fields, the type name for `__typename`, else the field's resolver), and how it
is completed (`Completion`: non-null check, list, leaf serializer, object or abstract type with
its child plans, compiled on first use per runtime type).

Plans are cached per schema by the document's text and operation name (`PlanCache`), bounded.
"""

from __future__ import annotations

import enum
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from strawberry.types.field import StrawberryField

# The documents whose plans a process keeps, per schema (least recently used go first).
PLAN_CACHE_SIZE = 512


class Kind(enum.Enum):
    NON_NULL = "non_null"
    LIST = "list"
    LEAF = "leaf"
    OBJECT = "object"
    ABSTRACT = "abstract"


@dataclass(eq=False)
class Completion:
    """How a value of one output type becomes its response value."""

    kind: Kind
    type: GraphQLOutputType
    of: Completion | None = None  # NON_NULL and LIST: the inner type's completion
    # LEAF: the type's output coercion (strawberry's serializer or the enum's).
    coerce: Any = None


def completion_of(type_: GraphQLOutputType) -> Completion:
    if is_non_null_type(type_):
        assert isinstance(type_, GraphQLNonNull)
        return Completion(Kind.NON_NULL, type_, completion_of(type_.of_type))
    if is_list_type(type_):
        assert isinstance(type_, GraphQLList)
        return Completion(Kind.LIST, type_, completion_of(type_.of_type))
    if is_leaf_type(type_):
        assert isinstance(type_, GraphQLLeafType)
        return Completion(Kind.LEAF, type_, coerce=type_.coerce_output_value)
    if is_abstract_type(type_):
        return Completion(Kind.ABSTRACT, type_)
    assert is_object_type(type_), type_
    return Completion(Kind.OBJECT, type_)


@dataclass(eq=False)
class FieldPlan:
    """One response key of a selection set."""

    response_name: str
    field_name: str
    parent_type: GraphQLObjectType
    field_def: GraphQLField
    field_details_list: FieldDetailsList
    nodes: list[FieldNode]
    completion: Completion
    # How the value is read: `attribute` for strawberry's resolver-less fields (what its
    # default resolver does: getattr), `typename` for `__typename`, else `resolve`.
    attribute: str | None
    typename: str | None
    resolve: Any
    # `direct(source, info)`: the resolver itself, without strawberry's per-call wrapper,
    # for the fields where that wrapper has nothing to do (see `_direct_call`).
    direct: Callable[[Any, GraphQLResolveInfo[Any]], Any] | None
    has_arguments: bool
    # "Type.field", for graphql-core's non-null error message.
    coordinate: str
    # A leaf read from an attribute: the executor's inlined fast path.
    leaf_attribute: bool = False
    non_null_leaf: bool = False
    leaf_coerce: Any = None
    leaf_type: Any = None
    # Child plans per runtime object type, compiled on first use.
    children: dict[str, SelectionPlan] = field(default_factory=dict)
    # A row source's plan (`rows.RowPlan`), decided on first use: None when the field is no
    # row source or its selection needs resolvers.
    rows: Any = None
    rows_decided: bool = False


@dataclass(eq=False)
class SelectionPlan:
    type: GraphQLObjectType
    fields: list[FieldPlan]


def field_plans(
    schema: GraphQLSchema, parent_type: GraphQLObjectType, grouped: GroupedFieldSet
) -> SelectionPlan:
    plans = []
    for response_name, details in grouped.items():
        node = details[0].node
        name = node.name.value
        field_def = schema.get_field(parent_type, name)
        if field_def is None:  # graphql-core skips unknown fields too (validation forbids them)
            continue
        plans.append(_field_plan(schema, parent_type, response_name, name, field_def, details))
    return SelectionPlan(parent_type, plans)


def _field_plan(
    schema: GraphQLSchema,
    parent_type: GraphQLObjectType,
    response_name: str,
    name: str,
    field_def: GraphQLField,
    details: FieldDetailsList,
) -> FieldPlan:
    attribute = typename = None
    resolve = field_def.resolve
    strawberry_field = (field_def.extensions or {}).get("strawberry-definition")
    if name == "__typename":
        typename = parent_type.name
    elif (
        resolve is not None
        and getattr(resolve, "__name__", "") == "_get_basic_result"
        and strawberry_field is not None
        and strawberry_field.is_basic_field
        and getattr(strawberry_field.default_resolver, "__name__", "") == "getattr"
    ):
        # Strawberry's resolver for a field without one is `getattr(source, python_name)`.
        attribute = strawberry_field.python_name
    direct = None
    if attribute is None and typename is None:
        direct = _direct_call(schema, strawberry_field)
    completion = completion_of(field_def.type)
    plan = FieldPlan(
        response_name=response_name,
        field_name=name,
        parent_type=parent_type,
        field_def=field_def,
        field_details_list=details,
        nodes=[d.node for d in details],
        completion=completion,
        attribute=attribute,
        typename=typename,
        resolve=resolve,
        direct=direct,
        has_arguments=bool(field_def.args or details[0].node.arguments),
        coordinate=f"{parent_type.name}.{name}",
    )
    leaf = completion.of if completion.kind is Kind.NON_NULL else completion
    if attribute is not None and leaf is not None and leaf.kind is Kind.LEAF:
        plan.leaf_attribute = True
        plan.non_null_leaf = completion.kind is Kind.NON_NULL
        plan.leaf_coerce = leaf.coerce
        plan.leaf_type = leaf.type
    return plan


def _direct_call(
    schema: GraphQLSchema, field: StrawberryField | None
) -> Callable[[Any, GraphQLResolveInfo[Any]], Any] | None:
    """The field's resolver as a plain call, when strawberry's wrapper around it would only
    pass `self`/`root`/`parent` and `info`: no GraphQL arguments to convert, no field
    extensions (permission classes are extensions), no exception handlers in the schema."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if field is None or strawberry_schema is None:
        return None
    resolver = field.base_resolver
    if resolver is None or field.arguments or field.extensions:
        return None
    if getattr(strawberry_schema.schema_converter, "_exception_handler_specs", ()):
        return None
    function = resolver.wrapped_func
    if not callable(function):  # an unbound descriptor: leave it to strawberry
        return None
    info_class = strawberry_schema.config.info_class
    by_self = resolver.self_parameter is not None
    source_names = [p.name for p in (resolver.root_parameter, resolver.parent_parameter) if p]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None

    def direct(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        kwargs = dict.fromkeys(source_names, source)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return function(source, **kwargs) if by_self else function(**kwargs)

    return direct


class _Unsupported(Visitor):
    """Finds what the plan leaves to graphql-core: directives and introspection."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, *_args: Any) -> Any:
        self.found = True
        return self.BREAK

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        if node.name.value in ("__schema", "__type"):
            self.found = True
            return self.BREAK
        return None


def is_compilable(
    operation: OperationDefinitionNode, fragments: Iterable[FragmentDefinitionNode]
) -> bool:
    if operation.operation is not OperationType.QUERY:
        return False
    finder = _Unsupported()
    for node in (operation, *fragments):
        visit(node, finder)
        if finder.found:
            return False
    return True


@dataclass
class DocumentPlan:
    """A document's verdict and, when compilable, its root plan (filled on first run)."""

    compilable: bool
    root: SelectionPlan | None = None


class PlanCache:
    """Per schema: the plans of the documents seen, by text and operation name, bounded."""

    _by_schema: weakref.WeakKeyDictionary[GraphQLSchema, PlanCache] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self._plans: OrderedDict[tuple[str, str | None], DocumentPlan] = OrderedDict()

    @classmethod
    def of(cls, schema: GraphQLSchema) -> PlanCache:
        cache = cls._by_schema.get(schema)
        if cache is None:
            cache = cls._by_schema[schema] = cls()
        return cache

    def get(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> DocumentPlan:
        # The operation's location points into the whole document's source text.
        source = operation.loc.source.body if operation.loc is not None else None
        if source is None:  # a document built in code: judge it afresh, keep nothing
            return DocumentPlan(is_compilable(operation, fragments.values()))
        key = (source, operation.name.value if operation.name else None)
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found
        found = self._plans[key] = DocumentPlan(is_compilable(operation, fragments.values()))
        while len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return found

    def __len__(self) -> int:
        return len(self._plans)

    def documents(self) -> list[tuple[str, str | None]]:
        return list(self._plans)


__all__ = [
    "Completion",
    "DocumentPlan",
    "FieldPlan",
    "Kind",
    "PlanCache",
    "SelectionPlan",
    "field_plans",
]
