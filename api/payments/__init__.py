"""Payments: the `PaymentProcessor` protocol every charge and refund goes through.

Two implementations: `BuiltinProcessor` (development and tests: deterministic, in memory,
records authorisations, captures and refunds, declines the cards it is told to) and
`StripeProcessor` (the official `stripe` SDK, used when `MEDSPA_STRIPE_SECRET_KEY` is set).

A checkout charges in two phases so a declined tender leaves nothing half-charged: every card
tender is first *authorised* (nothing is captured); when one is declined the earlier
authorisations are *cancelled*, otherwise all are *captured*. Every call carries an
idempotency key derived from the checkout's own key, so a retried request never charges twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from api.settings import Settings


@dataclass(frozen=True, slots=True)
class Authorization:
    """The processor's answer to an authorisation: approved with a charge id, or declined."""

    approved: bool
    charge_id: str | None = None
    card_last4: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True, slots=True)
class CardSource:
    """What a card tender charges: a saved card (customer + payment method) or a reader."""

    payment_method: str | None = None
    customer: str | None = None
    reader: str | None = None


class PaymentProcessor(Protocol):
    """Charges and refunds money; every call is idempotent under its key."""

    name: str

    async def authorize(
        self, *, amount_cents: int, currency: str, source: CardSource, idempotency_key: str
    ) -> Authorization: ...

    async def capture(self, charge_id: str, *, idempotency_key: str) -> None: ...

    async def cancel(self, charge_id: str, *, idempotency_key: str) -> None: ...

    async def refund(self, charge_id: str, *, amount_cents: int, idempotency_key: str) -> str:
        """Refund part or all of a captured charge; returns the refund's id."""
        ...


@lru_cache(maxsize=4)
def processor_for(settings: Settings) -> PaymentProcessor:
    """The process's processor: Stripe when configured, else the built-in one (one instance
    per settings, so the built-in ledger is shared by every request of the process)."""
    if settings.stripe_secret_key:
        from api.payments.stripe import StripeProcessor

        return StripeProcessor(settings)
    from api.payments.builtin import BuiltinProcessor

    return BuiltinProcessor()
