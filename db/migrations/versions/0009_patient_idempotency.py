"""createPatient idempotency keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23

A client that retries `createPatient` after a lost answer (a reset connection, a 503, a
timeout) sends the same `idempotencyKey` and gets the patient its first attempt created, not
a duplicate: `patient.idempotency_key`, unique per medspa when set (the same mechanism as an
appointment's key).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patient", sa.Column("idempotency_key", sa.String(length=128), nullable=True))
    op.create_index(
        "uq_patient_medspa_idempotency_key",
        "patient",
        ["medspa_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_patient_medspa_idempotency_key", table_name="patient")
    op.drop_column("patient", "idempotency_key")
