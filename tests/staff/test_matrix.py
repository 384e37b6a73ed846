"""Role x tenant matrix of people and onboarding (issue 19), written from the policy:

- staff.read: platform admins ANY, admins TENANT, a provider OWN (themselves);
- staff.manage, invitation.manage: platform admins ANY, admins TENANT;
- onboarding.read: platform admins ANY, admins TENANT;
- invitation.accept: everyone (the token is the credential);
- provider.update_identity: admins TENANT, a provider OWN, never while masquerading;
- medspa.update_settings (shipping address, medical director): admins TENANT.

Every caller aims at Glow (the matrix's own tenant); Radiance's and Legacy's people are the
other tenant. A refusal is audited and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.matrix import OK, expect
from tests.scheduling.helpers import gid, rows, snapshot
from tests.staff.helpers import (
    ACCEPT,
    ADDRESS,
    CHECKLIST,
    DEACTIVATE,
    DIRECTOR,
    IDENTITY,
    INVITATIONS,
    INVITE,
    REACTIVATE,
    RESEND,
    REVOKE,
    ROLES,
    SHIPPING,
    STAFF,
    invite,
    token_of,
)

WATCHED = (
    "invitation",
    "invitation_token",
    "membership",
    "provider",
    "medspa",
    "notification_outbox",
    "weekly_hours",
)
GLOW_ADMINS = ("dana@glow.example",)
OTHER_ADMINS = ("ruth@radiance.example", "lena@legacy.example")

# Mutations on Glow's staff and invitations (staff.manage / invitation.manage).
MANAGE = expect(
    {
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        **dict.fromkeys(OTHER_ADMINS, "NOT_FOUND"),
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)
# The medspa's own settings (medspa.update_settings, TENANT admins only).
SETTINGS = expect(
    {
        "dana@glow.example": OK,
        **dict.fromkeys(OTHER_ADMINS, "NOT_FOUND"),
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)
# Nina's identity (provider.update_identity: platform admins ANY, admins TENANT, OWN).
IDENTITY_OF_NINA = expect(
    {
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        "nina@glow.example": OK,
        "dana@glow.example:PROVIDER": "FORBIDDEN",  # sees Nina, not theirs
        "omar@glow.example": "FORBIDDEN",
        "masquerade": "MASQUERADE_FORBIDDEN",
        **dict.fromkeys((*OTHER_ADMINS, "lee@radiance.example", "kim@legacy.example"), "NOT_FOUND"),
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)
GLOW_STAFF = {"dana@glow.example", "nina@glow.example", "omar@glow.example"}
# Whom `staffMembers(medspaId: glow)` lists (staff.read).
STAFF_SEEN: dict[str, Any] = expect(
    {
        "ops@portrait.example": GLOW_STAFF,
        "dana@glow.example": GLOW_STAFF,
        "dana@glow.example:PROVIDER": {"dana@glow.example"},
        "nina@glow.example": {"nina@glow.example"},
        "omar@glow.example": {"omar@glow.example"},
        "masquerade": {"nina@glow.example"},
        **dict.fromkeys((*OTHER_ADMINS, "lee@radiance.example", "kim@legacy.example"), frozenset()),
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)
# Glow's checklist and invitations (onboarding.read / invitation.manage) as a list or a field.
READ_GLOW: dict[str, Any] = expect(
    {
        "ops@portrait.example": OK,
        "dana@glow.example": OK,
        **dict.fromkeys(OTHER_ADMINS, "absent"),
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)
SHIPPING_OWN = expect(
    {
        "dana@glow.example": OK,
        **dict.fromkeys(OTHER_ADMINS, OK),  # their own medspa's address
        "anonymous": "UNAUTHENTICATED",
    },
    default="FORBIDDEN",
)


def _new_email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.com"


async def _check_mutation(
    answer: Any,
    field: str,
    expected: str,
    *,
    audit: Audit,
    engine: AsyncEngine,
    before: dict[str, str],
) -> None:
    if expected == OK:
        assert answer.errors == [], answer.body
        assert answer.data[field]["errors"] == [], answer.body
        return
    assert answer.codes == [expected], answer.body
    request_id = answer.errors[0]["extensions"]["requestId"]
    audited = await audit.rows(request_id=request_id)
    assert audited and {r["outcome"] for r in audited} == {"DENIED"}
    assert await snapshot(engine, *WATCHED) == before


async def _glow_invitation(gql: Gql) -> dict[str, Any]:
    return await invite(gql, "dana@glow.example", email=_new_email(), roles=["PROVIDER"])


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_invite_staff(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, *WATCHED)
    variables = {
        "i": {
            "email": _new_email(),
            "roles": ["PROVIDER"],
            "medspaId": gid("Medspa", demo.medspas["glow"]),
        }
    }
    answer = await gql(INVITE, variables, bearer=bearer)
    await _check_mutation(
        answer, "inviteStaff", MANAGE[who], audit=audit, engine=owner_engine, before=before
    )
    if MANAGE[who] == OK:
        assert answer.data["inviteStaff"]["invitation"]["medspa"]["slug"] == "glow"


@pytest.mark.parametrize("field", ["resendInvitation", "revokeInvitation"])
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_resend_and_revoke_invitation(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    field: str,
) -> None:
    bearer = await principals.bearer(who)
    sent = await _glow_invitation(gql)
    before = await snapshot(owner_engine, *WATCHED)
    document = RESEND if field == "resendInvitation" else REVOKE
    answer = await gql(document, {"id": sent["invitation"]["id"]}, bearer=bearer)
    await _check_mutation(
        answer, field, MANAGE[who], audit=audit, engine=owner_engine, before=before
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_accept_invitation(
    gql: Gql, principals: Principals, owner_engine: AsyncEngine, who: str
) -> None:
    """The token is the credential: whoever presents it accepts for the invited address."""
    bearer = await principals.bearer(who)
    sent = await _glow_invitation(gql)
    answer = await gql(
        ACCEPT, {"t": token_of(sent["acceptPath"]), "n": "New Person"}, bearer=bearer
    )
    assert answer.errors == [], answer.body
    accepted = answer.data["acceptInvitation"]
    assert accepted["errors"] == [] and accepted["user"]["email"] == sent["invitation"]["email"]


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_invitations(gql: Gql, principals: Principals, who: str) -> None:
    sent = await _glow_invitation(gql)
    answer = await gql(INVITATIONS, {}, bearer=await principals.bearer(who))
    expected = READ_GLOW[who]
    if expected in (OK, "absent"):
        assert answer.errors == [], answer.body
        ids = {e["node"]["id"] for e in answer.data["invitations"]["edges"]}
        assert (sent["invitation"]["id"] in ids) is (expected == OK)
    else:
        assert answer.codes == [expected], answer.body


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_onboarding_checklist(
    gql: Gql, demo: DemoIds, principals: Principals, who: str
) -> None:
    answer = await gql(
        CHECKLIST,
        {"m": gid("Medspa", demo.medspas["glow"])},
        bearer=await principals.bearer(who),
    )
    expected = READ_GLOW[who]
    if expected == OK:
        assert answer.errors == [], answer.body
        assert answer.data["onboardingChecklist"]["medspa"]["slug"] == "glow"
    elif expected == "absent":
        assert answer.errors == [] and answer.data == {"onboardingChecklist": None}
    else:
        assert answer.codes == [expected], answer.body


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_staff_members(gql: Gql, demo: DemoIds, principals: Principals, who: str) -> None:
    answer = await gql(
        STAFF, {"m": gid("Medspa", demo.medspas["glow"])}, bearer=await principals.bearer(who)
    )
    expected = STAFF_SEEN[who]
    if isinstance(expected, (set, frozenset)):
        assert answer.errors == [], answer.body
        seen = {e["node"]["user"]["email"] for e in answer.data["staffMembers"]["edges"]}
        assert seen == set(expected)
    else:
        assert answer.codes == [expected], answer.body


async def _deactivated_glow_provider(engine: AsyncEngine, demo: DemoIds) -> uuid.UUID:
    """A former Glow provider (no caller of the matrix: their tokens would stop working)."""
    user_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO app_user (id, email, full_name, active)"
                " VALUES (:u, :e, 'Former', true)"
            ),
            {"u": user_id, "e": _new_email()},
        )
        await conn.execute(
            text(
                "INSERT INTO membership (id, medspa_id, user_id, role, deactivated_at)"
                " VALUES (:i, :m, :u, 'provider', now())"
            ),
            {"i": uuid.uuid4(), "m": demo.medspas["glow"], "u": user_id},
        )
    return user_id


@pytest.mark.parametrize(
    "field", ["deactivateStaffMember", "reactivateStaffMember", "setStaffRoles"]
)
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_staff_lifecycle(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
    field: str,
) -> None:
    bearer = await principals.bearer(who)
    variables: dict[str, Any] = {
        "u": gid("User", demo.users["omar@glow.example"]),
        "m": gid("Medspa", demo.medspas["glow"]),
    }
    document = {"deactivateStaffMember": DEACTIVATE, "reactivateStaffMember": REACTIVATE}.get(
        field, ROLES
    )
    if field == "reactivateStaffMember":
        variables["u"] = gid("User", await _deactivated_glow_provider(owner_engine, demo))
    if field == "setStaffRoles":
        variables["r"] = ["MEDSPA_ADMIN", "PROVIDER"]
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(document, variables, bearer=bearer)
    await _check_mutation(
        answer, field, MANAGE[who], audit=audit, engine=owner_engine, before=before
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_update_provider_identity(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(
        IDENTITY,
        {"p": gid("Provider", demo.providers["nina@glow.example"]), "i": {"displayName": "N. P."}},
        bearer=bearer,
    )
    await _check_mutation(
        answer,
        "updateProviderIdentity",
        IDENTITY_OF_NINA[who],
        audit=audit,
        engine=owner_engine,
        before=before,
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_set_medical_director(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE provider SET credentials = 'MD' WHERE id = :p"),
            {"p": demo.providers["nina@glow.example"]},
        )
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(
        DIRECTOR, {"p": gid("Provider", demo.providers["nina@glow.example"])}, bearer=bearer
    )
    await _check_mutation(
        answer, "setMedicalDirector", SETTINGS[who], audit=audit, engine=owner_engine, before=before
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_set_shipping_address(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, *WATCHED)
    answer = await gql(SHIPPING, {"a": ADDRESS}, bearer=bearer)
    await _check_mutation(
        answer,
        "setShippingAddress",
        SHIPPING_OWN[who],
        audit=audit,
        engine=owner_engine,
        before=before,
    )
    if SHIPPING_OWN[who] == OK:
        set_on = await rows(
            owner_engine,
            "SELECT slug FROM medspa WHERE shipping_address->>'line1' = :line1",
            line1=ADDRESS["line1"],
        )
        assert len(set_on) == 1  # the caller's own medspa only
