"""The compiled executor answers exactly what graphql-core answers, errors included (issue 12).

Three sources of documents, each run through both executors:
- a small schema built here whose resolvers fail, return nulls, wrong types and awaitables at
  every position (sync and async, in lists, behind non-null types, abstract types), so null
  propagation and error paths are compared where they are hard;
- every GraphQL query document written in the test suite (string literals that parse and
  validate against the API's schema), plus `documents/` when present, with variables filled
  from the demo data, through HTTP as several callers;
- hypothesis-generated documents over the API's schema (random fields, arguments, aliases,
  fragments, `__typename`), as random callers.

Both executors run over the same app (same authentication, context, masking); the baseline is
strawberry's graphql-core executor. A document whose baseline answer differs between two runs
(it reads what the previous run wrote, e.g. the audit trail) cannot be compared and is set
aside; the test requires that most documents are comparable.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from graphql import (
    ArgumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    ObjectFieldNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableNode,
    get_named_type,
    is_leaf_type,
    parse,
    type_from_ast,
    validate,
)
from graphql.language import visit
from graphql.language.visitor import Visitor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.app import Services, create_app
from api.execution import CompiledExecutor
from api.execution.plan import PlanCache
from api.execution.rows import (
    ROW_SOURCES,
    ROW_TYPES,
    Needs,
    RowRelation,
    RowSource,
    RowType,
    readable_columns,
)
from api.ids import encode_global_id
from api.schema.schema import build_schema
from api.settings import PROJECT_ROOT
from db.seed.demo import DemoIds
from tests.conftest import TEST_SETTINGS, token_for

# -- 1. a schema that fails everywhere ---------------------------------------------------------


class Boom(Exception):
    pass


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    name: str
    size: int | None = None

    @strawberry.field
    def fails(self) -> str | None:
        raise Boom(f"leaf {self.name} fails")

    @strawberry.field
    def required_fails(self) -> str:
        raise Boom(f"leaf {self.name} must fail")

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()

    @strawberry.field
    async def later_null(self) -> str:
        await asyncio.sleep(0)
        return None  # type: ignore[return-value]  # a broken resolver, on purpose

    @strawberry.field
    def wrong_type(self) -> int:
        return "not a number"  # type: ignore[return-value]  # a broken resolver, on purpose


@strawberry.type
class Other(Named):
    name: str
    weight: float = 1.5


@strawberry.type
class Tree:
    label: str

    @strawberry.field
    def leaves(self, count: int = 3) -> list[Leaf]:
        return [Leaf(name=f"{self.label}{i}", size=i if i % 2 else None) for i in range(count)]

    @strawberry.field
    async def async_leaves(self) -> list[Leaf | None]:
        return [Leaf(name="a"), None, Leaf(name="b")]

    @strawberry.field
    def awaitable_items(self) -> list[Leaf]:
        async def one(i: int) -> Leaf:
            await asyncio.sleep(0)
            if i == 1:
                raise Boom("item 1 fails")
            return Leaf(name=f"w{i}")

        return [one(i) for i in range(3)]  # type: ignore[misc]  # awaitable items, on purpose

    @strawberry.field
    def strict_leaves(self) -> list[Leaf]:
        return [Leaf(name="s0"), None, Leaf(name="s2")]  # type: ignore[list-item]

    @strawberry.field
    def named(self) -> list[Named]:
        return [Leaf(name="l"), Other(name="o")]

    @strawberry.field
    def not_a_list(self) -> list[str]:
        return 42  # type: ignore[return-value]

    @strawberry.field
    def kind(self, upper: bool = False) -> str:
        return "TREE" if upper else "tree"


@strawberry.type
class SyntheticQuery:
    @strawberry.field
    def tree(self, label: str = "t") -> Tree:
        return Tree(label=label)

    @strawberry.field
    def missing_tree(self) -> Tree:
        return None  # type: ignore[return-value]

    @strawberry.field
    async def async_tree(self) -> Tree | None:
        return Tree(label="async")

    @strawberry.field
    def context_value(self, info: strawberry.Info) -> str:
        return str(info.context["who"])


SYNTHETIC = [
    "{ tree { label kind leaves { name size __typename } } }",
    '{ tree(label: "x") { a: leaves(count: 2) { name } b: leaves(count: 4) { name size } } }',
    "{ tree { leaves { name fails } } }",
    "{ tree { leaves { name requiredFails } } }",
    "{ tree { label leaves { later laterNull } } }",
    "{ tree { leaves { wrongType } } }",
    "{ tree { asyncLeaves { name later } awaitableItems { name } } }",
    "{ tree { strictLeaves { name } } }",
    "{ tree { notAList } label: __typename }",
    "{ missingTree { label } tree { label } }",
    "{ asyncTree { label leaves(count: 1) { later } } contextValue }",
    "{ tree { named { __typename name ... on Leaf { size later } ... on Other { weight } } } }",
    "query($n: Int!, $u: Boolean) { tree { leaves(count: $n) { name } kind(upper: $u) } }",
    "fragment L on Leaf { name size } { tree { leaves { ...L later } } }",
    '{ tree { leaves { name } } t2: tree(label: "y") { leaves(count: 1) { requiredFails } } }',
    "{ tree { leaves @include(if: false) { name } label } }",
    "{ __schema { queryType { name } } }",
]


@pytest.fixture(scope="module")
def synthetic() -> tuple[strawberry.Schema, strawberry.Schema]:
    baseline = strawberry.Schema(query=SyntheticQuery, types=[Leaf, Other])
    compiled = strawberry.Schema(
        query=SyntheticQuery, types=[Leaf, Other], execution_context_class=CompiledExecutor
    )
    return baseline, compiled


def formatted(result: Any) -> dict[str, Any]:
    return {
        "data": result.data,
        "errors": [e.formatted for e in result.errors or []],
    }


@pytest.mark.parametrize("query", SYNTHETIC)
async def test_synthetic_documents_answer_alike(
    synthetic: tuple[strawberry.Schema, strawberry.Schema], query: str
) -> None:
    baseline, compiled = synthetic
    variables = {"n": 2, "u": True}
    context = {"who": "someone"}
    expected = formatted(await baseline.execute(query, variables, context_value=context))
    got = formatted(await compiled.execute(query, variables, context_value=context))
    assert got == expected
    # The second run hits the plan cache: still the same answer.
    again = formatted(await compiled.execute(query, variables, context_value=context))
    assert again == expected


async def test_synthetic_errors_are_located_and_nulls_propagate(
    synthetic: tuple[strawberry.Schema, strawberry.Schema],
) -> None:
    """Not only alike: right, by the spec (a failing non-null field nulls its nearest
    nullable parent; the error carries the path through the list index)."""
    _baseline, compiled = synthetic
    result = await compiled.execute(
        "{ tree { label } asyncTree { leaves(count: 2) { requiredFails } } }"
    )
    assert result.data == {"tree": {"label": "t"}, "asyncTree": None}
    paths = sorted(tuple(e.path or ()) for e in result.errors or [])
    assert paths == [("asyncTree", "leaves", 0, "requiredFails")]
    assert result.errors is not None and result.errors[0].locations is not None


async def test_what_the_plan_does_not_cover_runs_on_graphql_core(
    synthetic: tuple[strawberry.Schema, strawberry.Schema],
) -> None:
    _baseline, compiled = synthetic
    introspection = await compiled.execute("{ __schema { queryType { name } } }")
    assert introspection.data == {"__schema": {"queryType": {"name": "SyntheticQuery"}}}
    skipped = await compiled.execute("{ tree { label @skip(if: true) kind } }")
    assert skipped.data == {"tree": {"kind": "tree"}}


async def test_the_plan_cache_is_bounded(
    synthetic: tuple[strawberry.Schema, strawberry.Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client sending ever new documents cannot grow a process's plans without bound."""
    _baseline, compiled = synthetic
    monkeypatch.setattr("api.execution.plan.PLAN_CACHE_SIZE", 4)
    for count in range(12):
        result = await compiled.execute(f'{{ tree(label: "t{count}") {{ label }} }}')
        assert result.data == {"tree": {"label": f"t{count}"}}
    cache = PlanCache.of(compiled._schema)
    assert len(cache) == 4
    # The most recent documents are the ones kept.
    assert {key[0] for key in cache.documents()} == {
        f'{{ tree(label: "t{count}") {{ label }} }}' for count in range(8, 12)
    }


# -- 2 and 3. the API's own documents ----------------------------------------------------------

API_SCHEMA: GraphQLSchema = build_schema(TEST_SETTINGS)._schema
REQUEST_ID = "compiled-execution-test"
TOO_MANY_REQUESTS = 429
CALLERS = (
    "dana@glow.example",
    "nina@glow.example",
    "ops@portrait.example",
    "vera@portrait.example",
    "lena@legacy.example",
    None,  # anonymous
)


def _string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value
    ]


def collected_documents() -> list[str]:
    """Every query document of the test suite (and `documents/`), valid against the schema."""
    texts: list[str] = []
    for path in sorted((PROJECT_ROOT / "tests").rglob("*.py")):
        texts.extend(_string_literals(path))
    documents_dir = PROJECT_ROOT / "documents"
    if documents_dir.is_dir():
        texts.extend(p.read_text() for p in sorted(documents_dir.rglob("*.graphql")))
    found: dict[str, None] = {}
    for text in texts:
        try:
            document = parse(text)
        except GraphQLError:
            continue
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
            continue
        if validate(API_SCHEMA, document):
            continue
        found[text] = None
    return list(found)


@dataclass
class Ids:
    """Real global ids of the demo data, by GraphQL type name."""

    by_type: dict[str, list[str]]

    def pick(self, hint: str, index: int = 0) -> str:
        hint = hint.lower()
        for type_name in (
            "AppointmentType",
            "Provider",
            "Location",
            "Medspa",
            "User",
            "Pcc",
            "Service",
        ):
            if type_name.lower() in hint.replace("_", ""):
                options = self.by_type[type_name]
                return options[index % len(options)]
        options = self.by_type["Provider"]
        return options[index % len(options)]


def demo_ids(demo: DemoIds) -> Ids:
    return Ids(
        {
            "Provider": [encode_global_id("Provider", i) for i in demo.providers.values()],
            "Location": [encode_global_id("Location", i) for i in demo.locations.values()],
            "Medspa": [encode_global_id("Medspa", i) for i in demo.medspas.values()],
            "User": [encode_global_id("User", i) for i in demo.users.values()],
            "Pcc": [encode_global_id("Pcc", i) for i in demo.pccs.values()],
            "AppointmentType": [
                encode_global_id("AppointmentType", i)
                for types in demo.appointment_types.values()
                for i in types.values()
            ],
            "Service": [
                encode_global_id("Service", i)
                for services in demo.services.values()
                for i in services.values()
            ],
        }
    )


def _week() -> tuple[datetime, datetime]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=7)


def value_for(type_: GraphQLInputType, hint: str, ids: Ids, index: int = 0) -> Any:
    """A plausible value of an input type; `hint` is the argument or field it feeds."""
    if isinstance(type_, GraphQLNonNull):
        return value_for(type_.of_type, hint, ids, index)
    if isinstance(type_, GraphQLList):
        return [value_for(type_.of_type, hint, ids, index)]
    if isinstance(type_, GraphQLEnumType):
        return list(type_.values)[index % len(type_.values)]
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: value_for(field.type, name, ids, index)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(type_, GraphQLScalarType)
    start, end = _week()
    lowered = hint.lower()
    return {
        "ID": lambda: ids.pick(hint, index),
        "String": lambda: "glow",
        "Int": lambda: (10, 2, 0)[index % 3],
        "Float": lambda: 1.0,
        "Boolean": lambda: index % 2 == 0,
        "DateTime": lambda: (
            end if lowered in ("to", "t", "end", "until") or lowered.endswith("to") else start
        ).isoformat(),
        "Date": lambda: start.date().isoformat(),
    }.get(type_.name, lambda: "glow")()


class _VariableUses(Visitor):
    """What each variable feeds: the argument or input field it is the value of."""

    def __init__(self) -> None:
        super().__init__()
        self.uses: dict[str, str] = {}

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        if isinstance(node.value, VariableNode):
            self.uses.setdefault(node.value.name.value, node.name.value)

    def enter_object_field(self, node: ObjectFieldNode, *_args: Any) -> None:
        if isinstance(node.value, VariableNode):
            self.uses.setdefault(node.value.name.value, node.name.value)


def variables_for(text: str, ids: Ids, index: int) -> dict[str, Any]:
    document = parse(text)
    uses = _VariableUses()
    visit(document, uses)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        type_ = type_from_ast(API_SCHEMA, definition.type)
        if isinstance(type_, GraphQLNonNull) or definition.default_value is None:
            hint = uses.uses.get(name, name)
            values[name] = value_for(type_, hint, ids, index)  # type: ignore[arg-type]
    return values


Post = Callable[[str, dict[str, Any], str | None], Awaitable[tuple[int, Any]]]


@dataclass
class Executors:
    baseline: Post
    compiled: Post

    async def compare(self, query: str, variables: dict[str, Any], bearer: str | None) -> bool:
        """True when compared; False when the document's answer is not reproducible."""
        first = await self.baseline(query, variables, bearer)
        got = await self.compiled(query, variables, bearer)
        second = await self.baseline(query, variables, bearer)
        if first != second or TOO_MANY_REQUESTS in (first[0], got[0]):
            # Not reproducible, or refused by a caller's budget before execution (each app
            # keeps its own, and the baseline runs twice as often): nothing to compare.
            return False
        assert got == first, query
        return True


@pytest.fixture
async def executors(
    services: Services, demo: DemoIds, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Executors]:
    compiled_app = create_app(TEST_SETTINGS, services=services)
    # The same app on a schema of its own that executes with strawberry's graphql-core
    # executor (applications otherwise share one schema per settings).
    baseline_schema = build_schema(TEST_SETTINGS)
    baseline_schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    with monkeypatch.context() as patch:
        patch.setattr("api.app._schema", lambda _settings: baseline_schema)
        baseline_app = create_app(TEST_SETTINGS, services=services)

    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=baseline_app), base_url="http://b"
        ) as b,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=compiled_app), base_url="http://c"
        ) as c,
    ):

        def poster(http: httpx.AsyncClient) -> Post:
            async def post(
                query: str, variables: dict[str, Any], bearer: str | None
            ) -> tuple[int, Any]:
                headers = {"X-Request-Id": REQUEST_ID}
                if bearer:
                    headers["Authorization"] = f"Bearer {bearer}"
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                body = response.json()
                # The caller's budget moves with every request: not part of the answer.
                cost = (body.get("extensions") or {}).get("cost") or {}
                cost.pop("remaining", None)
                cost.pop("resetSeconds", None)
                return response.status_code, body

            return post

        # Each app runs the executor it should: count the compiled executor's runs.
        runs: list[int] = []
        original = CompiledExecutor.execute_collected_root_fields

        def counted(self: CompiledExecutor, *args: Any) -> Any:
            runs.append(1)
            return original(self, *args)

        with monkeypatch.context() as patch:
            patch.setattr(CompiledExecutor, "execute_collected_root_fields", counted)
            await poster(b)("{ __typename }", {}, None)
            assert runs == []
            await poster(c)("{ __typename }", {}, None)
            assert runs == [1]
        yield Executors(poster(b), poster(c))


def _bearer(demo: DemoIds, who: str | None) -> str | None:
    return token_for(demo, who) if who else None


async def test_every_query_of_the_test_suite_answers_alike(
    executors: Executors, demo: DemoIds
) -> None:
    documents = collected_documents()
    assert len(documents) >= 50, "the suite's documents were not found"
    ids = demo_ids(demo)
    compared = 0
    for index, text in enumerate(documents):
        # Two callers per document, rotating, so every caller meets every kind of document.
        for who in (CALLERS[index % len(CALLERS)], CALLERS[(index + 3) % len(CALLERS)]):
            variables = variables_for(text, ids, index)
            compared += await executors.compare(text, variables, _bearer(demo, who))
    assert compared >= 1.5 * len(documents), (compared, len(documents))


# Hypothesis: random documents over the API's schema.


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and value.isupper() and value.replace("_", "").isalpha():
        return value  # an enum value
    return '"' + str(value).replace('"', '\\"') + '"'


def _arguments(draw: st.DrawFn, field: Any, ids: Ids) -> str | None:
    """Literal arguments: every required one, and now and then an optional one."""
    parts = []
    for name, arg in field.args.items():
        required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        if not required and not draw(st.booleans()):
            continue
        index = draw(st.integers(min_value=0, max_value=5))
        try:
            value = value_for(arg.type, name, ids, index)
        except AssertionError:
            if required:
                return None
            continue
        parts.append(f"{name}: {_literal(value)}")
    return "(" + ", ".join(parts) + ")" if parts else ""


def _selection(draw: st.DrawFn, type_: Any, ids: Ids, depth: int) -> str:
    if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
        possible = API_SCHEMA.get_possible_types(type_)
        chosen = draw(st.lists(st.sampled_from(possible), min_size=1, max_size=2, unique=True))
        inner = " ".join(f"... on {t.name} {{ {_selection(draw, t, ids, depth)} }}" for t in chosen)
        return f"__typename {inner}"
    assert isinstance(type_, GraphQLObjectType)
    names = sorted(type_.fields)
    if depth >= 3:  # deep enough: leaves only
        names = [n for n in names if is_leaf_type(get_named_type(type_.fields[n].type))]
    # One root field at a time: a failing non-null root field would null its siblings too.
    chosen = (
        draw(
            st.lists(
                st.sampled_from(names), min_size=1, max_size=1 if depth == 0 else 4, unique=True
            )
        )
        if names
        else []
    )
    parts = []
    for name in chosen:
        field = type_.fields[name]
        arguments = _arguments(draw, field, ids)
        if arguments is None:
            continue
        # Aliases unique in the document: two never conflict across inline fragments.
        alias = f"a{next(ALIASES)}: " if draw(st.integers(0, 4)) == 0 else ""
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(f"{alias}{name}{arguments}")
        else:
            parts.append(
                f"{alias}{name}{arguments} {{ {_selection(draw, named, ids, depth + 1)} }}"
            )
    if not parts or draw(st.integers(0, 5)) == 0:
        parts.append("__typename")
    return " ".join(parts)


ALIASES = itertools.count()


@st.composite
def api_documents(draw: st.DrawFn, ids: Ids) -> str:
    return "{ " + _selection(draw, API_SCHEMA.query_type, ids, 0) + " }"


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_documents_answer_alike(
    executors: Executors, demo: DemoIds, data: st.DataObject
) -> None:
    ids = demo_ids(demo)
    document = data.draw(api_documents(ids), label="document")
    who = data.draw(st.sampled_from(CALLERS), label="caller")
    await executors.compare(document, {}, _bearer(demo, who))


# -- 4. row plans: the calendar answered from plain rows --------------------------------------


def _row_fields(type_name: str) -> str:
    """Every field of a row type that a row plan reads from a column."""
    object_type = API_SCHEMA.get_type(type_name)
    assert isinstance(object_type, GraphQLObjectType)
    names = ["id", *readable_columns(object_type, ROW_TYPES[type_name])]
    return " ".join(dict.fromkeys(names))


def _calendar_documents() -> list[tuple[str, bool]]:
    """(document, answered from rows) pairs over the calendar."""
    every = (
        f"{_row_fields('Appointment')}"
        f" provider {{ {_row_fields('Provider')} }} location {{ {_row_fields('Location')} }}"
        f" patient {{ {_row_fields('Patient')} }}"
        f" appointmentType {{ {_row_fields('AppointmentType')} }}"
    )
    week = "(from: $f, to: $t)"
    head = "query($f: DateTime!, $t: DateTime!)"
    return [
        (f"{head} {{ calendar{week} {{ {every} }} }}", True),
        (f"{head} {{ calendar{week} {{ id startsAt }} }}", True),
        (
            f"{head} {{ c: calendar{week} {{ __typename when: startsAt"
            " p: patient { __typename firstName } q: patient { id email }"
            " ...F provider { id } } }"
            " fragment F on Appointment { status provider { displayName } }",
            True,
        ),
        (
            f"{head} {{ calendar(from: $f, to: $t, statuses: [BOOKED, CONFIRMED]) {{ id status"
            " provider { displayName } } viewer { kind } }",
            True,
        ),
        (
            f"{head} {{ calendar(from: $t, to: $f) {{ id patient {{ firstName }} }} }}",
            True,
        ),
        (
            f'{head} {{ calendar(from: $f, to: $t, providerIds: ["nope"]) {{ id }} }}',
            True,
        ),
        # A field with a resolver below the list: the calendar's resolver answers.
        (f"{head} {{ calendar{week} {{ id patient {{ fullName }} }} }}", False),
        (f"{head} {{ calendar{week} {{ id clearanceStatus }} }}", False),
    ]


async def test_the_calendar_answers_from_rows_alike(
    executors: Executors, demo: DemoIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, end = _week()
    runs: list[int] = []
    original = CompiledExecutor._run_rows

    def counted(self: CompiledExecutor, *args: Any) -> Any:
        runs.append(1)
        return original(self, *args)

    monkeypatch.setattr(CompiledExecutor, "_run_rows", counted)
    compared = 0
    for document, from_rows in _calendar_documents():
        for who in CALLERS:
            variables = {"f": start.isoformat(), "t": end.isoformat()}
            before = len(runs)
            compared += await executors.compare(document, variables, _bearer(demo, who))
            # The compiled app ran once: from rows, or through the resolvers.
            assert len(runs) - before == (1 if from_rows else 0), (document, who)
    assert compared >= len(_calendar_documents()) * len(CALLERS) - 2


async def test_a_row_plan_selects_only_what_the_document_reads(
    executors: Executors, demo: DemoIds, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, end = _week()
    seen: list[Needs] = []
    source = ROW_SOURCES[("Query", "calendar")]

    async def fetch(ctx: Any, needs: Needs, **arguments: Any) -> Any:
        seen.append(needs)
        return await source.fetch(ctx, needs, **arguments)

    monkeypatch.setitem(ROW_SOURCES, ("Query", "calendar"), RowSource(source.item_type, fetch))
    # Plans compiled by earlier tests hold the registered source: start from no plans.
    monkeypatch.setattr(PlanCache, "_by_schema", weakref.WeakKeyDictionary())
    status, body = await executors.compiled(
        "query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) {"
        " startsAt provider { displayName } } }",
        {"f": start.isoformat(), "t": end.isoformat()},
        _bearer(demo, "dana@glow.example"),
    )
    assert status == 200 and body["data"]["calendar"], body
    assert seen == [Needs(("starts_at", "provider_id"), {"provider": ("id", "display_name")})]


# Row plans where rows break the types: the careful builder, graphql-core's error rules.


class _RowBase(DeclarativeBase):
    pass


class _ThingRow(_RowBase):
    __tablename__ = "row_plan_thing"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str | None]
    size: Mapped[int | None]
    other_id: Mapped[uuid.UUID]


class _OtherRow(_RowBase):
    __tablename__ = "row_plan_other"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    label: Mapped[str | None]


OTHERS = {
    uuid.UUID(int=10): {"id": uuid.UUID(int=10), "label": "fine"},
    uuid.UUID(int=11): {"id": uuid.UUID(int=11), "label": None},  # breaks a non-null label
    # uuid.UUID(int=12): out of scope (absent)
}
THINGS = [
    {"id": uuid.UUID(int=1), "name": "a", "size": 1, "other_id": uuid.UUID(int=10)},
    {"id": uuid.UUID(int=2), "name": None, "size": 2, "other_id": uuid.UUID(int=11)},
    {"id": uuid.UUID(int=3), "name": "c", "size": "big", "other_id": uuid.UUID(int=12)},
    {"id": uuid.UUID(int=4), "name": "d", "size": None, "other_id": uuid.UUID(int=11)},
    {"id": uuid.UUID(int=5), "name": "e", "size": 5, "other_id": uuid.UUID(int=10)},
]


@strawberry.type(name="RowOther")
class RowOther:
    id: strawberry.ID
    label: str


@strawberry.type(name="RowThing")
class RowThing:
    id: strawberry.ID
    name: str
    size: int | None
    other_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    def other(self) -> RowOther | None:
        found = OTHERS.get(self.other_id)
        if found is None:
            return None
        return RowOther(id=encode_global_id("RowOther", found["id"]), label=found["label"])


def _things() -> list[RowThing]:
    return [
        RowThing(
            id=encode_global_id("RowThing", t["id"]),
            name=t["name"],
            size=t["size"],
            other_id=t["other_id"],
        )
        for t in THINGS
    ]


@strawberry.type
class RowQuery:
    @strawberry.field
    async def things(self) -> list[RowThing | None]:
        return _things()

    @strawberry.field
    async def strict_things(self) -> list[RowThing] | None:
        return _things()


async def _thing_rows(_ctx: Any, needs: Needs) -> list[list[Any]]:
    rows = []
    for thing in THINGS:
        row = [thing[c] for c in needs.columns]
        other = OTHERS.get(thing["other_id"])
        for columns in needs.relations.values():
            row.extend(other[c] if other else None for c in columns)
        rows.append(row)
    return rows


ROW_DOCUMENTS = [
    "{ things { id name size other { id label } } }",
    "{ things { name o: other { __typename id } p: other { label } } }",
    "{ strictThings { id size other { id } } }",
    "{ strictThings { id other { label } } things { __typename id } }",
    "{ things { id other { id } } }",  # no row breaks this one: the fast builder alone
]


@pytest.mark.parametrize("query", ROW_DOCUMENTS)
async def test_row_plans_break_as_resolvers_do(query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        ROW_TYPES,
        "RowThing",
        RowType(_ThingRow, {"other": RowRelation("RowOther", "other", "other_id")}),
    )
    monkeypatch.setitem(ROW_TYPES, "RowOther", RowType(_OtherRow))
    for field_name in ("things", "strictThings"):
        monkeypatch.setitem(
            ROW_SOURCES, ("RowQuery", field_name), RowSource("RowThing", _thing_rows)
        )
    baseline = strawberry.Schema(query=RowQuery)
    compiled = strawberry.Schema(query=RowQuery, execution_context_class=CompiledExecutor)
    runs: list[int] = []
    original = CompiledExecutor._run_rows

    def counted(self: CompiledExecutor, *args: Any) -> Any:
        runs.append(1)
        return original(self, *args)

    monkeypatch.setattr(CompiledExecutor, "_run_rows", counted)
    expected = formatted(await baseline.execute(query))
    got = formatted(await compiled.execute(query))
    assert runs, "the row plan did not run"
    assert got == expected
    assert formatted(await compiled.execute(query)) == expected  # the cached plan


class _Allow(strawberry.BasePermission):
    message = "never refused"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return True


@strawberry.type(name="GuardedThing")
class GuardedThing:
    id: strawberry.ID
    name: str
    other_id: strawberry.Private[uuid.UUID]

    @strawberry.field(permission_classes=[_Allow])
    def other(self) -> RowOther | None:
        return None


@strawberry.type
class GuardedQuery:
    @strawberry.field
    async def guarded(self) -> list[GuardedThing]:
        return []


async def test_a_relation_with_a_permission_class_runs_its_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        ROW_TYPES,
        "GuardedThing",
        RowType(_ThingRow, {"other": RowRelation("RowOther", "other", "other_id")}),
    )
    monkeypatch.setitem(ROW_TYPES, "RowOther", RowType(_OtherRow))
    monkeypatch.setitem(
        ROW_SOURCES, ("GuardedQuery", "guarded"), RowSource("GuardedThing", _thing_rows)
    )
    compiled = strawberry.Schema(query=GuardedQuery, execution_context_class=CompiledExecutor)
    runs: list[int] = []
    original = CompiledExecutor._run_rows

    def counted(self: CompiledExecutor, *args: Any) -> Any:
        runs.append(1)
        return original(self, *args)

    monkeypatch.setattr(CompiledExecutor, "_run_rows", counted)
    assert (await compiled.execute("{ guarded { id other { id } } }")).data == {"guarded": []}
    assert runs == []  # the permission class is the resolver's to run
    answered = await compiled.execute("{ guarded { id } }")
    assert answered.errors is None and len(answered.data["guarded"]) == len(THINGS)  # type: ignore[index]
    assert runs == [1]  # without the guarded field, the rows answer
