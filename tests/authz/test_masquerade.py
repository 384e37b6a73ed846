"""Masquerade lifecycle (DESIGN §4, §5): start, use, expire, end, demotion, forbidden things."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.ids import decode_id_of, encode_global_id
from db.models import MasqueradeSession, Membership, MembershipRole, Provider
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, Principals

START = """mutation($p: ID!, $r: String, $m: Int) {
  startMasquerade(providerId: $p, reason: $r, minutes: $m) {
    session { id reason expiresAt active actor { email } provider { displayName } }
    token errors { code field message } } }"""
VIEWER = """{ viewer { roles dashboard user { email } actor { email }
    masquerade { id active } provider { displayName } } }"""


def _provider(demo: DemoIds, email: str) -> str:
    return encode_global_id("Provider", demo.providers[email])


async def _start(gql: Gql, demo: DemoIds, *, actor: str, target: str, **variables: object) -> dict:
    answer = await gql(START, {"p": _provider(demo, target), **variables}, as_=actor)
    assert answer.errors == [], answer.body
    return answer.data["startMasquerade"]


async def test_start_use_and_end(gql: Gql, demo: DemoIds, audit: Audit) -> None:
    started = await _start(
        gql, demo, actor="dana@glow.example", target="nina@glow.example", r="chart help"
    )
    assert started["errors"] == []
    session = started["session"]
    assert session["actor"]["email"] == "dana@glow.example"
    assert session["provider"]["displayName"] == "Nina Patel"
    assert session["active"] is True
    expires = datetime.fromisoformat(session["expiresAt"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(minutes=60)

    viewer = (await gql(VIEWER, bearer=started["token"])).data["viewer"]
    assert viewer["user"]["email"] == "nina@glow.example"
    assert viewer["actor"]["email"] == "dana@glow.example"
    assert viewer["roles"] == ["provider"]
    assert viewer["dashboard"] == "PROVIDER"
    assert viewer["provider"]["displayName"] == "Nina Patel"
    assert viewer["masquerade"] == {"id": session["id"], "active": True}

    # The audit trail records both identities for what happens in the session.
    denied = await gql("{ apiClients { edges { cursor } } }", bearer=started["token"])
    assert denied.codes == ["MASQUERADE_FORBIDDEN"]
    [row] = await audit.rows(request_id=denied.errors[0]["extensions"]["requestId"])
    assert row["actor_user_id"] == demo.users["dana@glow.example"]
    assert row["effective_user_id"] == demo.users["nina@glow.example"]
    assert encode_global_id("MasqueradeSession", row["masquerade_session_id"]) == session["id"]

    ended = await gql(
        "mutation { endMasquerade { session { endedAt active } errors { code } } }",
        bearer=started["token"],
    )
    assert ended.data["endMasquerade"]["session"]["active"] is False
    after = await gql(VIEWER, bearer=started["token"])
    assert after.status == 401
    assert after.codes == ["UNAUTHENTICATED"]
    actions = [r["action"] for r in await audit.rows(actor_user_id=demo.users["dana@glow.example"])]
    assert "masquerade.start" in actions and "masquerade.end" in actions


async def test_expired_session_is_refused(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    started = await _start(gql, demo, actor="dana@glow.example", target="omar@glow.example")
    session_id = decode_id_of(started["session"]["id"], "MasqueradeSession")
    past = datetime.now(UTC) - timedelta(seconds=1)
    await owner_session.execute(
        update(MasqueradeSession)
        .where(MasqueradeSession.id == session_id)
        .values(started_at=past - timedelta(minutes=5), expires_at=past)
    )
    await owner_session.commit()
    answer = await gql(VIEWER, bearer=started["token"])
    assert answer.status == 401


async def test_actor_demoted_mid_session(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    started = await _start(gql, demo, actor="dana@glow.example", target="omar@glow.example")
    assert (await gql(VIEWER, bearer=started["token"])).status == 200
    await owner_session.execute(
        delete(Membership).where(
            Membership.user_id == demo.users["dana@glow.example"],
            Membership.role == MembershipRole.MEDSPA_ADMIN,
        )
    )
    await owner_session.commit()
    assert (await gql(VIEWER, bearer=started["token"])).status == 401


async def test_target_deactivated_mid_session(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    started = await _start(gql, demo, actor="dana@glow.example", target="omar@glow.example")
    await owner_session.execute(
        update(Provider)
        .where(Provider.id == demo.providers["omar@glow.example"])
        .values(active=False)
    )
    await owner_session.commit()
    assert (await gql(VIEWER, bearer=started["token"])).status == 401


async def test_cannot_masquerade_as_oneself(gql: Gql, demo: DemoIds, audit: Audit) -> None:
    answer = await gql(START, {"p": _provider(demo, "dana@glow.example")}, as_="dana@glow.example")
    payload = answer.data["startMasquerade"]
    assert [e["code"] for e in payload["errors"]] == ["CANNOT_MASQUERADE_AS_SELF"]
    assert payload["token"] is None
    failed = await audit.rows(action="masquerade.start", outcome="FAILED")
    assert len(failed) == 1


async def test_inactive_provider_cannot_be_targeted(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    await owner_session.execute(
        update(Provider)
        .where(Provider.id == demo.providers["omar@glow.example"])
        .values(active=False)
    )
    await owner_session.commit()
    answer = await gql(START, {"p": _provider(demo, "omar@glow.example")}, as_="dana@glow.example")
    assert [e["code"] for e in answer.data["startMasquerade"]["errors"]] == ["PROVIDER_INACTIVE"]


async def test_no_nesting(gql: Gql, principals: Principals, demo: DemoIds) -> None:
    token = await principals.masquerade()
    answer = await gql(START, {"p": _provider(demo, "omar@glow.example")}, bearer=token)
    assert answer.codes == ["MASQUERADE_FORBIDDEN"]


@pytest.mark.parametrize(
    ("minutes", "refusal"),
    [
        (1, None),
        (480, None),
        (481, "a masquerade session lasts at most 8 hours"),
        (0, "minutes must be at least 1"),
    ],
)
async def test_duration_is_capped_at_eight_hours(
    gql: Gql, demo: DemoIds, minutes: int, refusal: str | None
) -> None:
    answer = await gql(
        START, {"p": _provider(demo, "nina@glow.example"), "m": minutes}, as_="dana@glow.example"
    )
    payload = answer.data["startMasquerade"]
    if refusal is None:
        assert payload["errors"] == []
        expires = datetime.fromisoformat(payload["session"]["expiresAt"])
        left = expires - datetime.now(UTC)
        assert timedelta(minutes=minutes) - timedelta(minutes=1) < left
        assert left <= timedelta(minutes=minutes)
    else:
        # The caller is told which limit the value broke, on the field that broke it.
        assert payload["errors"] == [{"code": "VALIDATION", "field": "minutes", "message": refusal}]
        assert payload["token"] is None


async def test_platform_admin_must_give_a_reason(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(
        START, {"p": _provider(demo, "lee@radiance.example")}, as_="ops@portrait.example"
    )
    assert [e["field"] for e in answer.data["startMasquerade"]["errors"]] == ["reason"]
    given = await gql(
        START,
        {"p": _provider(demo, "lee@radiance.example"), "r": "ticket 42"},
        as_="ops@portrait.example",
    )
    token = given.data["startMasquerade"]["token"]
    viewer = (await gql(VIEWER, bearer=token)).data["viewer"]
    assert viewer["user"]["email"] == "lee@radiance.example"
    assert viewer["actor"]["email"] == "ops@portrait.example"


async def test_masquerade_sees_only_the_providers_tenant(
    gql: Gql, principals: Principals, demo: DemoIds
) -> None:
    token = await principals.masquerade()
    answer = await gql("{ medspas { edges { node { slug } } } }", bearer=token)
    assert [e["node"]["slug"] for e in answer.data["medspas"]["edges"]] == ["glow"]


async def test_forged_session_claim_is_refused(gql: Gql, demo: DemoIds) -> None:
    from api.tokens import mint_masquerade_token
    from tests.conftest import TEST_SETTINGS

    token = mint_masquerade_token(
        TEST_SETTINGS,
        provider_user_id=demo.users["nina@glow.example"],
        actor_user_id=demo.users["dana@glow.example"],
        session_id=uuid.uuid4(),
        medspa_id=demo.medspas["glow"],
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    assert (await gql(VIEWER, bearer=token)).status == 401
