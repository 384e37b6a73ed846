"""core tenancy, identity, audit

Revision ID: 0001
Revises: -
Create Date: 2026-11-23

Tables of the tenancy core, then the database's own guarantees: the non-owner application
role, row-level security on every tenant table, and the append-only audit trail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
    )
    op.create_index("uq_app_user_email_lower", "app_user", [sa.text("lower(email)")], unique=True)
    op.create_table(
        "audit_event",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("effective_user_id", sa.UUID(), nullable=True),
        sa.Column("masquerade_session_id", sa.UUID(), nullable=True),
        sa.Column("api_client_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("resource_type", sa.String(length=60), nullable=True),
        sa.Column("resource_id", sa.String(length=200), nullable=True),
        sa.Column(
            "outcome", sa.Enum("ALLOWED", "DENIED", "FAILED", name="audit_outcome"), nullable=False
        ),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(
        "ix_audit_event_medspa_occurred", "audit_event", ["medspa_id", "occurred_at"], unique=False
    )
    op.create_table(
        "medspa",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column(
            "business_model",
            sa.Enum("LEGACY", "LAUNCH", "FLEX", name="business_model"),
            nullable=False,
        ),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column(
            "gfe_routing",
            sa.Enum(
                "DO_NOT_ROUTE", "OWN_CLEARING_PROVIDER", "PORTRAIT_CLEARING", name="gfe_routing"
            ),
            nullable=False,
        ),
        sa.Column("pcc_service", sa.Boolean(), nullable=False),
        sa.Column("uses_portrait_ehr", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medspa")),
        sa.UniqueConstraint("slug", name=op.f("uq_medspa_slug")),
    )
    op.create_table(
        "policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_policy_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_version")),
    )
    op.create_table(
        "api_client",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_api_client_created_by_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_api_client_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_client_key_hash")),
        sa.UniqueConstraint("medspa_id", "name", name=op.f("uq_api_client_medspa_id_name")),
    )
    op.create_index(op.f("ix_api_client_medspa_id"), "api_client", ["medspa_id"], unique=False)
    op.create_table(
        "location",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("active_for_scheduling", sa.Boolean(), nullable=False),
        sa.Column("booking_slug", sa.String(length=63), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_location_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location")),
        sa.UniqueConstraint("booking_slug", name=op.f("uq_location_booking_slug")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_location_medspa_id_id"),
        sa.UniqueConstraint("medspa_id", "name", name=op.f("uq_location_medspa_id_name")),
    )
    op.create_index(op.f("ix_location_medspa_id"), "location", ["medspa_id"], unique=False)
    op.create_table(
        "membership",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "role", sa.Enum("medspa_admin", "provider", name="membership_role"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_membership_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_membership_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint(
            "medspa_id", "user_id", "role", name=op.f("uq_membership_medspa_id_user_id_role")
        ),
    )
    op.create_index(op.f("ix_membership_medspa_id"), "membership", ["medspa_id"], unique=False)
    op.create_index(op.f("ix_membership_user_id"), "membership", ["user_id"], unique=False)
    op.create_table(
        "pcc",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Enum("VIRTUAL", "DESIGNATED", name="pcc_kind"), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("working_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("designated_medspa_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'DESIGNATED') = (designated_medspa_id IS NOT NULL)",
            name=op.f("ck_pcc_designated_has_medspa"),
        ),
        sa.ForeignKeyConstraint(
            ["designated_medspa_id"],
            ["medspa.id"],
            name=op.f("fk_pcc_designated_medspa_id_medspa"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_pcc_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pcc")),
        sa.UniqueConstraint("user_id", name=op.f("uq_pcc_user_id")),
    )
    op.create_table(
        "policy_rule",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("obj", sa.String(length=60), nullable=False),
        sa.Column("act", sa.String(length=60), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("eft", sa.String(length=5), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("eft IN ('allow', 'deny')", name=op.f("ck_policy_rule_eft")),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_policy_rule_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rule")),
    )
    op.create_index(op.f("ix_policy_rule_medspa_id"), "policy_rule", ["medspa_id"], unique=False)
    op.create_table(
        "provider",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("credentials", sa.String(length=40), nullable=False),
        sa.Column("licensed_to_self_clear", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_provider_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_provider_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_provider_medspa_id_id"),
        sa.UniqueConstraint("medspa_id", "user_id", name=op.f("uq_provider_medspa_id_user_id")),
    )
    op.create_index(op.f("ix_provider_medspa_id"), "provider", ["medspa_id"], unique=False)
    op.create_index(op.f("ix_provider_user_id"), "provider", ["user_id"], unique=False)
    op.create_table(
        "staff_member",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("platform_admin", "pcc_manager", "pcc", name="staff_role"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_staff_member_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_member")),
    )
    op.create_table(
        "masquerade_session",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "expires_at <= started_at + interval '8 hours'",
            name=op.f("ck_masquerade_session_hard_cap_8h"),
        ),
        sa.CheckConstraint(
            "expires_at > started_at", name=op.f("ck_masquerade_session_expires_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_masquerade_session_actor_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_masquerade_session_provider",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_masquerade_session_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_masquerade_session")),
    )
    op.create_index(
        op.f("ix_masquerade_session_actor_user_id"),
        "masquerade_session",
        ["actor_user_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_masquerade_session_medspa_id"), "masquerade_session", ["medspa_id"], unique=False
    )
    op.create_index(
        op.f("ix_masquerade_session_provider_id"),
        "masquerade_session",
        ["provider_id"],
        unique=False,
    )
    op.create_table(
        "pcc_assignment",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("pcc_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at",
            name=op.f("ck_pcc_assignment_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_pcc_assignment_provider",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_pcc_assignment_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pcc_id"], ["pcc.id"], name=op.f("fk_pcc_assignment_pcc_id_pcc"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pcc_assignment")),
    )
    op.create_index(
        op.f("ix_pcc_assignment_medspa_id"), "pcc_assignment", ["medspa_id"], unique=False
    )
    op.create_index(op.f("ix_pcc_assignment_pcc_id"), "pcc_assignment", ["pcc_id"], unique=False)
    op.create_index(
        op.f("ix_pcc_assignment_provider_id"), "pcc_assignment", ["provider_id"], unique=False
    )
    _security_upgrade()


def downgrade() -> None:
    _security_downgrade()
    op.drop_index(op.f("ix_pcc_assignment_provider_id"), table_name="pcc_assignment")
    op.drop_index(op.f("ix_pcc_assignment_pcc_id"), table_name="pcc_assignment")
    op.drop_index(op.f("ix_pcc_assignment_medspa_id"), table_name="pcc_assignment")
    op.drop_table("pcc_assignment")
    op.drop_index(op.f("ix_masquerade_session_provider_id"), table_name="masquerade_session")
    op.drop_index(op.f("ix_masquerade_session_medspa_id"), table_name="masquerade_session")
    op.drop_index(op.f("ix_masquerade_session_actor_user_id"), table_name="masquerade_session")
    op.drop_table("masquerade_session")
    op.drop_table("staff_member")
    op.drop_index(op.f("ix_provider_user_id"), table_name="provider")
    op.drop_index(op.f("ix_provider_medspa_id"), table_name="provider")
    op.drop_table("provider")
    op.drop_index(op.f("ix_policy_rule_medspa_id"), table_name="policy_rule")
    op.drop_table("policy_rule")
    op.drop_table("pcc")
    op.drop_index(op.f("ix_membership_user_id"), table_name="membership")
    op.drop_index(op.f("ix_membership_medspa_id"), table_name="membership")
    op.drop_table("membership")
    op.drop_index(op.f("ix_location_medspa_id"), table_name="location")
    op.drop_table("location")
    op.drop_index(op.f("ix_api_client_medspa_id"), table_name="api_client")
    op.drop_table("api_client")
    op.drop_table("policy_version")
    op.drop_table("medspa")
    op.drop_index("ix_audit_event_medspa_occurred", table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_index("uq_app_user_email_lower", table_name="app_user")
    op.drop_table("app_user")
    for enum_name in (
        "audit_outcome",
        "business_model",
        "gfe_routing",
        "membership_role",
        "staff_role",
        "pcc_kind",
    ):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")


APP_ROLE = "medspa_app"

# Tables whose rows belong to one medspa, with the column that names it.
TENANT_TABLES = {
    "medspa": "id",
    "membership": "medspa_id",
    "provider": "medspa_id",
    "location": "medspa_id",
    "pcc_assignment": "medspa_id",
    "api_client": "medspa_id",
    "masquerade_session": "medspa_id",
    "policy_rule": "medspa_id",
}

# Identity rows the caller may see *before* its tenants are known (authentication phase),
# keyed on the transaction-local `app.user_ids` / `app.api_key_hash` set from a verified token.
AUTH_VISIBILITY = {
    "membership": "user_id = ANY (app_auth_user_ids())",
    "provider": "user_id = ANY (app_auth_user_ids())",
    "api_client": "key_hash = current_setting('app.api_key_hash', true)",
    "masquerade_session": "actor_user_id = ANY (app_auth_user_ids())",
    "pcc_assignment": (
        "pcc_id IN (SELECT p.id FROM pcc p WHERE p.user_id = ANY (app_auth_user_ids()))"
    ),
}


def _security_upgrade() -> None:
    # Roles belong to the whole server, not to one database: two databases migrated at once
    # (parallel test workers, two services on one server) race to create and grant the role,
    # and the loser of the race gets a unique violation, which here means "already done".
    # The owner (the migrating user) may SET ROLE to the app role.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        EXCEPTION WHEN unique_violation OR duplicate_object THEN
            NULL;
        END
        $$;
        DO $$
        BEGIN
            GRANT {APP_ROLE} TO CURRENT_USER;
        EXCEPTION WHEN unique_violation OR duplicate_object THEN
            NULL;
        END
        $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")

    # Settings arrive as text; these helpers turn them into arrays/flags once, in one place.
    op.execute(
        """
        CREATE FUNCTION app_medspa_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
            SELECT coalesce(nullif(current_setting('app.medspa_ids', true), ''), '{}')::uuid[]
        $$;
        CREATE FUNCTION app_auth_user_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
            SELECT coalesce(nullif(current_setting('app.user_ids', true), ''), '{}')::uuid[]
        $$;
        CREATE FUNCTION app_is_platform() RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT coalesce(current_setting('app.platform', true), '') = 'on'
        $$;
        CREATE FUNCTION app_can_see(medspa uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT app_is_platform() OR medspa = ANY (app_medspa_ids())
        $$;
        """
    )

    for table, column in TENANT_TABLES.items():
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (app_can_see({column})) WITH CHECK (app_can_see({column}))"
        )
        if table in AUTH_VISIBILITY:
            op.execute(
                f"CREATE POLICY auth_visibility ON {table} FOR SELECT "
                f"USING ({AUTH_VISIBILITY[table]})"
            )

    # Global tables: identities and Portrait staff. Readable by the app; written by it only
    # where a use case needs to (user directory changes go through the owner/seed for now).
    for table in ("app_user", "staff_member", "pcc"):
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, UPDATE ON policy_version TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")  # for /readyz
    op.execute("INSERT INTO policy_version (id, version) VALUES (1, 0)")

    # Policy changes bump the version and NOTIFY every server process to reload.
    op.execute(
        """
        CREATE FUNCTION policy_rule_changed() RETURNS trigger LANGUAGE plpgsql
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

    # The audit trail is append-only for the application: INSERT and SELECT, nothing else.
    op.execute(f"GRANT SELECT, INSERT ON audit_event TO {APP_ROLE}")
    op.execute("ALTER TABLE audit_event ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_event FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY audit_read ON audit_event FOR SELECT USING ("
        "app_is_platform() OR (medspa_id IS NOT NULL AND medspa_id = ANY (app_medspa_ids())))"
    )
    # Any principal may record what it did (denials included), but only about a tenant it
    # reaches or about no tenant at all.
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


def _security_downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_event_immutable ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_immutable()")
    op.execute("DROP TRIGGER IF EXISTS policy_rule_changed ON policy_rule")
    op.execute("DROP FUNCTION IF EXISTS policy_rule_changed()")
    for table in [*TENANT_TABLES, "audit_event"]:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS auth_visibility ON {table}")
    op.execute("DROP POLICY IF EXISTS audit_read ON audit_event")
    op.execute("DROP POLICY IF EXISTS audit_append ON audit_event")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    for fn in ("app_can_see(uuid)", "app_is_platform()", "app_auth_user_ids()", "app_medspa_ids()"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
