"""Relay global ids: base64("<TypeName>:<uuid>"), opaque to clients."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import strawberry


def encode_global_id(type_name: str, id_: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{id_}".encode()).decode())


def decode_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """(type name, uuid), or None for anything malformed."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def decode_id_of(global_id: str, type_name: str) -> uuid.UUID | None:
    decoded = decode_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]


def decode_ids_of(global_ids: list[strawberry.ID] | None, type_name: str) -> list[Any] | None:
    """Each id as `decode_id_of` decodes it; None (the argument left out) stays None."""
    return None if global_ids is None else [decode_id_of(i, type_name) for i in global_ids]
