"""Notices that are not for a patient, as the worker sends them: a staff invitation goes to
the invited address with its accept link (removed from the row once sent), and each step of
an inventory order goes to the ordering medspa's active admins, never to another medspa's."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from api.events.notifications import send_outbox_row
from api.events.notifier import Channels
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import Gql
from tests.events.test_notifications import Recorder
from tests.inventory.helpers import PLACE, QUOTE, order_input
from tests.scheduling.helpers import rows, scalar
from tests.staff.helpers import emailed_link, invite

DANA = "dana@glow.example"
DEAN = "dean@portrait.example"


async def _send(engine: AsyncEngine, outbox_id: uuid.UUID) -> Recorder:
    recorder = Recorder()
    sent = await send_outbox_row(
        session_factory(engine),
        Channels(email=recorder, sms=recorder),
        outbox_id,
        final_attempt=False,
    )
    assert sent
    return recorder


async def test_an_invitation_goes_to_the_invited_address_and_its_link_leaves_the_row(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    invited = await invite(
        gql, DANA, email="zoe.new@example.com", fullName="Zoe Park", roles=["PROVIDER"]
    )
    outbox_id = await scalar(
        owner_engine,
        "SELECT id FROM notification_outbox WHERE kind = 'STAFF_INVITATION'"
        " AND payload->>'to' = 'zoe.new@example.com'",
    )
    recorder = await _send(owner_engine, outbox_id)
    (message,) = recorder.sent
    assert message.to == "zoe.new@example.com"
    assert "Glow" in message.subject
    assert message.body.startswith("Hello Zoe,")
    assert emailed_link(invited["acceptPath"]) in message.body
    (row,) = await rows(
        owner_engine, "SELECT payload, sent_at FROM notification_outbox WHERE id = :i", i=outbox_id
    )
    assert row["sent_at"] is not None
    assert "acceptUrl" not in row["payload"]  # the token is not kept once sent


async def test_an_order_notice_goes_to_the_ordering_medspas_active_admins(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    lines = [("Dysport 300U", 1)]
    quote = (await gql(QUOTE, {"input": order_input(demo, lines)}, as_=DEAN)).data[
        "inventoryOrderQuote"
    ]
    placed = await gql(
        PLACE, {"input": order_input(demo, lines, expectedTotalCents=quote["totalCents"])}, as_=DEAN
    )
    assert placed.data["placeInventoryOrder"]["errors"] == [], placed.body
    outbox_id = await scalar(
        owner_engine,
        "SELECT id FROM notification_outbox WHERE kind = 'INVENTORY_ORDER_PLACED'"
        " ORDER BY created_at DESC LIMIT 1",
    )
    admins = await rows(
        owner_engine,
        "SELECT u.email FROM membership m JOIN app_user u ON u.id = m.user_id"
        " WHERE m.medspa_id = :m AND m.role = 'medspa_admin' AND m.deactivated_at IS NULL"
        " ORDER BY u.email",
        m=demo.medspas["radiance"],
    )
    assert admins, "Radiance has an active admin in the demo data"
    recorder = await _send(owner_engine, outbox_id)
    (message,) = recorder.sent
    assert message.to == ", ".join(a["email"] for a in admins)
    assert all(address.endswith("@radiance.example") for address in message.to.split(", "))
    assert message.subject == "Inventory order placed"
