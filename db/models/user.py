"""People: users (global identities), tenant memberships and Portrait staff roles."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk
from db.models.enums import MembershipRole, StaffRole


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at()


class Membership(TenantMixin, Base):
    """A user's role in one medspa. A user may hold both roles (two dashboards)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("medspa_id", "user_id", "role"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("app_user.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    role: Mapped[MembershipRole] = mapped_column(
        Enum(
            MembershipRole, name="membership_role", values_callable=lambda e: [m.value for m in e]
        ),
        nullable=False,
    )
    created_at: Mapped[datetime] = created_at()
    # A deactivated membership keeps its row (history) but lets no one in (migration 0015).
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deactivated_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=True
    )


class StaffMember(Base):
    """A Portrait employee's platform role (platform admin, PCC manager or PCC)."""

    __tablename__ = "staff_member"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[StaffRole] = mapped_column(
        Enum(StaffRole, name="staff_role", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    created_at: Mapped[datetime] = created_at()


Index("uq_app_user_email_lower", func.lower(User.email), unique=True)
