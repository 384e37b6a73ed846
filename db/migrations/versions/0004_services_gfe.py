"""Services library and catalogue, consents and care messages, GFE requests and clearances,
service visits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

- `library_service_group` and `library_service` are platform rows (Portrait's library):
  readable by the app role, written by it for platform admins; no RLS (no tenant).
- Every other new table carries `medspa_id`, composite tenant foreign keys, and the usual
  `tenant_isolation` policy (ENABLE + FORCE). Document versions and clearances are
  append-only for the app role (no UPDATE, no DELETE): a new version or a new signing is a
  new row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"
PLATFORM_TABLES = {
    "library_service_group": "SELECT, INSERT, UPDATE",
    "library_service": "SELECT, INSERT, UPDATE",
}
TENANT_TABLES = {
    "service_group": "SELECT, INSERT, UPDATE",
    "service": "SELECT, INSERT, UPDATE",
    "service_document": "SELECT, INSERT",
    "service_document_requirement": "SELECT, INSERT, DELETE",
    "appointment_type_service": "SELECT, INSERT, DELETE",
    "gfe_settings": "SELECT, INSERT, UPDATE",
    "gfe_request": "SELECT, INSERT, UPDATE",
    "gfe_request_service": "SELECT, INSERT",
    "clearance": "SELECT, INSERT",
    "service_visit": "SELECT, INSERT, UPDATE",
    "service_visit_service": "SELECT, INSERT, DELETE",
}
ENUMS = (
    "gfe_destination",
    "gfe_request_status",
    "service_document_kind",
    "clearance_source",
    "service_visit_status",
)


def upgrade() -> None:
    op.create_table(
        "library_service_group",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_service_group")),
        sa.UniqueConstraint("name", name=op.f("uq_library_service_group_name")),
    )
    op.create_table(
        "gfe_settings",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("clearing_provider_name", sa.String(length=200), nullable=True),
        sa.Column("clearing_provider_email", sa.String(length=254), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_gfe_settings_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gfe_settings")),
        sa.UniqueConstraint("medspa_id", name=op.f("uq_gfe_settings_medspa_id")),
    )
    op.create_index(op.f("ix_gfe_settings_medspa_id"), "gfe_settings", ["medspa_id"], unique=False)
    op.create_table(
        "library_service",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("default_price_cents", sa.Integer(), nullable=False),
        sa.Column("standing_orders", sa.Text(), nullable=True),
        sa.Column("consents", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("care_messages", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "default_price_cents >= 0", name=op.f("ck_library_service_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["library_service_group.id"],
            name=op.f("fk_library_service_group_id_library_service_group"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_service")),
        sa.UniqueConstraint("name", name=op.f("uq_library_service_name")),
    )
    op.create_index(
        op.f("ix_library_service_group_id"), "library_service", ["group_id"], unique=False
    )
    op.create_table(
        "service_group",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("library_group_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_group_id"],
            ["library_service_group.id"],
            name=op.f("fk_service_group_library_group_id_library_service_group"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_service_group_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_group")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_service_group_medspa_id_id"),
        sa.UniqueConstraint("medspa_id", "name", name=op.f("uq_service_group_medspa_id_name")),
    )
    op.create_index(
        op.f("ix_service_group_medspa_id"), "service_group", ["medspa_id"], unique=False
    )
    op.create_index(
        "uq_service_group_medspa_library",
        "service_group",
        ["medspa_id", "library_group_id"],
        unique=True,
        postgresql_where=sa.text("library_group_id IS NOT NULL"),
    )
    op.create_table(
        "gfe_request",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column(
            "destination",
            sa.Enum("MANUAL", "THIRD_PARTY", "PORTRAIT", name="gfe_destination"),
            nullable=False,
        ),
        sa.Column("routed_to_name", sa.String(length=200), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("urgent_fee_applies", sa.Boolean(), nullable=False),
        sa.Column(
            "status", sa.Enum("PENDING", "CLEARED", name="gfe_request_status"), nullable=False
        ),
        sa.Column("requested_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_gfe_request_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_gfe_request_provider",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_gfe_request_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gfe_request")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_gfe_request_medspa_id_id"),
    )
    op.create_index(op.f("ix_gfe_request_medspa_id"), "gfe_request", ["medspa_id"], unique=False)
    op.create_index("ix_gfe_request_patient", "gfe_request", ["patient_id"], unique=False)
    op.create_index(
        op.f("ix_gfe_request_provider_id"), "gfe_request", ["provider_id"], unique=False
    )
    op.create_table(
        "service",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("library_service_id", sa.UUID(), nullable=True),
        sa.Column("library_version", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("standing_orders", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_service_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["library_service_id"],
            ["library_service.id"],
            name=op.f("fk_service_library_service_id_library_service"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "group_id"],
            ["service_group.medspa_id", "service_group.id"],
            name="fk_service_group",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_service_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_service_medspa_id_id"),
        sa.UniqueConstraint("medspa_id", "name", name=op.f("uq_service_medspa_id_name")),
    )
    op.create_index(op.f("ix_service_group_id"), "service", ["group_id"], unique=False)
    op.create_index(
        op.f("ix_service_library_service_id"), "service", ["library_service_id"], unique=False
    )
    op.create_index(op.f("ix_service_medspa_id"), "service", ["medspa_id"], unique=False)
    op.create_index(
        "uq_service_medspa_library",
        "service",
        ["medspa_id", "library_service_id"],
        unique=True,
        postgresql_where=sa.text("library_service_id IS NOT NULL"),
    )
    op.create_table(
        "service_document",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("lineage_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "kind", sa.Enum("CONSENT", "CARE_MESSAGE", name="service_document_kind"), nullable=False
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("library_service_id", sa.UUID(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_service_document_version_positive")),
        sa.ForeignKeyConstraint(
            ["library_service_id"],
            ["library_service.id"],
            name=op.f("fk_service_document_library_service_id_library_service"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_service_document_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_document")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_service_document_medspa_id_id"),
        sa.UniqueConstraint(
            "medspa_id",
            "lineage_id",
            "version",
            name=op.f("uq_service_document_medspa_id_lineage_id_version"),
        ),
    )
    op.create_index(
        op.f("ix_service_document_medspa_id"), "service_document", ["medspa_id"], unique=False
    )
    op.create_table(
        "appointment_type_service",
        sa.Column("appointment_type_id", sa.UUID(), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            name="fk_appointment_type_service_type",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            name="fk_appointment_type_service_service",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_appointment_type_service_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "appointment_type_id", "service_id", name=op.f("pk_appointment_type_service")
        ),
    )
    op.create_index(
        op.f("ix_appointment_type_service_medspa_id"),
        "appointment_type_service",
        ["medspa_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_appointment_type_service_service_id"),
        "appointment_type_service",
        ["service_id"],
        unique=False,
    )
    op.create_table(
        "clearance",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("SELF", "THIRD_PARTY", "PORTRAIT", name="clearance_source"),
            nullable=False,
        ),
        sa.Column("signed_by_provider_id", sa.UUID(), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("diagnoses", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("gfe_request_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(source = 'SELF') = (signed_by_provider_id IS NOT NULL)",
            name=op.f("ck_clearance_self_has_signer"),
        ),
        sa.CheckConstraint(
            "expires_at > signed_at", name=op.f("ck_clearance_expires_after_signing")
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "gfe_request_id"],
            ["gfe_request.medspa_id", "gfe_request.id"],
            name="fk_clearance_request",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_clearance_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            name="fk_clearance_service",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "signed_by_provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_clearance_provider",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_clearance_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearance")),
    )
    op.create_index(op.f("ix_clearance_medspa_id"), "clearance", ["medspa_id"], unique=False)
    op.create_index(
        "ix_clearance_patient_service",
        "clearance",
        ["patient_id", "service_id", "expires_at"],
        unique=False,
    )
    op.create_table(
        "gfe_request_service",
        sa.Column("gfe_request_id", sa.UUID(), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "gfe_request_id"],
            ["gfe_request.medspa_id", "gfe_request.id"],
            name="fk_gfe_request_service_request",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            name="fk_gfe_request_service_service",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_gfe_request_service_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "gfe_request_id", "service_id", name=op.f("pk_gfe_request_service")
        ),
    )
    op.create_index(
        op.f("ix_gfe_request_service_medspa_id"), "gfe_request_service", ["medspa_id"], unique=False
    )
    op.create_table(
        "service_document_requirement",
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "document_id"],
            ["service_document.medspa_id", "service_document.id"],
            name="fk_service_document_requirement_document",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            name="fk_service_document_requirement_service",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_service_document_requirement_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service_id", "document_id", name=op.f("pk_service_document_requirement")
        ),
    )
    op.create_index(
        op.f("ix_service_document_requirement_document_id"),
        "service_document_requirement",
        ["document_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_document_requirement_medspa_id"),
        "service_document_requirement",
        ["medspa_id"],
        unique=False,
    )
    op.create_table(
        "service_visit",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.Enum("OPEN", "CLOSED", name="service_visit_status"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("charted_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(status = 'CLOSED') = (closed_at IS NOT NULL)",
            name=op.f("ck_service_visit_closed_has_closed_at"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "appointment_id"],
            ["appointment.medspa_id", "appointment.id"],
            name="fk_service_visit_appointment",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_service_visit_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_service_visit_provider",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_service_visit_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_visit")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_service_visit_medspa_id_id"),
    )
    op.create_index(
        op.f("ix_service_visit_medspa_id"), "service_visit", ["medspa_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_visit_patient_id"), "service_visit", ["patient_id"], unique=False
    )
    op.create_index(
        "ix_service_visit_provider_opened",
        "service_visit",
        ["provider_id", "opened_at"],
        unique=False,
    )
    op.create_table(
        "service_visit_service",
        sa.Column("service_visit_id", sa.UUID(), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            name="fk_service_visit_service_service",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_visit_id"],
            ["service_visit.medspa_id", "service_visit.id"],
            name="fk_service_visit_service_visit",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_service_visit_service_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "service_visit_id", "service_id", name=op.f("pk_service_visit_service")
        ),
    )
    op.create_index(
        op.f("ix_service_visit_service_medspa_id"),
        "service_visit_service",
        ["medspa_id"],
        unique=False,
    )
    _security_upgrade()


def _security_upgrade() -> None:
    for table, privileges in TENANT_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )
    for table, privileges in PLATFORM_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")


def _security_downgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    for table in PLATFORM_TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")


def downgrade() -> None:
    _security_downgrade()
    op.drop_index(op.f("ix_service_visit_service_medspa_id"), table_name="service_visit_service")
    op.drop_table("service_visit_service")
    op.drop_index("ix_service_visit_provider_opened", table_name="service_visit")
    op.drop_index(op.f("ix_service_visit_patient_id"), table_name="service_visit")
    op.drop_index(op.f("ix_service_visit_medspa_id"), table_name="service_visit")
    op.drop_table("service_visit")
    op.drop_index(
        op.f("ix_service_document_requirement_medspa_id"), table_name="service_document_requirement"
    )
    op.drop_index(
        op.f("ix_service_document_requirement_document_id"),
        table_name="service_document_requirement",
    )
    op.drop_table("service_document_requirement")
    op.drop_index(op.f("ix_gfe_request_service_medspa_id"), table_name="gfe_request_service")
    op.drop_table("gfe_request_service")
    op.drop_index("ix_clearance_patient_service", table_name="clearance")
    op.drop_index(op.f("ix_clearance_medspa_id"), table_name="clearance")
    op.drop_table("clearance")
    op.drop_index(
        op.f("ix_appointment_type_service_service_id"), table_name="appointment_type_service"
    )
    op.drop_index(
        op.f("ix_appointment_type_service_medspa_id"), table_name="appointment_type_service"
    )
    op.drop_table("appointment_type_service")
    op.drop_index(op.f("ix_service_document_medspa_id"), table_name="service_document")
    op.drop_table("service_document")
    op.drop_index(
        "uq_service_medspa_library",
        table_name="service",
        postgresql_where=sa.text("library_service_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_service_medspa_id"), table_name="service")
    op.drop_index(op.f("ix_service_library_service_id"), table_name="service")
    op.drop_index(op.f("ix_service_group_id"), table_name="service")
    op.drop_table("service")
    op.drop_index(op.f("ix_gfe_request_provider_id"), table_name="gfe_request")
    op.drop_index("ix_gfe_request_patient", table_name="gfe_request")
    op.drop_index(op.f("ix_gfe_request_medspa_id"), table_name="gfe_request")
    op.drop_table("gfe_request")
    op.drop_index(
        "uq_service_group_medspa_library",
        table_name="service_group",
        postgresql_where=sa.text("library_group_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_service_group_medspa_id"), table_name="service_group")
    op.drop_table("service_group")
    op.drop_index(op.f("ix_library_service_group_id"), table_name="library_service")
    op.drop_table("library_service")
    op.drop_index(op.f("ix_gfe_settings_medspa_id"), table_name="gfe_settings")
    op.drop_table("gfe_settings")
    op.drop_table("library_service_group")
    for enum_name in ENUMS:
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")
