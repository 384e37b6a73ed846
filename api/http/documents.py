"""Parse and validate, bounded and cached by the document's hash.

The token limit is enforced by the lexer before any tree is built; then the shape limits
(`rules.py`, linear in the document) run, and only then graphql-core's specified rules. The
outcome, good or bad, is cached under the SHA-256 of the text, so a client repeating a
document pays for it once. Trusted documents (`documents/`, DESIGN §6.11) are loaded into the
same cache at start and looked up by their `sha256:<hex>` id.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import (
    ASTValidationRule,
    NoSchemaIntrospectionCustomRule,
    ValuesOfCorrectTypeRule,
)

from api.errors import ErrorCode
from api.http.rules import ShapeLimits, check_shape
from api.settings import PROJECT_ROOT, Settings

PARSE_FAILED = ErrorCode.PARSE_FAILED.value
VALIDATION_FAILED = ErrorCode.VALIDATION_FAILED.value
BAD_USER_INPUT = ErrorCode.BAD_USER_INPUT.value

DOCUMENTS_DIR = PROJECT_ROOT / "documents"
MANIFEST_PATH = DOCUMENTS_DIR / "manifest.json"
CACHE_SIZE = 2048
MAX_ERRORS = 20


class ArgumentValuesRule(ValuesOfCorrectTypeRule):
    """graphql-core's literal check, answering BAD_USER_INPUT and naming the argument."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._arguments: list[str] = []

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self._arguments.append(node.name.value)

    def leave_argument(self, _node: ArgumentNode, *_args: Any) -> None:
        self._arguments.pop()

    def report_error(self, error: GraphQLError) -> None:
        extensions: dict[str, Any] = {"code": BAD_USER_INPUT}
        message = error.message
        if self._arguments:
            extensions["argumentName"] = self._arguments[-1]
            message = f"Argument '{self._arguments[-1]}': {message}"
        super().report_error(
            GraphQLError(message, error.nodes, original_error=None, extensions=extensions)
        )


def document_id(text: str) -> str:
    """The trusted-document id of `text`: `sha256:` and the hex digest of its UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Prepared:
    """A document after parsing and validation: either its tree or its errors."""

    id: str
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    operations: dict[str | None, OperationDefinitionNode] = field(default_factory=dict)
    trusted: bool = False

    def operation(self, name: str | None) -> OperationDefinitionNode | str:
        """The operation to run, or why none can be chosen."""
        if name is not None:
            return self.operations.get(name) or f"Unknown operation named '{name}'."
        if len(self.operations) == 1:
            return next(iter(self.operations.values()))
        if not self.operations:
            return "The document holds no operation."
        return "The document holds several operations: send operationName."


# Prepared manifest documents per schema and limits (see DocumentStore.load_trusted).
_TRUSTED: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[Any, ...], dict[str, Prepared]]] = (
    weakref.WeakKeyDictionary()
)


class DocumentStore:
    """Parses, checks and validates documents against one schema; caches the outcome."""

    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.max_tokens = settings.max_tokens
        self.hide_suggestions = not settings.is_dev
        self.limits = ShapeLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_directives=settings.max_directives,
            max_directives_per_location=settings.max_directives_per_location,
            max_repeated_fields=settings.max_repeated_fields,
            max_fragment_spreads=settings.max_fragment_spreads,
        )
        rules: list[type[ASTValidationRule]] = [
            ArgumentValuesRule if rule is ValuesOfCorrectTypeRule else rule
            for rule in specified_rules
        ]
        if not settings.is_dev:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self._cache: OrderedDict[str, Prepared] = OrderedDict()
        self._trusted: dict[str, Prepared] = {}

    def prepare(self, text: str) -> Prepared:
        """The cached outcome for `text`, preparing it on first sight."""
        key = document_id(text)
        trusted = self._trusted.get(key)
        if trusted is not None:
            return trusted
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)  # least recently used goes first
            return found
        prepared = self._prepare(key, text)
        self._cache[key] = prepared
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return prepared

    def trusted(self, id_: str) -> Prepared | None:
        return self._trusted.get(id_)

    def trusted_documents(self) -> list[Prepared]:
        return list(self._trusted.values())

    def load_trusted(self, manifest: dict[str, str]) -> None:
        """Prepare every manifest document once; a manifest document that does not validate
        is a deployment error, so it stops the start. Stores built on the same schema with
        the same limits share the outcome (tests build an application per test)."""
        key = (self.limits, self.max_tokens, self.hide_suggestions, tuple(sorted(manifest)))
        shared = _TRUSTED.setdefault(self.schema, {})
        if key in shared:
            self._trusted = dict(shared[key])
            return
        for id_, text in manifest.items():
            if document_id(text) != id_:
                raise ValueError(f"trusted document {id_} does not match its text")
            prepared = self._prepare(id_, text)
            if prepared.errors:
                raise ValueError(f"trusted document {id_} is invalid: {prepared.errors[0]}")
            self._trusted[id_] = Prepared(
                id=id_, document=prepared.document, operations=prepared.operations, trusted=True
            )
        shared[key] = dict(self._trusted)

    def _prepare(self, key: str, text: str) -> Prepared:
        try:
            document = parse(text, max_tokens=self.max_tokens)
        except GraphQLError as syntax_error:
            syntax_error.extensions = {**(syntax_error.extensions or {}), "code": PARSE_FAILED}
            return Prepared(id=key, document=None, errors=(syntax_error,))
        try:
            errors = check_shape(document, self.limits)
        except RecursionError:
            errors = [GraphQLError("The document is nested too deeply.")]
        if not errors:
            errors = validate(
                self.schema,
                document,
                self.rules,
                max_errors=MAX_ERRORS,
                hide_suggestions=self.hide_suggestions,
            )
        for error in errors:
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}
        if errors:
            return Prepared(id=key, document=None, errors=tuple(errors))
        operations = {
            (d.name.value if d.name else None): d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        }
        return Prepared(id=key, document=document, operations=operations)


def read_documents(directory: Path = DOCUMENTS_DIR) -> dict[str, str]:
    """The trusted documents in `directory` (`*.graphql`), by id."""
    texts = [path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.graphql"))]
    return {document_id(text): text for text in texts}


def build_manifest(directory: Path = DOCUMENTS_DIR) -> str:
    """The manifest file's text: every document of `directory` under its id."""
    manifest = {"format": "medspa-trusted-documents/1", "documents": read_documents(directory)}
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, str]:
    if not path.exists():
        return {}
    documents: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))["documents"]
    return documents
