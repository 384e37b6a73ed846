"""Who created a patient and for which provider; fee lines that end

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

- `patient.created_by_user_id` and `patient.created_for_provider_id`: a PCC reaches the
  patients it created for a provider it reaches (DESIGN §5), so the row records both. The
  provider is a tenant foreign key `(medspa_id, created_for_provider_id)`; deleting the
  provider clears only the provider column.
- `medspa_fee_line.ends_on`: the PCC fee line exists exactly while the PCC service is on
  (DESIGN §2), so turning the service off ends the line instead of deleting the record. At most
  one open line per medspa and kind (a partial unique index).
- The app may delete a `coverage` row: a PCC upgraded to DESIGNATED no longer covers, and
  its windows not started yet are withdrawn so that the absence is open to another PCC (the
  one-coverage-per-absence constraint would otherwise keep it taken).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"


def upgrade() -> None:
    op.add_column(
        "patient",
        sa.Column(
            "created_by_user_id",
            sa.UUID(),
            sa.ForeignKey("app_user.id", ondelete="SET NULL", name="fk_patient_created_by_user"),
            nullable=True,
        ),
    )
    op.add_column("patient", sa.Column("created_for_provider_id", sa.UUID(), nullable=True))
    # SET NULL on the provider column only: medspa_id is part of the key and stays.
    op.execute(
        "ALTER TABLE patient ADD CONSTRAINT fk_patient_created_for_provider"
        " FOREIGN KEY (medspa_id, created_for_provider_id)"
        " REFERENCES provider (medspa_id, id) ON DELETE SET NULL (created_for_provider_id)"
    )
    op.create_index(
        "ix_patient_created_for_provider",
        "patient",
        ["created_for_provider_id"],
        postgresql_where=sa.text("created_for_provider_id IS NOT NULL"),
    )
    op.add_column("medspa_fee_line", sa.Column("ends_on", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_medspa_fee_line_ends_after_start"),
        "medspa_fee_line",
        "ends_on IS NULL OR ends_on >= starts_on",
    )
    op.create_index(
        "uq_medspa_fee_line_open",
        "medspa_fee_line",
        ["medspa_id", "kind"],
        unique=True,
        postgresql_where=sa.text("ends_on IS NULL"),
    )
    op.execute(f"GRANT DELETE ON coverage TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE DELETE ON coverage FROM {APP_ROLE}")
    op.drop_index("uq_medspa_fee_line_open", table_name="medspa_fee_line")
    op.drop_constraint(
        op.f("ck_medspa_fee_line_ends_after_start"), "medspa_fee_line", type_="check"
    )
    op.drop_column("medspa_fee_line", "ends_on")
    op.drop_index("ix_patient_created_for_provider", table_name="patient")
    op.execute("ALTER TABLE patient DROP CONSTRAINT fk_patient_created_for_provider")
    op.drop_column("patient", "created_for_provider_id")
    op.drop_column("patient", "created_by_user_id")
