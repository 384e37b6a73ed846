"""Where each table goes on Citus, read from the catalog, and what Citus would refuse.

Placement (README, "Running on Citus"):
- every table with a `medspa_id` column is a tenant table, *distributed* by `medspa_id`
  and colocated with the others, so one medspa's rows of every table live on one node and
  each request is routed to that node;
- every other table is global and small (medspas, users, staff, PCCs, the service library,
  holidays, the global look-ups of db/models/lookup.py) and becomes a *reference* table,
  copied to every node, so tenant rows join it locally;
- a table may declare another placement, with its reason, in its comment (migration 0006):
  `citus: reference - ...` for the global look-ups, which carry `medspa_id` only as the
  answer they give, and `citus: local - ...` for the policy tables, whose triggers must run
  on the coordinator (Citus runs no trigger on distributed or reference tables). The
  catalog is the only source: the test and the commands read the same comments.

`violations` lists what `create_distributed_table(t, 'medspa_id')`,
`create_reference_table(t)` or the placement's queries would refuse or get wrong: keys and
unique indexes without the distribution column, an exclusion constraint without it, foreign
keys between placements Citus does not support, foreign keys between tenant tables that do
not include `medspa_id`, triggers on distributed or reference tables, policies with a
subquery or calling a function that reads a tenant table. `commands` gives the SQL that
distributes a migrated database. Run `python -m db.citus URL` to print it.
"""

from __future__ import annotations

import re
import sys
from enum import StrEnum
from typing import Any

import psycopg

DISTRIBUTION_COLUMN = "medspa_id"


class Placement(StrEnum):
    DISTRIBUTED = "distributed"
    REFERENCE = "reference"
    LOCAL = "local"


DECLARED = re.compile(r"^citus: (reference|local)\b")


def placements(conn: psycopg.Connection[Any], schema: str = "public") -> dict[str, Placement]:
    """Every ordinary table of `schema` and where it goes."""
    rows = conn.execute(
        "SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
        " AND a.attname = %s AND NOT a.attisdropped), coalesce(obj_description(c.oid), '')"
        " FROM pg_class c WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p')",
        (DISTRIBUTION_COLUMN, schema),
    ).fetchall()
    result: dict[str, Placement] = {}
    for name, tenant, comment in rows:
        declared = DECLARED.match(str(comment))
        if declared:
            result[str(name)] = Placement(declared.group(1))
        else:
            result[str(name)] = Placement.DISTRIBUTED if tenant else Placement.REFERENCE
    return result


def violations(conn: psycopg.Connection[Any], schema: str = "public") -> list[str]:
    """What Citus would refuse (or run across nodes) in `schema`, one sentence each."""
    placed = placements(conn, schema)
    distributed = {t for t, p in placed.items() if p is Placement.DISTRIBUTED}
    found: list[str] = []

    for table in sorted(distributed):
        nullable = conn.execute(
            "SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attname = %s",
            (f"{schema}.{table}", DISTRIBUTION_COLUMN),
        ).fetchone()
        if nullable and nullable[0]:
            found.append(f"{table}.{DISTRIBUTION_COLUMN} is nullable")

    # Keys and unique indexes (constraints or not) must lead with the distribution column;
    # an exclusion constraint must include it with `=`.
    for table, index, columns, is_exclusion, operators in conn.execute(
        """
        SELECT c.relname, ic.relname,
               array(SELECT coalesce(a.attname::text, '<expression>')
                     FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     ORDER BY k.ord),
               con.contype = 'x',
               coalesce((SELECT array_agg(o.oprname::text ORDER BY ord)
                         FROM unnest(con.conexclop) WITH ORDINALITY e(op, ord)
                         JOIN pg_operator o ON o.oid = e.op), '{}')
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_class ic ON ic.oid = i.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = c.oid
        WHERE c.relnamespace = %s::regnamespace AND (i.indisunique OR con.contype = 'x')
        """,
        (schema,),
    ).fetchall():
        if table not in distributed:
            continue
        if is_exclusion:
            pairs = dict(zip(columns, operators, strict=False))
            if pairs.get(DISTRIBUTION_COLUMN) != "=":
                found.append(f"exclusion {index} on {table} lacks {DISTRIBUTION_COLUMN} WITH =")
        elif not columns or columns[0] != DISTRIBUTION_COLUMN:
            found.append(f"unique {index} on {table} does not lead with {DISTRIBUTION_COLUMN}")

    for table in sorted(distributed):
        has_key = conn.execute(
            "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            (f"{schema}.{table}",),
        ).fetchone()
        if not has_key:
            found.append(f"{table} has no primary key")

    # Foreign keys: between tenant tables they must pair medspa_id with medspa_id (colocated);
    # distributed -> local, reference -> distributed and reference -> local are refused.
    for table, name, referenced, pairs in conn.execute(
        """
        SELECT c.relname, con.conname, r.relname,
               array(SELECT a.attname::text || '=' || ra.attname::text
                     FROM unnest(con.conkey, con.confkey) k(col, rcol)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col
                     JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.rcol)
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_class r ON r.oid = con.confrelid
        WHERE con.contype = 'f' AND c.relnamespace = %s::regnamespace
        """,
        (schema,),
    ).fetchall():
        source, target = placed.get(table), placed.get(referenced)
        if source is Placement.DISTRIBUTED and target is Placement.DISTRIBUTED:
            if f"{DISTRIBUTION_COLUMN}={DISTRIBUTION_COLUMN}" not in pairs:
                found.append(f"foreign key {name} ({table} -> {referenced}) lacks medspa_id")
        elif target is Placement.DISTRIBUTED or (
            target is Placement.LOCAL and source is not Placement.LOCAL
        ):
            found.append(
                f"foreign key {name}: a {source} table ({table}) cannot reference"
                f" a {target} table ({referenced})"
            )

    for table, trigger in conn.execute(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE NOT t.tgisinternal AND c.relnamespace = %s::regnamespace",
        (schema,),
    ).fetchall():
        if placed.get(table) is not Placement.LOCAL:
            found.append(f"trigger {trigger} on {placed.get(table)} table {table}")

    # Policies: no subquery (Citus pushes the policy down to each shard), and any function
    # they call reads no tenant table (which would be a query across nodes from inside one).
    tenant_pattern = re.compile(r"\b(" + "|".join(map(re.escape, distributed)) + r")\b")
    for table, policy, expression in conn.execute(
        "SELECT tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '')"
        " FROM pg_policies WHERE schemaname = %s",
        (schema,),
    ).fetchall():
        if re.search(r"\bselect\b", expression, re.IGNORECASE):
            found.append(f"policy {policy} on {table} holds a subquery")
        for function in set(re.findall(r"\b(\w+)\(", expression)):
            for (source,) in conn.execute(
                "SELECT prosrc FROM pg_proc WHERE proname = %s AND pronamespace = %s::regnamespace",
                (function, schema),
            ).fetchall():
                reads = tenant_pattern.findall(str(source)) if distributed else []
                if reads:
                    found.append(
                        f"policy {policy} on {table} calls {function}(), which reads tenant"
                        f" table(s) {', '.join(sorted(set(reads)))}"
                    )
    return found


def commands(conn: psycopg.Connection[Any], schema: str = "public") -> list[str]:
    """The SQL that distributes a migrated database (run as the owner on the coordinator,
    after `CREATE EXTENSION citus` and adding the workers): referenced tables first."""
    placed = placements(conn, schema)
    edges = conn.execute(
        "SELECT c.relname, r.relname FROM pg_constraint con"
        " JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid"
        " WHERE con.contype = 'f' AND c.relnamespace = %s::regnamespace AND c.oid <> r.oid",
        (schema,),
    ).fetchall()
    needs: dict[str, set[str]] = {table: set() for table in placed}
    for table, referenced in edges:
        needs.setdefault(table, set()).add(referenced)
    ordered: list[str] = []
    while len(ordered) < len(placed):
        ready = sorted(
            t for t in placed if t not in ordered and needs.get(t, set()) <= set(ordered)
        )
        if not ready:
            raise ValueError(f"foreign-key cycle among {sorted(set(placed) - set(ordered))}")
        ordered.extend(ready)
    first = next((t for t in ordered if placed[t] is Placement.DISTRIBUTED), None)
    sql: list[str] = []
    for table in ordered:
        placement = placed[table]
        if placement is Placement.REFERENCE:
            sql.append(f"SELECT create_reference_table('{schema}.{table}');")
        elif placement is Placement.LOCAL:
            sql.append(f"SELECT citus_add_local_table_to_metadata('{schema}.{table}');")
        else:
            colocate = "default" if table == first else first
            sql.append(
                f"SELECT create_distributed_table('{schema}.{table}', '{DISTRIBUTION_COLUMN}',"
                f" colocate_with => '{colocate}');"
            )
    return sql


if __name__ == "__main__":
    with psycopg.connect(sys.argv[1]) as connection:
        print("\n".join(commands(connection)))
