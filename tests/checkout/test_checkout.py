"""Checkout and earnings (issue 18): the done-when scenarios, money rules and tenancy."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import decode_id_of
from api.resolvers.checkout_pricing import PricedLine, compute_totals
from db.models import CheckoutLineKind
from db.seed.demo import DemoIds
from tests.checkout.helpers import (
    CHECKOUT_FIELDS,
    CREATE,
    REFUND,
    VOID,
    builtin,
    cash_sale,
    checkout_as,
    patient_only_of,
)
from tests.conftest import Gql, Principals, StatementLog
from tests.scheduling.helpers import GLOW_ADMIN, snapshot
from tests.services.helpers import codes, gid, scalar

NINA = "nina@glow.example"


def _line(kind: CheckoutLineKind, qty: int, unit: int, discount: int = 0) -> PricedLine:
    return PricedLine(kind, "x", qty, unit, discount, 0)


def test_totals_are_computed_in_one_place() -> None:
    totals = compute_totals(
        [
            _line(CheckoutLineKind.PRODUCT, 2, 15_000, 2_000),
            _line(CheckoutLineKind.ACCOUNT_CREDIT, 1, 5_000),
        ],
        checkout_discount_cents=1_000,
        tip_cents=500,
    )
    assert [line.total_cents for line in totals.lines] == [28_000, 5_000]
    assert (totals.subtotal_cents, totals.discount_cents, totals.total_cents) == (
        35_000,
        3_000,
        32_500,
    )


async def _buy_credit(gql: Gql, demo: DemoIds, patient: uuid.UUID, cents: int) -> None:
    payload = await checkout_as(
        gql,
        NINA,
        {
            "idempotencyKey": str(uuid.uuid4()),
            "patientId": gid("Patient", patient),
            "lines": [
                {"kind": "ACCOUNT_CREDIT", "description": "Account credit", "unitPriceCents": cents}
            ],
            "tenders": [{"kind": "CASH", "amountCents": cents}],
        },
    )
    assert payload["errors"] == [], payload


async def test_retail_checkout_with_split_tender_completes_and_refunds_partially(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    await _buy_credit(gql, demo, patient, 10_000)
    held = builtin().captured_cents()
    key = str(uuid.uuid4())
    sale = {
        "idempotencyKey": key,
        "patientId": gid("Patient", patient),
        "lines": [
            {
                "kind": "FUTURE_USE_PRODUCT",
                "description": "Botox 20 units (prepaid)",
                "quantity": 2,
                "unitPriceCents": 15_000,
                "discountCents": 2_000,
            }
        ],
        "discountCents": 1_000,
        "tenders": [
            {"kind": "ACCOUNT_CREDIT", "amountCents": 10_000},
            {"kind": "CARD_ON_FILE", "amountCents": 12_000, "paymentMethod": "pm_card_visa"},
            {"kind": "CASH", "amountCents": 5_000},
        ],
    }
    payload = await checkout_as(gql, NINA, sale)
    assert payload["errors"] == []
    checkout = payload["checkout"]
    assert checkout["status"] == "COMPLETED" and checkout["kind"] == "RETAIL"
    assert (checkout["subtotalCents"], checkout["discountCents"], checkout["totalCents"]) == (
        30_000,
        3_000,
        27_000,
    )
    assert checkout["lines"][0]["totalCents"] == 28_000
    assert builtin().captured_cents() == held + 12_000
    assert (
        await scalar(
            owner_engine,
            "SELECT sum(amount_cents) FROM account_credit_entry WHERE patient_id = :p",
            p=patient,
        )
        == 0
    )

    # The same key answers the same checkout and charges nothing more.
    again = await checkout_as(gql, NINA, sale)
    assert again["checkout"]["id"] == checkout["id"]
    assert builtin().captured_cents() == held + 12_000

    credit, card, _cash = checkout["tenders"]
    refund = {
        "id": checkout["id"],
        "idempotencyKey": "refund-1",
        "reason": "One vial returned",
        "refunds": [
            {"tenderId": card["id"], "amountCents": 5_000},
            {"tenderId": credit["id"], "amountCents": 2_000},
        ],
    }
    answer = await gql(REFUND, {"input": refund}, as_=NINA)
    assert answer.errors == [] and answer.data["refundCheckout"]["errors"] == [], answer.body
    refunded = answer.data["refundCheckout"]["checkout"]
    assert refunded["refundedCents"] == 7_000 and refunded["status"] == "COMPLETED"
    assert len(refunded["refunds"]) == 2
    assert builtin().captured_cents() == held + 7_000
    assert (
        await scalar(
            owner_engine,
            "SELECT sum(amount_cents) FROM account_credit_entry WHERE patient_id = :p",
            p=patient,
        )
        == 2_000
    )
    # Replaying the refund changes nothing; refunding past a tender is refused.
    await gql(REFUND, {"input": refund}, as_=NINA)
    assert builtin().captured_cents() == held + 7_000
    too_much = {
        **refund,
        "idempotencyKey": "refund-2",
        "refunds": [{"tenderId": card["id"], "amountCents": 7_001}],
    }
    answer = await gql(REFUND, {"input": too_much}, as_=NINA)
    assert codes(answer.data["refundCheckout"]) == ["REFUND_EXCEEDS_TENDER"]
    # The completed checkout itself never changed.
    assert (
        await scalar(
            owner_engine,
            "SELECT total_cents FROM checkout WHERE idempotency_key = :k",
            k=key,
        )
        == 27_000
    )


async def test_a_declined_card_leaves_no_charge(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    # A second saved card, one the built-in processor declines.
    added = await gql(ADD_CARD, {"p": gid("Patient", patient), "m": "pm_card_declined"}, as_=NINA)
    assert added.data["addPatientPaymentMethod"]["errors"] == [], added.body
    held = builtin().captured_cents()
    before = await scalar(owner_engine, "SELECT count(*) FROM checkout")
    payload = await checkout_as(
        gql,
        NINA,
        {
            "idempotencyKey": str(uuid.uuid4()),
            "patientId": gid("Patient", patient),
            "lines": [{"kind": "PRODUCT", "description": "Serum", "unitPriceCents": 15_000}],
            "tenders": [
                {"kind": "CARD_ON_FILE", "amountCents": 10_000, "paymentMethod": "pm_card_visa"},
                {"kind": "CARD_ON_FILE", "amountCents": 5_000, "paymentMethod": "pm_card_declined"},
            ],
        },
    )
    assert codes(payload) == ["PAYMENT_DECLINED"] and payload["checkout"] is None
    assert builtin().captured_cents() == held
    assert await scalar(owner_engine, "SELECT count(*) FROM checkout") == before
    states = {c.state for c in builtin().charges.values() if c.amount_cents == 10_000}
    assert "AUTHORIZED" not in states


ADD_CARD = """mutation($p: ID!, $m: String!) {
  addPatientPaymentMethod(patientId: $p, paymentMethod: $m) { errors { code } } }"""


async def test_a_card_on_file_is_one_of_the_patients_saved_cards(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    """A tender charges only a live card saved for this patient: a card id typed in, another
    patient's card or a removed card is refused before anything is authorised."""
    patient = await patient_only_of(owner_engine, demo, NINA)
    other = await scalar(
        owner_engine,
        "SELECT patient_id FROM patient_payment_method WHERE patient_id <> :p"
        " AND medspa_id = (SELECT medspa_id FROM patient WHERE id = :p) LIMIT 1",
        p=patient,
    )
    added = await gql(
        ADD_CARD, {"p": gid("Patient", other), "m": "pm_card_other"}, as_="dana@glow.example"
    )
    assert added.data["addPatientPaymentMethod"]["errors"] == [], added.body
    async with owner_engine.begin() as conn:  # a card saved once, then removed
        await conn.execute(
            text(
                "INSERT INTO patient_payment_method (id, medspa_id, patient_id, processor,"
                " payment_method, removed_at) SELECT gen_random_uuid(), medspa_id, id, 'builtin',"
                " 'pm_card_removed', now() FROM patient WHERE id = :p"
            ),
            {"p": patient},
        )
    charges = len(builtin().charges)
    before = await scalar(owner_engine, "SELECT count(*) FROM checkout")
    for card, field in (
        ("pm_card_typed_in", "tenders.0.paymentMethod"),
        ("pm_card_other", "tenders.0.paymentMethod"),  # another patient's
        ("pm_card_removed", "tenders.0.paymentMethod"),
    ):
        payload = await checkout_as(
            gql,
            NINA,
            {
                "idempotencyKey": str(uuid.uuid4()),
                "patientId": gid("Patient", patient),
                "lines": [{"kind": "PRODUCT", "description": "Serum", "unitPriceCents": 5_000}],
                "tenders": [{"kind": "CARD_ON_FILE", "amountCents": 5_000, "paymentMethod": card}],
            },
        )
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", field)], card
    # The saved customer is the card's: naming another is refused.
    payload = await checkout_as(
        gql,
        NINA,
        {
            "idempotencyKey": str(uuid.uuid4()),
            "patientId": gid("Patient", patient),
            "lines": [{"kind": "PRODUCT", "description": "Serum", "unitPriceCents": 5_000}],
            "tenders": [
                {
                    "kind": "CARD_ON_FILE",
                    "amountCents": 5_000,
                    "paymentMethod": "pm_card_visa",
                    "customer": "cus_someone_else",
                }
            ],
        },
    )
    assert [e["field"] for e in payload["errors"]] == ["tenders.0.customer"]
    assert len(builtin().charges) == charges  # nothing was even authorised
    assert await scalar(owner_engine, "SELECT count(*) FROM checkout") == before


async def test_money_rules_refuse_bad_input_and_change_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    base = cash_sale(patient, demo.providers[NINA])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tenders": [{"kind": "CASH", "amountCents": 4_999}]}, "VALIDATION"),
        ({"tenders": [{"kind": "ACCOUNT_CREDIT", "amountCents": 5_000}]}, "INSUFFICIENT_CREDIT"),
        ({"discountCents": 5_001}, "VALIDATION"),
        ({"lines": []}, "VALIDATION"),
        (
            {"lines": [{"kind": "PRODUCT", "description": "x", "unitPriceCents": 1}] * 51},
            "VALIDATION",
        ),
        (
            {
                "lines": [
                    {"kind": "PRODUCT", "description": "x", "unitPriceCents": 10**7, "quantity": 2}
                ]
            },
            "VALIDATION",
        ),
        (
            {
                "tenders": [
                    {
                        "kind": "EXTERNAL",
                        "amountCents": 5_000,
                        "programme": "ALLE",
                        "allePoints": 500,
                        "authorizationCode": "A1",
                    }
                ]
            },
            "VALIDATION",  # Allē points pay only for a visit's Allergan treatments
        ),
        (
            {"tenders": [{"kind": "EXTERNAL", "amountCents": 5_000, "programme": "CARECREDIT"}]},
            "VALIDATION",
        ),
        ({"idempotencyKey": ""}, "VALIDATION"),
        ({"idempotencyKey": "k" * 101}, "VALIDATION"),
        ({"tenders": [{"kind": "CASH", "amountCents": 1}] * 11}, "VALIDATION"),
        ({"tipCents": -1}, "VALIDATION"),
        (
            {"lines": [{"kind": "PRODUCT", "description": "x" * 201, "unitPriceCents": 1}]},
            "VALIDATION",
        ),
        ({"lines": [{"kind": "SERVICE", "unitPriceCents": 1}]}, "VALIDATION"),  # retail
    ]
    before = await scalar(owner_engine, "SELECT count(*) FROM checkout")
    for change, code in cases:
        answer = await gql(CREATE, {"input": {**base, **change}}, as_=NINA)
        assert answer.errors == [], answer.body
        assert codes(answer.data["createCheckout"]) == [code], (change, answer.body)
    assert await scalar(owner_engine, "SELECT count(*) FROM checkout") == before
    external = {
        **base,
        "tenders": [
            {
                "kind": "EXTERNAL",
                "amountCents": 5_000,
                "programme": "CARECREDIT",
                "authorizationCode": "CC-778812",
            }
        ],
    }
    payload = await checkout_as(gql, NINA, external)
    assert payload["errors"] == [] and payload["checkout"]["tenders"][0]["authorizationCode"]


async def test_void_needs_a_reason_and_refunds_every_tender(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    held = builtin().captured_cents()
    sale = cash_sale(patient, demo.providers[NINA], 8_000)
    sale["tenders"] = [
        {"kind": "CASH", "amountCents": 3_000},
        {"kind": "TERMINAL", "amountCents": 5_000, "reader": "tmr_glow_downtown"},
    ]
    checkout = (await checkout_as(gql, "dana@glow.example", sale))["checkout"]
    answer = await gql(VOID, {"id": checkout["id"], "reason": "  "}, as_="dana@glow.example")
    assert codes(answer.data["voidCheckout"]) == ["VALIDATION"]
    answer = await gql(VOID, {"id": checkout["id"], "reason": "Wrong patient"}, as_=NINA)
    voided = answer.data["voidCheckout"]["checkout"]
    assert voided["status"] == "VOIDED" and voided["voidReason"] == "Wrong patient"
    assert voided["refundedCents"] == 8_000
    assert builtin().captured_cents() == held
    again = await gql(VOID, {"id": checkout["id"], "reason": "again"}, as_=NINA)
    assert codes(again.data["voidCheckout"]) == ["CHECKOUT_VOIDED"]


EARNINGS = """
query($p: ID) {
  earnings(providerId: $p, months: 3) {
    month salesCents tipsCents refundsCents netCents checkoutCount
  }
  earningsTransactions(providerId: $p, first: 50) {
    edges { node { id totalCents provider { id } } }
  }
}
"""


async def test_earnings_follow_the_provider_and_the_tenant(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, principals: Principals
) -> None:
    nina_patient = await patient_only_of(owner_engine, demo, NINA)
    omar_patient = await patient_only_of(owner_engine, demo, "omar@glow.example")
    sale = cash_sale(nina_patient, demo.providers[NINA], 7_000)
    sale["tipCents"] = 1_000
    sale["tenders"] = [{"kind": "CASH", "amountCents": 8_000}]
    mine = (await checkout_as(gql, NINA, sale))["checkout"]
    omars = (
        await checkout_as(
            gql, "omar@glow.example", cash_sale(omar_patient, demo.providers["omar@glow.example"])
        )
    )["checkout"]

    nina = await gql(EARNINGS, as_=NINA)
    assert nina.errors == [], nina.body
    ids = {e["node"]["id"] for e in nina.data["earningsTransactions"]["edges"]}
    assert mine["id"] in ids and omars["id"] not in ids
    this_month = nina.data["earnings"][-1]
    assert len(nina.data["earnings"]) == 3
    assert this_month["checkoutCount"] >= 1 and this_month["tipsCents"] >= 1_000
    opened = await gql(
        f"query($id: ID!) {{ node(id: $id) {{ ... on Checkout {{ {CHECKOUT_FIELDS} }} }} }}",
        {"id": mine["id"]},
        as_=NINA,
    )
    assert opened.data["node"]["lines"][0]["description"] == "Sunscreen SPF 50"
    hidden = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": omars["id"]}, as_=NINA)
    assert hidden.data["node"] is None

    dana = await gql(EARNINGS, as_="dana@glow.example")
    ids = {e["node"]["id"] for e in dana.data["earningsTransactions"]["edges"]}
    assert {mine["id"], omars["id"]} <= ids
    assert dana.data["earnings"][-1]["checkoutCount"] >= 2
    only_omar = await gql(
        EARNINGS,
        {"p": gid("Provider", demo.providers["omar@glow.example"])},
        as_="dana@glow.example",
    )
    ids = {e["node"]["id"] for e in only_omar.data["earningsTransactions"]["edges"]}
    assert omars["id"] in ids and mine["id"] not in ids

    for other in ("ruth@radiance.example", "lee@radiance.example"):
        answer = await gql(EARNINGS, as_=other)
        ids = {e["node"]["id"] for e in answer.data["earningsTransactions"]["edges"]}
        assert not ids & {mine["id"], omars["id"]}
        node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": mine["id"]}, as_=other)
        assert node.data["node"] is None
    refund = {
        "id": mine["id"],
        "idempotencyKey": "x",
        "refunds": [{"tenderId": mine["tenders"][0]["id"], "amountCents": 100}],
    }
    answer = await gql(REFUND, {"input": refund}, as_="ruth@radiance.example")
    assert answer.codes == ["NOT_FOUND"]


async def test_masquerade_checks_out_but_never_refunds(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, principals: Principals
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)
    bearer = await principals.bearer("masquerade")
    answer = await gql(CREATE, {"input": cash_sale(patient, demo.providers[NINA])}, bearer=bearer)
    checkout = answer.data["createCheckout"]["checkout"]
    assert checkout is not None, answer.body
    refund = {
        "id": checkout["id"],
        "idempotencyKey": "m",
        "refunds": [{"tenderId": checkout["tenders"][0]["id"], "amountCents": 100}],
    }
    answer = await gql(REFUND, {"input": refund}, bearer=bearer)
    assert answer.codes == ["MASQUERADE_FORBIDDEN"]
    answer = await gql(VOID, {"id": checkout["id"], "reason": "x"}, bearer=bearer)
    assert answer.codes == ["MASQUERADE_FORBIDDEN"]
    actor = await scalar(
        owner_engine,
        "SELECT created_by_user_id FROM checkout WHERE id = :i",
        i=decode_id_of(checkout["id"], "Checkout"),
    )
    assert actor == demo.users["dana@glow.example"]


async def test_earnings_statements_do_not_grow_with_transactions(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, statement_log: StatementLog
) -> None:
    patient = await patient_only_of(owner_engine, demo, NINA)

    async def count() -> int:
        statement_log.clear()
        answer = await gql(
            EARNINGS.replace("provider { id }", "provider { id } lines { kind } tenders { kind }"),
            as_=NINA,
        )
        assert answer.errors == [], answer.body
        return statement_log.count()

    await checkout_as(gql, NINA, cash_sale(patient, demo.providers[NINA]))
    one = await count()
    for _ in range(4):
        await checkout_as(gql, NINA, cash_sale(patient, demo.providers[NINA]))
    assert await count() == one


async def test_demo_data_gives_a_monthly_series(gql: Gql, demo: DemoIds) -> None:
    """On the demo data alone: Nina's own series over four months and her transactions;
    Dana, as admin, every Glow provider's."""
    query = """{ earnings(months: 4) { month netCents checkoutCount }
        earningsTransactions(first: 100) { edges { node { provider { id } lines { kind } } } } }"""
    nina = await gql(query, as_=NINA)
    assert nina.errors == [], nina.body
    months = nina.data["earnings"]
    assert sum(1 for m in months if m["checkoutCount"]) >= 3 and months[0]["netCents"] > 0
    providers = {e["node"]["provider"]["id"] for e in nina.data["earningsTransactions"]["edges"]}
    assert providers == {gid("Provider", demo.providers[NINA])}
    dana = await gql(query, as_="dana@glow.example")
    providers = {e["node"]["provider"]["id"] for e in dana.data["earningsTransactions"]["edges"]}
    glow = {
        gid("Provider", demo.providers[e]) for e in demo.providers if e.endswith("@glow.example")
    }
    assert providers == glow
    assert sum(m["netCents"] for m in dana.data["earnings"]) > sum(m["netCents"] for m in months)


async def test_earnings_months_are_bounded(gql: Gql, demo: DemoIds) -> None:
    for months in (0, 25):
        answer = await gql(
            "query($m: Int!) { earnings(months: $m) { month } }", {"m": months}, as_=NINA
        )
        assert answer.codes == ["BAD_USER_INPUT"], answer.body


async def test_refunding_money_that_bought_credit_takes_the_credit_back(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    """A sale of $100 of account credit and a $50 product, paid in cash: refunding up to the
    product's $50 leaves the credit; refunding past it takes that much credit back, and is
    refused once the credit is spent (nothing changes). A void then takes back only the rest."""
    patient = await patient_only_of(owner_engine, demo, NINA)
    balance_sql = (
        "SELECT coalesce(sum(amount_cents), 0) FROM account_credit_entry WHERE patient_id = :p"
    )
    start = await scalar(owner_engine, balance_sql, p=patient)
    sale = await checkout_as(
        gql,
        NINA,
        {
            "idempotencyKey": str(uuid.uuid4()),
            "patientId": gid("Patient", patient),
            "lines": [
                {"kind": "ACCOUNT_CREDIT", "description": "Credit", "unitPriceCents": 10_000},
                {"kind": "PRODUCT", "description": "Serum", "unitPriceCents": 5_000},
            ],
            "tenders": [{"kind": "CASH", "amountCents": 15_000}],
        },
    )
    assert sale["errors"] == [], sale
    checkout = sale["checkout"]
    (cash,) = checkout["tenders"]

    async def refund(cents: int) -> dict[str, Any]:
        answer = await gql(
            REFUND,
            {
                "input": {
                    "id": checkout["id"],
                    "idempotencyKey": str(uuid.uuid4()),
                    "refunds": [{"tenderId": cash["id"], "amountCents": cents}],
                }
            },
            as_=GLOW_ADMIN,
        )
        return dict(answer.data["refundCheckout"])

    assert (await refund(5_000))["errors"] == []  # the product's worth: the credit stays
    assert await scalar(owner_engine, balance_sql, p=patient) == start + 10_000
    assert (await refund(3_000))["errors"] == []  # $30 of the credit's money: $30 credit goes
    assert await scalar(owner_engine, balance_sql, p=patient) == start + 7_000

    # The patient spends the rest of the credit; refunding more money is refused whole.
    spend = await checkout_as(
        gql,
        NINA,
        {
            "idempotencyKey": str(uuid.uuid4()),
            "patientId": gid("Patient", patient),
            "lines": [{"kind": "PRODUCT", "description": "Peel", "unitPriceCents": start + 7_000}],
            "tenders": [{"kind": "ACCOUNT_CREDIT", "amountCents": start + 7_000}],
        },
    )
    assert spend["errors"] == [], spend
    before = await snapshot(owner_engine, "checkout", "checkout_refund", "account_credit_entry")
    refused = await refund(1_000)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INSUFFICIENT_CREDIT", "refunds")
    ]
    assert await snapshot(owner_engine, "checkout", "checkout_refund", "account_credit_entry") == (
        before
    )

    # Credit bought again: a void takes back only the $70 the refunds left.
    await _buy_credit(gql, demo, patient, 7_000)
    voided = await gql(VOID, {"id": checkout["id"], "reason": "Sold by mistake"}, as_=GLOW_ADMIN)
    assert voided.data["voidCheckout"]["errors"] == [], voided.body
    assert await scalar(owner_engine, balance_sql, p=patient) == 0


async def test_a_checkout_whose_commit_fails_keeps_no_money(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    """The card is captured before the request commits; when the commit then fails (here a
    deferred check refuses it), the capture is refunded: the patient keeps no charge without
    a checkout recording it, and a retry of the same checkout charges anew and is recorded."""
    patient = await patient_only_of(owner_engine, demo, NINA)
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN IF NEW.idempotency_key = 'fail-at-commit' THEN"
                " RAISE EXCEPTION 'the commit fails'; END IF; RETURN NULL; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON checkout"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_at_commit()"
            )
        )
    sale = {
        "idempotencyKey": "fail-at-commit",
        "patientId": gid("Patient", patient),
        "lines": [{"kind": "PRODUCT", "description": "Serum", "unitPriceCents": 6_100}],
        "tenders": [
            {"kind": "CARD_ON_FILE", "amountCents": 6_100, "paymentMethod": "pm_card_visa"}
        ],
    }
    count = "SELECT count(*) FROM checkout WHERE idempotency_key = 'fail-at-commit'"
    held = builtin().captured_cents()
    try:
        failed = await gql(CREATE, {"input": sale}, as_=NINA)
        assert failed.data is None and failed.codes == ["INTERNAL_SERVER_ERROR"], failed.body
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER test_fail_at_commit ON checkout"))
            await conn.execute(text("DROP FUNCTION test_fail_at_commit()"))
    assert await scalar(owner_engine, count) == 0
    [charge] = [c for c in builtin().charges.values() if c.amount_cents == 6_100]
    assert (charge.state, charge.refunded_cents) == ("CAPTURED", 6_100)  # captured, given back
    assert builtin().captured_cents() == held

    retried = await checkout_as(gql, NINA, sale)
    assert retried["errors"] == [], retried
    assert await scalar(owner_engine, count) == 1
    assert builtin().captured_cents() == held + 6_100
