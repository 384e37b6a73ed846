"""Benchmark: the request pipeline's own work. Prints figures; never passes or fails on time.

- preparing a document (parse + shape limits + graphql-core validation), cold and cached:
  the Calendar trusted document, and hostile ones (the 31-fragment fan-out, 1,500 repeated
  fields, 250 directives) that must be refused in milliseconds;
- the static cost of the Calendar document.

No database. Usage: .venv/bin/python bench/pipeline.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# The project root replaces bench/ on the path: bench/calendar.py would shadow the stdlib's.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from graphql import FragmentDefinitionNode  # noqa: E402

from api.http.cost import operation_cost  # noqa: E402
from api.http.documents import DocumentStore, read_documents  # noqa: E402
from api.schema.schema import build_schema  # noqa: E402
from api.settings import Settings  # noqa: E402


def fan_out(fragments: int) -> str:
    parts = ["query { ...F0 }"]
    for i in range(fragments):
        nxt = f"...F{i + 1} ...F{i + 1}" if i + 1 < fragments else "__typename"
        parts.append(f"fragment F{i} on Query {{ {nxt} }}")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    repeat = parser.parse_args().repeat
    settings = Settings(MEDSPA_ENV="prod", MEDSPA_JWT_SECRET="b" * 40)  # type: ignore[call-arg]
    schema = build_schema(settings)._schema
    calendar = next(t for t in read_documents().values() if "query Calendar" in t)
    documents = {
        "Calendar (trusted document)": calendar,
        "31 fragments, each spreading the next twice": fan_out(31),
        "one field repeated 1,500 times": "{ viewer { " + "kind " * 1500 + "} }",
        "250 @skip on one field": "{ viewer { kind " + "@skip(if: false) " * 250 + "} }",
    }
    print(f"prepare (parse + limits + validation), median of {repeat}, milliseconds")
    for name, text in documents.items():
        cold = []
        for _ in range(repeat):
            store = DocumentStore(schema, settings)
            start = time.perf_counter()
            prepared = store.prepare(text)
            cold.append((time.perf_counter() - start) * 1000)
        warm = []
        for _ in range(repeat):
            start = time.perf_counter()
            store.prepare(text)
            warm.append((time.perf_counter() - start) * 1000)
        outcome = "refused" if prepared.errors else "valid"
        print(
            f"  {name:<46} cold {statistics.median(cold):7.3f}"
            f"  cached {statistics.median(warm):7.4f}  ({outcome})"
        )
    prepared = DocumentStore(schema, settings).prepare(calendar)
    assert prepared.document is not None
    operation = next(iter(prepared.operations.values()))
    fragments = {
        d.name.value: d
        for d in prepared.document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    variables = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        cost = operation_cost(schema, fragments=fragments, operation=operation, variables=variables)
        timings.append((time.perf_counter() - start) * 1000)
    print(
        f"static cost of the month calendar: {cost} points"
        f" (limit {settings.max_cost}), computed in {statistics.median(timings):.3f} ms"
    )


if __name__ == "__main__":
    main()
