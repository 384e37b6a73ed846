"""Future-use products are redeemed at a later visit

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24

A FUTURE_USE_PRODUCT line sells prepaid units (issue 18); a REDEMPTION line of a later
visit's checkout uses some of them (`redeems_line_id` names the line that sold them, of the
same medspa). What is left of a prepaid line is its quantity less the quantities of the
redemptions in checkouts that were not voided; the API refuses more.

The new enum value is compared as text in the check: a value added in this transaction may not
be used as an enum literal before the commit.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TYPE checkout_line_kind ADD VALUE IF NOT EXISTS 'REDEMPTION'")
    op.execute(
        """
        ALTER TABLE checkout_line
            ADD COLUMN redeems_line_id uuid,
            ADD CONSTRAINT fk_checkout_line_redeems FOREIGN KEY (medspa_id, redeems_line_id)
                REFERENCES checkout_line (medspa_id, id) ON DELETE RESTRICT,
            ADD CONSTRAINT ck_checkout_line_redemption_line
                CHECK ((kind::text = 'REDEMPTION') = (redeems_line_id IS NOT NULL));
        CREATE INDEX ix_checkout_line_redeems_line_id ON checkout_line (medspa_id, redeems_line_id)
            WHERE redeems_line_id IS NOT NULL;
        """
    )


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; REDEMPTION stays, unused.
    op.execute(
        """
        DELETE FROM checkout_line WHERE redeems_line_id IS NOT NULL;
        DROP INDEX IF EXISTS ix_checkout_line_redeems_line_id;
        ALTER TABLE checkout_line
            DROP CONSTRAINT IF EXISTS ck_checkout_line_redemption_line,
            DROP CONSTRAINT IF EXISTS fk_checkout_line_redeems,
            DROP COLUMN IF EXISTS redeems_line_id;
        """
    )
