"""Future-use products (issue 18): prepaid units sold in a checkout are redeemed at a later
visit, at most as many as were bought, only by the patient who bought them; voiding the visit
gives the units back, and a sale whose units were used is not voided."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import decode_id_of
from db.seed.demo import DemoIds
from tests.checkout.helpers import CREATE, VOID, checkout_as, patient_only_of
from tests.checkout.test_matrix import CREATORS
from tests.checkout.test_visit_checkout import _closed_visit
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.matrix import OK
from tests.scheduling.helpers import GLOW_ADMIN, snapshot
from tests.services.helpers import gid, scalar

NINA = "nina@glow.example"
ITEMS = """query($p: ID!) { patientPrepaidItems(patientId: $p) {
    lineId checkoutId description quantity left } }"""


async def _sell(gql: Gql, patient: uuid.UUID, units: int) -> dict[str, Any]:
    payload = await checkout_as(
        gql,
        NINA,
        {
            "idempotencyKey": str(uuid.uuid4()),
            "patientId": gid("Patient", patient),
            "lines": [
                {
                    "kind": "FUTURE_USE_PRODUCT",
                    "description": "Botox 20 units",
                    "quantity": units,
                    "unitPriceCents": 28_000,
                }
            ],
            "tenders": [{"kind": "CASH", "amountCents": 28_000 * units}],
        },
    )
    assert payload["errors"] == [], payload
    return dict(payload["checkout"])


async def _items(gql: Gql, patient: uuid.UUID) -> list[dict[str, Any]]:
    answer = await gql(ITEMS, {"p": gid("Patient", patient)}, as_=NINA)
    assert answer.errors == [], answer.body
    return list(answer.data["patientPrepaidItems"])


async def _left(gql: Gql, patient: uuid.UUID, sale: dict[str, Any]) -> list[int]:
    return [i["left"] for i in await _items(gql, patient) if i["checkoutId"] == sale["id"]]


def _redeem(visit: str, line: str, units: int) -> dict[str, Any]:
    return {
        "idempotencyKey": str(uuid.uuid4()),
        "serviceVisitId": visit,
        "lines": [{"kind": "REDEMPTION", "redeemsLineId": line, "quantity": units}],
        "tenders": [],
    }


async def test_prepaid_units_are_redeemed_at_a_later_visit_once_each(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    sale = await _sell(gql, patient, 2)
    # The demo sold this patient prepaid units too; this sale's line is the one redeemed.
    [item] = [i for i in await _items(gql, patient) if i["checkoutId"] == sale["id"]]
    assert (item["description"], item["quantity"], item["left"]) == ("Botox 20 units", 2, 2)
    assert item["checkoutId"] == sale["id"]

    visit = await _closed_visit(gql, demo, patient)
    # More units than are left: refused, nothing written.
    before = await snapshot(owner_engine, "checkout", "checkout_line")
    too_many = await gql(CREATE, {"input": _redeem(visit, item["lineId"], 3)}, as_=NINA)
    errors = too_many.data["createCheckout"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("PREPAID_USED_UP", "lines.0.quantity")]
    # Two lines of one checkout cannot use the same last unit twice either.
    twice = _redeem(visit, item["lineId"], 2)
    twice["lines"] = [twice["lines"][0], {**twice["lines"][0], "quantity": 1}]
    answer = await gql(CREATE, {"input": twice}, as_=NINA)
    assert [e["field"] for e in answer.data["createCheckout"]["errors"]] == ["lines.1.quantity"]
    assert await snapshot(owner_engine, "checkout", "checkout_line") == before

    used = await checkout_as(gql, NINA, _redeem(visit, item["lineId"], 1))
    assert used["errors"] == [], used
    [line] = used["checkout"]["lines"]
    assert (line["kind"], line["totalCents"]) == ("REDEMPTION", 0)
    assert line["description"] == "Botox 20 units (prepaid)"
    assert used["checkout"]["totalCents"] == 0
    assert await _left(gql, patient, sale) == [1]

    # The sale's units were used: it is not voided (a refund is the correction).
    refused = await gql(VOID, {"id": sale["id"], "reason": "Mistake"}, as_=GLOW_ADMIN)
    assert [e["code"] for e in refused.data["voidCheckout"]["errors"]] == ["PREPAID_USED_UP"]
    # Voiding the visit's checkout gives the unit back.
    voided = await gql(VOID, {"id": used["checkout"]["id"], "reason": "Not done"}, as_=GLOW_ADMIN)
    assert voided.data["voidCheckout"]["errors"] == [], voided.body
    assert await _left(gql, patient, sale) == [2]


async def test_only_the_buyer_redeems_and_only_prepaid_lines(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    buyer = await patient_only_of(owner_engine, demo, NINA)
    sale = await _sell(gql, buyer, 1)
    [item] = [i for i in await _items(gql, buyer) if i["checkoutId"] == sale["id"]]
    serum = await checkout_as(
        gql,
        NINA,
        {
            "idempotencyKey": str(uuid.uuid4()),
            "patientId": gid("Patient", buyer),
            "lines": [{"kind": "PRODUCT", "description": "Serum", "unitPriceCents": 5_000}],
            "tenders": [{"kind": "CASH", "amountCents": 5_000}],
        },
    )
    serum_line = gid(
        "CheckoutLine",
        await scalar(
            owner_engine,
            "SELECT id FROM checkout_line WHERE checkout_id = :c",
            c=decode_id_of(serum["checkout"]["id"], "Checkout"),
        ),
    )
    visit = await _closed_visit(gql, demo, buyer)
    others = await _other_patients_visit(gql, demo, owner_engine, buyer)
    before = await snapshot(owner_engine, "checkout", "checkout_line")
    for input_, field in (
        (_redeem(others, item["lineId"], 1), "lines.0.redeemsLineId"),  # another patient
        (_redeem(visit, serum_line, 1), "lines.0.redeemsLineId"),  # not a prepaid line
        (_redeem(visit, "not-an-id", 1), "lines.0.redeemsLineId"),
    ):
        answer = await gql(CREATE, {"input": input_}, as_=NINA)
        errors = answer.data["createCheckout"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", field)], answer.body
    priced = _redeem(visit, item["lineId"], 1)
    priced["lines"][0]["unitPriceCents"] = 100
    priced["tenders"] = [{"kind": "CASH", "amountCents": 100}]
    answer = await gql(CREATE, {"input": priced}, as_=NINA)
    assert [e["field"] for e in answer.data["createCheckout"]["errors"]] == ["lines.0"]
    named = {
        "idempotencyKey": str(uuid.uuid4()),
        "patientId": gid("Patient", buyer),
        "lines": [
            {
                "kind": "PRODUCT",
                "description": "Serum",
                "unitPriceCents": 5_000,
                "redeemsLineId": item["lineId"],
            }
        ],
        "tenders": [{"kind": "CASH", "amountCents": 5_000}],
    }
    answer = await gql(CREATE, {"input": named}, as_=NINA)
    assert [e["field"] for e in answer.data["createCheckout"]["errors"]] == [
        "lines.0.redeemsLineId"
    ]
    # A retail checkout does not redeem (units are used at a visit).
    retail = {**named, "lines": [{"kind": "REDEMPTION", "redeemsLineId": item["lineId"]}]}
    retail["tenders"] = []
    answer = await gql(CREATE, {"input": retail}, as_=NINA)
    assert [e["field"] for e in answer.data["createCheckout"]["errors"]] == ["lines.0.kind"]
    assert await snapshot(owner_engine, "checkout", "checkout_line") == before
    assert sale["status"] == "COMPLETED"


async def _other_patients_visit(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, not_this: uuid.UUID
) -> str:
    other = await scalar(
        owner_engine,
        "SELECT DISTINCT a.patient_id FROM appointment a JOIN provider p ON p.id = a.provider_id"
        " JOIN app_user u ON u.id = p.user_id WHERE u.email = :e AND a.patient_id <> :p"
        " LIMIT 1",
        e=NINA,
        p=not_this,
    )
    return await _closed_visit(gql, demo, other)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_patient_prepaid_items(
    gql: Gql,
    principals: Principals,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    audit: Audit,
    who: str,
) -> None:
    """Reading what a patient prepaid follows checkout.create, like their cards on file."""
    patient = await patient_only_of(owner_engine, demo, NINA)
    sale = await _sell(gql, patient, 1)
    answer = await gql(ITEMS, {"p": gid("Patient", patient)}, bearer=await principals.bearer(who))
    if CREATORS[who] == OK:
        assert answer.errors == [], answer.body
        assert sale["id"] in [i["checkoutId"] for i in answer.data["patientPrepaidItems"]]
    else:
        assert answer.codes == [CREATORS[who]], answer.body
        request_id = answer.errors[0]["extensions"]["requestId"]
        assert {r["outcome"] for r in await audit.rows(request_id=request_id)} == {"DENIED"}
