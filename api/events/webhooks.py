"""Delivering one webhook: a safe target, a Standard Webhooks signature, a bounded answer.

Target safety (no SSRF): the URL must be `https://` (plain `http://` only to a loopback
address outside production); its host is resolved once and every address must be public
(`is_global`; loopback only where plain http is allowed). The request then connects to that
checked address itself (the TLS name is still the host's), and the address the connection
actually reached is checked again. No redirects are followed; an attempt has a time limit
and reads at most `MEDSPA_WEBHOOK_MAX_RESPONSE_BYTES` of the answer.

Retries: after a failed attempt the job is deferred again after 5 s, 5 min, 30 min, 2 h, 5 h,
then every 8 h, until the delivery is a day old: then it is FAILED. An unsafe target fails
at once. A paused endpoint's deliveries wait (retried on the same schedule).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from api.settings import Settings
from db.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEvent
from db.session import set_tenant_settings

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (5, 300, 1800, 7200, 18000, 28800)
GIVE_UP_AFTER = timedelta(days=1)
MAX_URL_LENGTH = 2048

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """The endpoint's URL or address is not one the platform will call."""


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str, *, loopback_allowed: bool) -> str | None:
    """Why `url` cannot be an endpoint, or None. (Addresses are checked at each delivery.)"""
    if len(url) > MAX_URL_LENGTH:
        return f"The URL must be at most {MAX_URL_LENGTH} characters."
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return "The URL must be an absolute https:// URL."
    if parts.username or parts.password:
        return "The URL must not carry credentials."
    if parts.scheme == "http":
        if not loopback_allowed:
            return "The URL must use https://."
        if not _is_loopback_name(parts.hostname):
            return "Plain http:// is allowed only to a loopback address in development."
    return None


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed(address: IpAddress, *, scheme: str, loopback_allowed: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return loopback_allowed
    if scheme != "https":
        return False
    return address.is_global and not address.is_multicast


async def resolve(url: str, *, loopback_allowed: bool) -> IpAddress:
    """The checked address to connect to, or UnsafeTarget."""
    problem = check_url(url, loopback_allowed=loopback_allowed)
    if problem:
        raise UnsafeTarget(problem)
    parts = urlsplit(url)
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve the host: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeTarget("the host has no address")
    for address in addresses:
        if not _allowed(address, scheme=parts.scheme, loopback_allowed=loopback_allowed):
            raise UnsafeTarget(f"the host resolves to a refused address ({address})")
    return addresses[0]


@dataclass(frozen=True)
class Attempt:
    status: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def sign(secret: str, *, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one message."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


async def post(url: str, *, headers: dict[str, str], body: str, settings: Settings) -> Attempt:
    """One signed POST to a checked address (UnsafeTarget when it is not safe)."""
    loopback = settings.webhook_loopback_allowed
    address = await resolve(url, loopback_allowed=loopback)
    parts = urlsplit(url)
    assert parts.hostname is not None
    host_in_url = f"[{address}]" if address.version == 6 else str(address)
    pinned = parts._replace(netloc=f"{host_in_url}:{parts.port}" if parts.port else host_in_url)
    started = time.monotonic()
    try:
        async with (
            httpx.AsyncClient(
                timeout=settings.webhook_timeout_s, follow_redirects=False, trust_env=False
            ) as client,
            client.stream(
                "POST",
                pinned.geturl(),
                content=body.encode(),
                headers={
                    **headers,
                    "content-type": "application/json",
                    "host": parts.netloc,
                    "user-agent": "medspa-api-webhooks",
                },
                extensions={"sni_hostname": parts.hostname},
            ) as response,
        ):
            stream: Any = response.extensions.get("network_stream")
            peer = stream.get_extra_info("server_addr") if stream is not None else None
            if peer is not None and not _allowed(
                ipaddress.ip_address(peer[0]), scheme=parts.scheme, loopback_allowed=loopback
            ):
                raise UnsafeTarget(f"connected to a refused address ({peer[0]})")
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= settings.webhook_max_response_bytes:
                    break  # the answer's body is not needed: its status is
            return Attempt(response.status_code, _ms(started), None)
    except httpx.HTTPError as exc:
        return Attempt(None, _ms(started), f"{type(exc).__name__}: {exc}"[:500])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def retry_delay(attempts: int) -> int:
    return RETRY_DELAYS_S[min(attempts - 1, len(RETRY_DELAYS_S) - 1)]


async def deliver(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, delivery_id: uuid.UUID
) -> int | None:
    """Attempt one delivery; the seconds until the next attempt, or None when done."""
    async with sessions() as session, session.begin():
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        found = (
            await session.execute(
                select(WebhookDelivery, WebhookEndpoint, WebhookEvent)
                .join(
                    WebhookEndpoint,
                    (WebhookEndpoint.medspa_id == WebhookDelivery.medspa_id)
                    & (WebhookEndpoint.id == WebhookDelivery.endpoint_id),
                )
                .join(
                    WebhookEvent,
                    (WebhookEvent.medspa_id == WebhookDelivery.medspa_id)
                    & (WebhookEvent.id == WebhookDelivery.event_id),
                )
                .where(WebhookDelivery.id == delivery_id)
                .with_for_update(of=WebhookDelivery)
            )
        ).first()
        if found is None:
            return None
        delivery, endpoint, event = found
        if delivery.status is not WebhookDeliveryStatus.PENDING:
            return None
        now = datetime.now(UTC)
        expired = now - delivery.created_at >= GIVE_UP_AFTER
        if not endpoint.active:
            if expired:
                delivery.status = WebhookDeliveryStatus.FAILED
                delivery.last_error = "endpoint paused for a day"
                return None
            delivery.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS_S[-1])
            return RETRY_DELAYS_S[-1]
        body = json.dumps(event.payload, separators=(",", ":"))
        headers = sign(endpoint.secret, message_id=f"msg_{event.id.hex}", body=body, at=now)
        try:
            attempt = await post(endpoint.url, headers=headers, body=body, settings=settings)
        except UnsafeTarget as exc:
            attempt = Attempt(None, 0, f"refused target: {exc}"[:500])
            expired = True  # never retried: the address is the problem
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_status = attempt.status
        delivery.latency_ms = attempt.latency_ms
        delivery.last_error = attempt.error or (
            None if attempt.ok else f"answered {attempt.status}"
        )
        if attempt.ok:
            delivery.status = WebhookDeliveryStatus.SUCCEEDED
            delivery.next_attempt_at = None
            return None
        if expired:
            delivery.status = WebhookDeliveryStatus.FAILED
            delivery.next_attempt_at = None
            return None
        delay = retry_delay(delivery.attempts)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        return delay
