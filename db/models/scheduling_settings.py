"""A medspa's scheduling settings: deposits, cancellation fees and patient notifications.

One row per medspa, created on first write; a medspa without a row has the defaults below.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base

DEFAULT_REMINDER_LEAD_HOURS = (24, 2)


class SchedulingSettings(Base):
    __tablename__ = "scheduling_settings"
    __table_args__ = (
        CheckConstraint("cancellation_window_hours BETWEEN 0 AND 720", name="window_range"),
    )

    medspa_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("medspa.id", ondelete="CASCADE"), primary_key=True
    )
    deposits_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    cancellation_fees_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # A cancellation closer to the start than this may carry the type's cancellation fee.
    cancellation_window_hours: Mapped[int] = mapped_column(Integer, nullable=False, default=24)
    send_confirmation: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    reminder_lead_hours: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), nullable=False, default=lambda: list(DEFAULT_REMINDER_LEAD_HOURS)
    )
    send_cancellation_notice: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    @classmethod
    def defaults(cls, medspa_id: uuid.UUID) -> SchedulingSettings:
        return cls(
            medspa_id=medspa_id,
            deposits_enabled=False,
            cancellation_fees_enabled=False,
            cancellation_window_hours=24,
            send_confirmation=True,
            reminder_lead_hours=list(DEFAULT_REMINDER_LEAD_HOURS),
            send_cancellation_notice=True,
        )
