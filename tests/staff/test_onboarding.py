"""Issue 19's path: ops creates a medspa with its first admin invited; the admin accepts,
works through the checklist, invites a provider who accepts; nothing of it is visible to
another medspa."""

from __future__ import annotations

import hashlib

from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.scheduling.helpers import gid, rows, snapshot
from tests.staff.helpers import (
    ACCEPT,
    ADDRESS,
    CHECKLIST,
    CREATE,
    DIRECTOR,
    INVITATIONS,
    SHIPPING,
    STAFF,
    bearer_for,
    codes,
    emailed_link,
    invite,
    outbox_of,
    payload,
    token_of,
)

NEW_MEDSPA = {
    "name": "Bloom Clinic",
    "slug": "bloom",
    "businessModel": "LAUNCH",
    "timeZone": "America/Chicago",
    "gfeRouting": "DO_NOT_ROUTE",
    "pccService": True,
    "firstAdmin": {"email": "Alex@Bloom.example", "fullName": "Alex Reed"},
}


async def _steps(gql: Gql, bearer: str, medspa: str | None = None) -> dict[str, bool]:
    answer = await gql(CHECKLIST, {"m": medspa}, bearer=bearer)
    found = payload(answer, "onboardingChecklist")
    assert len(found["steps"]) == 8
    return {s["step"]: s["done"] for s in found["steps"]}


async def test_ops_creates_a_medspa_whose_admin_and_provider_join(
    gql: Gql, owner_engine: AsyncEngine, audit: Audit
) -> None:
    created = payload(
        await gql(CREATE, {"i": NEW_MEDSPA}, as_="ops@portrait.example"), "createMedspa"
    )
    assert created["errors"] == []
    assert created["invitation"]["email"] == "alex@bloom.example"
    assert created["invitation"]["roles"] == ["MEDSPA_ADMIN"]
    assert created["invitation"]["status"] == "PENDING"
    medspa_id = created["medspa"]["id"]
    token = token_of(created["acceptPath"])

    # The email is queued with the link; the table keeps only the token's hash.
    (email,) = await outbox_of(owner_engine, created["invitation"]["id"])
    assert email["kind"] == "STAFF_INVITATION" and email["sent_at"] is None
    assert email["payload"]["to"] == "alex@bloom.example"
    assert email["payload"]["acceptUrl"] == emailed_link(created["acceptPath"])
    (stored,) = await rows(owner_engine, "SELECT token_hash FROM invitation")
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    dump = await rows(owner_engine, "SELECT t::text AS t FROM invitation t")
    assert all(token not in r["t"] for r in dump)

    # Ops sees the checklist: nothing done yet.
    ops = await _steps(gql, bearer_for_ops(gql), medspa_id)
    assert not any(ops.values())

    # The admin accepts anonymously, with the token; their account is created.
    accepted = payload(await gql(ACCEPT, {"t": token}), "acceptInvitation")
    assert accepted["errors"] == [], accepted
    assert accepted["roles"] == ["MEDSPA_ADMIN"] and accepted["medspaName"] == "Bloom Clinic"
    assert accepted["user"]["fullName"] == "Alex Reed"
    again = await gql(ACCEPT, {"t": token, "n": "Alex Reed"})
    assert codes(again, "acceptInvitation") == ["INVITATION_USED"]
    alex = bearer_for(await _user_id(owner_engine, "alex@bloom.example"))

    steps = await _steps(gql, alex)
    assert steps["ADMIN_JOINED"] and not steps["SHIPPING_ADDRESS"]

    # Step 1: the shipping address, checked key by key.
    bad = await gql(SHIPPING, {"a": {**ADDRESS, "country": "USA"}}, bearer=alex)
    assert codes(bad, "setShippingAddress") == ["VALIDATION"]
    good = payload(await gql(SHIPPING, {"a": ADDRESS}, bearer=alex), "setShippingAddress")
    assert good["shippingAddress"]["country"] == "US" and good["shippingAddress"]["line2"] is None
    assert (await _steps(gql, alex))["SHIPPING_ADDRESS"]

    # The admin invites a provider (a physician), who accepts and becomes medical director.
    sent = await invite(
        gql, None, bearer=alex, email="pat@bloom.example", roles=["PROVIDER"], credentials="md"
    )
    assert sent["invitation"]["medspa"]["slug"] == "bloom"
    done = payload(
        await gql(ACCEPT, {"t": token_of(sent["acceptPath"]), "n": "Pat Kim"}), "acceptInvitation"
    )
    assert done["errors"] == [] and done["roles"] == ["PROVIDER"]
    staff = payload(await gql(STAFF, {}, bearer=alex), "staffMembers")["edges"]
    by_email = {e["node"]["user"]["email"]: e["node"] for e in staff}
    assert set(by_email) == {"alex@bloom.example", "pat@bloom.example"}
    pat = by_email["pat@bloom.example"]["profile"]
    assert pat["credentials"] == "MD" and pat["displayName"] == "Pat Kim"
    director = await gql(DIRECTOR, {"p": pat["provider"]["id"]}, bearer=alex)
    assert payload(director, "setMedicalDirector")["profile"]["isMedicalDirector"] is True
    steps = await _steps(gql, alex)
    assert steps["PROVIDER_JOINED"] and steps["MEDICAL_DIRECTOR"]
    assert not steps["LOCATION"] and not steps["PROVIDER_SCHEDULED"]

    # The provider signs in with a token for their account and sees only themselves.
    pat_bearer = bearer_for(await _user_id(owner_engine, "pat@bloom.example"))
    own = payload(await gql(STAFF, {}, bearer=pat_bearer), "staffMembers")["edges"]
    assert [e["node"]["user"]["email"] for e in own] == ["pat@bloom.example"]
    assert (await gql(CHECKLIST, {}, bearer=pat_bearer)).codes == ["FORBIDDEN"]

    # Another medspa's admin sees none of it.
    outsider = await gql(INVITATIONS, {}, as_="dana@glow.example")
    assert all(
        e["node"]["medspa"]["slug"] == "glow" for e in payload(outsider, "invitations")["edges"]
    )
    assert (await gql(CHECKLIST, {"m": medspa_id}, as_="dana@glow.example")).data == {
        "onboardingChecklist": None
    }
    assert await audit.rows(action="invitation.accept", outcome="ALLOWED")


def bearer_for_ops(gql: Gql) -> str:
    return bearer_for(gql.demo.users["ops@portrait.example"])


async def _user_id(engine: AsyncEngine, email: str) -> str:
    (row,) = await rows(engine, "SELECT id FROM app_user WHERE email = :e", e=email)
    return str(row["id"])


async def test_the_demo_medspa_has_done_its_scheduling_steps(gql: Gql, demo: DemoIds) -> None:
    steps = await _steps(gql, bearer_for(demo.users["dana@glow.example"]))
    for step in ("ADMIN_JOINED", "LOCATION", "APPOINTMENT_TYPES", "SERVICES", "PROVIDER_JOINED"):
        assert steps[step], step
    assert steps["PROVIDER_SCHEDULED"]


async def test_a_bad_first_admin_creates_no_medspa(gql: Gql, owner_engine: AsyncEngine) -> None:
    before = await snapshot(owner_engine, "medspa", "invitation", "notification_outbox")
    answer = await gql(
        CREATE,
        {"i": {**NEW_MEDSPA, "firstAdmin": {"email": "not-an-email"}}},
        as_="ops@portrait.example",
    )
    assert codes(answer, "createMedspa") == ["VALIDATION"]
    assert await snapshot(owner_engine, "medspa", "invitation", "notification_outbox") == before


async def test_medical_director_is_a_physician(gql: Gql, demo: DemoIds) -> None:
    nina = gid("Provider", demo.providers["nina@glow.example"])
    answer = await gql(DIRECTOR, {"p": nina}, as_="dana@glow.example")
    assert codes(answer, "setMedicalDirector") == ["VALIDATION"]
