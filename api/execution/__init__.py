"""Compiled execution of validated GraphQL documents (issue 12).

graphql-core walks every field of every object through the same generic machinery: it looks
the field up, builds a resolve-info, decides how to complete the value from its type, and does
it again for the next of 300 appointments. `CompiledExecutor` does that work once per document
(`plan.py`: per selection set, its fields, how each value is read, its serializer and its child
plan, cached by the document's text) and then runs the plan over the resolved values
(`executor.py`), building the response dict directly. Fields with resolvers still run through
the same strawberry resolvers with the same context; errors are located, masked and propagated
to the nearest nullable parent by graphql-core's own `handle_field_error`, so the answer is the
one graphql-core would give (a property test compares both executors, errors included).

What the plan does not cover runs on graphql-core unchanged: mutations (serial execution),
subscriptions, introspection, documents with any directive (@skip/@include with variables,
@defer/@stream), and schemas with resolver middleware.
"""

from api.execution.executor import CompiledExecutor

__all__ = ["CompiledExecutor"]
