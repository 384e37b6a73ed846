"""The executor that runs compiled plans, and falls back to graphql-core for the rest.

`CompiledExecutor` is strawberry's graphql-core executor with the root of a query replaced by
the plan's run. The run mirrors graphql-core's algorithm step for step (the same points where
awaitables are gathered, the same error handling and null propagation through the inherited
`handle_field_error`, the same messages), so the response, errors included, is the one
graphql-core gives; what it saves is the per-field dispatch: reading a resolver-less field is
a `getattr` and a serializer call, with no resolve-info, no argument parsing and no type
inspection, and a field with a resolver gets its resolve-info and its arguments (computed once
per operation) only when it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    Undefined,
)
from graphql.execution.collect_fields import (
    DeferUsage,
    GroupedFieldSet,
    collect_subfields,
)
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel, inspect, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import convert_arguments

from api.execution.plan import Completion, FieldPlan, Kind, PlanCache, SelectionPlan, field_plans
from api.execution.rows import ObjectRead, RelationRead, RowPlan, compile_row_plan

_MISSING: Any = object()


class CompiledExecutor(StrawberryGraphQLCoreExecutionContext):
    """Runs a query's compiled plan; anything else as graphql-core does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Field arguments depend only on the document and the variables: once per operation.
        self._arguments: dict[int, dict[str, Any]] = {}
        # Errors met while building rows' objects (a related object with one is not shared).
        self._row_errors = 0

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[DeferUsage],
    ) -> Any:
        plan = None if serially else self._root_plan(root_type, grouped_field_set)
        if plan is None:
            return super().execute_collected_root_fields(
                root_type, root_value, grouped_field_set, serially, new_defer_usages
            )
        return self._execute_fields(plan, root_value, None)

    def _root_plan(
        self, root_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> SelectionPlan | None:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            return None  # resolver middleware wraps every field: leave it to graphql-core
        cached = PlanCache.of(self.schema).get(self.operation, self.fragment_definitions)
        if not cached.compilable:
            return None
        if cached.root is None:
            cached.root = field_plans(self.schema, root_type, grouped_field_set)
        return cached.root

    # -- selection sets ---------------------------------------------------------------------

    def _execute_fields(
        self, plan: SelectionPlan, source: Any, path: Path | None
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        type_name = plan.type.name
        try:
            for fp in plan.fields:
                name = fp.response_name
                if fp.leaf_attribute:
                    results[name] = self._read_leaf(fp, source, path, type_name)
                    continue
                result = self._execute_field(fp, source, Path(path, name, type_name))
                results[name] = result
                if is_awaitable(result):
                    awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                only = awaitable_fields[0]
                results[only] = await results[only]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _read_leaf(self, fp: FieldPlan, source: Any, path: Path | None, type_name: str) -> Any:
        """A resolver-less scalar or enum field: graphql-core's steps, inlined."""
        try:
            value = getattr(source, fp.attribute)  # type: ignore[arg-type]
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                if fp.non_null_leaf:
                    raise TypeError(f"Cannot return null for non-nullable field {fp.coordinate}.")
                return None
            coerced = fp.leaf_coerce(value)
            if coerced is Undefined or coerced is None:
                raise TypeError(_leaf_message(fp.leaf_type, value, coerced))
        except Exception as raw_error:
            self.handle_field_error(
                raw_error,
                fp.field_def.type,
                fp.field_details_list,
                Path(path, fp.response_name, type_name),
            )
            return None
        return coerced

    def _execute_field(self, fp: FieldPlan, source: Any, path: Path) -> Any:
        info: GraphQLResolveInfo[Any] | None = None
        try:
            if fp.attribute is not None:
                result = getattr(source, fp.attribute)
            elif fp.typename is not None:
                result = fp.typename
            else:
                if not fp.rows_decided:
                    self._decide_rows(fp)
                if fp.rows is not None:
                    return self._run_rows(fp, fp.rows, path)
                info = self._info(fp, path)
                if fp.direct is not None:
                    result = fp.direct(source, info)
                else:
                    arguments = self._arguments_of(fp) if fp.has_arguments else {}
                    result = fp.resolve(source, info, **arguments)
                if self.is_awaitable(result):
                    return self._complete_awaitable(fp, info, path, result)
            completed = self._complete(fp.completion, fp, info, path, result)
            if self.is_awaitable(completed):
                return self._await_completed(fp, path, completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, fp.field_def.type, fp.field_details_list, path)
            return None
        return completed

    async def _await_completed(self, fp: FieldPlan, path: Path, completed: Awaitable[Any]) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, fp.field_def.type, fp.field_details_list, path)
            return None

    async def _complete_awaitable(
        self, fp: FieldPlan, info: GraphQLResolveInfo[Any], path: Path, result: Awaitable[Any]
    ) -> Any:
        try:
            resolved = await self.with_abort_signal(result)
            completed = self._complete(fp.completion, fp, info, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, fp.field_def.type, fp.field_details_list, path)
            completed = None
        return completed

    def _info(self, fp: FieldPlan, path: Path) -> GraphQLResolveInfo[Any]:
        return self.build_resolve_info(fp.field_def, fp.nodes, fp.parent_type, path)

    def _arguments_of(self, fp: FieldPlan) -> dict[str, Any]:
        found = self._arguments.get(id(fp))
        if found is None:
            first = fp.field_details_list[0]
            found = self._arguments[id(fp)] = get_argument_values(
                fp.field_def,
                first.node,
                self.variable_values,
                first.fragment_variable_values,
                self.hide_suggestions,
            )
        return found

    # -- row plans --------------------------------------------------------------------------

    def _decide_rows(self, fp: FieldPlan) -> None:
        strawberry_schema = getattr(self.schema, "_strawberry_schema", None)
        definition = (fp.field_def.extensions or {}).get("strawberry-definition")
        fp.rows = None
        if (
            strawberry_schema is not None
            and definition is not None
            and not definition.extensions  # permission classes and other field extensions
            and not getattr(strawberry_schema.schema_converter, "_exception_handler_specs", ())
        ):

            def collect(object_type: GraphQLObjectType, details: Any) -> GroupedFieldSet:
                grouped, _defers, _forbidden = collect_subfields(
                    self.schema,
                    self.fragments,
                    self.variable_values,
                    self.operation,
                    object_type,
                    details,
                    self.hide_suggestions,
                )
                return grouped

            fp.rows = compile_row_plan(
                self.schema,
                fp.parent_type,
                fp.field_def,
                fp.field_name,
                fp.field_details_list,
                collect,
            )
        fp.rows_decided = True

    async def _run_rows(self, fp: FieldPlan, plan: RowPlan, path: Path) -> Any:
        """The row source's field: its fetch with strawberry's converted arguments, then the
        rows straight into response objects (graphql-core's error rules at every step)."""
        try:
            info = self._info(fp, path)
            strawberry_schema: Any = getattr(self.schema, "_strawberry_schema")  # noqa: B009
            definition = fp.field_def.extensions["strawberry-definition"]
            arguments = convert_arguments(
                self._arguments_of(fp) if fp.has_arguments else {},
                definition.arguments,
                scalar_registry=strawberry_schema.schema_converter.scalar_registry,
                config=strawberry_schema.config,
                info=strawberry_schema.config.info_class(_raw_info=info, _field=definition),
            )
            rows = await plan.source.fetch(info.context, plan.needs, **arguments)
            caches: dict[RelationRead, dict[Any, Any]] = {r: {} for r in plan.relations}
            completed: list[Any] = []
            append = completed.append
            build = plan.build
            for index, row in enumerate(rows):
                try:
                    append(build(row, caches))
                    continue
                except Exception:  # noqa: S110 - the careful way below answers it
                    pass
                item_path = Path(path, index, None)
                try:
                    append(self._row_object(plan.item, row, item_path, caches))
                except Exception as raw_error:
                    self.handle_field_error(
                        raw_error, plan.item_type, fp.field_details_list, item_path
                    )
                    append(None)
        except Exception as raw_error:
            self.handle_field_error(raw_error, fp.field_def.type, fp.field_details_list, path)
            return None
        return completed

    def _row_object(
        self,
        read: ObjectRead,
        row: Any,
        path: Path,
        caches: dict[RelationRead, dict[Any, Any]],
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        type_name = read.type_name
        for kind, name, r in read.keys:
            if kind == "leaf":
                value = row[r.index]
                try:
                    if value is None:
                        if r.non_null:
                            raise TypeError(
                                f"Cannot return null for non-nullable field {r.coordinate}."
                            )
                        result[name] = None
                        continue
                    if r.transform is not None:
                        value = r.transform(value)
                    coerced = r.coerce(value)
                    if coerced is Undefined or coerced is None:
                        raise TypeError(_leaf_message(r.leaf_type, value, coerced))
                except Exception as raw_error:
                    self._row_errors += 1
                    self.handle_field_error(
                        raw_error, r.type, r.details, Path(path, name, type_name)
                    )
                    coerced = None
                result[name] = coerced
            elif kind == "typename":
                result[name] = r
            else:
                result[name] = self._row_relation(r, row, path, type_name, caches)
        return result

    def _row_relation(
        self,
        read: RelationRead,
        row: Any,
        path: Path,
        type_name: str,
        caches: dict[RelationRead, dict[Any, Any]],
    ) -> Any:
        """A joined related row's object, built once per related row and shared."""
        cache = caches.get(read)
        if cache is None:
            cache = caches[read] = {}
        key = row[read.key_index]
        found = cache.get(key, _MISSING)
        if found is not _MISSING:
            return found
        if row[read.id_index] is None:  # absent or out of scope: null, as the loader answers
            cache[key] = None
            return None
        errors = self._row_errors
        relation_path = Path(path, read.response_name, type_name)
        try:
            built = self._row_object(read.plan, row, relation_path, caches)
        except Exception as raw_error:
            self._row_errors += 1
            self.handle_field_error(raw_error, read.type, read.details, relation_path)
            return None
        if self._row_errors == errors:  # an object with errors is built (and located) anew
            cache[key] = built
        return built

    # -- value completion -------------------------------------------------------------------

    def _complete(
        self,
        completion: Completion,
        fp: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Any,
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        kind = completion.kind
        if kind is Kind.NON_NULL:
            completed = self._complete(completion.of, fp, info, path, result)  # type: ignore[arg-type]
            if completed is None:
                raise TypeError(f"Cannot return null for non-nullable field {fp.coordinate}.")
            return completed
        if result is None or result is Undefined:
            return None
        if kind is Kind.LEAF:
            coerced = completion.coerce(result)
            if coerced is Undefined or coerced is None:
                raise TypeError(_leaf_message(completion.type, result, coerced))
            return coerced
        if kind is Kind.LIST:
            return self._complete_list(completion, fp, info, path, result)
        if kind is Kind.OBJECT:
            return self._complete_object(completion.type, fp, info, path, result)  # type: ignore[arg-type]
        return self._complete_abstract(completion, fp, info, path, result)

    def _complete_list(
        self,
        completion: Completion,
        fp: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Any,
    ) -> Any:
        if self.is_async_iterable(result):
            # Rare (async generators as list values): graphql-core's own way.
            return self.complete_list_value(
                completion.type,  # type: ignore[arg-type]
                fp.field_details_list,
                info or self._info(fp, path),
                path,
                result,
                None,
            )
        if not is_iterable(result):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{fp.parent_type}.{fp.field_name}'."
            )
        item_completion: Completion = completion.of  # type: ignore[assignment]
        item_type = item_completion.type
        inner = item_completion.of if item_completion.kind is Kind.NON_NULL else item_completion
        if info is None and inner is not None and inner.kind is not Kind.LEAF:
            # Objects in the list may need the field's resolve-info (is_type_of, an abstract
            # type's resolve_type): build it once for the list, as graphql-core passes its one.
            info = self._info(fp, path)
        is_awaitable = self.is_awaitable
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        items: Iterable[Any] = result
        try:
            for index, item in enumerate(items):
                item_path = Path(path, index, None)
                if is_awaitable(item):
                    append(
                        self._complete_awaitable_item(item_completion, fp, info, item_path, item)
                    )
                    awaitable_indices.append(index)
                    continue
                try:
                    completed = self._complete(item_completion, fp, info, item_path, item)
                    if is_awaitable(completed):
                        append(self._await_item(item_type, fp, item_path, completed))
                        awaitable_indices.append(index)
                    else:
                        append(completed)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, fp.field_details_list, item_path)
                    append(None)
        except Exception:
            pending = [completed_results[i] for i in awaitable_indices]
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                only = awaitable_indices[0]
                completed_results[only] = await completed_results[only]
            else:
                awaited = await gather_with_cancel(
                    *(completed_results[i] for i in awaitable_indices)
                )
                for i, value in zip(awaitable_indices, awaited, strict=True):
                    completed_results[i] = value
            return completed_results

        return get_completed_results()

    async def _await_item(
        self, item_type: Any, fp: FieldPlan, item_path: Path, completed: Awaitable[Any]
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, fp.field_details_list, item_path)
            return None

    async def _complete_awaitable_item(
        self,
        completion: Completion,
        fp: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        item_path: Path,
        item: Awaitable[Any],
    ) -> Any:
        try:
            resolved = await self.with_abort_signal(item)
            completed = self._complete(completion, fp, info, item_path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, completion.type, fp.field_details_list, item_path)
            return None
        return completed

    def _complete_object(
        self,
        object_type: GraphQLObjectType,
        fp: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Any,
    ) -> Any:
        if object_type.is_type_of:
            is_type_of = object_type.is_type_of(result, info or self._info(fp, path))
            if self.is_awaitable(is_type_of):

                async def execute_subfields_async() -> Any:
                    if not await self.with_abort_signal(is_type_of):
                        raise invalid_return_type_error(object_type, result, fp.field_details_list)
                    fields = self._execute_fields(self._child(fp, object_type), result, path)
                    return await fields if self.is_awaitable(fields) else fields

                return execute_subfields_async()
            if not is_type_of:
                raise invalid_return_type_error(object_type, result, fp.field_details_list)
        return self._execute_fields(self._child(fp, object_type), result, path)

    def _complete_abstract(
        self,
        completion: Completion,
        fp: FieldPlan,
        info: GraphQLResolveInfo[Any] | None,
        path: Path,
        result: Any,
    ) -> Any:
        abstract_type: Any = completion.type
        info = info or self._info(fp, path)
        resolve_type = abstract_type.resolve_type or self.type_resolver
        runtime_type = resolve_type(result, info, abstract_type)
        if self.is_awaitable(runtime_type):

            async def await_complete_object_value() -> Any:
                object_type = self.ensure_valid_runtime_type(
                    await self.with_abort_signal(runtime_type),
                    abstract_type,
                    fp.field_details_list,
                    info,
                    result,
                )
                value = self._complete_object(object_type, fp, info, path, result)
                return await value if self.is_awaitable(value) else value

            return await_complete_object_value()
        object_type = self.ensure_valid_runtime_type(
            runtime_type, abstract_type, fp.field_details_list, info, result
        )
        return self._complete_object(object_type, fp, info, path, result)

    def _child(self, fp: FieldPlan, object_type: GraphQLObjectType) -> SelectionPlan:
        child = fp.children.get(object_type.name)
        if child is None:
            grouped, _defers, _forbidden = collect_subfields(
                self.schema,
                self.fragments,
                self.variable_values,
                self.operation,
                object_type,
                fp.field_details_list,
                self.hide_suggestions,
            )
            child = fp.children[object_type.name] = field_plans(self.schema, object_type, grouped)
        return child


def _leaf_message(leaf_type: Any, result: Any, coerced: Any) -> str:
    return (
        f"Expected `{inspect(leaf_type)}.coerce_output_value("
        f"{inspect(result)})` to return non-nullable value, returned:"
        f" {inspect(coerced)}"
    )
