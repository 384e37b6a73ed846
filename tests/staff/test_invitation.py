"""Invitations: single-use, expiring, revocable, resent with a new token, linking an existing
account, and refusals that change nothing."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql
from tests.scheduling.helpers import gid, rows, snapshot
from tests.staff.helpers import (
    ACCEPT,
    INVITATIONS,
    INVITE,
    RESEND,
    REVOKE,
    codes,
    emailed_link,
    invite,
    outbox_of,
    payload,
    token_of,
)

WATCHED = ("invitation", "invitation_token", "membership", "provider", "app_user")
DANA = "dana@glow.example"


async def _accept(gql: Gql, token: str, name: str | None = "New Person") -> list[str]:
    return codes(await gql(ACCEPT, {"t": token, "n": name}), "acceptInvitation")


async def test_expired_and_revoked_links_change_nothing(
    gql: Gql, owner_engine: AsyncEngine
) -> None:
    expired = await invite(gql, DANA, email="late@example.com", roles=["PROVIDER"])
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE invitation SET sent_at = now() - interval '8 days',"
                " expires_at = now() - interval '1 day' WHERE email = 'late@example.com'"
            )
        )
    revoked = await invite(gql, DANA, email="gone@example.com", roles=["PROVIDER"])
    answer = await gql(REVOKE, {"id": revoked["invitation"]["id"]}, as_=DANA)
    assert payload(answer, "revokeInvitation")["invitation"]["status"] == "REVOKED"
    before = await snapshot(owner_engine, *WATCHED)
    assert await _accept(gql, token_of(expired["acceptPath"])) == ["INVITATION_EXPIRED"]
    assert await _accept(gql, token_of(revoked["acceptPath"])) == ["INVITATION_REVOKED"]
    assert await _accept(gql, "not-a-token") == ["INVITATION_INVALID"]
    assert await _accept(gql, "x" * 500) == ["INVITATION_INVALID"]
    assert await snapshot(owner_engine, *WATCHED) == before
    again = await gql(REVOKE, {"id": revoked["invitation"]["id"]}, as_=DANA)
    assert codes(again, "revokeInvitation") == ["INVITATION_REVOKED"]


async def test_resend_replaces_the_token_and_queues_another_email(
    gql: Gql, owner_engine: AsyncEngine
) -> None:
    sent = await invite(gql, DANA, email="twice@example.com", roles=["PROVIDER"])
    answer = await gql(RESEND, {"id": sent["invitation"]["id"]}, as_=DANA)
    resent = payload(answer, "resendInvitation")
    assert resent["errors"] == [] and resent["invitation"]["sendCount"] == 2
    assert resent["acceptPath"] != sent["acceptPath"]
    emails = await outbox_of(owner_engine, sent["invitation"]["id"])
    assert [e["payload"]["acceptUrl"] for e in emails] == [
        emailed_link(sent["acceptPath"]),
        emailed_link(resent["acceptPath"]),
    ]
    assert await _accept(gql, token_of(sent["acceptPath"])) == ["INVITATION_INVALID"]
    assert await _accept(gql, token_of(resent["acceptPath"])) == []
    lookups = await rows(owner_engine, "SELECT count(*) AS n FROM invitation_token")
    assert lookups == [{"n": 1}]


async def test_inviting_again_replaces_the_outstanding_invitation(
    gql: Gql, owner_engine: AsyncEngine
) -> None:
    first = await invite(gql, DANA, email="again@example.com", roles=["PROVIDER"])
    second = await invite(gql, DANA, email="AGAIN@example.com", roles=["MEDSPA_ADMIN"])
    assert await _accept(gql, token_of(first["acceptPath"])) == ["INVITATION_REVOKED"]
    assert await _accept(gql, token_of(second["acceptPath"])) == []


async def test_an_existing_account_is_linked_not_duplicated(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, audit: Audit
) -> None:
    """Ruth (Radiance's admin) joins Glow as a provider: same account, a second medspa."""
    sent = await invite(gql, DANA, email="ruth@radiance.example", roles=["PROVIDER"])
    assert await _accept(gql, token_of(sent["acceptPath"]), name=None) == []
    users = await rows(
        owner_engine, "SELECT id FROM app_user WHERE lower(email) = 'ruth@radiance.example'"
    )
    assert users == [{"id": demo.users["ruth@radiance.example"]}]
    memberships = await rows(
        owner_engine,
        "SELECT medspa_id, role FROM membership WHERE user_id = :u ORDER BY role",
        u=demo.users["ruth@radiance.example"],
    )
    assert {(m["medspa_id"], m["role"]) for m in memberships} == {
        (demo.medspas["radiance"], "medspa_admin"),
        (demo.medspas["glow"], "provider"),
    }
    accepted = await audit.rows(action="invitation.accept", outcome="ALLOWED")
    assert accepted and accepted[0]["medspa_id"] == demo.medspas["glow"]


async def test_bad_invitations_change_nothing(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    before = await snapshot(owner_engine, *WATCHED, "notification_outbox")
    cases = [
        ({"email": "nina@glow.example", "roles": ["PROVIDER"]}, "ALREADY_MEMBER"),
        ({"email": "vera@portrait.example", "roles": ["PROVIDER"]}, "VALIDATION"),
        ({"email": "no-at-sign", "roles": ["PROVIDER"]}, "VALIDATION"),
        ({"email": "x@example.com", "roles": []}, "VALIDATION"),
        ({"email": "x@example.com", "roles": ["MEDSPA_ADMIN"], "credentials": "MD"}, "VALIDATION"),
        ({"email": "x@example.com", "roles": ["PROVIDER"], "fullName": "x" * 201}, "VALIDATION"),
    ]
    for fields, code in cases:
        answer = await gql(INVITE, {"i": fields}, as_=DANA)
        assert codes(answer, "inviteStaff") == [code], fields
    assert await snapshot(owner_engine, *WATCHED, "notification_outbox") == before


async def test_invitations_stay_in_their_medspa(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    glow = await invite(gql, DANA, email="glow-only@example.com", roles=["PROVIDER"])
    radiance = await invite(
        gql, "ruth@radiance.example", email="radiance-only@example.com", roles=["PROVIDER"]
    )
    seen = payload(await gql(INVITATIONS, {}, as_=DANA), "invitations")["edges"]
    assert {e["node"]["id"] for e in seen} == {glow["invitation"]["id"]}
    # Dana cannot resend or revoke Radiance's, nor aim an invitation at Radiance.
    before = await snapshot(owner_engine, *WATCHED)
    for document in (RESEND, REVOKE):
        answer = await gql(document, {"id": radiance["invitation"]["id"]}, as_=DANA)
        assert answer.codes == ["NOT_FOUND"], answer.body
    answer = await gql(
        INVITE,
        {
            "i": {
                "email": "sneaky@example.com",
                "roles": ["MEDSPA_ADMIN"],
                "medspaId": gid("Medspa", demo.medspas["radiance"]),
            }
        },
        as_=DANA,
    )
    assert answer.codes == ["NOT_FOUND"]
    assert await snapshot(owner_engine, *WATCHED) == before
    # Ops sees both, and may filter by medspa.
    everything = payload(await gql(INVITATIONS, {}, as_="ops@portrait.example"), "invitations")[
        "edges"
    ]
    assert {glow["invitation"]["id"], radiance["invitation"]["id"]} <= {
        e["node"]["id"] for e in everything
    }
    only = payload(
        await gql(
            INVITATIONS,
            {"m": gid("Medspa", demo.medspas["radiance"])},
            as_="ops@portrait.example",
        ),
        "invitations",
    )["edges"]
    assert {e["node"]["id"] for e in only} == {radiance["invitation"]["id"]}
