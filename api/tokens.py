"""Tokens and keys: minting and verifying signed JWTs, and partner API keys (DESIGN §4).

User tokens carry `sub` (and optionally the preselected medspa and dashboard); masquerade
tokens carry the provider as `sub` and the real admin as `act.sub` (RFC 8693). Verification
pins the algorithm, issuer and audience. Partner keys are random secrets stored as a hash.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.errors import AuthenticationError
from api.settings import Settings
from db.models import Dashboard

API_KEY_PREFIX = "msk_"


def mint_user_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    ttl: timedelta,
    medspa_id: uuid.UUID | None = None,
    dashboard: Dashboard | None = None,
) -> str:
    """A user token (`sub`), optionally preselecting a medspa and dashboard."""
    claims: dict[str, Any] = {"sub": str(user_id)}
    if medspa_id:
        claims["mid"] = str(medspa_id)
    if dashboard:
        claims["dash"] = dashboard.value
    return sign(settings, claims, ttl)


def mint_masquerade_token(
    settings: Settings,
    *,
    provider_user_id: uuid.UUID,
    actor_user_id: uuid.UUID,
    session_id: uuid.UUID,
    medspa_id: uuid.UUID,
    expires_at: datetime,
) -> str:
    """`sub` is the provider, `act.sub` the real admin (RFC 8693), `sid` the session."""
    claims = {
        "sub": str(provider_user_id),
        "act": {"sub": str(actor_user_id)},
        "sid": str(session_id),
        "mid": str(medspa_id),
    }
    return sign(settings, claims, expires_at - datetime.now(UTC))


def sign(settings: Settings, claims: dict[str, Any], ttl: timedelta) -> str:
    now = datetime.now(UTC)
    payload = {
        **claims,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, settings.signing_key(), algorithm=settings.jwt_algorithm)


def verify_token(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.verification_key(),
            algorithms=[settings.jwt_algorithm],  # pinned: no alg confusion
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationError from exc
    return claims


def hash_api_key(key: str) -> str:
    """Keys are random 256-bit secrets, so one SHA-256 is the right (fast, unsalted) hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)
