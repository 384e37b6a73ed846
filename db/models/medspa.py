"""The tenant: one medspa, its business model and platform-level settings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at, uuid_pk
from db.models.enums import BusinessModel, GfeRouting


class Medspa(Base):
    __tablename__ = "medspa"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(63), nullable=False, unique=True)
    business_model: Mapped[BusinessModel] = mapped_column(
        Enum(BusinessModel, name="business_model"), nullable=False
    )
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    gfe_routing: Mapped[GfeRouting] = mapped_column(
        Enum(GfeRouting, name="gfe_routing"), nullable=False
    )
    pcc_service: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    uses_portrait_ehr: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at()
