"""Patient profile and registration links

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

- `registration_status` takes the product's names: NOT_STARTED, LINK_SENT, COMPLETED.
- `patient.date_of_birth`.
- `registration_link`: one row per link sent (who sent it, as which user, when, to where, when
  it expires, when it was used or superseded). Only the SHA-256 of the token is stored. At most
  one outstanding link per patient (a partial unique index): sending again supersedes it.
- An anonymous visitor holding a token reaches its medspa the way the public booking page
  does: `app_registration_medspa(token_hash)` is the only code that turns on the
  transaction-local `app.registration_token`, which the `registration_token` policy matches,
  and turns it off again before returning the link's medspa.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"
RENAMES = (("NOT_SENT", "NOT_STARTED"), ("SENT", "LINK_SENT"), ("REGISTERED", "COMPLETED"))


def upgrade() -> None:
    for old, new in RENAMES:
        op.execute(f"ALTER TYPE registration_status RENAME VALUE '{old}' TO '{new}'")
    op.add_column("patient", sa.Column("date_of_birth", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_patient_date_of_birth_plausible"),
        "patient",
        "date_of_birth IS NULL OR date_of_birth >= DATE '1900-01-01'",
    )
    op.create_table(
        "registration_link",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_to", sa.String(length=254), nullable=False),
        sa.Column("sent_by_user_id", sa.UUID(), nullable=False),
        sa.Column("sent_by_actor_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "expires_at > sent_at", name=op.f("ck_registration_link_expires_after_sent")
        ),
        sa.CheckConstraint(
            "used_at IS NULL OR superseded_at IS NULL",
            name=op.f("ck_registration_link_used_or_superseded"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_registration_link_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_registration_link_patient",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_registration_link_sent_by_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_registration_link_sent_by_actor_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_registration_link_token_hash")),
    )
    op.create_index(
        op.f("ix_registration_link_medspa_id"), "registration_link", ["medspa_id"], unique=False
    )
    op.create_index(
        "ix_registration_link_patient_sent", "registration_link", ["patient_id", "sent_at"]
    )
    op.create_index(
        "uq_registration_link_outstanding",
        "registration_link",
        ["patient_id"],
        unique=True,
        postgresql_where=sa.text("used_at IS NULL AND superseded_at IS NULL"),
    )
    _security_upgrade()


def downgrade() -> None:
    _security_downgrade()
    op.drop_table("registration_link")
    op.drop_constraint(op.f("ck_patient_date_of_birth_plausible"), "patient", type_="check")
    op.drop_column("patient", "date_of_birth")
    for old, new in RENAMES:
        op.execute(f"ALTER TYPE registration_status RENAME VALUE '{new}' TO '{old}'")


def _security_upgrade() -> None:
    # No DELETE: the record of a send stays; using or superseding a link is an UPDATE.
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON registration_link TO {APP_ROLE}")
    op.execute("ALTER TABLE registration_link ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE registration_link FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON registration_link "
        "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
    )
    op.execute(
        "CREATE POLICY registration_token ON registration_link FOR SELECT USING ("
        "token_hash = nullif(current_setting('app.registration_token', true), ''))"
    )
    op.execute(
        """
        CREATE FUNCTION app_registration_medspa(hash text) RETURNS uuid
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
        DECLARE found uuid;
        BEGIN
            PERFORM set_config('app.registration_token', hash, true);
            SELECT r.medspa_id INTO found FROM registration_link r WHERE r.token_hash = hash;
            PERFORM set_config('app.registration_token', '', true);
            RETURN found;
        END
        $$;
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_registration_medspa(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_registration_medspa(text) TO {APP_ROLE}")


def _security_downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS app_registration_medspa(text)")
    op.execute("DROP POLICY IF EXISTS registration_token ON registration_link")
    op.execute("DROP POLICY IF EXISTS tenant_isolation ON registration_link")
    op.execute(f"REVOKE ALL ON registration_link FROM {APP_ROLE}")
