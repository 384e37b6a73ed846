"""The identity-provider hook: an OIDC ID token signs in the user with its verified email."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncEngine

from api.authz.authenticate import Authenticator, RequestCredentials
from api.authz.enforcer import PolicyEngine
from api.errors import AuthenticationError
from api.settings import Settings
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import token_for

ISSUER = "https://login.example.com/"
AUDIENCE = "medspa-client-id"


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[tuple[Settings, Any]]:
    """A provider publishing its keys over HTTP (as a real one does) on a local port."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(
        json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    )
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = Settings(  # type: ignore[call-arg]
        MEDSPA_ENV="test",
        MEDSPA_OIDC_ISSUER=ISSUER,
        MEDSPA_OIDC_AUDIENCE=AUDIENCE,
        MEDSPA_OIDC_JWKS_URL=f"http://127.0.0.1:{server.server_address[1]}/jwks.json",
    )
    try:
        yield settings, key
    finally:
        server.shutdown()
        server.server_close()


def _id_token(key: Any, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "idp|123",
        "iat": now,
        "exp": now + 300,
        "email": "Dana@Glow.example",
        "email_verified": True,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


async def _authenticate(settings: Settings, engine: AsyncEngine, bearer: str) -> Any:
    async with session_factory(engine)() as session, session.begin():
        creds = RequestCredentials(bearer=bearer, medspa=None, dashboard=None, request_id="t")
        return await Authenticator(settings, PolicyEngine()).authenticate(session, creds)


async def test_a_verified_email_signs_in_its_user(
    provider: tuple[Settings, Any], app_engine: AsyncEngine, demo: DemoIds
) -> None:
    settings, key = provider
    principal = await _authenticate(settings, app_engine, _id_token(key))
    assert principal.user_id == demo.users["dana@glow.example"]
    assert principal.medspa_id == demo.medspas["glow"]
    # The API's own tokens still work beside the provider's.
    own = await _authenticate(settings, app_engine, token_for(demo, "nina@glow.example"))
    assert own.user_id == demo.users["nina@glow.example"]


@pytest.mark.parametrize(
    "claims",
    [
        {"email_verified": False},
        {"email": "nobody@example.com"},
        {"aud": "another-client"},
        {"exp": int(time.time()) - 60},
        {"email": None},
    ],
)
async def test_anything_else_is_refused(
    provider: tuple[Settings, Any], app_engine: AsyncEngine, demo: DemoIds, claims: Any
) -> None:
    settings, key = provider
    with pytest.raises(AuthenticationError):
        await _authenticate(settings, app_engine, _id_token(key, **claims))


async def test_a_token_signed_by_another_key_is_refused(
    provider: tuple[Settings, Any], app_engine: AsyncEngine, demo: DemoIds
) -> None:
    settings, _key = provider
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(AuthenticationError):
        await _authenticate(settings, app_engine, _id_token(stranger))
