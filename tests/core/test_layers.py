"""The layers point one way (issue 9): the pipeline below the resolvers never imports them, the
resolvers never import the schema, and production code never loads the demo seed on import.

Read from the source with `ast`, no database: an import inside a function (a lazy import, as
`medspa-api seed demo` does) or under `TYPE_CHECKING` (types only) is not a load-time edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "api"

# The pipeline and the helpers everything else builds on.
LOWER = ["authz", "http", "execution", "context.py", "tokens.py", "errors.py", "ids.py"]


def _load_time_imports(path: Path) -> list[str]:
    """Modules `path` imports when it is imported (top level, outside `if TYPE_CHECKING`)."""
    names: list[str] = []

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.append(node.module)
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(ast.parse(path.read_text()).body)
    return names


def _modules(*parts: str) -> list[Path]:
    found: list[Path] = []
    for part in parts:
        path = API / part
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


@pytest.mark.parametrize("path", _modules("."), ids=lambda p: str(p.relative_to(API)))
def test_production_code_never_loads_the_demo_seed(path: Path) -> None:
    assert not [n for n in _load_time_imports(path) if n.startswith("db.seed")]


@pytest.mark.parametrize("path", _modules(*LOWER), ids=lambda p: str(p.relative_to(API)))
def test_the_pipeline_imports_no_use_case_or_schema(path: Path) -> None:
    upward = ("api.resolvers", "api.schema")
    assert not [n for n in _load_time_imports(path) if n.startswith(upward)]


@pytest.mark.parametrize("path", _modules("resolvers"), ids=lambda p: str(p.relative_to(API)))
def test_use_cases_never_import_the_schema(path: Path) -> None:
    assert not [n for n in _load_time_imports(path) if n.startswith("api.schema")]
