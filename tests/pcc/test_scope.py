"""VIRTUAL versus DESIGNATED PCCs, action by action, and access that follows coverage in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Gql
from tests.pcc.helpers import CALENDAR, absence, week

CAN = "query($a: Action!) { viewer { can(action: $a) { allowed scope } } }"


def _providers(answer: object) -> set[str]:
    return {a["provider"]["displayName"] for a in answer.data["calendar"]}  # type: ignore[attr-defined]


async def test_vera_works_only_glow_calendars(gql: Gql) -> None:
    answer = await gql(CALENDAR, week(), as_="vera@portrait.example")
    assert answer.errors == []
    assert _providers(answer) == {"Dana Whitfield", "Nina Patel", "Omar Haddad"}


async def test_dean_works_all_of_radiance(gql: Gql) -> None:
    answer = await gql(CALENDAR, week(), as_="dean@portrait.example")
    assert _providers(answer) == {"Lee Chen", "Maya Brooks"}


async def test_sam_unassigned_sees_nothing(gql: Gql) -> None:
    answer = await gql(CALENDAR, week(), as_="sam@portrait.example")
    assert answer.data["calendar"] == []


@pytest.mark.parametrize(
    ("action", "virtual", "designated"),
    [
        ("APPOINTMENT_READ", "ASSIGNED", "ASSIGNED"),
        ("APPOINTMENT_BOOK", "ASSIGNED", "ASSIGNED"),
        ("APPOINTMENT_RESCHEDULE", "ASSIGNED", "ASSIGNED"),
        ("APPOINTMENT_CANCEL", "ASSIGNED", "ASSIGNED"),
        ("PATIENT_UPDATE_CONTACT", "ASSIGNED", "ASSIGNED"),
        ("PATIENT_SEND_REGISTRATION_LINK", "ASSIGNED", "ASSIGNED"),
        ("APPOINTMENT_CHECK_IN", None, "ASSIGNED"),
        ("APPOINTMENT_NO_SHOW", None, "ASSIGNED"),
        ("APPOINTMENT_COMPLETE", None, "ASSIGNED"),
        ("AVAILABILITY_BLOCK_OFF", None, "ASSIGNED"),
        ("INVENTORY_ORDER_CREATE", None, "ASSIGNED"),
        ("INVENTORY_ORDER_READ", None, "ASSIGNED"),
        ("AVAILABILITY_MANAGE", None, None),
        ("LOCATION_MANAGE", None, None),
        ("SERVICE_MANAGE", None, None),
        ("CHART_READ", None, None),
        ("GFE_SELF_CLEAR", None, None),
        ("EARNINGS_READ", None, None),
    ],
)
async def test_virtual_versus_designated(
    gql: Gql, action: str, virtual: str | None, designated: str | None
) -> None:
    for who, expected in (
        ("vera@portrait.example", virtual),
        ("dean@portrait.example", designated),
    ):
        decision = (await gql(CAN, {"a": action}, as_=who)).data["viewer"]["can"]
        assert decision["allowed"] is (expected is not None), (who, action)
        assert decision["scope"] == expected


async def test_designated_checks_in_virtual_cannot(gql: Gql) -> None:
    dean_calendar = (await gql(CALENDAR, week(), as_="dean@portrait.example")).data["calendar"]
    booked = next(a for a in dean_calendar if a["status"] in ("BOOKED", "CONFIRMED"))
    mutation = """mutation($id: ID!, $s: AppointmentStatus!) { setAppointmentStatus(id: $id,
        status: $s) { appointment { status } errors { code } } }"""
    if booked["status"] == "BOOKED":
        confirmed = await gql(
            mutation, {"id": booked["id"], "s": "CONFIRMED"}, as_="dean@portrait.example"
        )
        assert confirmed.data["setAppointmentStatus"]["errors"] == [], confirmed.body
    answer = await gql(
        mutation, {"id": booked["id"], "s": "CHECKED_IN"}, as_="dean@portrait.example"
    )
    assert answer.data["setAppointmentStatus"] == {
        "appointment": {"status": "CHECKED_IN"},
        "errors": [],
    }

    vera_calendar = (await gql(CALENDAR, week(), as_="vera@portrait.example")).data["calendar"]
    glow = next(a for a in vera_calendar if a["status"] in ("BOOKED", "CONFIRMED"))
    denied = await gql(mutation, {"id": glow["id"], "s": "CHECKED_IN"}, as_="vera@portrait.example")
    assert denied.codes == ["FORBIDDEN"]


async def test_covering_pcc_gets_access_only_inside_the_window(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    # Three covered absences: one over ten minutes ago, one opening in ten minutes (both
    # Vera's), one of Cody's open now. Minutes, not seconds: a slow run must not cross them.
    await absence(
        owner_session,
        demo,
        starts=now - timedelta(days=1),
        ends=now - timedelta(minutes=10),
        covering="sam@portrait.example",
    )
    before = await gql(CALENDAR, week(), as_="sam@portrait.example")
    assert before.data["calendar"] == []

    await absence(
        owner_session,
        demo,
        starts=now + timedelta(minutes=10),
        ends=now + timedelta(days=1),
        covering="sam@portrait.example",
    )
    not_yet = await gql(CALENDAR, week(), as_="sam@portrait.example")
    assert not_yet.data["calendar"] == []

    await absence(
        owner_session,
        demo,
        pcc="cody@portrait.example",
        starts=now - timedelta(hours=1),
        ends=now + timedelta(hours=1),
        covering="sam@portrait.example",
    )
    inside = await gql(CALENDAR, week(), as_="sam@portrait.example")
    assert _providers(inside) == {"Lena Novak", "Kim Park"}
    viewer = await gql("{ viewer { covering { providerId until } } }", as_="sam@portrait.example")
    covered = {c["providerId"] for c in viewer.data["viewer"]["covering"]}
    assert covered == {
        encode_global_id("Provider", demo.providers["lena@legacy.example"]),
        encode_global_id("Provider", demo.providers["kim@legacy.example"]),
    }
    # The absent PCC keeps their normal access.
    cody = await gql(CALENDAR, week(), as_="cody@portrait.example")
    assert _providers(cody) == {"Lena Novak", "Kim Park"}


async def test_provider_covering_own_lines_is_out_of_coverage(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    ooo = await absence(
        owner_session,
        demo,
        pcc="cody@portrait.example",
        starts=now - timedelta(hours=1),
        ends=now + timedelta(hours=1),
        covering="sam@portrait.example",
    )
    answer = await gql(
        """mutation($o: ID!, $p: ID!) { coverOwnLines(oooId: $o, providerId: $p) {
            outOfOffice { affectedProviders { coversOwnLines provider { displayName } } }
            errors { code } } }""",
        {
            "o": encode_global_id("OutOfOffice", ooo["id"]),
            "p": encode_global_id("Provider", demo.providers["kim@legacy.example"]),
        },
        as_="kim@legacy.example",
    )
    assert answer.errors == [], answer.body
    assert answer.data["coverOwnLines"]["outOfOffice"]["affectedProviders"] == [
        {"coversOwnLines": True, "provider": {"displayName": "Kim Park"}}
    ]  # Kim sees only her own row
    inside = await gql(CALENDAR, week(), as_="sam@portrait.example")
    assert _providers(inside) == {"Lena Novak"}


async def test_covering_access_shows_in_the_audit_trail(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, audit: object
) -> None:
    now = datetime.now(UTC)
    await absence(
        owner_session,
        demo,
        pcc="cody@portrait.example",
        starts=now - timedelta(hours=1),
        ends=now + timedelta(hours=1),
        covering="sam@portrait.example",
    )
    denied = await gql("{ auditEvents { edges { cursor } } }", as_="sam@portrait.example")
    [row] = await audit.rows(request_id=denied.errors[0]["extensions"]["requestId"])  # type: ignore[attr-defined]
    covered = {c["providerId"] for c in row["detail"]["coverage"]}
    assert covered == {
        str(demo.providers["lena@legacy.example"]),
        str(demo.providers["kim@legacy.example"]),
    }


async def test_can_report_for_this_pcc(gql: Gql, demo: DemoIds) -> None:
    query = """query($id: ID!) { viewer { can(action: OOO_REPORT, resourceId: $id) {
        allowed } } }"""
    vera = encode_global_id("Pcc", demo.pccs["vera@portrait.example"])
    cody = encode_global_id("Pcc", demo.pccs["cody@portrait.example"])
    can = (await gql(query, {"id": vera}, as_="vera@portrait.example")).data["viewer"]["can"]
    cannot = (await gql(query, {"id": cody}, as_="vera@portrait.example")).data["viewer"]["can"]
    manager = (await gql(query, {"id": cody}, as_="maria@portrait.example")).data["viewer"]["can"]
    assert (can["allowed"], cannot["allowed"], manager["allowed"]) == (True, False, True)
