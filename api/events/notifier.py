"""Channels behind one protocol: a `Notifier` sends one rendered `Message`.

`SmtpNotifier` sends email over SMTP (`MEDSPA_SMTP_URL`); `SmsDevSink` appends SMS messages to
a file (one JSON line each), the development stand-in for an SMS provider. Each message
carries its outbox row id (`Message-ID` for email) so a receiver can drop a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from db.models import NotificationChannel


@dataclass(frozen=True)
class Message:
    channel: NotificationChannel
    to: str
    subject: str
    body: str
    key: str  # the outbox row id: one message per row


class NotConfigured(Exception):
    """The channel has no transport configured (e.g. no MEDSPA_SMTP_URL)."""


class Notifier(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver `message` or raise (the job is then retried with backoff)."""


class SmtpNotifier:
    """Email over SMTP. The blocking client runs in a thread; one connection per message."""

    def __init__(self, url: str | None, *, sender: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.sender = sender
        self.timeout_s = timeout_s

    async def send(self, message: Message) -> None:
        if not self.url:
            raise NotConfigured("MEDSPA_SMTP_URL is not set")
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.key}@medspa-api>"
        email.set_content(message.body)
        await asyncio.to_thread(self._send, email)

    def _send(self, email: EmailMessage) -> None:
        assert self.url is not None
        parts = urlsplit(self.url)
        if parts.scheme not in {"smtp", "smtps"}:
            raise NotConfigured("MEDSPA_SMTP_URL must start with smtp:// or smtps://")
        host = parts.hostname or "localhost"
        klass = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        with klass(host, port, timeout=self.timeout_s) as smtp:
            if parts.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls()
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(email)


class SmsDevSink:
    """SMS in development: one JSON line per message in a file (README "Worker")."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, message: Message) -> None:
        line = json.dumps({"to": message.to, "body": message.body, "key": message.key})
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")


class Channels:
    """The notifier of each channel."""

    def __init__(self, *, email: Notifier, sms: Notifier) -> None:
        self.by_channel: dict[NotificationChannel, Notifier] = {
            NotificationChannel.EMAIL: email,
            NotificationChannel.SMS: sms,
        }

    async def send(self, message: Message) -> None:
        await self.by_channel[message.channel].send(message)
