"""scheduling: settings, appointment types, availability, patients, appointments, outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Tables of issue 4, then the database's guarantees for them:
- `btree_gist` and an exclusion constraint: no two live appointments of one provider overlap
  (their blocked ranges, i.e. the visit plus the type's buffers, `[)` so back-to-back is fine);
- row-level security (ENABLE + FORCE + `tenant_isolation`) and grants for every new tenant
  table, like 0001; appointments and the outbox are never deleted by the application;
- the public booking lookup: a `public_booking` policy on `location` that shows active rows
  with a booking slug only while the transaction-local `app.public` is `on`, and
  `app_public_booking_medspa(slug)`, the one function that switches it on, reads the slug's
  medspa and switches it off again (see api/resolvers/public_booking.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # btree_gist lets a GiST exclusion constraint compare uuids with `=` (trusted extension).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "appointment_type",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("deposit_cents", sa.Integer(), nullable=True),
        sa.Column("cancellation_fee_cents", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(deposit_cents IS NULL OR deposit_cents >= 0)"
            " AND (cancellation_fee_cents IS NULL OR cancellation_fee_cents >= 0)",
            name=op.f("ck_appointment_type_fees_not_negative"),
        ),
        sa.CheckConstraint(
            "buffer_before_minutes BETWEEN 0 AND 240 AND buffer_after_minutes BETWEEN 0 AND 240",
            name=op.f("ck_appointment_type_buffer_range"),
        ),
        sa.CheckConstraint(
            "duration_minutes BETWEEN 5 AND 720", name=op.f("ck_appointment_type_duration_range")
        ),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_appointment_type_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_appointment_type_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_type")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_appointment_type_medspa_id_id"),
        sa.UniqueConstraint("medspa_id", "name", name=op.f("uq_appointment_type_medspa_id_name")),
    )
    op.create_index(
        op.f("ix_appointment_type_medspa_id"), "appointment_type", ["medspa_id"], unique=False
    )
    op.create_table(
        "patient",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column(
            "registration_status",
            sa.Enum("NOT_SENT", "SENT", "REGISTERED", name="registration_status"),
            nullable=False,
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "source", sa.Enum("STAFF", "PUBLIC_BOOKING", name="patient_source"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "email IS NOT NULL OR phone IS NOT NULL", name=op.f("ck_patient_has_contact")
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_patient_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_patient_medspa_id_id"),
    )
    op.create_index(op.f("ix_patient_medspa_id"), "patient", ["medspa_id"], unique=False)
    op.create_index(
        "uq_patient_medspa_email",
        "patient",
        ["medspa_id", sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_index(
        "uq_patient_medspa_phone",
        "patient",
        ["medspa_id", "phone"],
        unique=True,
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    op.create_table(
        "scheduling_settings",
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("deposits_enabled", sa.Boolean(), nullable=False),
        sa.Column("cancellation_fees_enabled", sa.Boolean(), nullable=False),
        sa.Column("cancellation_window_hours", sa.Integer(), nullable=False),
        sa.Column("send_confirmation", sa.Boolean(), nullable=False),
        sa.Column("reminder_lead_hours", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("send_cancellation_notice", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "cancellation_window_hours BETWEEN 0 AND 720",
            name=op.f("ck_scheduling_settings_window_range"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_scheduling_settings_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("medspa_id", name=op.f("pk_scheduling_settings")),
    )
    op.create_table(
        "appointment",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("appointment_type_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "BOOKED",
                "CONFIRMED",
                "CHECKED_IN",
                "COMPLETED",
                "NO_SHOW",
                "CANCELLED",
                name="appointment_status",
            ),
            nullable=False,
        ),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("deposit_cents", sa.Integer(), nullable=True),
        sa.Column("cancellation_fee_cents", sa.Integer(), nullable=True),
        sa.Column(
            "source", sa.Enum("STAFF", "PARTNER", "PUBLIC", name="booking_source"), nullable=False
        ),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("booked_by_user_id", sa.UUID(), nullable=True),
        sa.Column("booked_by_api_client_id", sa.UUID(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("cancellation_fee_applies", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        postgresql.ExcludeConstraint(
            (sa.column("provider_id"), "="),
            (sa.text("tstzrange(blocked_from, blocked_until, '[)')"), "&&"),
            where=sa.text("status NOT IN ('CANCELLED', 'NO_SHOW')"),
            using="gist",
            name="ex_appointment_provider_no_overlap",
        ),
        sa.CheckConstraint(
            "blocked_from <= starts_at AND blocked_until >= ends_at",
            name=op.f("ck_appointment_blocked_covers_visit"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointment_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            name="fk_appointment_type",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            name="fk_appointment_location",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_appointment_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_appointment_provider",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_appointment_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_appointment_medspa_id_id"),
        sa.UniqueConstraint(
            "medspa_id", "idempotency_key", name=op.f("uq_appointment_medspa_id_idempotency_key")
        ),
    )
    op.create_index(
        "ix_appointment_location_starts", "appointment", ["location_id", "starts_at"], unique=False
    )
    op.create_index(op.f("ix_appointment_medspa_id"), "appointment", ["medspa_id"], unique=False)
    op.create_index(
        "ix_appointment_medspa_starts", "appointment", ["medspa_id", "starts_at"], unique=False
    )
    op.create_index(
        "ix_appointment_patient_starts", "appointment", ["patient_id", "starts_at"], unique=False
    )
    op.create_index(
        "ix_appointment_provider_starts", "appointment", ["provider_id", "starts_at"], unique=False
    )
    op.create_table(
        "appointment_type_location",
        sa.Column("appointment_type_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            name="fk_appointment_type_location_type",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            name="fk_appointment_type_location_location",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_appointment_type_location_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "appointment_type_id", "location_id", name=op.f("pk_appointment_type_location")
        ),
    )
    op.create_index(
        op.f("ix_appointment_type_location_location_id"),
        "appointment_type_location",
        ["location_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_appointment_type_location_medspa_id"),
        "appointment_type_location",
        ["medspa_id"],
        unique=False,
    )
    op.create_table(
        "availability_exception",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("BLOCK_OFF", "OVERRIDE", name="availability_exception_kind"),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "kind = 'BLOCK_OFF' OR location_id IS NOT NULL",
            name=op.f("ck_availability_exception_override_has_location"),
        ),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_availability_exception_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            name="fk_availability_exception_location",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_availability_exception_provider",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_availability_exception_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_exception")),
    )
    op.create_index(
        op.f("ix_availability_exception_medspa_id"),
        "availability_exception",
        ["medspa_id"],
        unique=False,
    )
    op.create_index(
        "ix_availability_exception_provider_starts",
        "availability_exception",
        ["provider_id", "starts_at"],
        unique=False,
    )
    op.create_table(
        "provider_appointment_type",
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("appointment_type_id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "appointment_type_id"],
            ["appointment_type.medspa_id", "appointment_type.id"],
            name="fk_provider_appointment_type_type",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_provider_appointment_type_provider",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_provider_appointment_type_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "provider_id", "appointment_type_id", name=op.f("pk_provider_appointment_type")
        ),
    )
    op.create_index(
        op.f("ix_provider_appointment_type_appointment_type_id"),
        "provider_appointment_type",
        ["appointment_type_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_provider_appointment_type_medspa_id"),
        "provider_appointment_type",
        ["medspa_id"],
        unique=False,
    )
    op.create_table(
        "provider_location",
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "location_id"],
            ["location.medspa_id", "location.id"],
            name="fk_provider_location_location",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_provider_location_provider",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_provider_location_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider_id", "location_id", name=op.f("pk_provider_location")),
        sa.UniqueConstraint(
            "medspa_id",
            "provider_id",
            "location_id",
            name=op.f("uq_provider_location_medspa_id_provider_id_location_id"),
        ),
    )
    op.create_index(
        op.f("ix_provider_location_location_id"), "provider_location", ["location_id"], unique=False
    )
    op.create_index(
        op.f("ix_provider_location_medspa_id"), "provider_location", ["medspa_id"], unique=False
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "APPOINTMENT_CONFIRMATION",
                "APPOINTMENT_RESCHEDULED",
                "APPOINTMENT_CANCELLED",
                "APPOINTMENT_REMINDER",
                name="notification_kind",
            ),
            nullable=False,
        ),
        sa.Column("deliver_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "appointment_id"],
            ["appointment.medspa_id", "appointment.id"],
            name="fk_notification_outbox_appointment",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_notification_outbox_patient",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_notification_outbox_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
    )
    op.create_index(
        op.f("ix_notification_outbox_appointment_id"),
        "notification_outbox",
        ["appointment_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notification_outbox_medspa_id"), "notification_outbox", ["medspa_id"], unique=False
    )
    op.create_index(
        "ix_notification_outbox_pending",
        "notification_outbox",
        ["deliver_at"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL AND superseded_at IS NULL"),
    )
    op.create_table(
        "weekly_hours",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_weekly_hours_ends_after_start")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_weekly_hours_weekday_range")),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id", "location_id"],
            [
                "provider_location.medspa_id",
                "provider_location.provider_id",
                "provider_location.location_id",
            ],
            name="fk_weekly_hours_provider_location",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_weekly_hours_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_hours")),
    )
    op.create_index(op.f("ix_weekly_hours_medspa_id"), "weekly_hours", ["medspa_id"], unique=False)
    op.create_index(
        "ix_weekly_hours_provider_location",
        "weekly_hours",
        ["provider_id", "location_id"],
        unique=False,
    )
    _security_upgrade()


def downgrade() -> None:
    _security_downgrade()
    op.drop_index("ix_weekly_hours_provider_location", table_name="weekly_hours")
    op.drop_index(op.f("ix_weekly_hours_medspa_id"), table_name="weekly_hours")
    op.drop_table("weekly_hours")
    op.drop_index(
        "ix_notification_outbox_pending",
        table_name="notification_outbox",
        postgresql_where=sa.text("sent_at IS NULL AND superseded_at IS NULL"),
    )
    op.drop_index(op.f("ix_notification_outbox_medspa_id"), table_name="notification_outbox")
    op.drop_index(op.f("ix_notification_outbox_appointment_id"), table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index(op.f("ix_provider_location_medspa_id"), table_name="provider_location")
    op.drop_index(op.f("ix_provider_location_location_id"), table_name="provider_location")
    op.drop_table("provider_location")
    op.drop_index(
        op.f("ix_provider_appointment_type_medspa_id"), table_name="provider_appointment_type"
    )
    op.drop_index(
        op.f("ix_provider_appointment_type_appointment_type_id"),
        table_name="provider_appointment_type",
    )
    op.drop_table("provider_appointment_type")
    op.drop_index("ix_availability_exception_provider_starts", table_name="availability_exception")
    op.drop_index(op.f("ix_availability_exception_medspa_id"), table_name="availability_exception")
    op.drop_table("availability_exception")
    op.drop_index(
        op.f("ix_appointment_type_location_medspa_id"), table_name="appointment_type_location"
    )
    op.drop_index(
        op.f("ix_appointment_type_location_location_id"), table_name="appointment_type_location"
    )
    op.drop_table("appointment_type_location")
    op.drop_index("ix_appointment_provider_starts", table_name="appointment")
    op.drop_index("ix_appointment_patient_starts", table_name="appointment")
    op.drop_index("ix_appointment_medspa_starts", table_name="appointment")
    op.drop_index(op.f("ix_appointment_medspa_id"), table_name="appointment")
    op.drop_index("ix_appointment_location_starts", table_name="appointment")
    op.drop_table("appointment")
    op.drop_table("scheduling_settings")
    op.drop_index(
        "uq_patient_medspa_phone",
        table_name="patient",
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    op.drop_index(
        "uq_patient_medspa_email",
        table_name="patient",
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.drop_index(op.f("ix_patient_medspa_id"), table_name="patient")
    op.drop_table("patient")
    op.drop_index(op.f("ix_appointment_type_medspa_id"), table_name="appointment_type")
    op.drop_table("appointment_type")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
    for enum_name in (
        "notification_kind",
        "booking_source",
        "appointment_status",
        "patient_source",
        "registration_status",
        "availability_exception_kind",
    ):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")


APP_ROLE = "medspa_app"

# New tenant tables (all keyed by `medspa_id`) and what the application may do with them.
# Appointments are cancelled, never deleted; outbox rows are stamped, never deleted.
TENANT_TABLES = {
    "scheduling_settings": "SELECT, INSERT, UPDATE",
    "appointment_type": "SELECT, INSERT, UPDATE",
    "appointment_type_location": "SELECT, INSERT, DELETE",
    "provider_appointment_type": "SELECT, INSERT, DELETE",
    "provider_location": "SELECT, INSERT, DELETE",
    "weekly_hours": "SELECT, INSERT, UPDATE, DELETE",
    "availability_exception": "SELECT, INSERT, UPDATE, DELETE",
    "patient": "SELECT, INSERT, UPDATE",
    "appointment": "SELECT, INSERT, UPDATE",
    "notification_outbox": "SELECT, INSERT, UPDATE",
}


def _security_upgrade() -> None:
    for table, privileges in TENANT_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )

    # The public booking page starts from a slug, before any tenant is known. This policy is
    # the only way an anonymous request reaches a tenant row: read-only, active bookable
    # locations only, and only while `app.public` is on, which nothing but the function below
    # turns on (and off again before it returns).
    op.execute(
        "CREATE POLICY public_booking ON location FOR SELECT USING ("
        "coalesce(current_setting('app.public', true), '') = 'on'"
        " AND active_for_scheduling AND booking_slug IS NOT NULL)"
    )
    op.execute(
        """
        CREATE FUNCTION app_public_booking_medspa(slug text) RETURNS uuid
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
        DECLARE found uuid;
        BEGIN
            PERFORM set_config('app.public', 'on', true);
            SELECT l.medspa_id INTO found FROM location l
            WHERE l.booking_slug = slug AND l.active_for_scheduling;
            PERFORM set_config('app.public', 'off', true);
            RETURN found;
        END
        $$;
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_public_booking_medspa(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_public_booking_medspa(text) TO {APP_ROLE}")


def _security_downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS app_public_booking_medspa(text)")
    op.execute("DROP POLICY IF EXISTS public_booking ON location")
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
