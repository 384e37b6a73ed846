"""The built-in payment processor for development and tests.

Deterministic: a charge's id is derived from its idempotency key, and replaying a key answers
the first result. It records every authorisation, capture, cancellation and refund in memory
(`charges`, `refunds`), and declines payment methods it is told to (`decline`) as well as the
conventional test tokens in `DECLINED_BY_DEFAULT`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from api.payments import Authorization, CardSource

# Stripe's own test tokens for a declined card, so the same fixtures work on both processors.
DECLINED_BY_DEFAULT = frozenset({"pm_card_chargeDeclined", "pm_card_declined", "tok_declined"})


class ChargeState(StrEnum):
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    CANCELED = "CANCELED"


@dataclass
class BuiltinCharge:
    id: str
    amount_cents: int
    currency: str
    source: CardSource
    state: ChargeState
    refunded_cents: int = 0


@dataclass
class BuiltinProcessor:
    """In-memory, deterministic processor (see the module docstring)."""

    name: str = "builtin"
    charges: dict[str, BuiltinCharge] = field(default_factory=dict)
    refunds: dict[str, tuple[str, int]] = field(default_factory=dict)  # refund id: charge, cents
    declined: set[str] = field(default_factory=lambda: set(DECLINED_BY_DEFAULT))
    _answers: dict[str, object] = field(default_factory=dict)

    def decline(self, payment_method_or_reader: str) -> None:
        """Decline every future authorisation on this payment method (or reader)."""
        self.declined.add(payment_method_or_reader)

    @staticmethod
    def _id(prefix: str, key: str) -> str:
        return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"

    async def authorize(
        self, *, amount_cents: int, currency: str, source: CardSource, idempotency_key: str
    ) -> Authorization:
        replay = self._answers.get(idempotency_key)
        if isinstance(replay, Authorization):
            return replay
        if amount_cents <= 0:
            raise ValueError("an authorisation is for a positive amount")
        token = source.payment_method or source.reader
        if token is None:
            raise ValueError("a card tender names a payment method or a reader")
        if token in self.declined:
            answer = Authorization(approved=False, decline_reason="card_declined")
        else:
            charge_id = self._id("ch", idempotency_key)
            self.charges[charge_id] = BuiltinCharge(
                id=charge_id,
                amount_cents=amount_cents,
                currency=currency,
                source=source,
                state=ChargeState.AUTHORIZED,
            )
            last4 = "".join(c for c in token if c.isdigit())[-4:] or "4242"
            answer = Authorization(approved=True, charge_id=charge_id, card_last4=last4)
        self._answers[idempotency_key] = answer
        return answer

    async def capture(self, charge_id: str, *, idempotency_key: str) -> None:
        charge = self.charges[charge_id]
        if charge.state is ChargeState.CANCELED:
            raise ValueError("a cancelled authorisation is not captured")
        charge.state = ChargeState.CAPTURED

    async def cancel(self, charge_id: str, *, idempotency_key: str) -> None:
        charge = self.charges[charge_id]
        if charge.state is ChargeState.CAPTURED:
            raise ValueError("a captured charge is refunded, not cancelled")
        charge.state = ChargeState.CANCELED

    async def refund(self, charge_id: str, *, amount_cents: int, idempotency_key: str) -> str:
        replay = self._answers.get(idempotency_key)
        if isinstance(replay, str):
            return replay
        charge = self.charges.get(charge_id) or self._earlier(charge_id, amount_cents)
        if charge.state is not ChargeState.CAPTURED:
            raise ValueError("only a captured charge is refunded")
        if amount_cents <= 0 or charge.refunded_cents + amount_cents > charge.amount_cents:
            raise ValueError("a refund is within what was captured and not yet refunded")
        charge.refunded_cents += amount_cents
        refund_id = self._id("re", idempotency_key)
        self.refunds[refund_id] = (charge_id, amount_cents)
        self._answers[idempotency_key] = refund_id
        return refund_id

    def _earlier(self, charge_id: str, amount_cents: int) -> BuiltinCharge:
        """A charge captured before this process started (the ledger lives in memory: demo
        data, or a restarted development server): known from now on as captured, at least
        the amount refunded."""
        charge = BuiltinCharge(
            id=charge_id,
            amount_cents=amount_cents,
            currency="USD",
            source=CardSource(),
            state=ChargeState.CAPTURED,
        )
        self.charges[charge_id] = charge
        return charge

    def captured_cents(self) -> int:
        """Money held: captured minus refunded, over every charge (tests read this)."""
        return sum(
            c.amount_cents - c.refunded_cents
            for c in self.charges.values()
            if c.state is ChargeState.CAPTURED
        )
