"""Declarative base, naming convention and the column helpers every model uses."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class TenantMixin:
    """A row owned by one medspa. Row-level security keys on `medspa_id`."""

    @declared_attr
    def medspa_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            UUID(as_uuid=True),
            ForeignKey("medspa.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )


# Every table carrying `medspa_id` (and `medspa` itself, keyed by `id`) gets the same
# row-level security policy in the migrations; this list is the single source for them and
# for the test that checks every tenant table is protected.
TENANT_TABLES: tuple[str, ...] = (
    "medspa",
    "membership",
    "provider",
    "location",
    "pcc_assignment",
    "api_client",
    "masquerade_session",
    "policy_rule",
    "audit_event",
    # scheduling (migration 0002)
    "scheduling_settings",
    "appointment_type",
    "appointment_type_location",
    "provider_appointment_type",
    "provider_location",
    "weekly_hours",
    "availability_exception",
    "patient",
    "appointment",
    "notification_outbox",
    # PCCs and coverage (migration 0003)
    "ooo_affected_provider",
    "channel_access_grant",
    "medspa_fee_line",
    "medspa_integration",
    "business_model_transition",
    # services, GFE and charting (migration 0004)
    "service_group",
    "service",
    "service_document",
    "service_document_requirement",
    "appointment_type_service",
    "gfe_settings",
    "gfe_request",
    "gfe_request_service",
    "clearance",
    "service_visit",
    "service_visit_service",
    # patient registration links (migration 0005)
    "registration_link",
    # invitations (migration 0015)
    "invitation",
    # the worker's templates and partner webhooks (migration 0011)
    "notification_template",
    "webhook_endpoint",
    "webhook_event",
    "webhook_delivery",
    # inventory ordering (issue 18)
    "inventory_order",
    "inventory_order_line",
    "inventory_order_event",
    # staff documents and support tickets (issue 19)
    "staff_document",
    "support_ticket",
    "support_ticket_comment",
    # checkout (migration 0013)
    "checkout",
    "checkout_line",
    "checkout_tender",
    "checkout_refund",
    "account_credit_entry",
    "patient_payment_method",
)
