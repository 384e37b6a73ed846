"""Documents and helpers of the people-and-onboarding tests (issue 19)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from api.tokens import mint_user_token
from tests.conftest import TEST_SETTINGS, Gql
from tests.scheduling.helpers import rows

ERRORS = "errors { code field message }"
CREATE = f"""mutation($i: CreateMedspaInput!) {{ createMedspa(input: $i) {{
    medspa {{ id slug }} invitation {{ id email roles status }} acceptPath {ERRORS} }} }}"""
INVITE = f"""mutation($i: InviteStaffInput!) {{ inviteStaff(input: $i) {{
    invitation {{ id email roles status sendCount medspa {{ slug }} }} acceptPath {ERRORS} }} }}"""
RESEND = f"""mutation($id: ID!) {{ resendInvitation(id: $id) {{
    invitation {{ id status sendCount }} acceptPath {ERRORS} }} }}"""
REVOKE = f"""mutation($id: ID!) {{ revokeInvitation(id: $id) {{
    invitation {{ id status }} {ERRORS} }} }}"""
ACCEPT = f"""mutation($t: String!, $n: String) {{ acceptInvitation(token: $t, fullName: $n) {{
    user {{ id email fullName }} medspaName roles {ERRORS} }} }}"""
INVITATIONS = """query($m: ID) { invitations(medspaId: $m) {
    edges { node { id email status medspa { slug } } } } }"""
STAFF = """query($m: ID, $all: Boolean! = false) {
    staffMembers(medspaId: $m, includeDeactivated: $all) {
    edges { node { user { id email } roles active deactivatedAt
        profile { displayName credentials licensedToSelfClear isMedicalDirector
                  license { state number expiresOn } provider { id } } } } } }"""
DEACTIVATE = f"""mutation($u: ID!, $m: ID) {{ deactivateStaffMember(userId: $u, medspaId: $m) {{
    staffMember {{ active roles deactivatedAt }}
    futureAppointments {{ id startsAt status }} {ERRORS} }} }}"""
REACTIVATE = f"""mutation($u: ID!, $m: ID) {{ reactivateStaffMember(userId: $u, medspaId: $m) {{
    staffMember {{ active roles }} {ERRORS} }} }}"""
ROLES = f"""mutation($u: ID!, $r: [MembershipRole!]!, $m: ID) {{
    setStaffRoles(userId: $u, roles: $r, medspaId: $m) {{
    staffMember {{ active roles profile {{ provider {{ id active }} }} }} {ERRORS} }} }}"""
IDENTITY = f"""mutation($p: ID!, $i: ProviderIdentityInput!) {{
    updateProviderIdentity(providerId: $p, input: $i) {{
    profile {{ displayName credentials licensedToSelfClear
               license {{ state number expiresOn }} }} {ERRORS} }} }}"""
DIRECTOR = f"""mutation($p: ID!) {{ setMedicalDirector(providerId: $p) {{
    profile {{ isMedicalDirector }} {ERRORS} }} }}"""
CHECKLIST = """query($m: ID) { onboardingChecklist(medspaId: $m) {
    medspa { slug } complete steps { step title done }
    shippingAddress { line1 city region postalCode country } } }"""
SHIPPING = f"""mutation($a: ShippingAddressInput!) {{ setShippingAddress(address: $a) {{
    shippingAddress {{ line1 line2 city region postalCode country }} {ERRORS} }} }}"""

ADDRESS = {
    "line1": "1 Main St",
    "city": "Austin",
    "region": "TX",
    "postalCode": "78701",
    "country": "us",
}


def token_of(accept_path: str) -> str:
    return accept_path.removeprefix("/invitation/")


def emailed_link(accept_path: str) -> str:
    """The absolute link an invitation email carries: the front-end's address (the default
    `MEDSPA_APP_URL`) before the accept path."""
    return "http://localhost:5173" + accept_path


def bearer_for(user_id: uuid.UUID | str) -> str:
    return mint_user_token(
        TEST_SETTINGS, user_id=uuid.UUID(str(user_id)), ttl=timedelta(minutes=10)
    )


def payload(answer: Any, field: str) -> dict[str, Any]:
    assert answer.errors == [], answer.body
    found: dict[str, Any] = answer.data[field]
    return found


def codes(answer: Any, field: str) -> list[str]:
    return [e["code"] for e in payload(answer, field)["errors"]]


async def invite(
    gql: Gql, as_: str | None, *, bearer: str | None = None, **fields: Any
) -> dict[str, Any]:
    answer = await gql(INVITE, {"i": fields}, as_=as_, bearer=bearer)
    found = payload(answer, "inviteStaff")
    assert found["errors"] == [], found
    return found


async def outbox_of(engine: AsyncEngine, invitation_id: str) -> list[dict[str, Any]]:
    from api.ids import decode_global_id

    decoded = decode_global_id(invitation_id)
    assert decoded is not None
    return await rows(
        engine,
        "SELECT kind, payload, deliver_at, sent_at FROM notification_outbox"
        " WHERE invitation_id = :i ORDER BY created_at, deliver_at",
        i=decoded[1],
    )
