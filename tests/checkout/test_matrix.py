"""Role x tenant matrix of checkout and earnings (issue 18): every caller, every field.

Written from the policy: earnings.read is ANY for platform admins, TENANT for medspa admins,
OWN for providers; checkout.create / checkout.refund the same; nobody else holds them. A
masquerade (Dana as Nina) checks out but never refunds or voids. The objects are Nina's Glow
patient and checkout: outside their scope a caller gets NOT_FOUND, as for a missing object.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.checkout.helpers import CREATE, REFUND, VOID, cash_sale, checkout_as, patient_only_of
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.matrix import OK, expect
from tests.services.helpers import assert_denied, gid, scalar

NINA = "nina@glow.example"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"

# Who holds earnings.read at all (their own scope answers; the rest is refused).
READERS = expect(
    {
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        "dana@glow.example:PROVIDER": OK,
        "nina@glow.example": OK,
        "omar@glow.example": OK,
        "masquerade": OK,
        "ruth@radiance.example": OK,
        "lee@radiance.example": OK,
        "lena@legacy.example": OK,
        "kim@legacy.example": OK,
        "anonymous": "UNAUTHENTICATED",
    },
    default=FORBIDDEN,
)
# Who sees Nina's Glow checkout among the transactions.
SEES_NINAS = {"ops@portrait.example", "dana@glow.example", NINA, "masquerade"}

# Checking out Nina's patient for Nina.
CREATORS = expect(
    {
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        "nina@glow.example": OK,
        "masquerade": OK,
        # OWN: Nina's patient is not theirs; other tenants do not see the patient.
        "dana@glow.example:PROVIDER": NOT_FOUND,
        "omar@glow.example": NOT_FOUND,
        "ruth@radiance.example": NOT_FOUND,
        "lee@radiance.example": NOT_FOUND,
        "lena@legacy.example": NOT_FOUND,
        "kim@legacy.example": NOT_FOUND,
        "anonymous": "UNAUTHENTICATED",
    },
    default=FORBIDDEN,
)
# Refunding or voiding Nina's checkout.
REFUNDERS = expect(
    {
        **CREATORS,
        "masquerade": "MASQUERADE_FORBIDDEN",
    }
)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_earnings(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    ninas = (await checkout_as(gql, NINA, cash_sale(patient, demo.providers[NINA])))["checkout"]
    bearer = await principals.bearer(who)
    series = await gql("{ earnings(months: 2) { month netCents checkoutCount } }", bearer=bearer)
    listed = await gql(
        "{ earningsTransactions(first: 100) { edges { node { id } } } }", bearer=bearer
    )
    if READERS[who] != OK:
        await assert_denied(series, audit, READERS[who])
        await assert_denied(listed, audit, READERS[who])
        return
    assert series.errors == [] and len(series.data["earnings"]) == 2, series.body
    assert listed.errors == [], listed.body
    ids = {e["node"]["id"] for e in listed.data["earningsTransactions"]["edges"]}
    assert (ninas["id"] in ids) is (who in SEES_NINAS), who
    # The demo data gives every Glow and Radiance provider sales this month; Legacy has none.
    counted = sum(m["checkoutCount"] for m in series.data["earnings"])
    assert (counted >= 1) is (who not in {"lena@legacy.example", "kim@legacy.example"}), who


def _ok(answer: Any, field: str) -> dict[str, Any]:
    assert answer.errors == [], answer.body
    payload: dict[str, Any] = answer.data[field]
    assert payload["errors"] == [], payload
    return payload


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_create_checkout(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    before = await scalar(owner_engine, "SELECT count(*) FROM checkout")
    answer = await gql(
        CREATE,
        {"input": cash_sale(patient, demo.providers[NINA])},
        bearer=await principals.bearer(who),
    )
    if CREATORS[who] == OK:
        payload = _ok(answer, "createCheckout")
        assert payload["checkout"]["totalCents"] == 5_000
        assert await scalar(owner_engine, "SELECT count(*) FROM checkout") == before + 1
        return
    await assert_denied(answer, audit, CREATORS[who])
    assert await scalar(owner_engine, "SELECT count(*) FROM checkout") == before


@pytest.mark.parametrize("operation", ["refundCheckout", "voidCheckout"])
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_refund_and_void(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
    operation: str,
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    ninas = (await checkout_as(gql, NINA, cash_sale(patient, demo.providers[NINA])))["checkout"]
    bearer = await principals.bearer(who)
    if operation == "refundCheckout":
        refund = {
            "id": ninas["id"],
            "idempotencyKey": str(uuid.uuid4()),
            "refunds": [{"tenderId": ninas["tenders"][0]["id"], "amountCents": 1_000}],
        }
        answer = await gql(REFUND, {"input": refund}, bearer=bearer)
    else:
        answer = await gql(VOID, {"id": ninas["id"], "reason": "Entered twice"}, bearer=bearer)
    refunded = await scalar(
        owner_engine, "SELECT coalesce(sum(amount_cents), 0) FROM checkout_refund"
    )
    if REFUNDERS[who] == OK:
        payload = _ok(answer, operation)
        assert payload["checkout"]["refundedCents"] == refunded > 0
        return
    await assert_denied(answer, audit, REFUNDERS[who])
    assert refunded == 0


ADD_CARD = """mutation($p: ID!, $m: String!) {
  addPatientPaymentMethod(patientId: $p, paymentMethod: $m, customer: "cus_demo", label: "Visa") {
    paymentMethod { id paymentMethod } errors { code }
  }
}"""


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_cards_on_file(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    """Reading a patient's cards follows checkout.create; saving or removing one is
    payment_method.manage, which a masquerade never holds."""
    patient = await patient_only_of(owner_engine, demo, NINA)
    gid_of_patient = gid("Patient", patient)
    # The demo saved a Visa for the patient (db/seed/checkout.py); Nina adds an Amex.
    visa = await scalar(
        owner_engine,
        "SELECT id FROM patient_payment_method WHERE patient_id = :p AND removed_at IS NULL",
        p=patient,
    )
    ninas = await gql(ADD_CARD, {"p": gid_of_patient, "m": "pm_card_amex"}, as_=NINA)
    card = _ok(ninas, "addPatientPaymentMethod")["paymentMethod"]
    bearer = await principals.bearer(who)

    listed = await gql(
        "query($p: ID!) { patientPaymentMethods(patientId: $p) { id paymentMethod } }",
        {"p": gid_of_patient},
        bearer=bearer,
    )
    if CREATORS[who] == OK:
        assert listed.errors == [], listed.body
        assert [c["id"] for c in listed.data["patientPaymentMethods"]] == [
            gid("PaymentMethod", visa),
            card["id"],
        ]
    else:
        await assert_denied(listed, audit, CREATORS[who])

    count = (
        "SELECT count(*) FROM patient_payment_method WHERE removed_at IS NULL AND patient_id = :p"
    )
    added = await gql(ADD_CARD, {"p": gid_of_patient, "m": "pm_card_mastercard"}, bearer=bearer)
    if REFUNDERS[who] == OK:
        _ok(added, "addPatientPaymentMethod")
        assert await scalar(owner_engine, count, p=patient) == 3
    else:
        await assert_denied(added, audit, REFUNDERS[who])
        assert await scalar(owner_engine, count, p=patient) == 2

    removed = await gql(
        "mutation($id: ID!) { removePatientPaymentMethod(id: $id) { errors { code } } }",
        {"id": card["id"]},
        bearer=bearer,
    )
    if REFUNDERS[who] == OK:
        _ok(removed, "removePatientPaymentMethod")
        assert await scalar(owner_engine, count, p=patient) == 2
    else:
        await assert_denied(removed, audit, REFUNDERS[who])
        assert await scalar(owner_engine, count, p=patient) == 2
