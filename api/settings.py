"""Settings: the only module that reads the environment."""

from __future__ import annotations

import hashlib
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
    # An OpenID Connect provider whose ID tokens sign users in, matched by verified email
    # (api/oidc.py). All three set, or the hook is off.
    oidc_issuer: str | None = Field(default=None, alias="MEDSPA_OIDC_ISSUER")
    oidc_audience: str | None = Field(default=None, alias="MEDSPA_OIDC_AUDIENCE")
    oidc_jwks_url: str | None = Field(default=None, alias="MEDSPA_OIDC_JWKS_URL")

    masquerade_default_minutes: int = Field(default=60, alias="MEDSPA_MASQUERADE_MINUTES", ge=1)
    statement_timeout_ms: int = Field(default=5000, alias="MEDSPA_STATEMENT_TIMEOUT_MS", ge=100)
    pool_size: int = Field(default=10, alias="MEDSPA_POOL_SIZE", ge=1)
    # The request pipeline's limits (api/http, README "Limits"). Each is checked before any
    # work that grows with it is done.
    max_body_bytes: int = Field(default=256 * 1024, alias="MEDSPA_MAX_BODY_BYTES", ge=1024)
    max_json_depth: int = Field(default=32, alias="MEDSPA_MAX_JSON_DEPTH", ge=4)
    # Where the policy listener connects: a direct connection (LISTEN does not survive a
    # transaction pooler). Unset: DATABASE_URL.
    listen_database_url: str | None = Field(default=None, alias="MEDSPA_LISTEN_DATABASE_URL")
    # `transaction` when the service's connections go through PgBouncer in transaction mode:
    # the service then refuses a listener URL equal to the pooled one.
    db_pooler: Literal["none", "transaction"] = Field(default="none", alias="MEDSPA_DB_POOLER")
    # The safety net behind NOTIFY: how often each process compares the policy version.
    policy_poll_seconds: float = Field(default=5.0, alias="MEDSPA_POLICY_POLL_SECONDS", gt=0)
    # What `serve` does when the schema is not at the head revision: refuse to start, or wait
    # up to `schema_wait_seconds` for `medspa-api db upgrade` to finish elsewhere.
    schema_behind: Literal["refuse", "wait"] = Field(default="refuse", alias="MEDSPA_SCHEMA_BEHIND")
    schema_wait_seconds: float = Field(default=300.0, alias="MEDSPA_SCHEMA_WAIT_SECONDS", gt=0)
    max_query_depth: int = Field(default=10, alias="MEDSPA_MAX_QUERY_DEPTH", ge=2)
    # Live subscriptions (graphql-transport-ws on /graphql): how many one connection may run,
    # how long a new connection has to send `connection_init`, and how often a connection's
    # credentials are checked again between events (an ended masquerade, an expired token).
    max_subscriptions: int = Field(default=10, alias="MEDSPA_MAX_SUBSCRIPTIONS", ge=1)
    ws_init_timeout_s: float = Field(default=5.0, alias="MEDSPA_WS_INIT_TIMEOUT_S", gt=0)
    subscription_recheck_s: float = Field(default=5.0, alias="MEDSPA_SUBSCRIPTION_RECHECK_S", gt=0)
    max_aliases: int = Field(default=30, alias="MEDSPA_MAX_ALIASES", ge=1)
    max_tokens: int = Field(default=2000, alias="MEDSPA_MAX_TOKENS", ge=100)
    max_directives: int = Field(default=30, alias="MEDSPA_MAX_DIRECTIVES", ge=1)
    max_directives_per_location: int = Field(
        default=3, alias="MEDSPA_MAX_DIRECTIVES_PER_LOCATION", ge=1
    )
    max_repeated_fields: int = Field(default=10, alias="MEDSPA_MAX_REPEATED_FIELDS", ge=1)
    max_fragment_spreads: int = Field(default=200, alias="MEDSPA_MAX_FRAGMENT_SPREADS", ge=1)
    max_cost: int = Field(default=100_000, alias="MEDSPA_MAX_COST", ge=1)
    # Per-caller budgets in cost points per minute, refilled continuously (a sliding window).
    budget_per_minute: int = Field(default=1_000_000, alias="MEDSPA_BUDGET_PER_MINUTE", ge=1)
    anonymous_budget_per_minute: int = Field(
        default=200_000, alias="MEDSPA_ANONYMOUS_BUDGET_PER_MINUTE", ge=1
    )
    # `memory://` (one process) or `redis://host:port[/db]` (shared by every process).
    rate_limit_url: str = Field(default="memory://", alias="MEDSPA_RATE_LIMIT_URL")
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or networks).
    trusted_proxies: str = Field(default="", alias="MEDSPA_TRUSTED_PROXIES")
    # `allow`: documentId or free documents; `only`: user tokens and anonymous callers (the
    # first-party front-ends) may run only the manifest's documents, partners stay free.
    trusted_documents: Literal["allow", "only"] = Field(
        default="allow", alias="MEDSPA_TRUSTED_DOCUMENTS"
    )
    public_booking_rate_per_minute: int = Field(default=30, alias="MEDSPA_PUBLIC_RATE", ge=1)
    # Where the public booking page lives; a location's booking URL is this + "/" + its slug.
    public_booking_base_url: str = Field(
        default="http://localhost:5173/book", alias="MEDSPA_PUBLIC_BOOKING_URL"
    )
    # Where the medspa and provider front-end lives: invitation emails link there
    # (this + "/invitation/" + the token).
    app_base_url: str = Field(default="http://localhost:5173", alias="MEDSPA_APP_URL")

    # Under faults and heavy load (api/resilience.py, README "Operations").
    request_timeout_ms: int = Field(default=30_000, alias="MEDSPA_REQUEST_TIMEOUT_MS", ge=100)
    pool_timeout_s: float = Field(default=3.0, alias="MEDSPA_POOL_TIMEOUT_S", gt=0)
    caller_concurrency: int = Field(default=5, alias="MEDSPA_CALLER_CONCURRENCY", ge=1)
    heavy_cost: int = Field(default=5_000, alias="MEDSPA_HEAVY_COST", ge=1)
    heavy_concurrency: int = Field(default=1, alias="MEDSPA_HEAVY_CONCURRENCY", ge=1)
    db_connect_timeout_s: int = Field(default=3, alias="MEDSPA_DB_CONNECT_TIMEOUT_S", ge=2)
    idle_in_transaction_timeout_ms: int = Field(
        default=30_000, alias="MEDSPA_IDLE_IN_TRANSACTION_TIMEOUT_MS", ge=100
    )
    readiness_timeout_s: float = Field(default=0.8, alias="MEDSPA_READINESS_TIMEOUT_S", gt=0)
    shutdown_grace_s: float = Field(default=20.0, alias="MEDSPA_SHUTDOWN_GRACE_S", ge=0)
    db_wait_s: float = Field(default=60.0, alias="MEDSPA_DB_WAIT_S", ge=0)

    # The worker (api/events, README "Worker"). Email goes out over SMTP
    # (`smtp://[user:password@]host[:port]`, `smtps://` for TLS from the start; `make run`
    # points it at its development sink); unset: email is not configured and email messages
    # wait (retried) until it is. SMS goes to a development sink file (one JSON line each).
    smtp_url: str | None = Field(default=None, alias="MEDSPA_SMTP_URL")
    mail_from: str = Field(default="notifications@medspa.example", alias="MEDSPA_MAIL_FROM")
    sms_sink_path: Path = Field(
        default=PROJECT_ROOT / ".data" / "sms.jsonl", alias="MEDSPA_SMS_SINK_PATH"
    )
    worker_concurrency: int = Field(default=4, alias="MEDSPA_WORKER_CONCURRENCY", ge=1)
    # Webhook deliveries: one attempt's time limit and how much of an answer is read.
    webhook_timeout_s: float = Field(default=10.0, alias="MEDSPA_WEBHOOK_TIMEOUT_S", gt=0)
    webhook_max_response_bytes: int = Field(
        default=64 * 1024, alias="MEDSPA_WEBHOOK_MAX_RESPONSE_BYTES", ge=1
    )

    @property
    def webhook_loopback_allowed(self) -> bool:
        """Plain-http endpoints on loopback, for development and tests only."""
        return self.env != "prod"

    # Staff documents (headshot, photo ID, signature, licence): stored on the filesystem under
    # `documents_dir`, or in an S3-compatible bucket when MEDSPA_S3_BUCKET is set; uploaded and
    # served only through short-lived HMAC-signed URLs (api/http/staff_files.py).
    documents_dir: Path | None = Field(default=None, alias="MEDSPA_DOCUMENTS_DIR")
    document_signing_secret: str | None = Field(
        default=None, alias="MEDSPA_DOCUMENT_SIGNING_SECRET"
    )
    document_url_ttl_s: int = Field(default=300, alias="MEDSPA_DOCUMENT_URL_TTL_S", ge=10, le=3600)
    document_max_bytes: int = Field(
        default=10 * 1024 * 1024, alias="MEDSPA_DOCUMENT_MAX_BYTES", ge=1024, le=100 * 1024 * 1024
    )
    # Prepended to signed document URLs (e.g. https://api.example.com); empty: relative paths.
    public_api_base_url: str = Field(default="", alias="MEDSPA_PUBLIC_API_URL")
    s3_bucket: str | None = Field(default=None, alias="MEDSPA_S3_BUCKET")
    s3_prefix: str = Field(default="staff-documents/", alias="MEDSPA_S3_PREFIX")
    s3_endpoint_url: str | None = Field(default=None, alias="MEDSPA_S3_ENDPOINT_URL")
    s3_region: str | None = Field(default=None, alias="MEDSPA_S3_REGION")
    s3_access_key_id: str | None = Field(default=None, alias="MEDSPA_S3_ACCESS_KEY_ID")
    s3_secret_access_key: str | None = Field(default=None, alias="MEDSPA_S3_SECRET_ACCESS_KEY")

    @property
    def documents_path(self) -> Path:
        return self.documents_dir or self.data_dir / "documents"

    def document_signing_key(self) -> bytes:
        """The HMAC key of signed document URLs: its own secret, else one derived from the
        token secret (so a development setup needs nothing more)."""
        if self.document_signing_secret:
            return self.document_signing_secret.encode()
        if self.jwt_algorithm == "RS256" or (self.env == "prod" and not self.jwt_secret):
            raise RuntimeError("MEDSPA_DOCUMENT_SIGNING_SECRET is required to sign document URLs")
        return hashlib.sha256(b"staff-documents:" + self._hs_secret().encode()).digest()

    # Payments (api/payments): unset secret key -> the built-in processor (dev and tests).
    stripe_secret_key: str | None = Field(default=None, alias="MEDSPA_STRIPE_SECRET_KEY")
    stripe_account: str | None = Field(default=None, alias="MEDSPA_STRIPE_ACCOUNT")
    # The currency of checkouts (ISO 4217); amounts are integer minor units (cents).
    currency: str = Field(default="USD", alias="MEDSPA_CURRENCY", pattern=r"^[A-Z]{3}$")

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
