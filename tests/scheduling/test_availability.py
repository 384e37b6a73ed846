"""Availability settings (weekly hours, block-offs, overrides) and scheduling settings."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.scheduling.helpers import (
    ADMIN_ONLY_ON_GLOW,
    GLOW_ADMIN,
    NEW_YORK,
    OK,
    assert_matrix_answer,
    gid,
    next_week,
    snapshot,
)

SET_HOURS = """mutation($p: ID!, $l: ID!, $h: [WeeklyHoursInput!]!) {
    setWeeklyHours(providerId: $p, locationId: $l, hours: $h) {
    errors { code field } hours { weekday startTime endTime location { name } } } }"""
BLOCK_OFF = """mutation($i: AvailabilityExceptionInput!) { addBlockOff(input: $i) {
    errors { code field } exception { id kind reason location { name } } } }"""
REMOVE = """mutation($id: ID!) { removeAvailabilityException(id: $id) { errors { code } } }"""
SETTINGS = """mutation($i: SchedulingSettingsInput!) { updateSchedulingSettings(input: $i) {
    errors { code field } settings { sendConfirmation reminderLeadHours depositsEnabled } } }"""
HOURS = [{"weekday": "TUESDAY", "startTime": "10:00:00", "endTime": "14:00:00"}]


def _hours_vars(demo: DemoIds, provider: str = "nina@glow.example") -> dict[str, object]:
    return {
        "p": gid("Provider", demo.providers[provider]),
        "l": gid("Location", demo.locations["glow-downtown"]),
        "h": HOURS,
    }


def _block_vars(demo: DemoIds, provider: str = "nina@glow.example") -> dict[str, object]:
    day = next_week(1, time(0)).astimezone(NEW_YORK).date()
    return {
        "i": {
            "providerId": gid("Provider", demo.providers[provider]),
            "startsAt": f"{day}T09:00:00",
            "endsAt": f"{day}T12:00:00",
            "reason": "CE",
        }
    }


async def test_weekly_hours_replace_and_are_read_back(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(SET_HOURS, _hours_vars(demo), as_=GLOW_ADMIN)
    assert answer.data["setWeeklyHours"]["hours"] == [
        {
            "weekday": "TUESDAY",
            "startTime": "10:00:00",
            "endTime": "14:00:00",
            "location": {"name": "Downtown"},
        }
    ]
    read = await gql(
        "query($p: ID!) { node(id: $p) { ... on Provider { weeklyHours { weekday } } } }",
        {"p": gid("Provider", demo.providers["nina@glow.example"])},
        as_="nina@glow.example",
    )
    assert read.data["node"]["weeklyHours"] == [{"weekday": "TUESDAY"}]
    other = await gql(
        "query($p: ID!) { node(id: $p) { ... on Provider { weeklyHours { weekday } } } }",
        {"p": gid("Provider", demo.providers["nina@glow.example"])},
        as_="omar@glow.example",
    )
    assert other.data["node"]["weeklyHours"] == []  # availability.read is OWN for providers


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        (
            [{"weekday": "MONDAY", "startTime": "12:00:00", "endTime": "09:00:00"}],
            "hours.0.endTime",
        ),
        (
            [
                {"weekday": "MONDAY", "startTime": "09:00:00", "endTime": "12:00:00"},
                {"weekday": "MONDAY", "startTime": "11:00:00", "endTime": "13:00:00"},
            ],
            "hours",
        ),
    ],
)
async def test_weekly_hours_validation(
    gql: Gql, demo: DemoIds, hours: list[object], field: str
) -> None:
    answer = await gql(SET_HOURS, {**_hours_vars(demo), "h": hours}, as_=GLOW_ADMIN)
    assert [e["field"] for e in answer.data["setWeeklyHours"]["errors"]] == [field]


async def test_hours_need_the_provider_at_the_location(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(
        SET_HOURS,
        {**_hours_vars(demo), "l": gid("Location", demo.locations["glow-brooklyn"])},
        as_=GLOW_ADMIN,
    )
    assert [e["code"] for e in answer.data["setWeeklyHours"]["errors"]] == [
        "PROVIDER_NOT_AT_LOCATION"
    ]


async def test_block_off_lifecycle(gql: Gql, demo: DemoIds) -> None:
    added = await gql(BLOCK_OFF, _block_vars(demo), as_=GLOW_ADMIN)
    exception = added.data["addBlockOff"]["exception"]
    assert exception["kind"] == "BLOCK_OFF" and exception["location"] is None
    start = next_week(0, time(0))
    listed = await gql(
        """query($p: ID!, $f: DateTime!, $t: DateTime!) { node(id: $p) { ... on Provider {
            availabilityExceptions(from: $f, to: $t) { id reason } } } }""",
        {
            "p": gid("Provider", demo.providers["nina@glow.example"]),
            "f": start.isoformat(),
            "t": (start + timedelta(days=7)).isoformat(),
        },
        as_="nina@glow.example",
    )
    assert listed.data["node"]["availabilityExceptions"] == [
        {"id": exception["id"], "reason": "CE"}
    ]
    removed = await gql(REMOVE, {"id": exception["id"]}, as_=GLOW_ADMIN)
    assert removed.data["removeAvailabilityException"]["errors"] == []


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_set_weekly_hours_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "weekly_hours")
    answer = await gql(SET_HOURS, _hours_vars(demo), bearer=bearer)
    await assert_matrix_answer(
        answer=answer,
        expected=ADMIN_ONLY_ON_GLOW[who],
        field="setWeeklyHours",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_block_off_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "availability_exception")
    answer = await gql(BLOCK_OFF, _block_vars(demo), bearer=bearer)
    expected = {**ADMIN_ONLY_ON_GLOW, "dean@portrait.example": "NOT_FOUND"}[who]
    await assert_matrix_answer(
        answer=answer,
        expected=expected,
        field="addBlockOff",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


async def test_designated_pcc_blocks_off_but_does_not_set_hours(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    lee = "lee@radiance.example"
    block = _block_vars(demo, lee)
    answer = await gql(BLOCK_OFF, block, as_="dean@portrait.example")
    assert answer.data["addBlockOff"]["errors"] == [], answer.body
    hours = {
        **_hours_vars(demo, lee),
        "l": gid("Location", demo.locations["radiance-santa-monica"]),
    }
    before = await snapshot(owner_engine, "weekly_hours")
    refused = await gql(SET_HOURS, hours, as_="dean@portrait.example")
    await assert_matrix_answer(
        answer=refused,
        expected="FORBIDDEN",
        field="setWeeklyHours",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


async def test_settings_drive_the_outbox(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    from tests.scheduling.helpers import BOOK, booking, scalar

    changed = await gql(
        SETTINGS, {"i": {"sendConfirmation": False, "reminderLeadHours": [48]}}, as_=GLOW_ADMIN
    )
    assert changed.data["updateSchedulingSettings"]["settings"] == {
        "sendConfirmation": False,
        "reminderLeadHours": [48],
        "depositsEnabled": False,
    }
    booked = await gql(
        BOOK, await booking(owner_engine, demo, at=next_week(3, time(11))), as_=GLOW_ADMIN
    )
    assert booked.data["bookAppointment"]["errors"] == []
    kinds = await scalar(
        owner_engine,
        "SELECT string_agg(kind::text || ':' || coalesce(payload->>'leadHours', '-'), ',')"
        " FROM notification_outbox WHERE appointment_id = (SELECT id FROM appointment"
        " WHERE starts_at = :s)",
        s=next_week(3, time(11)),
    )
    assert kinds == "APPOINTMENT_REMINDER:48"
    invalid = await gql(SETTINGS, {"i": {"reminderLeadHours": [1, 2, 3, 4]}}, as_=GLOW_ADMIN)
    assert [e["field"] for e in invalid.data["updateSchedulingSettings"]["errors"]] == [
        "reminderLeadHours"
    ]


SETTINGS_EXPECT = {
    **ADMIN_ONLY_ON_GLOW,
    "ruth@radiance.example": OK,
    "lena@legacy.example": "FEATURE_UNAVAILABLE",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_scheduling_settings_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "scheduling_settings")
    answer = await gql(SETTINGS, {"i": {"sendConfirmation": False}}, bearer=bearer)
    await assert_matrix_answer(
        answer=answer,
        expected=SETTINGS_EXPECT[who],
        field="updateSchedulingSettings",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


OVERRIDE = """mutation($i: AvailabilityExceptionInput!) { addAvailabilityOverride(input: $i) {
    errors { code field } exception { id kind location { name } } } }"""


def _override_vars(
    demo: DemoIds, provider: str = "nina@glow.example", location: str = "glow-downtown"
) -> dict[str, object]:
    saturday = next_week(5, time(0)).astimezone(NEW_YORK).date()
    return {
        "i": {
            "providerId": gid("Provider", demo.providers[provider]),
            "locationId": gid("Location", demo.locations[location]),
            "startsAt": f"{saturday}T10:00:00",
            "endsAt": f"{saturday}T12:00:00",
        }
    }


async def test_designated_pcc_may_not_add_an_override(
    gql: Gql, demo: DemoIds, audit: Audit, owner_engine: AsyncEngine
) -> None:
    """DESIGN §5: a designated PCC manages availability for block-offs only; adding working
    time (an override) for a provider he reaches is refused, and nothing is written."""
    before = await snapshot(owner_engine, "availability_exception")
    refused = await gql(
        OVERRIDE,
        _override_vars(demo, "lee@radiance.example", "radiance-santa-monica"),
        as_="dean@portrait.example",
    )
    await assert_matrix_answer(
        answer=refused,
        expected="FORBIDDEN",
        field="addAvailabilityOverride",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    allowed = await gql(
        OVERRIDE,
        _override_vars(demo, "lee@radiance.example", "radiance-santa-monica"),
        as_="ruth@radiance.example",
    )
    assert allowed.data["addAvailabilityOverride"]["errors"] == [], allowed.body
    assert allowed.data["addAvailabilityOverride"]["exception"]["kind"] == "OVERRIDE"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_add_override_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "availability_exception")
    answer = await gql(OVERRIDE, _override_vars(demo), bearer=bearer)
    payload = await assert_matrix_answer(
        answer=answer,
        expected=ADMIN_ONLY_ON_GLOW[who],  # no block-off exception: only the admin
        field="addAvailabilityOverride",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["exception"]["kind"] == "OVERRIDE"
        assert payload["exception"]["location"] == {"name": "Downtown"}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_remove_exception_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    added = await gql(BLOCK_OFF, _block_vars(demo), as_=GLOW_ADMIN)
    exception = added.data["addBlockOff"]["exception"]["id"]
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "availability_exception")
    answer = await gql(REMOVE, {"id": exception}, bearer=bearer)
    # As for adding a block-off: Dean may remove block-offs, of Radiance's providers only.
    expected = {**ADMIN_ONLY_ON_GLOW, "dean@portrait.example": "NOT_FOUND"}[who]
    await assert_matrix_answer(
        answer=answer,
        expected=expected,
        field="removeAvailabilityException",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    left = await snapshot(owner_engine, "availability_exception")
    assert (left == before) is (expected != OK)
