"""Per-caller budgets and rate limits, shared across processes (DESIGN §6.10).

A caller (an API client, a user, or an anonymous client address) has a budget of cost points
per minute, refilled continuously: the `limits` library's sliding-window counter, kept in
process memory (`memory://`, one process) or in Redis (`MEDSPA_RATE_LIMIT_URL=redis://...`),
where every server process spends from the same counters. The public booking page's attempt
limit is one more policy on the same store.

The client address of an anonymous caller is the connection's peer, or, when that peer is a
configured trusted proxy, the nearest untrusted address in `X-Forwarded-For`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from api.authz.principal import PrincipalKind
from api.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from api.authz.principal import Principal

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Caller:
    """Who pays: `kind` is USER, API_CLIENT or ANONYMOUS; `id` never holds a token."""

    kind: str
    id: str

    @classmethod
    def of(cls, principal: Principal, *, address: str) -> Caller:
        if principal.kind is PrincipalKind.API_CLIENT and principal.api_client_id:
            return cls("API_CLIENT", str(principal.api_client_id))
        user = principal.actor_user_id or principal.user_id
        if principal.kind is PrincipalKind.USER and user:
            return cls("USER", str(user))
        return cls("ANONYMOUS", address)


@dataclass(frozen=True, slots=True)
class Spend:
    """The outcome of charging a request: allowed or not, and the budget after it."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int = 60

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers)."""
        fields = {
            "RateLimit-Policy": f'"cost";q={self.limit};w={self.window_seconds}',
            "RateLimit": f'"cost";r={self.remaining};t={self.reset_seconds}',
        }
        if not self.allowed:
            fields["Retry-After"] = str(max(1, self.reset_seconds))
        return fields


def storage_url(url: str) -> str:
    """The `limits` async storage URL for a setting such as `redis://host:6379/0`."""
    if url.startswith(("redis://", "rediss://")):
        return "async+" + url
    if url == "memory://":
        return "async+memory://"
    return url


class Budgets:
    """The per-caller cost budgets and the booking attempt limit, on one store."""

    def __init__(self, settings: Settings) -> None:
        url = storage_url(settings.rate_limit_url)
        options = {"implementation": "redispy"} if "redis" in url else {}
        storage = storage_from_string(url, **options)
        assert isinstance(storage, Storage)
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        # Booking attempts are few and counted one by one: an exact moving window.
        self.attempts = MovingWindowRateLimiter(storage)
        self.user_budget = RateLimitItemPerMinute(settings.budget_per_minute, namespace="cost")
        self.anonymous_budget = RateLimitItemPerMinute(
            settings.anonymous_budget_per_minute, namespace="cost"
        )
        self.booking_rate = settings.public_booking_rate_per_minute

    async def spend(self, caller: Caller, cost: int) -> Spend:
        """Charge `cost` points to `caller`; refused (nothing spent) when it does not fit."""
        item = self.anonymous_budget if caller.kind == "ANONYMOUS" else self.user_budget
        try:
            allowed = await self.limiter.hit(item, caller.kind, caller.id, cost=max(cost, 1))
            stats = await self.limiter.get_window_stats(item, caller.kind, caller.id)
        except Exception:
            # A shared store that is down must not take the API down with it.
            log.exception("rate limit store unavailable; request allowed")
            return Spend(True, item.amount, item.amount, 0)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Spend(allowed, item.amount, max(0, stats.remaining), reset)

    async def allow_booking(self, address: str) -> bool:
        """One public booking attempt from `address`, at most `MEDSPA_PUBLIC_RATE` a minute."""
        item = RateLimitItemPerMinute(self.booking_rate, namespace="booking")
        try:
            return await self.attempts.hit(item, address)
        except Exception:
            log.exception("rate limit store unavailable; booking attempt allowed")
            return True


def trusted_networks(setting: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    )


def client_address(
    peer: str | None, headers: Mapping[str, str], *, trusted: tuple[Network, ...]
) -> str:
    """The caller's address: `X-Forwarded-For` is honoured only behind a trusted proxy."""
    address = peer or "unknown"
    if not trusted or not _is_trusted(address, trusted):
        return address
    hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # a forged or garbled entry: fall back to the proxy itself
        address = hop
    return address


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
