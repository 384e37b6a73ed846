"""scale: policy notifications that name their medspas; a schema Citus can distribute

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

Issue 14, two parts.

Policy notifications: `policy_rule` gets one statement-level trigger per event (INSERT,
UPDATE, DELETE, TRUNCATE) instead of one for all three row events: each reads its
transition tables to name the medspas whose rows changed, bumps `policy_version` and sends
`NOTIFY policy_changed '{"version": N, "medspas": [...]}'` (`"*"` after a TRUNCATE, or when
more than `MAX_LISTED` medspas changed, keeping the payload far below NOTIFY's 8000 bytes).
A statement that changed no row neither bumps nor notifies.

Citus-ready keys (`db/citus.py` says which table goes where; tests/scale/test_citus_catalog.py
checks the catalog against what `create_distributed_table(..., 'medspa_id')` accepts):
- every table with `medspa_id` (a tenant table) gets a primary key leading with it,
  `(medspa_id, <old key>)`; the ORM keeps `id` as its identity (migrations own the schema);
- unique keys lead with `medspa_id`; what must stay unique platform-wide (a booking slug, an
  API key hash, a registration token hash) moves to a small global table mapping it to
  `(medspa_id, id)`: `booking_slug`, `api_key`, `registration_token`, kept by the ORM
  (db/models/lookup.py) and read by the two look-up functions of the public booking page and
  the registration link, which no longer read a tenant table;
- the no-double-booking exclusion constraint includes `medspa_id`;
- the three identity policies that held subqueries call functions over global tables
  (`app_auth_pcc_ids()`, `app_auth_ooo_ids()`), so no policy reads a tenant table;
- `audit_event.medspa_id` is NOT NULL: platform events (no tenant) carry the nil UUID
  `PLATFORM_MEDSPA_ID` (not a medspa row: the trail has no foreign key), so the trail is
  distributed with every tenant's own events; the append-only rule is the privilege set
  (the app role may only INSERT and SELECT), without the row trigger Citus would refuse.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MAX_LISTED = 100

POLICY_TRIGGERS = {
    "policy_rule_inserted": "AFTER INSERT ON policy_rule REFERENCING NEW TABLE AS new_rows",
    "policy_rule_updated": (
        "AFTER UPDATE ON policy_rule REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "policy_rule_deleted": "AFTER DELETE ON policy_rule REFERENCING OLD TABLE AS old_rows",
    "policy_rule_truncated": "AFTER TRUNCATE ON policy_rule",
}


APP_ROLE = "medspa_app"
PLATFORM_MEDSPA_ID = "00000000-0000-0000-0000-000000000000"

# Global look-up table -> (its key column and type, the tenant table, the tenant's column,
# the look-up's column naming the tenant row).
LOOKUPS = {
    "booking_slug": ("slug", "varchar(63)", "location", "booking_slug", "location_id"),
    "api_key": ("key_hash", "varchar(64)", "api_client", "key_hash", "api_client_id"),
    "registration_token": (
        "token_hash",
        "varchar(64)",
        "registration_link",
        "token_hash",
        "registration_link_id",
    ),
}

NO_OVERLAP_WHERE = "status NOT IN ('CANCELLED', 'NO_SHOW')"

# The identity policies of the authentication phase, without subqueries.
AUTH_VISIBILITY = {
    "pcc_assignment": "pcc_id = ANY (app_auth_pcc_ids())",
    "channel_access_grant": "pcc_id = ANY (app_auth_pcc_ids())",
    "ooo_affected_provider": "ooo_id = ANY (app_auth_ooo_ids())",
}
OLD_AUTH_VISIBILITY = {
    "pcc_assignment": (
        "pcc_id IN (SELECT p.id FROM pcc p WHERE p.user_id = ANY (app_auth_user_ids()))"
    ),
    "channel_access_grant": (
        "EXISTS (SELECT 1 FROM pcc p WHERE p.id = channel_access_grant.pcc_id"
        " AND p.user_id = ANY (app_auth_user_ids()))"
    ),
    "ooo_affected_provider": (
        "EXISTS (SELECT 1 FROM out_of_office o JOIN pcc p ON p.id = o.pcc_id"
        " WHERE o.id = ooo_affected_provider.ooo_id AND p.user_id = ANY (app_auth_user_ids()))"
        " OR EXISTS (SELECT 1 FROM coverage c JOIN pcc p ON p.id = c.covering_pcc_id"
        " WHERE c.ooo_id = ooo_affected_provider.ooo_id"
        " AND p.user_id = ANY (app_auth_user_ids()))"
    ),
}


# Tables that do not go where their columns say (db/citus.py reads these comments).
PLACEMENTS = {
    "policy_rule": (
        "citus: local - its statement-level triggers NOTIFY the servers of policy changes and"
        " Citus runs no trigger on distributed or reference tables; read only by the policy"
        " loader, never joined with tenant rows"
    ),
    "policy_version": "citus: local - bumped by the policy_rule triggers in their transaction",
    "alembic_version": "citus: local - the bookkeeping of the migrations",
    **{
        lookup: f"citus: reference - global look-up: a {key} unique platform-wide and the"
        f" tenant row it names (medspa_id is the answer, not the owner)"
        for lookup, (key, *_rest) in LOOKUPS.items()
    },
}


def upgrade() -> None:
    _policy_notifications_upgrade()
    _audit_upgrade()
    _keys_upgrade()
    _lookups_upgrade()
    _policies_upgrade()
    for table, comment in PLACEMENTS.items():
        op.execute(f"COMMENT ON TABLE {table} IS '{comment}'")


def downgrade() -> None:
    for table in PLACEMENTS:
        op.execute(f"COMMENT ON TABLE {table} IS NULL")
    _policies_downgrade()
    _lookups_downgrade()
    _keys_downgrade()
    _audit_downgrade()
    _policy_notifications_downgrade()


def _audit_upgrade() -> None:
    op.execute("DROP TRIGGER audit_event_immutable ON audit_event")
    op.execute("DROP FUNCTION audit_event_immutable()")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM PUBLIC")
    op.execute(f"UPDATE audit_event SET medspa_id = '{PLATFORM_MEDSPA_ID}' WHERE medspa_id IS NULL")
    op.execute("ALTER TABLE audit_event ALTER COLUMN medspa_id SET NOT NULL")
    op.execute("DROP POLICY audit_read ON audit_event")
    op.execute("DROP POLICY audit_append ON audit_event")
    op.execute(
        "CREATE POLICY audit_read ON audit_event FOR SELECT USING ("
        "app_is_platform() OR medspa_id = ANY (app_medspa_ids()))"
    )
    # Any principal may record what it did (denials included), but only about a tenant it
    # reaches or about the platform.
    op.execute(
        "CREATE POLICY audit_append ON audit_event FOR INSERT WITH CHECK ("
        f"medspa_id = '{PLATFORM_MEDSPA_ID}' OR app_can_see(medspa_id))"
    )


def _audit_downgrade() -> None:
    op.execute("DROP POLICY audit_read ON audit_event")
    op.execute("DROP POLICY audit_append ON audit_event")
    op.execute("ALTER TABLE audit_event ALTER COLUMN medspa_id DROP NOT NULL")
    op.execute(f"UPDATE audit_event SET medspa_id = NULL WHERE medspa_id = '{PLATFORM_MEDSPA_ID}'")
    op.execute(
        "CREATE POLICY audit_read ON audit_event FOR SELECT USING ("
        "app_is_platform() OR (medspa_id IS NOT NULL AND medspa_id = ANY (app_medspa_ids())))"
    )
    op.execute(
        "CREATE POLICY audit_append ON audit_event FOR INSERT WITH CHECK ("
        "medspa_id IS NULL OR app_can_see(medspa_id))"
    )
    op.execute(
        """
        CREATE FUNCTION audit_event_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
        END
        $$;
        CREATE TRIGGER audit_event_immutable BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_immutable();
        """
    )


_TENANT_PRIMARY_KEYS = """
    SELECT c.relname, con.conname,
           array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
    WHERE con.contype = 'p' AND c.relnamespace = 'public'::regnamespace
      AND EXISTS (SELECT 1 FROM pg_attribute m WHERE m.attrelid = c.oid
                  AND m.attname = 'medspa_id' AND NOT m.attisdropped)
    GROUP BY c.relname, con.conname ORDER BY c.relname
"""


def _keys_upgrade() -> None:
    # Every tenant table's key leads with medspa_id (read from the catalog: the tables with a
    # medspa_id column at this revision). No foreign key references a tenant table's
    # single-column key (tenant foreign keys are composite, on the (medspa_id, id) uniques).
    for table, name, columns in op.get_bind().execute(sa.text(_TENANT_PRIMARY_KEYS)).all():
        if columns[0] != "medspa_id":
            op.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {name},"
                f" ADD CONSTRAINT {name} PRIMARY KEY (medspa_id, {', '.join(columns)})"
            )
    op.execute(
        "ALTER TABLE ooo_affected_provider"
        " DROP CONSTRAINT uq_ooo_affected_provider_ooo_id_provider_id,"
        " ADD CONSTRAINT uq_ooo_affected_provider_medspa_id_ooo_id_provider_id"
        " UNIQUE (medspa_id, ooo_id, provider_id)"
    )
    op.execute("DROP INDEX uq_registration_link_outstanding")
    op.execute(
        "CREATE UNIQUE INDEX uq_registration_link_outstanding ON registration_link"
        " (medspa_id, patient_id) WHERE used_at IS NULL AND superseded_at IS NULL"
    )
    op.execute(
        "ALTER TABLE appointment DROP CONSTRAINT ex_appointment_provider_no_overlap,"
        " ADD CONSTRAINT ex_appointment_provider_no_overlap EXCLUDE USING gist"
        " (medspa_id WITH =, provider_id WITH =,"
        " tstzrange(blocked_from, blocked_until, '[)') WITH &&)"
        f" WHERE ({NO_OVERLAP_WHERE})"
    )


def _keys_downgrade() -> None:
    op.execute(
        "ALTER TABLE appointment DROP CONSTRAINT ex_appointment_provider_no_overlap,"
        " ADD CONSTRAINT ex_appointment_provider_no_overlap EXCLUDE USING gist"
        " (provider_id WITH =, tstzrange(blocked_from, blocked_until, '[)') WITH &&)"
        f" WHERE ({NO_OVERLAP_WHERE})"
    )
    op.execute("DROP INDEX uq_registration_link_outstanding")
    op.execute(
        "CREATE UNIQUE INDEX uq_registration_link_outstanding ON registration_link"
        " (patient_id) WHERE used_at IS NULL AND superseded_at IS NULL"
    )
    op.execute(
        "ALTER TABLE ooo_affected_provider"
        " DROP CONSTRAINT uq_ooo_affected_provider_medspa_id_ooo_id_provider_id,"
        " ADD CONSTRAINT uq_ooo_affected_provider_ooo_id_provider_id UNIQUE (ooo_id, provider_id)"
    )
    for table, name, columns in op.get_bind().execute(sa.text(_TENANT_PRIMARY_KEYS)).all():
        if len(columns) > 1 and columns[0] == "medspa_id":
            op.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {name},"
                f" ADD CONSTRAINT {name} PRIMARY KEY ({', '.join(columns[1:])})"
            )


def _lookups_upgrade() -> None:
    for lookup, (key, key_type, tenant, column, row_id) in LOOKUPS.items():
        op.execute(
            f"""
            CREATE TABLE {lookup} (
                {key} {key_type} NOT NULL,
                medspa_id uuid NOT NULL,
                {row_id} uuid NOT NULL,
                CONSTRAINT pk_{lookup} PRIMARY KEY ({key}),
                CONSTRAINT fk_{lookup}_medspa_id_medspa FOREIGN KEY (medspa_id)
                    REFERENCES medspa (id) ON DELETE CASCADE
            )
            """
        )
        op.execute(f"CREATE INDEX ix_{lookup}_medspa_id ON {lookup} (medspa_id, {row_id})")
        op.execute(
            f"INSERT INTO {lookup} ({key}, medspa_id, {row_id})"
            f" SELECT {column}, medspa_id, id FROM {tenant} WHERE {column} IS NOT NULL"
        )
        op.execute(
            f"ALTER TABLE {tenant} DROP CONSTRAINT uq_{tenant}_{column},"
            f" ADD CONSTRAINT uq_{tenant}_medspa_id_{column} UNIQUE (medspa_id, {column})"
        )
        if lookup == "booking_slug":
            # The public page opens only for an active location: kept with the slug.
            op.execute("ALTER TABLE booking_slug ADD COLUMN bookable boolean NOT NULL DEFAULT true")
            op.execute(
                "UPDATE booking_slug b SET bookable = l.active_for_scheduling FROM location l"
                " WHERE l.medspa_id = b.medspa_id AND l.id = b.location_id"
            )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {lookup} TO {APP_ROLE}")
        # Written only for a tenant the transaction reaches; read by anyone, since finding
        # the tenant is the point: a slug is public, and a key or token hash (SHA-256 of a
        # 256-bit secret) reveals nothing without the secret it hashes.
        op.execute(f"ALTER TABLE {lookup} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {lookup} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {lookup}"
            " USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )
        op.execute(f"CREATE POLICY lookup_read ON {lookup} FOR SELECT USING (true)")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION app_public_booking_medspa(slug text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public AS $$
            SELECT b.medspa_id FROM booking_slug b WHERE b.slug = $1 AND b.bookable
        $$;
        CREATE OR REPLACE FUNCTION app_registration_medspa(hash text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public AS $$
            SELECT r.medspa_id FROM registration_token r WHERE r.token_hash = $1
        $$;
        """
    )
    # The transaction-local switches these functions used to turn on are gone with them.
    op.execute("DROP POLICY public_booking ON location")
    op.execute("DROP POLICY registration_token ON registration_link")


def _lookups_downgrade() -> None:
    op.execute(
        "CREATE POLICY public_booking ON location FOR SELECT USING ("
        "coalesce(current_setting('app.public', true), '') = 'on'"
        " AND active_for_scheduling AND booking_slug IS NOT NULL)"
    )
    op.execute(
        "CREATE POLICY registration_token ON registration_link FOR SELECT USING ("
        "token_hash = nullif(current_setting('app.registration_token', true), ''))"
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION app_public_booking_medspa(slug text) RETURNS uuid
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
        DECLARE found uuid;
        BEGIN
            PERFORM set_config('app.public', 'on', true);
            SELECT l.medspa_id INTO found FROM location l
            WHERE l.booking_slug = slug AND l.active_for_scheduling;
            PERFORM set_config('app.public', 'off', true);
            RETURN found;
        END
        $$;
        CREATE OR REPLACE FUNCTION app_registration_medspa(hash text) RETURNS uuid
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
        DECLARE found uuid;
        BEGIN
            PERFORM set_config('app.registration_token', hash, true);
            SELECT r.medspa_id INTO found FROM registration_link r WHERE r.token_hash = hash;
            PERFORM set_config('app.registration_token', '', true);
            RETURN found;
        END
        $$;
        """
    )
    for lookup, (_key, _type, tenant, column, _row_id) in LOOKUPS.items():
        op.execute(
            f"ALTER TABLE {tenant} DROP CONSTRAINT uq_{tenant}_medspa_id_{column},"
            f" ADD CONSTRAINT uq_{tenant}_{column} UNIQUE ({column})"
        )
        op.execute(f"DROP TABLE {lookup}")


def _policies_upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app_auth_pcc_ids() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT coalesce(array_agg(p.id), '{}') FROM pcc p
            WHERE p.user_id = ANY (app_auth_user_ids())
        $$;
        CREATE FUNCTION app_auth_ooo_ids() RETURNS uuid[]
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
            SELECT coalesce(array_agg(id), '{}') FROM (
                SELECT o.id FROM out_of_office o WHERE o.pcc_id = ANY (app_auth_pcc_ids())
                UNION
                SELECT c.ooo_id FROM coverage c WHERE c.covering_pcc_id = ANY (app_auth_pcc_ids())
            ) mine
        $$;
        """
    )
    for function in ("app_auth_pcc_ids()", "app_auth_ooo_ids()"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {APP_ROLE}")
    for table, using in AUTH_VISIBILITY.items():
        op.execute(f"DROP POLICY auth_visibility ON {table}")
        op.execute(f"CREATE POLICY auth_visibility ON {table} FOR SELECT USING ({using})")


def _policies_downgrade() -> None:
    for table, using in OLD_AUTH_VISIBILITY.items():
        op.execute(f"DROP POLICY auth_visibility ON {table}")
        op.execute(f"CREATE POLICY auth_visibility ON {table} FOR SELECT USING ({using})")
    op.execute("DROP FUNCTION app_auth_ooo_ids()")
    op.execute("DROP FUNCTION app_auth_pcc_ids()")


def _policy_notifications_upgrade() -> None:
    op.execute("DROP TRIGGER policy_rule_changed ON policy_rule")
    # PL/pgSQL plans each statement when it first runs, so a branch may name a transition
    # table that only the triggers taking that branch define.
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION policy_rule_changed() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = public AS $$
        DECLARE
            medspas uuid[];
            listed jsonb;
            new_version bigint;
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                listed := to_jsonb('*'::text);
            ELSE
                IF TG_OP = 'INSERT' THEN
                    SELECT array_agg(DISTINCT medspa_id) INTO medspas FROM new_rows;
                ELSIF TG_OP = 'DELETE' THEN
                    SELECT array_agg(DISTINCT medspa_id) INTO medspas FROM old_rows;
                ELSE
                    SELECT array_agg(DISTINCT medspa_id) INTO medspas FROM (
                        SELECT medspa_id FROM old_rows UNION SELECT medspa_id FROM new_rows
                    ) changed;
                END IF;
                IF medspas IS NULL THEN
                    RETURN NULL;  -- no row changed: nothing to reload
                END IF;
                listed := CASE WHEN cardinality(medspas) > {MAX_LISTED}
                    THEN to_jsonb('*'::text) ELSE to_jsonb(medspas) END;
            END IF;
            UPDATE policy_version SET version = version + 1, changed_at = now() WHERE id = 1
            RETURNING version INTO new_version;
            PERFORM pg_notify(
                'policy_changed',
                jsonb_build_object('version', new_version, 'medspas', listed)::text
            );
            RETURN NULL;
        END
        $$;
        """
    )
    for name, when in POLICY_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when}"
            " FOR EACH STATEMENT EXECUTE FUNCTION policy_rule_changed()"
        )


def _policy_notifications_downgrade() -> None:
    for name in POLICY_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON policy_rule")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION policy_rule_changed() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = public AS $$
        DECLARE new_version bigint;
        BEGIN
            UPDATE policy_version SET version = version + 1, changed_at = now() WHERE id = 1
            RETURNING version INTO new_version;
            PERFORM pg_notify('policy_changed', new_version::text);
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER policy_rule_changed AFTER INSERT OR UPDATE OR DELETE ON policy_rule
        FOR EACH STATEMENT EXECUTE FUNCTION policy_rule_changed();
        """
    )
