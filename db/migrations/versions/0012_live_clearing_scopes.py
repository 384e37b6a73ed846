"""The clearing partner's loop and booking-site partner keys (issue 17, items 4 and 5)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23

- `medical_team`, a Portrait staff role: the clinicians who clear GFE requests routed to
  Portrait.
- A GFE request's outcome: DECLINED (with a reason) and CANCELLED (withdrawn by the medspa)
  join PENDING and CLEARED; who resolved it and when.
- A partner API key may be limited to some of its medspa's locations (`location_ids`; NULL:
  every location).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New enum values are usable once this transaction commits; nothing below uses them.
    op.execute("ALTER TYPE staff_role ADD VALUE IF NOT EXISTS 'medical_team'")
    op.execute("ALTER TYPE gfe_request_status ADD VALUE IF NOT EXISTS 'DECLINED'")
    op.execute("ALTER TYPE gfe_request_status ADD VALUE IF NOT EXISTS 'CANCELLED'")
    op.add_column("gfe_request", sa.Column("resolved_at", sa.DateTime(timezone=True)))
    op.add_column("gfe_request", sa.Column("resolved_by_name", sa.String(200)))
    op.add_column("gfe_request", sa.Column("resolved_by_user_id", UUID(as_uuid=True)))
    op.add_column("gfe_request", sa.Column("resolved_by_api_client_id", UUID(as_uuid=True)))
    op.add_column("gfe_request", sa.Column("decline_reason", sa.Text()))
    op.add_column("api_client", sa.Column("location_ids", sa.ARRAY(UUID(as_uuid=True))))
    op.create_check_constraint(
        op.f("ck_api_client_location_ids_not_empty"),
        "api_client",
        "location_ids IS NULL OR cardinality(location_ids) > 0",
    )
    op.create_check_constraint(
        op.f("ck_gfe_request_declined_has_reason"),
        "gfe_request",
        "(status::text = 'DECLINED') = (decline_reason IS NOT NULL)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_client_location_ids_not_empty"), "api_client", type_="check")
    op.drop_column("api_client", "location_ids")
    op.drop_constraint(op.f("ck_gfe_request_declined_has_reason"), "gfe_request", type_="check")
    for column in (
        "decline_reason",
        "resolved_by_api_client_id",
        "resolved_by_user_id",
        "resolved_by_name",
        "resolved_at",
    ):
        op.drop_column("gfe_request", column)
    # PostgreSQL cannot drop enum values; the unused values stay.
