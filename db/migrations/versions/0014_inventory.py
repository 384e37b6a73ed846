"""Inventory ordering: the supplier catalogue, orders, their lines and history, the inventory
team, and notices about orders in the outbox

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23

Issue 18, item 3.
- `supplier` and `supplier_product` are platform rows (Portrait's catalogue): readable by the
  app role and written by it for platform staff; no RLS (no tenant), like the service library.
  A product has its market price and one price per business model.
- `inventory_order`, `inventory_order_line` and `inventory_order_event` are tenant rows: keys
  leading with `medspa_id`, composite tenant foreign keys, the usual `tenant_isolation` policy.
  Lines and events are append-only for the app role except that a modification replaces an
  order's lines (DELETE on lines); the history (events) is never updated or deleted.
- `staff_role` gains `inventory_team` (Portrait's inventory team, a platform role).
- `notification_outbox` carries notices to the medspa about its orders: `inventory_order_id`
  (composite foreign key), the appointment and patient become optional, and a CHECK keeps
  exactly one subject per row; four new `notification_kind` values.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"
PLATFORM_TABLES = {
    "supplier": "SELECT, INSERT, UPDATE",
    "supplier_product": "SELECT, INSERT, UPDATE",
}
TENANT_TABLES = {
    "inventory_order": "SELECT, INSERT, UPDATE",
    "inventory_order_line": "SELECT, INSERT, DELETE",
    "inventory_order_event": "SELECT, INSERT",
}
NOTIFICATION_KINDS = (
    "INVENTORY_ORDER_PLACED",
    "INVENTORY_ORDER_MODIFIED",
    "INVENTORY_ORDER_APPROVED",
    "INVENTORY_ORDER_REJECTED",
)
# An outbox row is about an appointment or an inventory order, never both; rows about other
# subjects (registration links, expiring clearances, invitations) name neither.
ONE_SUBJECT = "num_nonnulls(appointment_id, inventory_order_id) <= 1"


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.execute("ALTER TYPE staff_role ADD VALUE IF NOT EXISTS 'inventory_team'")
    for kind in NOTIFICATION_KINDS:
        op.execute(f"ALTER TYPE notification_kind ADD VALUE IF NOT EXISTS '{kind}'")
    status = postgresql.ENUM(
        "PLACED", "MODIFIED", "APPROVED", "REJECTED", name="inventory_order_status"
    )
    payment = postgresql.ENUM(
        "CARD_ON_FILE", "ACH_TRANSFER", "INVOICE", name="inventory_payment_method"
    )
    status.create(op.get_bind())
    payment.create(op.get_bind())
    status_col = postgresql.ENUM(name="inventory_order_status", create_type=False)
    payment_col = postgresql.ENUM(name="inventory_payment_method", create_type=False)
    model_col = postgresql.ENUM(name="business_model", create_type=False)

    op.create_table(
        "supplier",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("disclaimer", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier")),
        sa.UniqueConstraint("name", name=op.f("uq_supplier_name")),
    )
    op.create_table(
        "supplier_product",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("supplier_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("market_price_cents", sa.Integer(), nullable=False),
        sa.Column("legacy_price_cents", sa.Integer(), nullable=False),
        sa.Column("launch_price_cents", sa.Integer(), nullable=False),
        sa.Column("flex_price_cents", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "market_price_cents >= 0 AND legacy_price_cents >= 0 AND launch_price_cents >= 0"
            " AND flex_price_cents >= 0",
            name=op.f("ck_supplier_product_prices_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["supplier.id"],
            name=op.f("fk_supplier_product_supplier_id_supplier"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_product")),
        sa.UniqueConstraint(
            "supplier_id", "name", name=op.f("uq_supplier_product_supplier_id_name")
        ),
    )
    op.create_index(
        op.f("ix_supplier_product_supplier_id"), "supplier_product", ["supplier_id"], unique=False
    )

    op.create_table(
        "inventory_order",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("status", status_col, nullable=False),
        sa.Column("price_list", model_col, nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("payment_method", payment_col, nullable=False),
        sa.Column("shipping_address", postgresql.JSONB(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_cents", sa.Integer(), nullable=False),
        sa.Column("savings_cents", sa.Integer(), nullable=False),
        sa.Column("delivery_charge_cents", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("placed_by_user_id", sa.UUID(), nullable=False),
        sa.Column("placed_by_actor_user_id", sa.UUID(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "subtotal_cents >= 0 AND savings_cents >= 0 AND delivery_charge_cents >= 0"
            " AND total_cents = subtotal_cents + delivery_charge_cents",
            name=op.f("ck_inventory_order_totals_add_up"),
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_inventory_order_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_inventory_order_placed_by_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_inventory_order_placed_by_actor_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("medspa_id", "id", name=op.f("pk_inventory_order")),
    )
    op.create_index(
        op.f("ix_inventory_order_medspa_id"), "inventory_order", ["medspa_id"], unique=False
    )
    op.create_index(
        "ix_inventory_order_medspa_placed",
        "inventory_order",
        ["medspa_id", sa.text("placed_at DESC"), sa.text("id DESC")],
    )

    op.create_table(
        "inventory_order_line",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("supplier_product_id", sa.UUID(), nullable=False),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("supplier_name", sa.String(length=120), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_market_price_cents", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_inventory_order_line_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_inventory_order_line_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "order_id"],
            ["inventory_order.medspa_id", "inventory_order.id"],
            name="fk_inventory_order_line_order",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_product_id"],
            ["supplier_product.id"],
            name=op.f("fk_inventory_order_line_supplier_product_id_supplier_product"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("medspa_id", "id", name=op.f("pk_inventory_order_line")),
        sa.UniqueConstraint(
            "medspa_id",
            "order_id",
            "supplier_product_id",
            name=op.f("uq_inventory_order_line_medspa_id_order_id_supplier_product_id"),
        ),
    )
    op.create_index(
        op.f("ix_inventory_order_line_medspa_id"),
        "inventory_order_line",
        ["medspa_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inventory_order_line_order_id"), "inventory_order_line", ["order_id"], unique=False
    )

    op.create_table(
        "inventory_order_event",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("medspa_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("status", status_col, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changes", postgresql.JSONB(), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["medspa_id"],
            ["medspa.id"],
            name=op.f("fk_inventory_order_event_medspa_id_medspa"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["medspa_id", "order_id"],
            ["inventory_order.medspa_id", "inventory_order.id"],
            name="fk_inventory_order_event_order",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_inventory_order_event_actor_user_id_app_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("medspa_id", "id", name=op.f("pk_inventory_order_event")),
    )
    op.create_index(
        op.f("ix_inventory_order_event_medspa_id"),
        "inventory_order_event",
        ["medspa_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inventory_order_event_order_id"),
        "inventory_order_event",
        ["order_id"],
        unique=False,
    )

    op.alter_column("notification_outbox", "appointment_id", nullable=True)
    op.alter_column("notification_outbox", "patient_id", nullable=True)
    op.add_column("notification_outbox", sa.Column("inventory_order_id", sa.UUID(), nullable=True))
    op.create_index(
        op.f("ix_notification_outbox_inventory_order_id"),
        "notification_outbox",
        ["inventory_order_id"],
        unique=False,
    )
    op.create_foreign_key(
        "fk_notification_outbox_inventory_order",
        "notification_outbox",
        "inventory_order",
        ["medspa_id", "inventory_order_id"],
        ["medspa_id", "id"],
        ondelete="CASCADE",
    )
    op.create_check_constraint(
        op.f("ck_notification_outbox_one_subject"), "notification_outbox", ONE_SUBJECT
    )

    for table, privileges in TENANT_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )
    for table, privileges in PLATFORM_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")


def downgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    for table in PLATFORM_TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    op.drop_constraint(
        op.f("ck_notification_outbox_one_subject"), "notification_outbox", type_="check"
    )
    op.drop_constraint(
        "fk_notification_outbox_inventory_order", "notification_outbox", type_="foreignkey"
    )
    op.drop_index(
        op.f("ix_notification_outbox_inventory_order_id"), table_name="notification_outbox"
    )
    op.drop_column("notification_outbox", "inventory_order_id")
    op.execute("DELETE FROM notification_outbox WHERE kind::text LIKE 'INVENTORY_ORDER_%'")
    op.alter_column("notification_outbox", "patient_id", nullable=False)
    op.alter_column("notification_outbox", "appointment_id", nullable=False)
    op.drop_table("inventory_order_event")
    op.drop_table("inventory_order_line")
    op.drop_table("inventory_order")
    op.drop_table("supplier_product")
    op.drop_table("supplier")
    op.execute("DROP TYPE inventory_payment_method")
    op.execute("DROP TYPE inventory_order_status")
    # PostgreSQL cannot drop enum values: staff_role keeps 'inventory_team' and
    # notification_kind its inventory kinds (harmless without rows using them).
