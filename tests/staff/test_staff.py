"""The staff lifecycle: deactivation keeps history and lists what to reassign, roles change,
a provider's identity and licence (self-clearance follows it), and every refusal changes
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals, token_for
from tests.scheduling.helpers import gid, rows, snapshot
from tests.services.helpers import PROVIDER_DASHBOARD, a_patient_of, sid
from tests.services.test_gfe import CLEAR
from tests.staff.helpers import (
    DEACTIVATE,
    IDENTITY,
    REACTIVATE,
    ROLES,
    STAFF,
    codes,
    payload,
)

WATCHED = ("membership", "provider", "weekly_hours", "availability_exception", "appointment")
VIEWER = "{ viewer { roles activeMedspa { slug } } }"


async def test_deactivated_provider_keeps_history_and_cannot_act(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    nina_user = gid("User", demo.users["nina@glow.example"])
    nina_token = token_for(demo, "nina@glow.example")
    assert (await gql(VIEWER, bearer=nina_token)).errors == []
    appointments_before = await rows(
        owner_engine,
        "SELECT count(*) AS n FROM appointment WHERE provider_id = :p",
        p=demo.providers["nina@glow.example"],
    )

    done = payload(
        await gql(DEACTIVATE, {"u": nina_user}, as_="dana@glow.example"), "deactivateStaffMember"
    )
    assert done["errors"] == []
    assert done["staffMember"] == {
        "active": False,
        "roles": [],
        "deactivatedAt": done["staffMember"]["deactivatedAt"],
    }
    upcoming = done["futureAppointments"]
    assert upcoming, "the demo books Nina for the coming weeks"
    assert all(a["status"] in ("BOOKED", "CONFIRMED", "CHECKED_IN") for a in upcoming)
    assert [a["startsAt"] for a in upcoming] == sorted(a["startsAt"] for a in upcoming)

    # History stays; future availability goes; she can no longer sign in to Glow.
    assert (
        await rows(
            owner_engine,
            "SELECT count(*) AS n FROM appointment WHERE provider_id = :p",
            p=demo.providers["nina@glow.example"],
        )
        == appointments_before
    )
    hours = await rows(
        owner_engine,
        "SELECT count(*) AS n FROM weekly_hours WHERE provider_id = :p",
        p=demo.providers["nina@glow.example"],
    )
    assert hours == [{"n": 0}]
    (provider,) = await rows(
        owner_engine,
        "SELECT active FROM provider WHERE id = :p",
        p=demo.providers["nina@glow.example"],
    )
    assert provider["active"] is False
    assert (await gql(VIEWER, bearer=nina_token)).codes == ["UNAUTHENTICATED"]
    assert await audit.rows(action="staff.manage", outcome="ALLOWED")

    # The admin still sees her (deactivated) and may bring her back.
    listed = payload(await gql(STAFF, {"all": True}, as_="dana@glow.example"), "staffMembers")[
        "edges"
    ]
    nina = next(e["node"] for e in listed if e["node"]["user"]["email"] == "nina@glow.example")
    assert nina["active"] is False and nina["deactivatedAt"]
    active_only = payload(await gql(STAFF, {}, as_="dana@glow.example"), "staffMembers")["edges"]
    assert "nina@glow.example" not in {e["node"]["user"]["email"] for e in active_only}

    back = payload(
        await gql(REACTIVATE, {"u": nina_user}, as_="dana@glow.example"), "reactivateStaffMember"
    )
    assert back["errors"] == [] and back["staffMember"] == {"active": True, "roles": ["PROVIDER"]}
    assert (await gql(VIEWER, bearer=nina_token)).errors == []


async def test_another_medspa_cannot_touch_glow_staff(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    before = await snapshot(owner_engine, *WATCHED)
    nina_user = gid("User", demo.users["nina@glow.example"])
    for who in ("ruth@radiance.example", "lena@legacy.example"):
        answer = await gql(DEACTIVATE, {"u": nina_user}, as_=who)
        assert answer.codes == ["NOT_FOUND"], answer.body
        # Naming Glow does not help: the write checks the row's own tenant.
        answer = await gql(
            DEACTIVATE, {"u": nina_user, "m": gid("Medspa", demo.medspas["glow"])}, as_=who
        )
        assert answer.codes == ["NOT_FOUND"], answer.body
        listed = await gql(STAFF, {"m": gid("Medspa", demo.medspas["glow"])}, as_=who)
        assert payload(listed, "staffMembers")["edges"] == []
    assert await snapshot(owner_engine, *WATCHED) == before


async def test_refusals_change_nothing(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    before = await snapshot(owner_engine, *WATCHED)
    dana = gid("User", demo.users["dana@glow.example"])
    ruth = gid("User", demo.users["ruth@radiance.example"])
    # Nobody deactivates themselves; a medspa keeps one active admin.
    assert codes(
        await gql(DEACTIVATE, {"u": dana}, as_="dana@glow.example"), "deactivateStaffMember"
    ) == ["VALIDATION"]
    radiance = gid("Medspa", demo.medspas["radiance"])
    answer = await gql(DEACTIVATE, {"u": ruth, "m": radiance}, as_="ops@portrait.example")
    assert codes(answer, "deactivateStaffMember") == ["LAST_ADMIN"]
    answer = await gql(
        ROLES, {"u": ruth, "m": radiance, "r": ["PROVIDER"]}, as_="ops@portrait.example"
    )
    assert codes(answer, "setStaffRoles") == ["LAST_ADMIN"]
    answer = await gql(ROLES, {"u": dana, "r": []}, as_="dana@glow.example")
    assert codes(answer, "setStaffRoles") == ["VALIDATION"]
    assert await snapshot(owner_engine, *WATCHED) == before


async def test_roles_change_both_ways(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> None:
    omar = gid("User", demo.users["omar@glow.example"])
    both = payload(
        await gql(ROLES, {"u": omar, "r": ["MEDSPA_ADMIN", "PROVIDER"]}, as_="dana@glow.example"),
        "setStaffRoles",
    )
    assert both["errors"] == [] and both["staffMember"]["roles"] == ["MEDSPA_ADMIN", "PROVIDER"]
    omar_admin = token_for(demo, "omar@glow.example", dashboard=None)
    seen = await gql(VIEWER, bearer=omar_admin)
    assert "medspa_admin" in str(seen.body), seen.body
    admin_only = payload(
        await gql(ROLES, {"u": omar, "r": ["MEDSPA_ADMIN"]}, as_="dana@glow.example"),
        "setStaffRoles",
    )
    assert admin_only["staffMember"]["roles"] == ["MEDSPA_ADMIN"]
    assert admin_only["staffMember"]["profile"]["provider"]["active"] is False
    # The provider membership is kept, deactivated (history).
    kept = await rows(
        owner_engine,
        "SELECT role, deactivated_at IS NOT NULL AS off FROM membership WHERE user_id = :u"
        " ORDER BY role",
        u=demo.users["omar@glow.example"],
    )
    assert kept == [{"role": "medspa_admin", "off": False}, {"role": "provider", "off": True}]


async def test_provider_edits_only_their_own_identity_and_the_licence_decides(
    gql: Gql, demo: DemoIds, principals: Principals, owner_engine: AsyncEngine, audit: Audit
) -> None:
    nina = gid("Provider", demo.providers["nina@glow.example"])
    omar = gid("Provider", demo.providers["omar@glow.example"])
    expires = (date.today() + timedelta(days=365)).isoformat()
    licence = {
        "credentials": "NP",
        "licenseState": "ny",
        "licenseNumber": "NP-1",
        "licenseExpiresOn": expires,
    }
    mine = payload(
        await gql(IDENTITY, {"p": nina, "i": licence}, as_="nina@glow.example"),
        "updateProviderIdentity",
    )
    assert mine["errors"] == []
    assert mine["profile"]["licensedToSelfClear"] is True
    assert mine["profile"]["license"] == {"state": "NY", "number": "NP-1", "expiresOn": expires}
    # RN credentials do not self-clear, whatever the licence.
    rn = payload(
        await gql(IDENTITY, {"p": nina, "i": {"credentials": "RN"}}, as_="dana@glow.example"),
        "updateProviderIdentity",
    )
    assert rn["profile"]["licensedToSelfClear"] is False

    before = await snapshot(owner_engine, "provider")
    # Another provider's profile: visible (provider.read TENANT) but not theirs.
    assert (
        await gql(IDENTITY, {"p": omar, "i": {"displayName": "X"}}, as_="nina@glow.example")
    ).codes == ["FORBIDDEN"]
    # Another tenant: absent.
    assert (
        await gql(IDENTITY, {"p": nina, "i": {"displayName": "X"}}, as_="ruth@radiance.example")
    ).codes == ["NOT_FOUND"]
    # Masquerading: never.
    answer = await gql(
        IDENTITY, {"p": nina, "i": {"displayName": "X"}}, bearer=await principals.masquerade()
    )
    assert answer.codes == ["MASQUERADE_FORBIDDEN"]
    # An expired licence is refused; bad input changes nothing.
    past = (date.today() - timedelta(days=2)).isoformat()
    for bad in ({"licenseExpiresOn": past}, {"licenseState": "New York"}, {"displayName": " "}):
        answer = await gql(IDENTITY, {"p": nina, "i": bad}, as_="dana@glow.example")
        assert codes(answer, "updateProviderIdentity") == ["VALIDATION"], bad
    assert await snapshot(owner_engine, "provider") == before
    assert await audit.rows(action="provider.update_identity", outcome="ALLOWED")


async def _dana_clears_botox(gql: Gql, demo: DemoIds, owner_engine: AsyncEngine) -> Any:
    """Dana, a licensed provider of Glow, self-clears one of her patients for Botox."""
    patient = await a_patient_of(owner_engine, demo, "dana@glow.example")
    return await gql(
        CLEAR,
        {
            "p": gid("Patient", patient),
            "s": [sid(demo, "glow", "Botox Cosmetic")],
            "d": ["Dynamic glabellar rhytides"],
        },
        as_="dana@glow.example",
        headers=PROVIDER_DASHBOARD,
    )


async def test_an_expired_licence_stops_self_clearance(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            # Yesterday where the medspa is (the licence's dates are the medspa's local days).
            text(
                "UPDATE provider p SET license_expires_on = (now() AT TIME ZONE m.time_zone)::date"
                " - 1 FROM medspa m WHERE m.id = p.medspa_id AND p.id = :p"
            ),
            {"p": demo.providers["dana@glow.example"]},
        )
    answer = await _dana_clears_botox(gql, demo, owner_engine)
    assert answer.codes == ["FORBIDDEN"], answer.body


async def test_a_licence_runs_through_its_last_day_where_the_medspa_is(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    """The expiry date is the medspa's local date: in a zone whose date differs from UTC's
    right now, the licence's last day is judged by the local calendar (either way round)."""
    now = datetime.now(UTC)
    if now.hour < 11:  # UTC-12 is still on yesterday's date: the licence ends today there
        zone, expires, lapsed = "Etc/GMT+12", (now - timedelta(hours=12)).date(), False
    else:  # UTC+14 is on tomorrow's date: a licence that ended on UTC's today has lapsed
        zone, expires, lapsed = "Pacific/Kiritimati", now.date(), True
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE medspa SET time_zone = :z WHERE id = :m"),
            {"z": zone, "m": demo.medspas["glow"]},
        )
        await conn.execute(
            text("UPDATE provider SET license_expires_on = :e WHERE id = :p"),
            {"e": expires, "p": demo.providers["dana@glow.example"]},
        )
    answer = await _dana_clears_botox(gql, demo, owner_engine)
    if lapsed:
        assert answer.codes == ["FORBIDDEN"], answer.body
    else:
        assert answer.errors == [], answer.body
        assert payload(answer, "clearPatient")["errors"] == [], answer.body


async def test_reactivation_restores_the_roles_taken_with_the_person(
    gql: Gql, demo: DemoIds
) -> None:
    omar = gid("User", demo.users["omar@glow.example"])
    for roles in (["MEDSPA_ADMIN", "PROVIDER"], ["MEDSPA_ADMIN"]):
        answer = await gql(ROLES, {"u": omar, "r": roles}, as_="dana@glow.example")
        assert payload(answer, "setStaffRoles")["errors"] == []
    done = await gql(DEACTIVATE, {"u": omar}, as_="dana@glow.example")
    # No longer a provider, but the appointments booked with them are still to reassign.
    assert payload(done, "deactivateStaffMember")["futureAppointments"]
    back = payload(
        await gql(REACTIVATE, {"u": omar}, as_="dana@glow.example"), "reactivateStaffMember"
    )
    assert back["staffMember"] == {"active": True, "roles": ["MEDSPA_ADMIN"]}
