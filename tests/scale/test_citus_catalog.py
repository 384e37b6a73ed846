"""The schema is one Citus can distribute by `medspa_id` (issue 14), checked on the catalog.

`db.citus.violations` lists what `create_distributed_table(t, 'medspa_id')` /
`create_reference_table(t)` would refuse; at head it must list nothing, with no exception
list (a table's placement is what its columns say, or what its own comment declares). The
checker itself is tried on a schema built to break every rule. And the tenant query paths
the API runs join tenant tables on `medspa_id`, so Citus can route them to one node.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from db.citus import Placement, commands, placements, violations
from db.seed.demo import DemoIds
from db.session import libpq_url
from tests.conftest import Principals, StatementLog

PROBE = "citus_probe"


@pytest.fixture
def catalog(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        yield conn


def test_the_schema_at_head_is_distributable_by_medspa(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> None:
    assert violations(catalog) == []
    placed = placements(catalog)
    with_medspa = {
        str(name)
        for (name,) in catalog.execute(
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = 'medspa_id'"
        ).fetchall()
    }
    distributed = {t for t, p in placed.items() if p is Placement.DISTRIBUTED}
    # Every tenant table is distributed but the ones that declare why not, in the schema.
    assert distributed <= with_medspa and len(distributed) >= 34
    assert with_medspa - distributed == {
        "policy_rule",
        "booking_slug",
        "api_key",
        "registration_token",
        "invitation_token",
    }
    assert placed["medspa"] is Placement.REFERENCE
    sql = commands(catalog)
    assert len(sql) == len(placed)
    # Referenced tables are placed before the tables that reference them.
    order = [re.search(r"'public\.(\w+)'", line).group(1) for line in sql]  # type: ignore[union-attr]
    assert order.index("medspa") < order.index("location") < order.index("appointment")


@pytest.fixture
def probe(
    catalog: psycopg.Connection[tuple[object, ...]],
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    catalog.execute(f"DROP SCHEMA IF EXISTS {PROBE} CASCADE")
    catalog.execute(f"CREATE SCHEMA {PROBE}")
    yield catalog
    catalog.execute(f"DROP SCHEMA IF EXISTS {PROBE} CASCADE")


def test_the_checker_finds_what_citus_would_refuse(
    probe: psycopg.Connection[tuple[object, ...]],
) -> None:
    probe.execute(
        """
        CREATE EXTENSION IF NOT EXISTS btree_gist;
        CREATE TABLE citus_probe.tenant_root (id uuid PRIMARY KEY);
        CREATE TABLE citus_probe.keyed_by_id (id uuid PRIMARY KEY, medspa_id uuid,
            code text UNIQUE, UNIQUE (medspa_id, id));
        CREATE TABLE citus_probe.child (medspa_id uuid NOT NULL, id uuid, parent_id uuid,
            during tstzrange,
            PRIMARY KEY (medspa_id, id),
            FOREIGN KEY (parent_id) REFERENCES citus_probe.keyed_by_id (id),
            EXCLUDE USING gist (parent_id WITH =, during WITH &&));
        CREATE TABLE citus_probe.global_points_at_tenant (id uuid PRIMARY KEY, child_medspa uuid,
            child_id uuid, FOREIGN KEY (child_medspa, child_id) REFERENCES citus_probe.child);
        CREATE TABLE citus_probe.coordinator (id uuid PRIMARY KEY);
        COMMENT ON TABLE citus_probe.coordinator IS 'citus: local - probe';
        CREATE TABLE citus_probe.to_local (medspa_id uuid NOT NULL, id uuid,
            coordinator_id uuid REFERENCES citus_probe.coordinator, PRIMARY KEY (medspa_id, id));
        CREATE FUNCTION citus_probe.noop() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RETURN NULL; END $$;
        CREATE TRIGGER t_child AFTER INSERT ON citus_probe.child
            FOR EACH STATEMENT EXECUTE FUNCTION citus_probe.noop();
        CREATE FUNCTION citus_probe.reads_tenant() RETURNS uuid[] LANGUAGE sql STABLE AS
            $$ SELECT array_agg(id) FROM citus_probe.child $$;
        ALTER TABLE citus_probe.child ENABLE ROW LEVEL SECURITY;
        CREATE POLICY by_subquery ON citus_probe.child USING (
            parent_id IN (SELECT id FROM citus_probe.keyed_by_id));
        CREATE POLICY by_function ON citus_probe.child
            USING (id = ANY (citus_probe.reads_tenant()));
        """
    )
    found = violations(probe, PROBE)
    expected = [
        "keyed_by_id.medspa_id is nullable",
        "unique keyed_by_id_pkey on keyed_by_id does not lead with medspa_id",
        "unique keyed_by_id_code_key on keyed_by_id does not lead with medspa_id",
        "exclusion child_parent_id_during_excl on child lacks medspa_id WITH =",
        "foreign key child_parent_id_fkey (child -> keyed_by_id) lacks medspa_id",
        "foreign key global_points_at_tenant_child_medspa_child_id_fkey: a reference table"
        " (global_points_at_tenant) cannot reference a distributed table (child)",
        "foreign key to_local_coordinator_id_fkey: a distributed table (to_local) cannot"
        " reference a local table (coordinator)",
        "trigger t_child on distributed table child",
        "policy by_subquery on child holds a subquery",
        "policy by_function on child calls reads_tenant(), which reads tenant table(s) child",
    ]
    assert sorted(found) == sorted(expected)


# Tenant read paths of every dashboard (DESIGN §1) as the callers who use them.
PATHS = {
    "calendar": (
        """query($f: DateTime!, $t: DateTime!) { calendar(from: $f, to: $t) {
            id provider { displayName } location { name } appointmentType { name }
            patient { firstName appointments(first: 10) { edges { node { id } } } } } }""",
        ("dana@glow.example", "nina@glow.example", "vera@portrait.example",
         "dean@portrait.example", "ops@portrait.example", "api_key"),
    ),
    "patients": (
        "{ patients(first: 50) { edges { node { id firstName } } } }",
        ("dana@glow.example", "nina@glow.example", "vera@portrait.example", "api_key"),
    ),
    "services": (
        "{ services(first: 100) { edges { node { id name group { name } } } } }",
        ("dana@glow.example", "nina@glow.example", "api_key"),
    ),
    "serviceGroups": ("{ serviceGroups { id name services { id } } }", ("dana@glow.example",)),
    "provider dashboard": (
        """{ gfeRequests { edges { node { id } } } todos { kind dueAt }
            serviceVisits { edges { node { id } } } }""",
        ("nina@glow.example", "dana@glow.example"),
    ),
    "upcomingUnclearedAppointments": (
        "{ upcomingUnclearedAppointments { id clearanceStatus } }",
        ("vera@portrait.example", "dean@portrait.example", "dana@glow.example"),
    ),
    "pcc": (
        """{ pccs { edges { node { id } } } pccAssignments { edges { node { id } } }
            outOfOffice { edges { node { id } } } }""",
        ("maria@portrait.example", "vera@portrait.example", "dana@glow.example"),
    ),
}  # fmt: skip

_ALIAS = re.compile(r"\b(?:FROM|JOIN)\s+(\(|\"?\w+\"?)(?:\s+AS\s+(\"?\w+\"?))?", re.IGNORECASE)
_JOIN_ON = re.compile(
    r"\bJOIN\s+(\"?\w+\"?)(?:\s+AS\s+(\"?\w+\"?))?\s+ON\s+(.*?)"
    r"(?=\s+(?:LEFT\s+OUTER\s+JOIN|LEFT\s+JOIN|JOIN|WHERE|GROUP\s+BY|ORDER\s+BY|LIMIT)\b|\)|$)",
    re.IGNORECASE | re.DOTALL,
)


def joins_without_medspa(statement: str, distributed: set[str]) -> list[str]:
    """Tenant tables a statement combines (JOIN, or a subquery on another tenant table)
    without naming their `medspa_id`, or joins pairing two tenant tables whose condition does
    not pair their `medspa_id` columns: Citus could not route them to one node."""
    tables = {
        (alias or table).strip('"'): table.strip('"')
        for table, alias in _ALIAS.findall(statement)
        if table != "("
    }
    tenant = {alias for alias, table in tables.items() if table in distributed}
    problems = []
    if len(tenant) > 1:
        for alias in sorted(tenant):
            if not re.search(rf"\b{alias}\.medspa_id\b", statement):
                problems.append(f"{tables[alias]} combined without its medspa_id")
    for table, alias, condition in _JOIN_ON.findall(statement):
        joined = (alias or table).strip('"')
        if joined not in tenant:
            continue
        others = {
            name
            for name in re.findall(r"(\w+)\.\w+", condition)
            if name != joined and name in tenant
        }
        for other in others:
            pairs = (
                rf"\b{joined}\.medspa_id\s*=\s*{other}\.medspa_id\b",
                rf"\b{other}\.medspa_id\s*=\s*{joined}\.medspa_id\b",
            )
            if not any(re.search(pair, condition) for pair in pairs):
                problems.append(f"{tables[other]} JOIN {tables[joined]} ON {condition.strip()}")
    return problems


def test_the_join_check_sees_a_join_without_medspa() -> None:
    distributed = {"appointment", "patient", "app_user"} - {"app_user"}
    bad = "SELECT a.id FROM appointment AS a JOIN patient AS p ON p.id = a.patient_id WHERE x"
    good = (
        "SELECT a.id FROM appointment AS a JOIN patient AS p"
        " ON p.medspa_id = a.medspa_id AND p.id = a.patient_id WHERE x"
    )
    to_global = "SELECT a.id FROM appointment AS a JOIN app_user ON app_user.id = a.user_id"
    assert joins_without_medspa(bad, distributed) == [
        "appointment combined without its medspa_id",
        "patient combined without its medspa_id",
        "appointment JOIN patient ON p.id = a.patient_id",
    ]
    assert joins_without_medspa(good, distributed) == []
    assert joins_without_medspa(to_global, distributed) == []


async def test_tenant_query_paths_join_on_medspa(
    principals: Principals,
    statement_log: StatementLog,
    catalog: psycopg.Connection[tuple[object, ...]],
    demo: DemoIds,
) -> None:
    distributed = {t for t, p in placements(catalog).items() if p is Placement.DISTRIBUTED}
    monday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    week = {
        "f": (monday - timedelta(days=7)).isoformat(),
        "t": (monday + timedelta(days=14)).isoformat(),
    }
    statement_log.clear()
    answered = set()
    for name, (document, callers) in PATHS.items():
        for who in callers:
            answer = await principals.gql(document, week, bearer=await principals.bearer(who))
            if answer.data and not answer.errors:
                answered.add(name)
    assert answered == set(PATHS)  # every path ran for at least one caller
    statements = list(statement_log.statements)
    assert len(statements) > 50
    combined = [
        statement
        for statement in statements
        if len({t for t, _ in _ALIAS.findall(statement) if t.strip('"') in distributed}) > 1
    ]
    assert len(combined) >= 5, "the paths must combine tenant tables"
    problems = sorted({p for s in statements for p in joins_without_medspa(s, distributed)})
    assert problems == [], problems
