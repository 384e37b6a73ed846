"""The medspa's shipping address

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

Inventory orders ship to the medspa's shipping address, which onboarding's first step
collects (issues 18 and 19); no order can be placed while it is unset. One JSONB column of
fixed keys (line1, line2, city, region, postal_code, country), checked by the API.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("medspa", sa.Column("shipping_address", JSONB(), nullable=True))
    op.create_check_constraint(
        op.f("ck_medspa_shipping_address_object"),
        "medspa",
        "shipping_address IS NULL OR jsonb_typeof(shipping_address) = 'object'",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_medspa_shipping_address_object"), "medspa", type_="check")
    op.drop_column("medspa", "shipping_address")
