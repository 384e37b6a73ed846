"""The tenant: one medspa, its business model and platform-level settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk
from db.models.enums import BusinessModel, GfeRouting, IntegrationKind, IntegrationStatus


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
    # Where inventory ships (onboarding step 1); no order is placed while it is null.
    # Keys: line1, line2, city, region, postal_code, country (ISO 3166-1 alpha-2).
    shipping_address: Mapped[dict[str, str] | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = created_at()

    def today(self) -> date:
        """Today's date where the medspa is: a licence or a clearance valid through a date is
        valid all of that local day."""
        return datetime.now(ZoneInfo(self.time_zone)).date()


class MedspaFeeLine(TenantMixin, Base):
    """A recurring fee on the medspa's contract (e.g. the optional PCC service), from
    `starts_on` until `ends_on` (open while null). Ending a fee keeps its record."""

    __tablename__ = "medspa_fee_line"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        # One open line per medspa and kind: the PCC fee cannot be billed twice.
        Index(
            "uq_medspa_fee_line_open",
            "medspa_id",
            "kind",
            unique=True,
            postgresql_where=text("ends_on IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    period: Mapped[str] = mapped_column(String(10), nullable=False, default="MONTHLY")
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = created_at()


PCC_FEE_KIND = "PCC_SERVICE"
PCC_MONTHLY_FEE_CENTS = 100_000  # 1,000 USD a month (DESIGN §2)


def pcc_fee_line(medspa_id: uuid.UUID, starts_on: date) -> MedspaFeeLine:
    """The PCC service's fee line on LAUNCH/FLEX, open from `starts_on`."""
    return MedspaFeeLine(
        id=uuid.uuid4(),
        medspa_id=medspa_id,
        kind=PCC_FEE_KIND,
        amount_cents=PCC_MONTHLY_FEE_CENTS,
        currency="USD",
        period="MONTHLY",
        starts_on=starts_on,
    )


class MedspaIntegration(TenantMixin, Base):
    """An external resource tied to the medspa (phone line, chat channel, Acuity calendar)."""

    __tablename__ = "medspa_integration"
    __table_args__ = (UniqueConstraint("medspa_id", "kind"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[IntegrationKind] = mapped_column(
        Enum(IntegrationKind, name="integration_kind"), nullable=False
    )
    status: Mapped[IntegrationStatus] = mapped_column(
        Enum(IntegrationStatus, name="integration_status"), nullable=False
    )
    status_changed_on: Mapped[date] = mapped_column(Date, nullable=False)


class BusinessModelTransition(TenantMixin, Base):
    """The record of a LEGACY medspa moving to LAUNCH or FLEX."""

    __tablename__ = "business_model_transition"

    id: Mapped[uuid.UUID] = uuid_pk()
    from_model: Mapped[BusinessModel] = mapped_column(
        Enum(BusinessModel, name="business_model", create_type=False), nullable=False
    )
    to_model: Mapped[BusinessModel] = mapped_column(
        Enum(BusinessModel, name="business_model", create_type=False), nullable=False
    )
    keep_pcc: Mapped[bool] = mapped_column(Boolean, nullable=False)
    transitioned_by_user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("app_user.id", ondelete="RESTRICT"), nullable=False
    )
    transitioned_at: Mapped[datetime] = created_at()
