"""Calendar ranges bounded on both ends

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

An appointment lasts at most a day. The calendar asks for appointments overlapping
[from, to): `starts_at < to AND ends_at > from`; only the first half could use the
(medspa_id | provider_id | location_id | patient_id, starts_at) indexes, so a week read all of
a medspa's history before its end. With an appointment at most 24 hours long (a type lasts at
most 12), `starts_at > from - 24 hours` is implied, and the queries state it, which bounds the
index range on both ends.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_check_constraint(
        op.f("ck_appointment_at_most_a_day"),
        "appointment",
        "ends_at <= starts_at + interval '24 hours'",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_appointment_at_most_a_day"), "appointment", type_="check")
