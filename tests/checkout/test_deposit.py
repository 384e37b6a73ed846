"""Deposits (issue 18): when the medspa takes deposits, booking a type with a deposit charges
it through the payment processor, as account credit the visit's checkout spends; a declined
card books nothing and charges nothing."""

from __future__ import annotations

from datetime import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import decode_id_of
from db.seed.demo import DemoIds
from tests.checkout.helpers import builtin
from tests.conftest import Gql
from tests.scheduling.helpers import BOOK, booking, next_week
from tests.services.helpers import codes, scalar

ADMIN = "dana@glow.example"


async def _take_deposits(gql: Gql, engine: AsyncEngine, demo: DemoIds) -> None:
    answer = await gql(
        """mutation { updateSchedulingSettings(input: {depositsEnabled: true}) {
            errors { code } settings { depositsEnabled } } }""",
        as_=ADMIN,
    )
    assert answer.data["updateSchedulingSettings"]["settings"]["depositsEnabled"], answer.body
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE appointment_type SET deposit_cents = 5000"
                " WHERE medspa_id = :m AND name = 'Neuromodulator'"
            ),
            {"m": demo.medspas["glow"]},
        )


async def test_booking_charges_the_deposit_or_books_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    await _take_deposits(gql, owner_engine, demo)
    variables = await booking(owner_engine, demo, at=next_week(1, time(11)))
    appointments = await scalar(owner_engine, "SELECT count(*) FROM appointment")
    held = builtin().captured_cents()

    missing = await gql(BOOK, variables, as_=ADMIN)
    assert codes(missing.data["bookAppointment"]) == ["VALIDATION"], missing.body
    declined = {
        "input": {**variables["input"], "depositPayment": {"paymentMethod": "pm_card_declined"}}
    }
    answer = await gql(BOOK, declined, as_=ADMIN)
    assert codes(answer.data["bookAppointment"]) == ["PAYMENT_DECLINED"], answer.body
    assert await scalar(owner_engine, "SELECT count(*) FROM appointment") == appointments
    assert builtin().captured_cents() == held

    paid = {"input": {**variables["input"], "depositPayment": {"paymentMethod": "pm_card_visa"}}}
    answer = await gql(BOOK, paid, as_=ADMIN)
    assert answer.data["bookAppointment"]["errors"] == [], answer.body
    appointment = answer.data["bookAppointment"]["appointment"]
    assert appointment is not None
    assert builtin().captured_cents() == held + 5_000
    patient = variables["input"]["patientId"]
    balance = await scalar(
        owner_engine,
        "SELECT sum(amount_cents) FROM account_credit_entry WHERE patient_id = :p",
        p=decode_id_of(patient, "Patient"),
    )
    assert balance == 5_000
    line = await scalar(
        owner_engine,
        "SELECT l.description FROM checkout_line l JOIN checkout c ON c.id = l.checkout_id"
        " WHERE c.idempotency_key LIKE 'deposit:%'",
    )
    assert line == "Deposit: Neuromodulator"
