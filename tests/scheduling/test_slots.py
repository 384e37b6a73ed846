"""Free slots: availability minus appointments, block-offs and buffers, in the location's zone,
correct across daylight-saving changes (issue 4 §4)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Gql, Principals
from tests.scheduling.helpers import (
    GLOW_ADMIN,
    NEW_YORK,
    gid,
    local,
    next_clock_change,
    next_week,
)

SLOTS = """query($l: ID!, $t: ID!, $p: ID, $f: DateTime!, $to: DateTime!) {
    availableSlots(locationId: $l, appointmentTypeId: $t, providerId: $p, from: $f, to: $to) {
        startsAt endsAt provider { displayName } } }"""
SET_HOURS = """mutation($p: ID!, $l: ID!, $h: [WeeklyHoursInput!]!) {
    setWeeklyHours(providerId: $p, locationId: $l, hours: $h) { errors { code message } } }"""
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def _vars(demo: DemoIds, start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "l": gid("Location", demo.locations["glow-downtown"]),
        "t": gid(
            "AppointmentType", demo.appointment_types["glow"][extra.pop("kind", "Neuromodulator")]
        ),
        "p": gid("Provider", demo.providers[extra.pop("provider", "nina@glow.example")]),
        "f": start.isoformat(),
        "to": end.isoformat(),
        **extra,
    }


async def _slots(gql: Gql, variables: dict[str, Any], who: str = GLOW_ADMIN) -> list[datetime]:
    answer = await gql(SLOTS, variables, as_=who)
    assert answer.errors == [], answer.body
    return [datetime.fromisoformat(s["startsAt"]) for s in answer.data["availableSlots"]]


async def _add_sunday_night_hours(gql: Gql, demo: DemoIds) -> None:
    hours = [
        {"weekday": day, "startTime": "09:00:00", "endTime": "17:00:00"} for day in WEEKDAYS[:5]
    ] + [{"weekday": "SUNDAY", "startTime": "00:00:00", "endTime": "05:00:00"}]
    answer = await gql(
        SET_HOURS,
        {
            "p": gid("Provider", demo.providers["nina@glow.example"]),
            "l": gid("Location", demo.locations["glow-downtown"]),
            "h": hours,
        },
        as_=GLOW_ADMIN,
    )
    assert answer.data["setWeeklyHours"]["errors"] == [], answer.body


async def test_weekday_hours_keep_their_wall_clock_across_spring_forward(
    gql: Gql, demo: DemoIds
) -> None:
    # The spring-forward Sunday in New York: the Friday before is EST, the Monday after EDT.
    sunday = next_clock_change(forward=True)
    friday_date, monday_date = sunday - timedelta(days=2), sunday + timedelta(days=1)
    start, end = local(friday_date, time(0)), local(sunday + timedelta(days=2), time(0))
    slots = await _slots(gql, _vars(demo, start, end))
    friday = [s for s in slots if s.astimezone(NEW_YORK).date() == friday_date]
    monday = [s for s in slots if s.astimezone(NEW_YORK).date() == monday_date]
    assert len(friday) == len(monday) == 31  # 09:00 .. 16:30 every 15 minutes
    assert friday[0].astimezone(NEW_YORK).isoformat() == f"{friday_date}T09:00:00-05:00"
    assert monday[0].astimezone(NEW_YORK).isoformat() == f"{monday_date}T09:00:00-04:00"
    assert friday[-1].time() == monday[-1].time() == time(16, 30)
    # In UTC the working day moved by the hour the clocks did.
    assert (monday[0] - friday[0]) == timedelta(days=3) - timedelta(hours=1)


async def test_the_spring_forward_night_is_an_hour_shorter(gql: Gql, demo: DemoIds) -> None:
    await _add_sunday_night_hours(gql, demo)
    sunday = next_clock_change(forward=True)
    start, end = local(sunday - timedelta(days=1), time(12)), local(sunday, time(12))
    slots = await _slots(gql, _vars(demo, start, end, kind="Dermal filler"))
    # 00:00-05:00 on the clock is 4 real hours: 60-minute visits start 05:00Z .. 08:00Z.
    assert len(slots) == 13
    assert all(s.hour != 2 for s in slots)  # 02:xx does not exist that night
    assert slots[0].isoformat() == f"{sunday}T00:00:00-05:00"
    assert slots[-1].isoformat() == f"{sunday}T04:00:00-04:00"


async def test_the_fall_back_night_is_an_hour_longer(gql: Gql, demo: DemoIds) -> None:
    await _add_sunday_night_hours(gql, demo)
    sunday = next_clock_change(forward=False)
    start, end = local(sunday - timedelta(days=1), time(12)), local(sunday, time(12))
    slots = await _slots(gql, _vars(demo, start, end, kind="Dermal filler"))
    assert len(slots) == 21  # 6 real hours
    one_thirty = [s.isoformat() for s in slots if s.hour == 1 and s.minute == 30]
    assert one_thirty == [f"{sunday}T01:30:00-04:00", f"{sunday}T01:30:00-05:00"]
    # And the week after keeps 09:00 local (now EST).
    monday_date = sunday + timedelta(days=1)
    monday_start = local(monday_date, time(0))
    monday = await _slots(gql, _vars(demo, monday_start, monday_start + timedelta(days=1)))
    assert monday[0].isoformat() == f"{monday_date}T09:00:00-05:00"


async def test_booking_on_the_dst_monday_uses_local_hours(gql: Gql, demo: DemoIds) -> None:
    monday = next_clock_change(forward=True) + timedelta(days=1)
    at_nine = local(monday, time(9))
    assert at_nine.isoformat() == f"{monday}T13:00:00+00:00"  # EDT: UTC-4
    eight_am_est_equivalent = local(monday, time(8))
    start = local(monday, time(0))
    slots = await _slots(gql, _vars(demo, start, start + timedelta(days=1)))
    assert at_nine in slots and eight_am_est_equivalent not in slots


async def test_appointments_and_buffers_are_subtracted(
    gql: Gql, demo: DemoIds, owner_engine: Any
) -> None:
    from tests.scheduling.helpers import BOOK, booking

    filler = await gql(
        BOOK,
        await booking(owner_engine, demo, type_name="Dermal filler", at=next_week(1, time(11))),
        as_=GLOW_ADMIN,
    )
    assert filler.data["bookAppointment"]["errors"] == []
    day = next_week(1, time(0))
    slots = {
        s.astimezone(NEW_YORK).time()
        for s in await _slots(gql, _vars(demo, day, day + timedelta(days=1)))
    }
    assert time(10, 30) in slots  # ends 11:00, as the filler starts
    assert time(10, 45) not in slots and time(11, 30) not in slots and time(12, 0) not in slots
    assert time(12, 15) in slots  # after 60 minutes and 15 minutes of buffer


async def test_block_offs_and_overrides(gql: Gql, demo: DemoIds, owner_engine: Any) -> None:
    from tests.scheduling.helpers import BOOK, booking

    nina = gid("Provider", demo.providers["nina@glow.example"])
    downtown = gid("Location", demo.locations["glow-downtown"])
    tuesday = next_week(1, time(0)).astimezone(NEW_YORK).date()
    block = await gql(
        """mutation($i: AvailabilityExceptionInput!) { addBlockOff(input: $i) {
            errors { code } exception { id kind startsAt } } }""",
        {
            "i": {
                "providerId": nina,
                "startsAt": f"{tuesday}T12:00:00",
                "endsAt": f"{tuesday}T14:00:00",
                "reason": "dentist",
            }
        },
        as_=GLOW_ADMIN,
    )
    payload = block.data["addBlockOff"]
    assert payload["errors"] == [] and payload["exception"]["kind"] == "BLOCK_OFF"
    # A wall-clock input is read in the zone: 12:00 New York.
    assert datetime.fromisoformat(payload["exception"]["startsAt"]) == local(tuesday, time(12))
    day = local(tuesday, time(0))
    slots = {
        s.astimezone(NEW_YORK).time()
        for s in await _slots(gql, _vars(demo, day, day + timedelta(days=1)))
    }
    assert time(11, 30) in slots and time(11, 45) not in slots and time(13, 45) not in slots
    assert time(14, 0) in slots
    refused = await gql(
        BOOK, await booking(owner_engine, demo, at=local(tuesday, time(12, 30))), as_=GLOW_ADMIN
    )
    assert [e["code"] for e in refused.data["bookAppointment"]["errors"]] == [
        "OUTSIDE_AVAILABILITY"
    ]

    saturday = tuesday + timedelta(days=4)
    override = await gql(
        """mutation($i: AvailabilityExceptionInput!) { addAvailabilityOverride(input: $i) {
            errors { code } exception { kind } } }""",
        {
            "i": {
                "providerId": nina,
                "locationId": downtown,
                "startsAt": f"{saturday}T10:00:00",
                "endsAt": f"{saturday}T12:00:00",
            }
        },
        as_=GLOW_ADMIN,
    )
    assert override.data["addAvailabilityOverride"]["errors"] == []
    day = local(saturday, time(0))
    slots = await _slots(gql, _vars(demo, day, day + timedelta(days=1)))
    assert [s.astimezone(NEW_YORK).time() for s in slots][:2] == [time(10), time(10, 15)]
    assert len(slots) == 7  # 10:00 .. 11:30
    booked = await gql(
        BOOK, await booking(owner_engine, demo, at=local(saturday, time(10))), as_=GLOW_ADMIN
    )
    assert booked.data["bookAppointment"]["errors"] == []


async def test_range_is_capped(gql: Gql, demo: DemoIds) -> None:
    start = next_week(0, time(0))
    answer = await gql(SLOTS, _vars(demo, start, start + timedelta(days=32)), as_=GLOW_ADMIN)
    assert answer.codes == ["BAD_USER_INPUT"]


# Who sees Nina's slots at Glow Downtown (availability.read on her).
SLOTS_EXPECT: dict[str, int | str] = {
    "ops@portrait.example": 31,
    "maria@portrait.example": "FORBIDDEN",
    "vera@portrait.example": 31,
    "dean@portrait.example": "NOT_FOUND",
    "cody@portrait.example": "NOT_FOUND",
    "sam@portrait.example": "NOT_FOUND",
    "dana@glow.example": 31,
    "nina@glow.example": 31,
    "omar@glow.example": 0,  # OWN: not his availability
    "ruth@radiance.example": "NOT_FOUND",
    "lee@radiance.example": "NOT_FOUND",
    "lena@legacy.example": "NOT_FOUND",
    "kim@legacy.example": "NOT_FOUND",
    "masquerade": 31,
    "covering": 31,  # inside Sam's window Nina is one of his providers
    "dana@glow.example:PROVIDER": 0,  # OWN on her provider dashboard, like Omar
    "api_key": "FORBIDDEN",  # partners have no availability.read
    "api_key:APPOINTMENTS_READ": "FORBIDDEN",
    "api_key:APPOINTMENTS_WRITE": "FORBIDDEN",
    "api_key:PATIENTS_READ": "FORBIDDEN",
    "api_key:CATALOG_READ": "FORBIDDEN",
    "anonymous": "NOT_FOUND",  # the public page is publicLocation
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_slots_matrix(gql: Gql, demo: DemoIds, principals: Principals, who: str) -> None:
    day = next_week(1, time(0))
    answer = await gql(
        SLOTS, _vars(demo, day, day + timedelta(days=1)), bearer=await principals.bearer(who)
    )
    expected = SLOTS_EXPECT[who]
    if isinstance(expected, str):
        assert answer.codes == [expected], answer.body
    else:
        assert answer.errors == [], answer.body
        assert len(answer.data["availableSlots"]) == expected
