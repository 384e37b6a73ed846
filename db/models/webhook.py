"""Partner webhooks: endpoints an API client registers, events, and the delivery log.

An event is built once, in the writer's transaction (api/events/emit.py), for the rows a
partner's key may read; one delivery row per (event, endpoint) is then queued with its
job, and the worker signs and posts it (api/events/webhooks.py).
Redelivering adds a new delivery row for the same event: the log keeps every attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"  # queued or waiting for a retry
    SUCCEEDED = "SUCCEEDED"  # a 2xx answer
    FAILED = "FAILED"  # retried for a day without a 2xx answer, or refused (unsafe address)


class WebhookEndpoint(TenantMixin, Base):
    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "api_client_id"],
            ["api_client.medspa_id", "api_client.id"],
            ondelete="CASCADE",
            name="fk_webhook_endpoint_client",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    api_client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    # The Standard Webhooks signing secret (`whsec_...`): shown once, kept to sign.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at()


class WebhookEvent(TenantMixin, Base):
    __tablename__ = "webhook_event"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    # The Standard Webhooks body: {"type", "timestamp", "data"}, frozen when built.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at()


class WebhookDelivery(TenantMixin, Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        ForeignKeyConstraint(
            ["medspa_id", "endpoint_id"],
            ["webhook_endpoint.medspa_id", "webhook_endpoint.id"],
            ondelete="CASCADE",
            name="fk_webhook_delivery_endpoint",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "event_id"],
            ["webhook_event.medspa_id", "webhook_event.id"],
            ondelete="CASCADE",
            name="fk_webhook_delivery_event",
        ),
        Index("ix_webhook_delivery_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        Enum(WebhookDeliveryStatus, name="webhook_delivery_status"),
        nullable=False,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = created_at()
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
