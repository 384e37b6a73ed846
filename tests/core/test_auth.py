"""Authentication (DESIGN §4): every bad credential is UNAUTHENTICATED, 401, and says no more."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.settings import Settings
from api.tokens import mint_user_token
from db.models import Membership, MembershipRole, User
from db.seed.demo import DemoIds
from tests.conftest import TEST_SETTINGS, Gql, token_for

VIEWER = "{ viewer { kind roles dashboard user { email } activeMedspa { slug } } }"


def _claims(demo: DemoIds, email: str, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(demo.users[email]),
        "iss": TEST_SETTINGS.jwt_issuer,
        "aud": TEST_SETTINGS.jwt_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


def _assert_unauthenticated(answer: object) -> None:
    status = answer.status  # type: ignore[attr-defined]
    body = answer.body  # type: ignore[attr-defined]
    assert status == 401, body
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "Authentication required or invalid."
    assert error["extensions"]["requestId"]


async def test_valid_token_identifies_the_user(gql: Gql) -> None:
    answer = await gql(VIEWER, as_="nina@glow.example")
    assert answer.status == 200
    viewer = answer.data["viewer"]
    assert viewer["user"]["email"] == "nina@glow.example"
    assert viewer["activeMedspa"]["slug"] == "glow"


async def test_expired_token(gql: Gql, demo: DemoIds) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    token = jwt.encode(
        _claims(demo, "nina@glow.example", iat=past - timedelta(minutes=5), exp=past),
        TEST_SETTINGS.signing_key(),
        algorithm="HS256",
    )
    _assert_unauthenticated(await gql(VIEWER, bearer=token))


async def test_wrong_signature(gql: Gql, demo: DemoIds) -> None:
    token = jwt.encode(
        _claims(demo, "nina@glow.example"), "another-secret-of-enough-length-000", algorithm="HS256"
    )
    _assert_unauthenticated(await gql(VIEWER, bearer=token))


async def test_unsigned_token_is_refused(gql: Gql, demo: DemoIds) -> None:
    token = jwt.encode(_claims(demo, "nina@glow.example"), key=None, algorithm="none")
    _assert_unauthenticated(await gql(VIEWER, bearer=token))


@pytest.mark.parametrize("bearer", ["not-a-jwt", "a.b.c", "msk_unknown-api-key"])
async def test_malformed_tokens(gql: Gql, bearer: str) -> None:
    _assert_unauthenticated(await gql(VIEWER, bearer=bearer))


async def test_non_bearer_scheme(gql: Gql, demo: DemoIds) -> None:
    token = token_for(demo, "nina@glow.example")
    answer = await gql(VIEWER, headers={"Authorization": f"Basic {token}"})
    _assert_unauthenticated(answer)


async def test_unknown_user(gql: Gql, demo: DemoIds) -> None:
    token = jwt.encode(
        _claims(demo, "nina@glow.example", sub=str(uuid.uuid4())),
        TEST_SETTINGS.signing_key(),
        algorithm="HS256",
    )
    _assert_unauthenticated(await gql(VIEWER, bearer=token))


async def test_wrong_audience(gql: Gql, demo: DemoIds) -> None:
    token = jwt.encode(
        _claims(demo, "nina@glow.example", aud="someone-else"),
        TEST_SETTINGS.signing_key(),
        algorithm="HS256",
    )
    _assert_unauthenticated(await gql(VIEWER, bearer=token))


async def test_deactivated_user(gql: Gql, demo: DemoIds, owner_session: object) -> None:
    session = owner_session
    user = await session.get(User, demo.users["nina@glow.example"])  # type: ignore[attr-defined]
    user.active = False
    await session.commit()  # type: ignore[attr-defined]
    _assert_unauthenticated(await gql(VIEWER, as_="nina@glow.example"))


async def test_medspa_header_the_user_does_not_hold(gql: Gql) -> None:
    answer = await gql(VIEWER, as_="nina@glow.example", headers={"X-Medspa-Id": "radiance"})
    assert answer.status == 403
    assert answer.codes == ["FORBIDDEN"]


async def test_medspa_header_by_slug_id_and_global_id(gql: Gql, demo: DemoIds) -> None:
    from api.ids import encode_global_id

    glow = demo.medspas["glow"]
    for value in ("glow", str(glow), encode_global_id("Medspa", glow)):
        answer = await gql(VIEWER, as_="dana@glow.example", headers={"X-Medspa-Id": value})
        assert answer.status == 200, (value, answer.body)
        assert answer.data["viewer"]["activeMedspa"]["slug"] == "glow"


async def test_dashboard_the_user_does_not_hold(gql: Gql) -> None:
    answer = await gql(VIEWER, as_="nina@glow.example", headers={"X-Dashboard": "ADMIN"})
    assert answer.status == 403
    assert answer.codes == ["FORBIDDEN"]
    answer = await gql(VIEWER, as_="ruth@radiance.example", headers={"X-Dashboard": "PROVIDER"})
    assert answer.status == 403


async def test_unknown_dashboard_value(gql: Gql) -> None:
    answer = await gql(VIEWER, as_="dana@glow.example", headers={"X-Dashboard": "GOD"})
    assert answer.status == 400
    assert answer.codes == ["BAD_REQUEST"]


async def test_dual_role_user_defaults_to_admin_and_can_switch(gql: Gql) -> None:
    admin = await gql(VIEWER, as_="dana@glow.example")
    assert admin.data["viewer"]["dashboard"] == "ADMIN"
    assert admin.data["viewer"]["roles"] == ["medspa_admin"]
    provider = await gql(VIEWER, as_="dana@glow.example", headers={"X-Dashboard": "provider"})
    assert provider.data["viewer"]["dashboard"] == "PROVIDER"
    assert provider.data["viewer"]["roles"] == ["provider"]


async def test_user_of_two_medspas_must_name_one(
    gql: Gql, demo: DemoIds, owner_session: object
) -> None:
    session = owner_session
    session.add(  # type: ignore[attr-defined]
        Membership(
            id=uuid.uuid4(),
            medspa_id=demo.medspas["radiance"],
            user_id=demo.users["nina@glow.example"],
            role=MembershipRole.MEDSPA_ADMIN,
        )
    )
    await session.commit()  # type: ignore[attr-defined]
    missing = await gql(VIEWER, as_="nina@glow.example")
    assert missing.status == 400
    assert missing.codes == ["BAD_REQUEST"]
    chosen = await gql(VIEWER, as_="nina@glow.example", headers={"X-Medspa-Id": "radiance"})
    assert chosen.status == 200
    assert chosen.data["viewer"]["activeMedspa"]["slug"] == "radiance"
    assert chosen.data["viewer"]["roles"] == ["medspa_admin"]
    assert {
        m["medspaSlug"]
        for m in (
            await gql(
                "{ viewer { memberships { medspaSlug } } }",
                as_="nina@glow.example",
                headers={"X-Medspa-Id": "glow"},
            )
        ).data["viewer"]["memberships"]
    } == {"glow", "radiance"}


async def test_token_preselects_medspa_and_dashboard(gql: Gql, demo: DemoIds) -> None:
    from db.models import Dashboard

    token = mint_user_token(
        TEST_SETTINGS,
        user_id=demo.users["dana@glow.example"],
        ttl=timedelta(minutes=5),
        medspa_id=demo.medspas["glow"],
        dashboard=Dashboard.PROVIDER,
    )
    answer = await gql(VIEWER, bearer=token)
    assert answer.data["viewer"]["dashboard"] == "PROVIDER"


async def test_anonymous_viewer(gql: Gql) -> None:
    answer = await gql(VIEWER)
    assert answer.status == 200
    assert answer.data["viewer"] == {
        "kind": "ANONYMOUS",
        "roles": [],
        "dashboard": None,
        "user": None,
        "activeMedspa": None,
    }


async def test_rs256_public_key_verification(demo: DemoIds) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from api.tokens import verify_token as _verify

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = Settings(  # type: ignore[call-arg]
        MEDSPA_ENV="test",
        MEDSPA_JWT_ALGORITHM="RS256",
        MEDSPA_JWT_PUBLIC_KEY=public_pem,
        MEDSPA_JWT_PRIVATE_KEY=private_pem,
    )
    user_id = demo.users["nina@glow.example"]
    token = mint_user_token(settings, user_id=user_id, ttl=timedelta(minutes=1))
    assert _verify(settings, token)["sub"] == str(user_id)
    # An HS256 token signed with the public key text (algorithm confusion) is refused.
    forged = jwt.encode(
        {
            "sub": str(user_id),
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "iat": datetime.now(UTC),
            "exp": datetime.now(UTC) + timedelta(minutes=1),
        },
        "x" * 64,
        algorithm="HS256",
    )
    from api.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        _verify(settings, forged)


def test_production_refuses_the_development_secret() -> None:
    settings = Settings(MEDSPA_ENV="prod")  # type: ignore[call-arg]
    with pytest.raises(RuntimeError):
        settings.verification_key()
