"""The identity-provider hook (issue 19): sign in with an OpenID Connect ID token.

The API stores no passwords. Besides its own tokens (`medspa-api token EMAIL`, masquerade
tokens), it accepts an ID token of one configured OIDC provider (Auth0, Okta, Cognito,
Google Workspace...) when `MEDSPA_OIDC_ISSUER`, `MEDSPA_OIDC_AUDIENCE` and
`MEDSPA_OIDC_JWKS_URL` are set:

- a bearer whose (unverified) `iss` is the configured issuer is verified against the
  provider's published keys (JWKS, fetched and cached by PyJWT), with the issuer, the audience
  (the API's client id at the provider) and the expiry checked and the algorithm pinned to
  asymmetric ones;
- its `email` must be present and `email_verified` true; the user is the account with that
  email (case-insensitive), the one an accepted invitation created or linked. An unknown or
  unverified address is UNAUTHENTICATED, as is any failure;
- from there the request is authenticated exactly as with the API's own token for that user
  (memberships, dashboards, `X-Medspa-Id` / `X-Dashboard` headers).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import jwt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import AuthenticationError
from api.settings import Settings
from db.models import User

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class OidcVerifier:
    """Verifies the configured provider's ID tokens. One per process (caches the keys)."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self._keys = (
            jwt.PyJWKClient(settings.oidc_jwks_url, cache_keys=True, lifespan=3600)
            if settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url
            else None
        )

    @property
    def enabled(self) -> bool:
        return self._keys is not None

    def issued_token(self, token: str) -> bool:
        """Whether `token` claims to come from the configured provider (not yet verified)."""
        if not self.enabled:
            return False
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return bool(unverified.get("iss") == self.issuer)

    async def verified_email(self, token: str) -> tuple[str, float]:
        """The token's verified email and its expiry, or AuthenticationError."""
        assert self._keys is not None
        keys = self._keys
        try:
            signing_key = await asyncio.to_thread(keys.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=5,
            )
        except (jwt.PyJWTError, OSError) as exc:
            raise AuthenticationError from exc
        email = claims.get("email")
        if not isinstance(email, str) or claims.get("email_verified") is not True:
            raise AuthenticationError
        return email, float(claims["exp"])


async def user_for_email(session: AsyncSession, email: str) -> uuid.UUID:
    """The account an invitation created or linked for `email`, or AuthenticationError."""
    user_id = (
        await session.execute(select(User.id).where(func.lower(User.email) == email.lower()))
    ).scalar_one_or_none()
    if user_id is None:
        raise AuthenticationError
    return user_id
