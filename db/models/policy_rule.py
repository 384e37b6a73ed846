"""Per-medspa Casbin policy rows, layered over the baseline file without a deploy."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class PolicyRule(TenantMixin, Base):
    """`p, sub, <medspa_id>, obj, act, scope, eft`: the domain is always the row's medspa."""

    __tablename__ = "policy_rule"
    __table_args__ = (CheckConstraint("eft IN ('allow', 'deny')", name="eft"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    subject: Mapped[str] = mapped_column(String(80), nullable=False)
    obj: Mapped[str] = mapped_column(String(60), nullable=False)
    act: Mapped[str] = mapped_column(String(60), nullable=False)
    scope: Mapped[str] = mapped_column(String(20), nullable=False)
    eft: Mapped[str] = mapped_column(String(5), nullable=False, default="allow")
    created_at: Mapped[datetime] = created_at()


class PolicyVersion(Base):
    """A single row bumped (with NOTIFY) whenever policy rows change; servers reload on it."""

    __tablename__ = "policy_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
