"""Staff documents and support tickets

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23

- `staff_document`: a staff member's headshot, photo ID, signature or licence in one medspa.
  The bytes live in the configured storage (filesystem or S3) under `storage_key`; the row
  is PENDING from the moment an upload URL is issued until the upload lands (READY). A new
  upload of a kind supersedes the current one (one current document per person and kind).
- `support_ticket` and `support_ticket_comment`: typed tickets a medspa opens with Portrait
  and the conversation on them. Comments reference their ticket with the composite tenant key.
All three are tenant tables under FORCE ROW LEVEL SECURITY; their keys lead with medspa_id
(distributable by medspa, as migration 0006 made every tenant table). Documents and tickets
are never deleted by the app role (a superseded document stays on record).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"
TENANT_TABLES = {
    "staff_document": "SELECT, INSERT, UPDATE",
    "support_ticket": "SELECT, INSERT, UPDATE",
    "support_ticket_comment": "SELECT, INSERT",
}
ENUMS = {
    "staff_document_kind": ("HEADSHOT", "PHOTO_ID", "SIGNATURE", "LICENSE"),
    "staff_document_status": ("PENDING", "READY"),
    "support_ticket_kind": (
        "QUESTION",
        "PCC_UPGRADE",
        "AUTOPILOT_PROGRAM",
        "MEDICAL_DIRECTOR_PHYSICIAN_USER",
        "PRICING_CORRECTION",
        "INTEGRATION_RELEASE_CONFIRMATION",
    ),
    "support_ticket_status": ("OPEN", "IN_PROGRESS", "RESOLVED"),
}


def _enum(name: str) -> postgresql.ENUM:
    return postgresql.ENUM(*ENUMS[name], name=name, create_type=False)


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["app_user.id"], name=op.f(f"fk_{table}_{column}_app_user"), ondelete="RESTRICT"
    )


def _medspa_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["medspa_id"], ["medspa.id"], name=op.f(f"fk_{table}_medspa_id_medspa"), ondelete="CASCADE"
    )


def upgrade() -> None:
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name).create(op.get_bind())
    op.create_table(
        "staff_document",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", _enum("staff_document_kind"), nullable=False),
        sa.Column("status", _enum("staff_document_status"), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by_user_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("byte_size > 0", name=op.f("ck_staff_document_byte_size_positive")),
        sa.CheckConstraint(
            "(status = 'READY') = (uploaded_at IS NOT NULL)",
            name=op.f("ck_staff_document_ready_when_uploaded"),
        ),
        _medspa_fk("staff_document"),
        _user_fk("staff_document", "user_id"),
        _user_fk("staff_document", "uploaded_by_user_id"),
        sa.PrimaryKeyConstraint("medspa_id", "id", name=op.f("pk_staff_document")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_staff_document_medspa_id_id"),
        sa.UniqueConstraint("medspa_id", "storage_key", name="uq_staff_document_storage_key"),
    )
    op.create_index(op.f("ix_staff_document_medspa_id"), "staff_document", ["medspa_id"])
    op.create_index(
        "uq_staff_document_current",
        "staff_document",
        ["medspa_id", "user_id", "kind"],
        unique=True,
        postgresql_where=sa.text("status = 'READY' AND superseded_at IS NULL"),
    )

    op.create_table(
        "support_ticket",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("kind", _enum("support_ticket_kind"), nullable=False),
        sa.Column("status", _enum("support_ticket_status"), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("opened_by_user_id", sa.UUID(), nullable=False),
        sa.Column("opened_by_actor_user_id", sa.UUID(), nullable=True),
        sa.Column("pcc_id", sa.UUID(), nullable=True),
        sa.Column("assignee_user_id", sa.UUID(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by_user_id", sa.UUID(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        _medspa_fk("support_ticket"),
        _user_fk("support_ticket", "opened_by_user_id"),
        _user_fk("support_ticket", "opened_by_actor_user_id"),
        _user_fk("support_ticket", "assignee_user_id"),
        _user_fk("support_ticket", "resolved_by_user_id"),
        sa.ForeignKeyConstraint(
            ["pcc_id"], ["pcc.id"], name=op.f("fk_support_ticket_pcc_id_pcc"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("medspa_id", "id", name=op.f("pk_support_ticket")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_support_ticket_medspa_id_id"),
    )
    op.create_index(op.f("ix_support_ticket_medspa_id"), "support_ticket", ["medspa_id"])
    op.create_index("ix_support_ticket_status_created", "support_ticket", ["status", "created_at"])

    op.create_table(
        "support_ticket_comment",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("author_user_id", sa.UUID(), nullable=False),
        sa.Column("author_actor_user_id", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        _medspa_fk("support_ticket_comment"),
        _user_fk("support_ticket_comment", "author_user_id"),
        _user_fk("support_ticket_comment", "author_actor_user_id"),
        sa.ForeignKeyConstraint(
            ["medspa_id", "ticket_id"],
            ["support_ticket.medspa_id", "support_ticket.id"],
            name="fk_support_ticket_comment_ticket",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("medspa_id", "id", name=op.f("pk_support_ticket_comment")),
    )
    op.create_index(
        op.f("ix_support_ticket_comment_medspa_id"), "support_ticket_comment", ["medspa_id"]
    )
    op.create_index(
        "ix_support_ticket_comment_ticket_created",
        "support_ticket_comment",
        ["ticket_id", "created_at"],
    )

    for table, privileges in TENANT_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.drop_table(table)
    for name in ENUMS:
        op.execute(f"DROP TYPE IF EXISTS {name}")
