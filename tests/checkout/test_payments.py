"""The payment processors without a network: the built-in one's bookkeeping, and the Stripe
adapter's requests (built by pure functions, and sent with the caller's idempotency key)."""

from __future__ import annotations

from typing import Any

import pytest

from api.payments import CardSource, processor_for
from api.payments.builtin import BuiltinProcessor, ChargeState
from api.payments.stripe import StripeProcessor, authorize_params, refund_params
from api.settings import Settings

CARD = CardSource(payment_method="pm_card_visa", customer="cus_123")


def test_card_on_file_authorises_off_session_without_capture() -> None:
    params = authorize_params(amount_cents=12_000, currency="USD", source=CARD)
    assert params == {
        "amount": 12_000,
        "currency": "usd",
        "capture_method": "manual",
        "customer": "cus_123",
        "payment_method": "pm_card_visa",
        "confirm": True,
        "off_session": True,
    }


def test_terminal_hands_a_card_present_intent_to_the_reader() -> None:
    params = authorize_params(
        amount_cents=500, currency="USD", source=CardSource(reader="tmr_FDOt2wlRZEdpd7")
    )
    assert params["payment_method_types"] == ["card_present"]
    assert params["capture_method"] == "manual" and "customer" not in params


def test_a_card_on_file_needs_its_customer() -> None:
    with pytest.raises(ValueError, match="customer"):
        authorize_params(
            amount_cents=1, currency="USD", source=CardSource(payment_method="pm_card_visa")
        )


def test_refund_names_the_payment_intent_and_amount() -> None:
    assert refund_params(charge_id="pi_1", amount_cents=700) == {
        "payment_intent": "pi_1",
        "amount": 700,
    }


class _Recorder:
    """Stands in for the SDK's service objects (not the database): records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []

    async def create_async(self, params: Any, options: Any = None) -> Any:
        self.calls.append(("create", params, options))
        return type("Intent", (), {"id": "pi_1", "status": "requires_capture"})()

    async def capture_async(self, charge_id: str, options: Any = None) -> None:
        self.calls.append(("capture", charge_id, options))


async def test_the_adapter_sends_idempotency_keys() -> None:
    settings = Settings(MEDSPA_ENV="test", MEDSPA_STRIPE_SECRET_KEY="sk_test_x")  # type: ignore[call-arg]
    processor = processor_for(settings)
    assert isinstance(processor, StripeProcessor)
    recorder = _Recorder()
    processor.client.v1.payment_intents = recorder  # type: ignore[misc,assignment]
    answer = await processor.authorize(
        amount_cents=900, currency="USD", source=CARD, idempotency_key="k1"
    )
    assert answer.approved and answer.charge_id == "pi_1"
    await processor.capture("pi_1", idempotency_key="k1:capture")
    assert [(c[0], c[2]) for c in recorder.calls] == [
        ("create", {"idempotency_key": "k1"}),
        ("capture", {"idempotency_key": "k1:capture"}),
    ]


async def test_builtin_is_deterministic_and_declines_on_request() -> None:
    processor = BuiltinProcessor()
    first = await processor.authorize(
        amount_cents=1_000, currency="USD", source=CARD, idempotency_key="a"
    )
    again = await processor.authorize(
        amount_cents=1_000, currency="USD", source=CARD, idempotency_key="a"
    )
    assert first == again and len(processor.charges) == 1
    processor.decline("pm_card_visa")
    declined = await processor.authorize(
        amount_cents=1_000, currency="USD", source=CARD, idempotency_key="b"
    )
    assert not declined.approved and len(processor.charges) == 1
    assert first.charge_id is not None
    await processor.capture(first.charge_id, idempotency_key="c")
    refund = await processor.refund(first.charge_id, amount_cents=400, idempotency_key="r")
    assert await processor.refund(first.charge_id, amount_cents=400, idempotency_key="r") == refund
    assert processor.captured_cents() == 600
    with pytest.raises(ValueError, match="refund"):
        await processor.refund(first.charge_id, amount_cents=601, idempotency_key="r2")
    assert processor.charges[first.charge_id].state is ChargeState.CAPTURED
