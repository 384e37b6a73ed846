"""PCC absences, coverage, channel-access grants, and business-model transitions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Absences and coverage are platform rows (a virtual PCC serves several medspas); the providers
an absence affects and the channel grants are tenant rows under the usual RLS policy, plus an
authentication-phase policy so a PCC can read the rows of its own absences and coverages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"
BUSINESS_MODEL = postgresql.ENUM(
    "LEGACY", "LAUNCH", "FLEX", name="business_model", create_type=False
)
TENANT_TABLES = (
    "ooo_affected_provider",
    "channel_access_grant",
    "medspa_fee_line",
    "medspa_integration",
    "business_model_transition",
)
PLATFORM_TABLES = ("out_of_office", "coverage", "platform_holiday")
# A PCC sees the affected-provider rows of its own absences and of absences it covers, and
# its own channel grants, before (and regardless of) its tenant settings.
AUTH_VISIBILITY = {
    "ooo_affected_provider": (
        "EXISTS (SELECT 1 FROM out_of_office o JOIN pcc p ON p.id = o.pcc_id"
        " WHERE o.id = ooo_affected_provider.ooo_id AND p.user_id = ANY (app_auth_user_ids()))"
        " OR EXISTS (SELECT 1 FROM coverage c JOIN pcc p ON p.id = c.covering_pcc_id"
        " WHERE c.ooo_id = ooo_affected_provider.ooo_id"
        " AND p.user_id = ANY (app_auth_user_ids()))"
    ),
    "channel_access_grant": (
        "EXISTS (SELECT 1 FROM pcc p WHERE p.id = channel_access_grant.pcc_id"
        " AND p.user_id = ANY (app_auth_user_ids()))"
    ),
}


def upgrade() -> None:
    op.create_table(
        "platform_holiday",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_platform_holiday_ends_after_start")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_holiday")),
    )
    op.create_table(
        "business_model_transition",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("from_model", BUSINESS_MODEL, nullable=False),
        sa.Column("to_model", BUSINESS_MODEL, nullable=False),
        sa.Column("keep_pcc", sa.Boolean(), nullable=False),
        sa.Column("transitioned_by_user_id", sa.UUID(), nullable=False),
        sa.Column(
            "transitioned_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_business_model_transition_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transitioned_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_business_model_transition_transitioned_by_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_model_transition")),
    )
    op.create_index(
        op.f("ix_business_model_transition_medspa_id"),
        "business_model_transition",
        ["medspa_id"],
        unique=False,
    )
    op.create_table(
        "medspa_fee_line",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
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
            name=op.f("fk_medspa_fee_line_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medspa_fee_line")),
    )
    op.create_index(
        op.f("ix_medspa_fee_line_medspa_id"), "medspa_fee_line", ["medspa_id"], unique=False
    )
    op.create_table(
        "medspa_integration",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "OPENPHONE_LINE", "TIGERCONNECT_CHANNEL", "ACUITY_CALENDAR", name="integration_kind"
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE", "MARKED_FOR_RELEASE", "DEACTIVATED", "REVOKED", name="integration_status"
            ),
            nullable=False,
        ),
        sa.Column("status_changed_on", sa.Date(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_medspa_integration_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medspa_integration")),
        sa.UniqueConstraint("medspa_id", "kind", name=op.f("uq_medspa_integration_medspa_id_kind")),
    )
    op.create_index(
        op.f("ix_medspa_integration_medspa_id"), "medspa_integration", ["medspa_id"], unique=False
    )
    op.create_table(
        "out_of_office",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("pcc_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Enum("FULL_DAY", "PARTIAL_DAY", name="ooo_kind"), nullable=False),
        sa.Column(
            "reason",
            sa.Enum("VACATION", "SICK", "EMERGENCY", "OTHER", name="ooo_reason"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reported_by_user_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_out_of_office_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["pcc_id"], ["pcc.id"], name=op.f("fk_out_of_office_pcc_id_pcc"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_out_of_office_reported_by_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_out_of_office")),
    )
    op.create_index(op.f("ix_out_of_office_pcc_id"), "out_of_office", ["pcc_id"], unique=False)
    op.create_table(
        "coverage",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("ooo_id", sa.UUID(), nullable=False),
        sa.Column("covering_pcc_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.Enum("OFFERED", "ASSIGNED", name="coverage_source"), nullable=False),
        sa.Column("arranged_by_user_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_coverage_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["arranged_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_coverage_arranged_by_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["covering_pcc_id"],
            ["pcc.id"],
            name=op.f("fk_coverage_covering_pcc_id_pcc"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ooo_id"],
            ["out_of_office.id"],
            name=op.f("fk_coverage_ooo_id_out_of_office"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage")),
        sa.UniqueConstraint("ooo_id", name="uq_coverage_one_per_absence"),
    )
    op.create_index(
        op.f("ix_coverage_covering_pcc_id"), "coverage", ["covering_pcc_id"], unique=False
    )
    op.create_table(
        "ooo_affected_provider",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("ooo_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("covers_own_lines", sa.Boolean(), nullable=False),
        sa.Column("covers_own_lines_set_by", sa.UUID(), nullable=True),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["covers_own_lines_set_by"],
            ["app_user.id"],
            name=op.f("fk_ooo_affected_provider_covers_own_lines_set_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_ooo_affected_provider_provider",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_ooo_affected_provider_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ooo_id"],
            ["out_of_office.id"],
            name=op.f("fk_ooo_affected_provider_ooo_id_out_of_office"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ooo_affected_provider")),
        sa.UniqueConstraint(
            "ooo_id", "provider_id", name=op.f("uq_ooo_affected_provider_ooo_id_provider_id")
        ),
    )
    op.create_index(
        op.f("ix_ooo_affected_provider_medspa_id"),
        "ooo_affected_provider",
        ["medspa_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ooo_affected_provider_ooo_id"), "ooo_affected_provider", ["ooo_id"], unique=False
    )
    op.create_index(
        op.f("ix_ooo_affected_provider_provider_id"),
        "ooo_affected_provider",
        ["provider_id"],
        unique=False,
    )
    op.create_table(
        "channel_access_grant",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("coverage_id", sa.UUID(), nullable=False),
        sa.Column("pcc_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("OPENPHONE_LINE", "TIGERCONNECT_CHAT", name="channel"),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_channel_access_grant_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["coverage.id"],
            name=op.f("fk_channel_access_grant_coverage_id_coverage"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_channel_access_grant_provider",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_channel_access_grant_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pcc_id"],
            ["pcc.id"],
            name=op.f("fk_channel_access_grant_pcc_id_pcc"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_access_grant")),
    )
    op.create_index(
        op.f("ix_channel_access_grant_coverage_id"),
        "channel_access_grant",
        ["coverage_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_channel_access_grant_medspa_id"),
        "channel_access_grant",
        ["medspa_id"],
        unique=False,
    )
    _security_upgrade()


def downgrade() -> None:
    _security_downgrade()
    op.drop_index(op.f("ix_channel_access_grant_medspa_id"), table_name="channel_access_grant")
    op.drop_index(op.f("ix_channel_access_grant_coverage_id"), table_name="channel_access_grant")
    op.drop_table("channel_access_grant")
    op.drop_index(op.f("ix_ooo_affected_provider_provider_id"), table_name="ooo_affected_provider")
    op.drop_index(op.f("ix_ooo_affected_provider_ooo_id"), table_name="ooo_affected_provider")
    op.drop_index(op.f("ix_ooo_affected_provider_medspa_id"), table_name="ooo_affected_provider")
    op.drop_table("ooo_affected_provider")
    op.drop_index(op.f("ix_coverage_covering_pcc_id"), table_name="coverage")
    op.drop_table("coverage")
    op.drop_index(op.f("ix_out_of_office_pcc_id"), table_name="out_of_office")
    op.drop_table("out_of_office")
    op.drop_index(op.f("ix_medspa_integration_medspa_id"), table_name="medspa_integration")
    op.drop_table("medspa_integration")
    op.drop_index(op.f("ix_medspa_fee_line_medspa_id"), table_name="medspa_fee_line")
    op.drop_table("medspa_fee_line")
    op.drop_index(
        op.f("ix_business_model_transition_medspa_id"), table_name="business_model_transition"
    )
    op.drop_table("business_model_transition")
    op.drop_table("platform_holiday")
    for enum_name in (
        "channel",
        "coverage_source",
        "ooo_reason",
        "ooo_kind",
        "integration_status",
        "integration_kind",
    ):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")


def _security_upgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )
    for table, using in AUTH_VISIBILITY.items():
        op.execute(f"CREATE POLICY auth_visibility ON {table} FOR SELECT USING ({using})")
    for table in PLATFORM_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {APP_ROLE}")


def _security_downgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS auth_visibility ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    for table in PLATFORM_TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
