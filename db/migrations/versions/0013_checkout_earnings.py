"""Checkout and earnings (issue 18)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23

- `checkout`: one payment event of a patient with a provider, at the end of a service visit
  (`VISIT`) or a retail checkout (`RETAIL`); its totals are stored with it and CHECKs hold the
  sums together. One live (COMPLETED) checkout per service visit.
- `checkout_line`, `checkout_tender`: inserted once with their checkout; the app role holds
  no UPDATE or DELETE on them (a completed checkout is immutable).
- `checkout_refund`: refunds per tender (partial or full); a void refunds every remainder.
- `account_credit_entry`: the patient's prepaid account credit as an append-only ledger.
- `patient_payment_method`: cards on file (processor customer + payment method ids); the app
  role may only mark one removed.
- The app role may update only a checkout's `status`, `refunded_cents` and void columns.
Every table is a tenant table: composite keys to its medspa's rows, FORCE ROW LEVEL SECURITY
with the `tenant_isolation` policy of the other tenant tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"
# table -> the privileges of the app role on it
PRIVILEGES = {
    "checkout": "SELECT, INSERT",
    "checkout_line": "SELECT, INSERT",
    "checkout_tender": "SELECT, INSERT",
    "checkout_refund": "SELECT, INSERT",
    "account_credit_entry": "SELECT, INSERT",
    "patient_payment_method": "SELECT, INSERT",
}
ENUMS = (
    "checkout_kind",
    "checkout_status",
    "checkout_line_kind",
    "tender_kind",
    "external_programme",
)


def upgrade() -> None:
    op.create_table(
        "checkout",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Enum("VISIT", "RETAIL", name="checkout_kind"), nullable=False),
        sa.Column("status", sa.Enum("COMPLETED", "VOIDED", name="checkout_status"), nullable=False),
        sa.Column("provider_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("service_visit_id", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_cents", sa.Integer(), nullable=False),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("checkout_discount_cents", sa.Integer(), nullable=False),
        sa.Column("tip_cents", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'VISIT') = (service_visit_id IS NOT NULL)", name=op.f("ck_checkout_visit_kind")
        ),
        sa.CheckConstraint(
            "(status = 'VOIDED') = (voided_at IS NOT NULL AND void_reason IS NOT NULL)",
            name=op.f("ck_checkout_void_has_reason"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_checkout_currency_code")),
        sa.CheckConstraint(
            "refunded_cents <= total_cents", name=op.f("ck_checkout_refund_within_total")
        ),
        sa.CheckConstraint(
            "subtotal_cents >= 0 AND discount_cents >= 0 AND tip_cents >= 0"
            " AND total_cents >= 0 AND refunded_cents >= 0",
            name=op.f("ck_checkout_amounts_not_negative"),
        ),
        sa.CheckConstraint(
            "total_cents = subtotal_cents - discount_cents + tip_cents",
            name=op.f("ck_checkout_total_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_checkout_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            name="fk_checkout_provider",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_visit_id"],
            ["service_visit.medspa_id", "service_visit.id"],
            name="fk_checkout_service_visit",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_checkout_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_checkout_medspa_id_id"),
        sa.UniqueConstraint("medspa_id", "idempotency_key", name="uq_checkout_idempotency_key"),
    )
    op.create_index(op.f("ix_checkout_medspa_id"), "checkout", ["medspa_id"], unique=False)
    op.create_index(op.f("ix_checkout_patient_id"), "checkout", ["patient_id"], unique=False)
    op.create_index(
        "ix_checkout_provider_completed", "checkout", ["provider_id", "completed_at"], unique=False
    )
    op.create_index(
        "uq_checkout_live_visit",
        "checkout",
        ["medspa_id", "service_visit_id"],
        unique=True,
        postgresql_where="status = 'COMPLETED' AND service_visit_id IS NOT NULL",
    )
    op.create_table(
        "account_credit_entry",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("checkout_id", sa.UUID(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "amount_cents <> 0", name=op.f("ck_account_credit_entry_amount_not_zero")
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            name="fk_account_credit_entry_checkout",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_account_credit_entry_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_account_credit_entry_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_credit_entry")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_account_credit_entry_medspa_id_id"),
    )
    op.create_index(
        op.f("ix_account_credit_entry_medspa_id"),
        "account_credit_entry",
        ["medspa_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_account_credit_entry_patient_id"),
        "account_credit_entry",
        ["patient_id"],
        unique=False,
    )
    op.create_table(
        "checkout_line",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("checkout_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "SERVICE",
                "PRODUCT",
                "FUTURE_USE_PRODUCT",
                "ACCOUNT_CREDIT",
                "CANCELLATION_FEE",
                name="checkout_line_kind",
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.UUID(), nullable=True),
        sa.Column("appointment_id", sa.UUID(), nullable=True),
        sa.Column("allergan", sa.Boolean(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'CANCELLATION_FEE') = (appointment_id IS NOT NULL)",
            name=op.f("ck_checkout_line_fee_line"),
        ),
        sa.CheckConstraint(
            "(kind = 'SERVICE') = (service_id IS NOT NULL)",
            name=op.f("ck_checkout_line_service_line"),
        ),
        sa.CheckConstraint(
            "quantity > 0 AND unit_price_cents >= 0 AND discount_cents >= 0",
            name=op.f("ck_checkout_line_line_amounts"),
        ),
        sa.CheckConstraint(
            "total_cents = quantity * unit_price_cents - discount_cents AND total_cents >= 0",
            name=op.f("ck_checkout_line_line_total_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "appointment_id"],
            ["appointment.medspa_id", "appointment.id"],
            name="fk_checkout_line_appointment",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            name="fk_checkout_line_checkout",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            name="fk_checkout_line_service",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_checkout_line_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_line")),
        sa.UniqueConstraint(
            "medspa_id", "checkout_id", "position", name="uq_checkout_line_position"
        ),
        sa.UniqueConstraint("medspa_id", "id", name="uq_checkout_line_medspa_id_id"),
    )
    op.create_index(
        op.f("ix_checkout_line_checkout_id"), "checkout_line", ["checkout_id"], unique=False
    )
    op.create_index(
        op.f("ix_checkout_line_medspa_id"), "checkout_line", ["medspa_id"], unique=False
    )
    op.create_table(
        "checkout_tender",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("checkout_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "CASH", "CARD_ON_FILE", "TERMINAL", "ACCOUNT_CREDIT", "EXTERNAL", name="tender_kind"
            ),
            nullable=False,
        ),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column(
            "programme",
            sa.Enum(
                "CARECREDIT", "PATIENTFI", "ALLE", "EVOLUS", "GIFT_CARD", name="external_programme"
            ),
            nullable=True,
        ),
        sa.Column("authorization_code", sa.String(length=64), nullable=True),
        sa.Column("alle_points", sa.Integer(), nullable=True),
        sa.Column("processor", sa.String(length=20), nullable=True),
        sa.Column("processor_charge_id", sa.String(length=100), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'EXTERNAL') = (programme IS NOT NULL AND authorization_code IS NOT NULL)",
            name=op.f("ck_checkout_tender_external_has_code"),
        ),
        sa.CheckConstraint(
            "(kind IN ('CARD_ON_FILE', 'TERMINAL')) = (processor_charge_id IS NOT NULL)",
            name=op.f("ck_checkout_tender_card_has_charge"),
        ),
        sa.CheckConstraint(
            "alle_points IS NULL OR mod(alle_points, 100) = 0",
            name=op.f("ck_checkout_tender_alle_points_100"),
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_checkout_tender_amount_positive")),
        sa.ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            name="fk_checkout_tender_checkout",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_checkout_tender_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_tender")),
        sa.UniqueConstraint(
            "medspa_id", "checkout_id", "position", name="uq_checkout_tender_position"
        ),
        sa.UniqueConstraint("medspa_id", "id", name="uq_checkout_tender_medspa_id_id"),
    )
    op.create_index(
        op.f("ix_checkout_tender_checkout_id"), "checkout_tender", ["checkout_id"], unique=False
    )
    op.create_index(
        op.f("ix_checkout_tender_medspa_id"), "checkout_tender", ["medspa_id"], unique=False
    )
    op.create_table(
        "checkout_refund",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("checkout_id", sa.UUID(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("tender_id", sa.UUID(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("processor_refund_id", sa.String(length=100), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_checkout_refund_amount_positive")),
        sa.ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            name="fk_checkout_refund_checkout",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "tender_id"],
            ["checkout_tender.medspa_id", "checkout_tender.id"],
            name="fk_checkout_refund_tender",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_checkout_refund_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_refund")),
        sa.UniqueConstraint(
            "medspa_id", "tender_id", "idempotency_key", name="uq_checkout_refund_idempotency_key"
        ),
        sa.UniqueConstraint("medspa_id", "id", name="uq_checkout_refund_medspa_id_id"),
    )
    op.create_index(
        op.f("ix_checkout_refund_checkout_id"), "checkout_refund", ["checkout_id"], unique=False
    )
    op.create_index(
        op.f("ix_checkout_refund_medspa_id"), "checkout_refund", ["medspa_id"], unique=False
    )
    op.create_index(
        op.f("ix_checkout_refund_tender_id"), "checkout_refund", ["tender_id"], unique=False
    )
    op.create_table(
        "patient_payment_method",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("processor", sa.String(length=20), nullable=False),
        sa.Column("customer", sa.String(length=100), nullable=True),
        sa.Column("payment_method", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=True),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            name="fk_patient_payment_method_patient",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_patient_payment_method_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_payment_method")),
        sa.UniqueConstraint("medspa_id", "id", name="uq_patient_payment_method_medspa_id_id"),
    )
    op.create_index(
        op.f("ix_patient_payment_method_medspa_id"), "patient_payment_method", ["medspa_id"]
    )
    op.create_index(
        op.f("ix_patient_payment_method_patient_id"), "patient_payment_method", ["patient_id"]
    )
    op.create_index(
        "uq_patient_payment_method_live",
        "patient_payment_method",
        ["medspa_id", "patient_id", "payment_method"],
        unique=True,
        postgresql_where="removed_at IS NULL",
    )

    for table in PRIVILEGES:
        # Keys lead with the tenant column (migration 0006; Citus distributes by medspa_id).
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT pk_{table},"
            f" ADD CONSTRAINT pk_{table} PRIMARY KEY (medspa_id, id)"
        )
    for table, privileges in PRIVILEGES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )
    op.execute(f"GRANT UPDATE (removed_at) ON patient_payment_method TO {APP_ROLE}")
    # Refunds and voids change only these columns of a completed checkout.
    op.execute(
        "GRANT UPDATE (status, refunded_cents, voided_at, void_reason) ON checkout TO " + APP_ROLE
    )


def downgrade() -> None:
    for table in reversed(PRIVILEGES):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.drop_table(table)
    for enum in ENUMS:
        op.execute(f"DROP TYPE IF EXISTS {enum}")
