"""Staff documents can be deleted

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24

`deleteStaffDocument` (issue 19) removes a staff document's row with its stored bytes: the
application role gets DELETE on `staff_document` (row-level security's tenant policy covers
every command, so a caller deletes only rows of the medspas its transaction sees).
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"


def upgrade() -> None:
    op.execute(f"GRANT DELETE ON staff_document TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE DELETE ON staff_document FROM {APP_ROLE}")
