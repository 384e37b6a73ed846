"""List fields of the catalogue batch their relations: the statement count does not grow
with the number of rows."""

from __future__ import annotations

from db.seed.demo import DemoIds
from tests.conftest import Gql, StatementLog

CATALOGUE = """query($n: Int!) { services(first: $n) { edges { node { name group { name }
    consents { title version } careMessages { title } libraryService { name version } } } } }"""
BARE = "{ services(first: 1) { edges { node { name } } } }"
LIBRARY = "{ serviceLibrary { name services { name consents { title } } } }"
GROUPS = "{ serviceGroups { name services { name consents { title } } } }"


async def _count(gql: Gql, log: StatementLog, query: str, **variables: int) -> int:
    log.clear()
    answer = await gql(query, dict(variables), as_="dana@glow.example")
    assert answer.errors == [], answer.body
    return log.count()


async def test_catalogue_lists_run_one_statement_per_relation(
    gql: Gql, demo: DemoIds, statement_log: StatementLog
) -> None:
    # Authentication plus the list itself; every relation below adds exactly one statement.
    base = await _count(gql, statement_log, BARE)
    assert await _count(gql, statement_log, CATALOGUE, n=2) == base + 3
    assert await _count(gql, statement_log, CATALOGUE, n=11) == base + 3
    assert await _count(gql, statement_log, GROUPS) == base + 2
    assert await _count(gql, statement_log, LIBRARY) == base + 1
