"""Settings: the only module that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The development signing secret. Only honoured when MEDSPA_ENV=dev; production refuses to
# start without MEDSPA_JWT_SECRET or MEDSPA_JWT_PUBLIC_KEY.
DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105


class Settings(BaseSettings):
    """Runtime configuration. Every field maps to an environment variable (see README)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    app_database_url: str | None = Field(default=None, alias="APP_DATABASE_URL")
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", alias="MEDSPA_DATA_DIR")
    env: Literal["dev", "test", "prod"] = Field(default="dev", alias="MEDSPA_ENV")
    host: str = Field(default="127.0.0.1", alias="MEDSPA_HOST")
    port: int = Field(default=8000, alias="MEDSPA_PORT")

    jwt_algorithm: Literal["HS256", "RS256"] = Field(default="HS256", alias="MEDSPA_JWT_ALGORITHM")
    jwt_secret: str | None = Field(default=None, alias="MEDSPA_JWT_SECRET")
    jwt_public_key: str | None = Field(default=None, alias="MEDSPA_JWT_PUBLIC_KEY")
    jwt_private_key: str | None = Field(default=None, alias="MEDSPA_JWT_PRIVATE_KEY")
    jwt_issuer: str = Field(default="medspa-api", alias="MEDSPA_JWT_ISSUER")
    jwt_audience: str = Field(default="medspa-api", alias="MEDSPA_JWT_AUDIENCE")

    masquerade_default_minutes: int = Field(default=60, alias="MEDSPA_MASQUERADE_MINUTES", ge=1)
    statement_timeout_ms: int = Field(default=5000, alias="MEDSPA_STATEMENT_TIMEOUT_MS", ge=100)
    pool_size: int = Field(default=10, alias="MEDSPA_POOL_SIZE", ge=1)
    max_query_depth: int = Field(default=10, alias="MEDSPA_MAX_QUERY_DEPTH", ge=2)
    max_aliases: int = Field(default=30, alias="MEDSPA_MAX_ALIASES", ge=1)
    max_tokens: int = Field(default=2000, alias="MEDSPA_MAX_TOKENS", ge=100)
    public_booking_rate_per_minute: int = Field(default=30, alias="MEDSPA_PUBLIC_RATE", ge=1)
    # Where the public booking page lives; a location's booking URL is this + "/" + its slug.
    public_booking_base_url: str = Field(
        default="http://localhost:5173/book", alias="MEDSPA_PUBLIC_BOOKING_URL"
    )

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    def signing_key(self) -> str:
        """The key that signs development and masquerade tokens."""
        if self.jwt_algorithm == "RS256":
            if not self.jwt_private_key:
                raise RuntimeError("MEDSPA_JWT_PRIVATE_KEY is required to sign RS256 tokens")
            return self.jwt_private_key
        return self._hs_secret()

    def verification_key(self) -> str:
        """The key that verifies bearer tokens."""
        if self.jwt_algorithm == "RS256":
            if not self.jwt_public_key:
                raise RuntimeError("MEDSPA_JWT_PUBLIC_KEY is required for RS256")
            return self.jwt_public_key
        return self._hs_secret()

    def _hs_secret(self) -> str:
        if self.jwt_secret:
            return self.jwt_secret
        if self.env == "prod":
            raise RuntimeError("MEDSPA_JWT_SECRET is required when MEDSPA_ENV=prod")
        return DEV_JWT_SECRET


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings, read once."""
    return Settings()
