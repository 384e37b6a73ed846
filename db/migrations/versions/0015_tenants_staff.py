"""Tenants, invitations and the staff lifecycle (issue 19)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23

- `membership.deactivated_at` / `deactivated_by_user_id`: a deactivated membership keeps its
  row (history) but no longer lets its user into that medspa.
- `provider`: the licence (state, number, expiry date) and whether the provider is the
  medspa's medical director (at most one per medspa, a partial unique index).
- `invitation`: an admin's or a provider's invitation by email. Only the SHA-256 of its token
  is kept; single-use (`accepted_at`), expiring, revocable; at most one outstanding invitation
  per medspa and email. Its token hash is unique platform-wide through the global look-up
  `invitation_token` (as `registration_token`, migration 0006), read by
  `app_invitation_medspa(hash)` when an anonymous visitor accepts.
- `notification_outbox` carries invitation emails too: `invitation_id`, and the appointment
  and patient columns become optional (a row names an appointment or an invitation).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"


ONE_SUBJECT = (
    "num_nonnulls(appointment_id, inventory_order_id, invitation_id) <= 1"
    " AND (appointment_id IS NULL OR patient_id IS NOT NULL)"
    " AND num_nonnulls(appointment_id, subject_id, inventory_order_id, invitation_id) >= 1"
)


def upgrade() -> None:
    op.add_column(
        "membership", sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("membership", sa.Column("deactivated_by_user_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        "fk_membership_deactivated_by_user_id_app_user",
        "membership",
        "app_user",
        ["deactivated_by_user_id"],
        ["id"],
        ondelete="RESTRICT",
    )

    op.add_column("provider", sa.Column("license_state", sa.String(2), nullable=True))
    op.add_column("provider", sa.Column("license_number", sa.String(60), nullable=True))
    op.add_column("provider", sa.Column("license_expires_on", sa.Date(), nullable=True))
    op.add_column(
        "provider",
        sa.Column("is_medical_director", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "uq_provider_medical_director",
        "provider",
        ["medspa_id"],
        unique=True,
        postgresql_where=sa.text("is_medical_director"),
    )

    op.create_table(
        "invitation",
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=True),
        sa.Column("as_admin", sa.Boolean(), nullable=False),
        sa.Column("as_provider", sa.Boolean(), nullable=False),
        sa.Column("credentials", sa.String(40), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by_user_id", sa.UUID(), nullable=False),
        sa.Column("invited_by_actor_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_user_id", sa.UUID(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("as_admin OR as_provider", name=op.f("ck_invitation_some_role")),
        sa.CheckConstraint("expires_at > sent_at", name=op.f("ck_invitation_expires_after_sent")),
        sa.CheckConstraint(
            "accepted_at IS NULL OR revoked_at IS NULL",
            name=op.f("ck_invitation_accepted_or_revoked"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_invitation_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_invitation_invited_by_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_invitation_invited_by_actor_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_user_id"],
            ["app_user.id"],
            name=op.f("fk_invitation_accepted_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("medspa_id", "id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("medspa_id", "token_hash", name="uq_invitation_medspa_id_token_hash"),
    )
    op.create_index(op.f("ix_invitation_medspa_id"), "invitation", ["medspa_id"])
    op.create_index(
        "uq_invitation_outstanding",
        "invitation",
        ["medspa_id", sa.text("lower(email)")],
        unique=True,
        postgresql_where=sa.text("accepted_at IS NULL AND revoked_at IS NULL"),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON invitation TO {APP_ROLE}")
    op.execute("ALTER TABLE invitation ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE invitation FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON invitation "
        "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
    )

    op.execute(
        """
        CREATE TABLE invitation_token (
            token_hash varchar(64) NOT NULL,
            medspa_id uuid NOT NULL,
            invitation_id uuid NOT NULL,
            CONSTRAINT pk_invitation_token PRIMARY KEY (token_hash),
            CONSTRAINT fk_invitation_token_medspa_id_medspa FOREIGN KEY (medspa_id)
                REFERENCES medspa (id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_invitation_token_medspa_id ON invitation_token (medspa_id, invitation_id)"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON invitation_token TO {APP_ROLE}")
    op.execute("ALTER TABLE invitation_token ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE invitation_token FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON invitation_token"
        " USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
    )
    op.execute("CREATE POLICY lookup_read ON invitation_token FOR SELECT USING (true)")
    op.execute(
        "COMMENT ON TABLE invitation_token IS 'citus: reference - global look-up: a token_hash"
        " unique platform-wide and the tenant row it names (medspa_id is the answer, not the"
        " owner)'"
    )
    op.execute(
        """
        CREATE FUNCTION app_invitation_medspa(hash text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public AS $$
            SELECT t.medspa_id FROM invitation_token t WHERE t.token_hash = $1
        $$;
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_invitation_medspa(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_invitation_medspa(text) TO {APP_ROLE}")

    op.execute("ALTER TYPE notification_kind ADD VALUE IF NOT EXISTS 'STAFF_INVITATION'")
    op.add_column("notification_outbox", sa.Column("invitation_id", sa.UUID(), nullable=True))
    op.alter_column("notification_outbox", "appointment_id", nullable=True)
    op.alter_column("notification_outbox", "patient_id", nullable=True)
    op.create_foreign_key(
        "fk_notification_outbox_invitation",
        "notification_outbox",
        "invitation",
        ["medspa_id", "invitation_id"],
        ["medspa_id", "id"],
        ondelete="CASCADE",
    )
    # Every row has one recipient: a patient (an appointment's, a registration link's, an
    # expiring clearance's), an invited person, or the medspa's admins (an inventory order).
    # (it replaces 0011's "about an appointment or a subject" and 0014's "one subject").
    op.drop_constraint(
        op.f("ck_notification_outbox_about_something"), "notification_outbox", type_="check"
    )
    op.drop_constraint(
        op.f("ck_notification_outbox_one_subject"), "notification_outbox", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_notification_outbox_one_subject"), "notification_outbox", ONE_SUBJECT
    )


def downgrade() -> None:
    op.execute("DELETE FROM notification_outbox WHERE invitation_id IS NOT NULL")
    op.drop_constraint(
        op.f("ck_notification_outbox_one_subject"), "notification_outbox", type_="check"
    )
    op.create_check_constraint(
        op.f("ck_notification_outbox_one_subject"),
        "notification_outbox",
        "num_nonnulls(appointment_id, inventory_order_id) <= 1",
    )
    op.create_check_constraint(
        op.f("ck_notification_outbox_about_something"),
        "notification_outbox",
        "appointment_id IS NOT NULL OR subject_id IS NOT NULL",
    )
    op.drop_constraint(
        "fk_notification_outbox_invitation", "notification_outbox", type_="foreignkey"
    )
    op.alter_column("notification_outbox", "patient_id", nullable=False)
    op.alter_column("notification_outbox", "appointment_id", nullable=False)
    op.drop_column("notification_outbox", "invitation_id")
    # PostgreSQL cannot drop an enum value; STAFF_INVITATION stays unused.
    op.execute("DROP FUNCTION IF EXISTS app_invitation_medspa(text)")
    op.execute("DROP TABLE invitation_token")
    op.drop_table("invitation")
    op.drop_index("uq_provider_medical_director", table_name="provider")
    for column in ("is_medical_director", "license_expires_on", "license_number", "license_state"):
        op.drop_column("provider", column)
    op.drop_constraint(
        "fk_membership_deactivated_by_user_id_app_user", "membership", type_="foreignkey"
    )
    op.drop_column("membership", "deactivated_by_user_id")
    op.drop_column("membership", "deactivated_at")
