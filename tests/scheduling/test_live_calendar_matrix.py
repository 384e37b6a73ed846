"""Role matrix of `calendarChanged`: every caller subscribes on a real server to this and the
next months, and a booking with Nina at Glow is made; the expectations follow appointment.read
(DESIGN §5): who sees the booking, who is silent (out of their scope: invisible is absent),
and who is refused at subscribe time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, ALL_TABLES, Gql, Principals, StatementLog
from tests.core.served import Served, serve
from tests.matrix import expect
from tests.scheduling.helpers import BOOK, booking

SEES = "sees"
SILENT = "silent"
PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = """subscription($from: DateTime!, $to: DateTime!) {
    calendarChanged(from: $from, to: $to) { appointmentId removed } }"""

# appointment.read: ANY for the platform admin; ASSIGNED for PCCs (Vera and the covering Sam
# work for Glow's providers; Dean for Radiance's; Cody for Legacy's; Sam alone for nobody);
# TENANT for Glow's admin; OWN for providers (the booking is Nina's: Nina, and Dana
# masquerading as her); partner keys with appointments:read. No appointment.read: refused.
EXPECTED = expect(
    {
        "ops@portrait.example": SEES,
        "vera@portrait.example": SEES,
        "covering": SEES,
        "dana@glow.example": SEES,
        "nina@glow.example": SEES,
        "masquerade": SEES,
        "api_key": SEES,
        "api_key:APPOINTMENTS_READ": SEES,
        "dean@portrait.example": SILENT,
        "cody@portrait.example": SILENT,
        "sam@portrait.example": SILENT,
        "dana@glow.example:PROVIDER": SILENT,
        "omar@glow.example": SILENT,
        "ruth@radiance.example": SILENT,
        "lee@radiance.example": SILENT,
        "lena@legacy.example": SILENT,
        "kim@legacy.example": SILENT,
        "maria@portrait.example": "FORBIDDEN",
        "api_key:APPOINTMENTS_WRITE": "FORBIDDEN",
        "api_key:PATIENTS_READ": "FORBIDDEN",
        "api_key:CATALOG_READ": "FORBIDDEN",
        "anonymous": "CLOSED 4403",  # nothing live is public: connection_init is refused
    }
)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Served]:
    with serve(database_url) as running:
        yield running


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_calendar_changed(
    server: Served,
    gql: Gql,
    principals: Principals,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    statement_log: StatementLog,
    who: str,
) -> None:
    statement_log.written.add(ALL_TABLES)  # the server writes through its own connections
    bearer = await principals.bearer(who)
    expected = EXPECTED[who]
    now = datetime.now(UTC)
    variables = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=60)).isoformat(),
    }
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        init: dict[str, Any] = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        if expected.startswith("CLOSED"):
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert f"CLOSED {closed.value.rcvd.code}" == expected
            return
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
        payload = {"query": SUBSCRIPTION, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        await ws.send(json.dumps({"type": "ping"}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if expected not in (SEES, SILENT):
            assert first["type"] == "error", first
            assert first["payload"][0]["extensions"]["code"] == expected
            return
        assert first == {"type": "pong"}
        booked = await gql(BOOK, await booking(owner_engine, demo), as_="dana@glow.example")
        assert booked.errors == [] and booked.data["bookAppointment"]["errors"] == []
        appointment = booked.data["bookAppointment"]["appointment"]["id"]
        if expected == SEES:
            change = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert change["payload"]["data"]["calendarChanged"] == {
                "appointmentId": appointment,
                "removed": False,
            }
        else:
            # Given the time the others needed to hear of it, then a ping answered first.
            await asyncio.sleep(0.5)
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}
