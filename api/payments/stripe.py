"""The Stripe adapter of `PaymentProcessor`, on the official `stripe` SDK.

A card on file is a Stripe customer plus a saved payment method, charged off-session; a
card-present terminal is a reader registered at the location, handed the payment intent to
collect. Both authorise with `capture_method=manual` and are captured (or cancelled) by the
checkout once every tender is approved. Each request carries the caller's idempotency key.

The request bodies are built by the pure functions below, which the tests check without a
network; the adapter only sends them.
"""

from __future__ import annotations

from typing import Any

import stripe

from api.payments import Authorization, CardSource
from api.settings import Settings


def authorize_params(*, amount_cents: int, currency: str, source: CardSource) -> dict[str, Any]:
    """The PaymentIntent that authorises (does not capture) one card tender."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": currency.lower(),
        "capture_method": "manual",
    }
    if source.reader is not None:
        # Card present: the reader collects and confirms the intent.
        params["payment_method_types"] = ["card_present"]
        return params
    if source.payment_method is None or source.customer is None:
        raise ValueError("a card on file is a customer and a saved payment method")
    params.update(
        customer=source.customer,
        payment_method=source.payment_method,
        confirm=True,
        off_session=True,
    )
    return params


def refund_params(*, charge_id: str, amount_cents: int) -> dict[str, Any]:
    """A (partial) refund of the captured payment intent `charge_id`."""
    return {"payment_intent": charge_id, "amount": amount_cents}


def request_options(idempotency_key: str) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key}


class StripeProcessor:
    """`PaymentProcessor` over Stripe's API (configured by `MEDSPA_STRIPE_*`)."""

    name = "stripe"

    def __init__(self, settings: Settings) -> None:
        if not settings.stripe_secret_key:
            raise RuntimeError("MEDSPA_STRIPE_SECRET_KEY is required for the Stripe processor")
        self.client = stripe.StripeClient(
            settings.stripe_secret_key, stripe_account=settings.stripe_account or None
        )

    async def authorize(
        self, *, amount_cents: int, currency: str, source: CardSource, idempotency_key: str
    ) -> Authorization:
        params = authorize_params(amount_cents=amount_cents, currency=currency, source=source)
        try:
            intent = await self.client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]  # built as a plain dict above
                options=request_options(idempotency_key),  # type: ignore[arg-type]
            )
            if source.reader is not None:
                await self.client.v1.terminal.readers.process_payment_intent_async(
                    source.reader,
                    {"payment_intent": intent.id},
                    options=request_options(f"{idempotency_key}:reader"),  # type: ignore[arg-type]
                )
        except stripe.CardError as exc:
            return Authorization(approved=False, decline_reason=exc.code or "card_declined")
        if intent.status not in ("requires_capture", "processing", "requires_payment_method"):
            return Authorization(approved=False, decline_reason=intent.status)
        return Authorization(approved=True, charge_id=intent.id)

    async def capture(self, charge_id: str, *, idempotency_key: str) -> None:
        await self.client.v1.payment_intents.capture_async(
            charge_id,
            options=request_options(idempotency_key),  # type: ignore[arg-type]
        )

    async def cancel(self, charge_id: str, *, idempotency_key: str) -> None:
        await self.client.v1.payment_intents.cancel_async(
            charge_id,
            options=request_options(idempotency_key),  # type: ignore[arg-type]
        )

    async def refund(self, charge_id: str, *, amount_cents: int, idempotency_key: str) -> str:
        refund = await self.client.v1.refunds.create_async(
            refund_params(charge_id=charge_id, amount_cents=amount_cents),  # type: ignore[arg-type]
            options=request_options(idempotency_key),  # type: ignore[arg-type]
        )
        return str(refund.id)
