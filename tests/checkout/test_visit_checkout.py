"""Checkout at the end of a service visit (Allē points), and the late-cancellation fee
through a retail checkout."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.checkout.helpers import CREATE, checkout_as, patient_only_of
from tests.conftest import Gql
from tests.services.helpers import codes, gid, scalar, sid

NINA = "nina@glow.example"


async def _closed_visit(gql: Gql, demo: DemoIds, patient: uuid.UUID) -> str:
    opened = await gql(
        """mutation($p: ID!, $s: ID!) { openServiceVisit(patientId: $p, serviceIds: [$s]) {
            serviceVisit { id } errors { code } } }""",
        {"p": gid("Patient", patient), "s": sid(demo, "glow", "Botox Cosmetic")},
        as_=NINA,
    )
    visit: str = opened.data["openServiceVisit"]["serviceVisit"]["id"]
    await gql(
        "mutation($id: ID!) { closeServiceVisit(id: $id) { errors { code } } }",
        {"id": visit},
        as_=NINA,
    )
    return visit


async def test_visit_checkout_with_alle_points(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    visit = await _closed_visit(gql, demo, patient)
    price = await scalar(
        owner_engine,
        "SELECT price_cents FROM service WHERE id = :s",
        s=demo.services["glow"]["Botox Cosmetic"],
    )
    botox = sid(demo, "glow", "Botox Cosmetic")
    base = {
        "serviceVisitId": visit,
        "lines": [{"kind": "SERVICE", "serviceId": botox, "allergan": True}],
        "tipCents": 2_000,
    }
    alle = {
        "kind": "EXTERNAL",
        "programme": "ALLE",
        "allePoints": 200,
        "amountCents": 2_000,
        "authorizationCode": "ALLE-1",
    }
    rest = {"kind": "CASH", "amountCents": price}
    # Points in steps of 100, worth $10 each.
    for wrong in ({**alle, "allePoints": 150}, {**alle, "amountCents": 2_500}):
        answer = await gql(
            CREATE,
            {"input": {**base, "idempotencyKey": str(uuid.uuid4()), "tenders": [wrong, rest]}},
            as_=NINA,
        )
        assert codes(answer.data["createCheckout"]) == ["VALIDATION"], answer.body
    # Only Allergan treatments used at the visit.
    not_allergan = {**base, "lines": [{"kind": "SERVICE", "serviceId": botox}]}
    answer = await gql(
        CREATE,
        {"input": {**not_allergan, "idempotencyKey": "n", "tenders": [alle, rest]}},
        as_=NINA,
    )
    assert codes(answer.data["createCheckout"]) == ["VALIDATION"]

    payload = await checkout_as(
        gql, NINA, {**base, "idempotencyKey": str(uuid.uuid4()), "tenders": [alle, rest]}
    )
    assert payload["errors"] == [], payload
    checkout = payload["checkout"]
    assert checkout["kind"] == "VISIT" and checkout["totalCents"] == price + 2_000
    assert checkout["lines"][0]["description"] == "Botox Cosmetic"
    assert checkout["tenders"][0]["allePoints"] == 200

    again = await gql(
        CREATE,
        {"input": {**base, "idempotencyKey": str(uuid.uuid4()), "tenders": [alle, rest]}},
        as_=NINA,
    )
    assert codes(again.data["createCheckout"]) == ["ALREADY_CHECKED_OUT"]
    # A visit is checked out by its provider's scope: Omar does not see Nina's visit.
    other = await gql(
        CREATE,
        {"input": {**base, "idempotencyKey": "o", "tenders": [alle, rest]}},
        as_="omar@glow.example",
    )
    assert other.codes == ["NOT_FOUND"]


async def test_late_cancellation_fee_is_charged_once_through_retail_checkout(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    async with owner_engine.begin() as conn:
        appointment = (
            await conn.execute(
                text(
                    "UPDATE appointment SET status = 'CANCELLED', cancelled_at = now(),"
                    " cancellation_reason = 'Sick', cancellation_fee_cents = 5000,"
                    " cancellation_fee_applies = true WHERE id = (SELECT id FROM appointment"
                    " WHERE patient_id = :p ORDER BY starts_at LIMIT 1) RETURNING id"
                ),
                {"p": patient},
            )
        ).scalar_one()
    fee = {
        "patientId": gid("Patient", patient),
        "lines": [{"kind": "CANCELLATION_FEE", "appointmentId": gid("Appointment", appointment)}],
        "tenders": [
            {"kind": "CARD_ON_FILE", "amountCents": 5_000, "paymentMethod": "pm_card_visa"}
        ],
    }
    payload = await checkout_as(gql, NINA, {**fee, "idempotencyKey": "fee-1"})
    assert payload["errors"] == [], payload
    line = payload["checkout"]["lines"][0]
    assert (line["kind"], line["totalCents"]) == ("CANCELLATION_FEE", 5_000)
    twice = await gql(CREATE, {"input": {**fee, "idempotencyKey": "fee-2"}}, as_=NINA)
    assert codes(twice.data["createCheckout"]) == ["VALIDATION"]
    # A fee that does not apply is not charged.
    async with owner_engine.begin() as conn:
        other = (
            await conn.execute(
                text(
                    "SELECT id FROM appointment WHERE patient_id = :p AND id <> :a"
                    " ORDER BY starts_at LIMIT 1"
                ),
                {"p": patient, "a": appointment},
            )
        ).scalar_one_or_none()
    if other is not None:
        wrong = {
            **fee,
            "idempotencyKey": "fee-3",
            "lines": [{"kind": "CANCELLATION_FEE", "appointmentId": gid("Appointment", other)}],
        }
        answer = await gql(CREATE, {"input": wrong}, as_=NINA)
        assert codes(answer.data["createCheckout"]) == ["VALIDATION"]
