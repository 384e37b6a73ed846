"""The public booking page is public: every kind of caller books through it alike, and the
answer never carries more than the booking's own confirmation."""

from __future__ import annotations

import pytest

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Gql, Principals
from tests.scheduling.test_public_booking import BOOK, _booking


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_public_book_appointment(
    gql: Gql, principals: Principals, demo: DemoIds, who: str
) -> None:
    answer = await gql(
        BOOK, _booking(demo, email="pat@example.com"), bearer=await principals.bearer(who)
    )
    assert answer.errors == [], answer.body
    payload = answer.data["publicBookAppointment"]
    assert payload["errors"] == []
    assert payload["booking"]["providerName"] == "Omar Haddad"
    assert set(payload["booking"]) == {
        "confirmationCode",
        "startsAt",
        "appointmentTypeName",
        "providerName",
        "locationName",
    }
