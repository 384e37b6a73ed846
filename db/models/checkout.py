"""Checkout: what a patient pays for at the end of a visit or at a retail checkout.

A completed checkout is immutable: its lines, tenders and totals are inserted once (the app
role holds no UPDATE on lines and tenders, and may update only the checkout's status and void
columns). Corrections are refunds (per tender) or a void with a reason. Money is integer cents
with the checkout's currency; the totals are computed in one place
(api/resolvers/checkout_pricing.py `compute_totals`) and stored with the lines, and CHECK
constraints hold the sums together.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantMixin, created_at, uuid_pk


class CheckoutKind(StrEnum):
    VISIT = "VISIT"  # at the end of a service visit
    RETAIL = "RETAIL"  # from the patient's chart, without a visit


class CheckoutStatus(StrEnum):
    COMPLETED = "COMPLETED"
    VOIDED = "VOIDED"


class CheckoutLineKind(StrEnum):
    SERVICE = "SERVICE"  # a treatment performed
    PRODUCT = "PRODUCT"  # a retail product for current use
    FUTURE_USE_PRODUCT = "FUTURE_USE_PRODUCT"  # prepaid, redeemed at a later visit
    ACCOUNT_CREDIT = "ACCOUNT_CREDIT"  # prepaid dollars, spent later as a tender
    CANCELLATION_FEE = "CANCELLATION_FEE"  # retail checkout only
    REDEMPTION = "REDEMPTION"  # a visit uses prepaid units of a FUTURE_USE_PRODUCT line


class TenderKind(StrEnum):
    CASH = "CASH"
    CARD_ON_FILE = "CARD_ON_FILE"
    TERMINAL = "TERMINAL"  # card-present reader at the location
    ACCOUNT_CREDIT = "ACCOUNT_CREDIT"
    EXTERNAL = "EXTERNAL"  # a financing or rewards programme: authorisation code + amount


class ExternalProgramme(StrEnum):
    CARECREDIT = "CARECREDIT"
    PATIENTFI = "PATIENTFI"
    ALLE = "ALLE"
    EVOLUS = "EVOLUS"
    GIFT_CARD = "GIFT_CARD"


class Checkout(TenantMixin, Base):
    __tablename__ = "checkout"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_checkout_medspa_id_id"),
        UniqueConstraint("medspa_id", "idempotency_key", name="uq_checkout_idempotency_key"),
        ForeignKeyConstraint(
            ["medspa_id", "provider_id"],
            ["provider.medspa_id", "provider.id"],
            ondelete="RESTRICT",
            name="fk_checkout_provider",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="RESTRICT",
            name="fk_checkout_patient",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "service_visit_id"],
            ["service_visit.medspa_id", "service_visit.id"],
            ondelete="RESTRICT",
            name="fk_checkout_service_visit",
        ),
        CheckConstraint("(kind = 'VISIT') = (service_visit_id IS NOT NULL)", name="visit_kind"),
        CheckConstraint(
            "subtotal_cents >= 0 AND discount_cents >= 0 AND tip_cents >= 0"
            " AND total_cents >= 0 AND refunded_cents >= 0",
            name="amounts_not_negative",
        ),
        CheckConstraint(
            "total_cents = subtotal_cents - discount_cents + tip_cents", name="total_adds_up"
        ),
        CheckConstraint("refunded_cents <= total_cents", name="refund_within_total"),
        CheckConstraint(
            "(status = 'VOIDED') = (voided_at IS NOT NULL AND void_reason IS NOT NULL)",
            name="void_has_reason",
        ),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
        Index("ix_checkout_provider_completed", "provider_id", "completed_at"),
        Index(
            "uq_checkout_live_visit",
            "medspa_id",
            "service_visit_id",
            unique=True,
            postgresql_where="status = 'COMPLETED' AND service_visit_id IS NOT NULL",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[CheckoutKind] = mapped_column(
        Enum(CheckoutKind, name="checkout_kind"), nullable=False
    )
    status: Mapped[CheckoutStatus] = mapped_column(
        Enum(CheckoutStatus, name="checkout_status"), nullable=False
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    service_visit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    subtotal_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    # Line discounts plus the checkout-level discount.
    discount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    checkout_discount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    tip_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    total_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    refunded_cents: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(100), nullable=False)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(Text)
    # The real actor (an admin masquerading as the provider checks out under their own name).
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()


class CheckoutLine(TenantMixin, Base):
    __tablename__ = "checkout_line"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_checkout_line_medspa_id_id"),
        UniqueConstraint("medspa_id", "checkout_id", "position", name="uq_checkout_line_position"),
        ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            ondelete="RESTRICT",
            name="fk_checkout_line_checkout",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "service_id"],
            ["service.medspa_id", "service.id"],
            ondelete="RESTRICT",
            name="fk_checkout_line_service",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "appointment_id"],
            ["appointment.medspa_id", "appointment.id"],
            ondelete="RESTRICT",
            name="fk_checkout_line_appointment",
        ),
        CheckConstraint(
            "quantity > 0 AND unit_price_cents >= 0 AND discount_cents >= 0", name="line_amounts"
        ),
        CheckConstraint(
            "total_cents = quantity * unit_price_cents - discount_cents AND total_cents >= 0",
            name="line_total_adds_up",
        ),
        CheckConstraint("(kind = 'SERVICE') = (service_id IS NOT NULL)", name="service_line"),
        CheckConstraint(
            "(kind = 'CANCELLATION_FEE') = (appointment_id IS NOT NULL)", name="fee_line"
        ),
        ForeignKeyConstraint(
            ["medspa_id", "redeems_line_id"],
            ["checkout_line.medspa_id", "checkout_line.id"],
            ondelete="RESTRICT",
            name="fk_checkout_line_redeems",
        ),
        CheckConstraint(
            "(kind::text = 'REDEMPTION') = (redeems_line_id IS NOT NULL)", name="redemption_line"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    checkout_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    # REDEMPTION: the FUTURE_USE_PRODUCT line whose prepaid units this line uses.
    redeems_line_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[CheckoutLineKind] = mapped_column(
        Enum(CheckoutLineKind, name="checkout_line_kind"), nullable=False
    )
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    service_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    allergan: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    discount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    total_cents: Mapped[int] = mapped_column(Integer, nullable=False)


class CheckoutTender(TenantMixin, Base):
    __tablename__ = "checkout_tender"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_checkout_tender_medspa_id_id"),
        UniqueConstraint(
            "medspa_id", "checkout_id", "position", name="uq_checkout_tender_position"
        ),
        ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            ondelete="RESTRICT",
            name="fk_checkout_tender_checkout",
        ),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "(kind = 'EXTERNAL') = (programme IS NOT NULL AND authorization_code IS NOT NULL)",
            name="external_has_code",
        ),
        CheckConstraint(
            "(kind IN ('CARD_ON_FILE', 'TERMINAL')) = (processor_charge_id IS NOT NULL)",
            name="card_has_charge",
        ),
        CheckConstraint("alle_points IS NULL OR mod(alle_points, 100) = 0", name="alle_points_100"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    checkout_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[TenderKind] = mapped_column(Enum(TenderKind, name="tender_kind"), nullable=False)
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    programme: Mapped[ExternalProgramme | None] = mapped_column(
        Enum(ExternalProgramme, name="external_programme")
    )
    authorization_code: Mapped[str | None] = mapped_column(String(64))
    alle_points: Mapped[int | None] = mapped_column(Integer)
    processor: Mapped[str | None] = mapped_column(String(20))
    processor_charge_id: Mapped[str | None] = mapped_column(String(100))
    card_last4: Mapped[str | None] = mapped_column(String(4))


class CheckoutRefund(TenantMixin, Base):
    """A refund of part or all of one tender (a void refunds every tender's remainder)."""

    __tablename__ = "checkout_refund"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_checkout_refund_medspa_id_id"),
        ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            ondelete="RESTRICT",
            name="fk_checkout_refund_checkout",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "tender_id"],
            ["checkout_tender.medspa_id", "checkout_tender.id"],
            ondelete="RESTRICT",
            name="fk_checkout_refund_tender",
        ),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        UniqueConstraint(
            "medspa_id", "tender_id", "idempotency_key", name="uq_checkout_refund_idempotency_key"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    checkout_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), nullable=False)
    tender_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    processor_refund_id: Mapped[str | None] = mapped_column(String(100))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()


class AccountCreditEntry(TenantMixin, Base):
    """The patient's prepaid account credit as a ledger: + bought (or refunded back),
    - spent as a tender. The balance is the sum; it never goes below zero (checked under a
    lock on the patient's entries when spent)."""

    __tablename__ = "account_credit_entry"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_account_credit_entry_medspa_id_id"),
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="RESTRICT",
            name="fk_account_credit_entry_patient",
        ),
        ForeignKeyConstraint(
            ["medspa_id", "checkout_id"],
            ["checkout.medspa_id", "checkout.id"],
            ondelete="RESTRICT",
            name="fk_account_credit_entry_checkout",
        ),
        CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    checkout_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount_cents: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at()


class PatientPaymentMethod(TenantMixin, Base):
    """A card on file: the processor's customer and saved payment method of a patient (never
    a card number). Removing one marks it removed; past tenders keep their charge ids."""

    __tablename__ = "patient_payment_method"
    __table_args__ = (
        UniqueConstraint("medspa_id", "id", name="uq_patient_payment_method_medspa_id_id"),
        ForeignKeyConstraint(
            ["medspa_id", "patient_id"],
            ["patient.medspa_id", "patient.id"],
            ondelete="RESTRICT",
            name="fk_patient_payment_method_patient",
        ),
        Index(
            "uq_patient_payment_method_live",
            "medspa_id",
            "patient_id",
            "payment_method",
            unique=True,
            postgresql_where="removed_at IS NULL",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    patient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    processor: Mapped[str] = mapped_column(String(20), nullable=False)
    customer: Mapped[str | None] = mapped_column(String(100))
    payment_method: Mapped[str] = mapped_column(String(100), nullable=False)
    label: Mapped[str | None] = mapped_column(String(60))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = created_at()
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
