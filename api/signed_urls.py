"""Short-lived signed URLs for staff documents: HMAC-SHA256 over a small JSON claim set with
an expiry and a purpose (`get` to read, `put` to upload), verified by the routes of
api/http/staff_files.py. A URL is the credential, so it lives minutes, names one object, and
a download URL can never be used to upload (or the reverse)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

Purpose = Literal["get", "put"]
DOWNLOAD_PATH = "/staff-documents/"
UPLOAD_PATH = "/staff-documents/upload/"
MAX_TOKEN_LENGTH = 1024


class InvalidSignature(ValueError):
    """Malformed, tampered with, signed for another purpose, or expired."""


@dataclass(frozen=True)
class Claims:
    purpose: Purpose
    key: str
    content_type: str
    expires_at: int
    # Uploads only: the document row and its medspa, and the most bytes accepted.
    document_id: str | None = None
    medspa_id: str | None = None
    max_bytes: int | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: Claims, *, key: bytes) -> str:
    body = {
        "p": claims.purpose,
        "k": claims.key,
        "t": claims.content_type,
        "e": claims.expires_at,
        "d": claims.document_id,
        "m": claims.medspa_id,
        "n": claims.max_bytes,
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(token: str, *, key: bytes, purpose: Purpose, now: float | None = None) -> Claims:
    """The claims of a valid, unexpired token signed for `purpose`, or InvalidSignature."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise InvalidSignature("malformed")
    payload, mac = token.split(".")
    # Compared as text, in its one canonical encoding: base64 leaves spare bits in the last
    # character, and decoding would accept several spellings of one signature.
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        raise InvalidSignature("bad signature")
    try:
        body: dict[str, Any] = json.loads(_unb64(payload))
        claims = Claims(
            purpose=body["p"],
            key=body["k"],
            content_type=body["t"],
            expires_at=int(body["e"]),
            document_id=body.get("d"),
            medspa_id=body.get("m"),
            max_bytes=body.get("n"),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidSignature("malformed") from None
    if claims.purpose != purpose:
        raise InvalidSignature("wrong purpose")
    if claims.expires_at <= (time.time() if now is None else now):
        raise InvalidSignature("expired")
    return claims


def url_for(token: str, *, purpose: Purpose, base: str = "") -> str:
    return base.rstrip("/") + (DOWNLOAD_PATH if purpose == "get" else UPLOAD_PATH) + token
