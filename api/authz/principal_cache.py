"""The principal of a known token, kept per process so a request authenticates without SQL.

Building a principal reads the caller's identity rows (user, staff role or memberships,
medspas, provider profile, masquerade session, API client): four to six statements before
the request's own work. A token presented again within `TTL` gets the same principal back
(with its own request id), and only the transaction's row-level-security settings are sent.

An entry ends at the first of:
- the token's own expiry (`exp`), or `TTL_SECONDS` after it was built: the bound on how long
  another process may honour a principal that a change made stale;
- any write to the identity tables through any engine of this process, at once (a request
  that revokes a key must not see it honoured by the next one);
- a NOTIFY `identity` on the policy channel, which `PolicyWatcher` answers by clearing: the
  transaction that wrote identity rows sends it just before its commit (from the application,
  not a trigger: Citus refuses triggers on distributed tables, see tests/scale), so every other
  process forgets its principals when the change becomes visible, and a rollback announces
  nothing. (A write made outside this application is still bounded by `TTL_SECONDS`.)
- a policy reload (the permission set is part of the principal): the policy's version is
  part of the key.

Not cached: PCC staff (their reach follows coverage windows in time) and failures (a bad
token costs its full check every time).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
import weakref
from collections import OrderedDict
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from api.authz.principal import Principal

# How long a principal is trusted without hearing of a change; and how many are kept.
TTL_SECONDS = 10.0
MAX_ENTRIES = 10_000

# The notification every process's PolicyWatcher answers by clearing its principals (sent on
# the policy channel, `api.authz.policy_store.CHANNEL`).
IDENTITY_NOTICE = "identity"

# Tables a principal is built from.
IDENTITY_TABLES = (
    "app_user",
    "membership",
    "staff_member",
    "medspa",
    "provider",
    "masquerade_session",
    "api_client",
    "pcc",
    "pcc_assignment",
)
_IDENTITY_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:public\.)?\"?("
    + "|".join(IDENTITY_TABLES)
    + r")\b",
    re.IGNORECASE,
)
# An API client's `last_used_at` is written on every authentication; it changes nothing.
# (The bound value carries a cast with spaces: "%(last_used_at)s::TIMESTAMP WITH TIME ZONE".)
_LAST_USED_ONLY = re.compile(r"^\s*UPDATE\s+api_client\s+SET\s+last_used_at=[^,]+?\s+WHERE\s", re.I)

CacheKey = tuple[str, str | None, str | None, int]


class PrincipalCache:
    """Principals by (token digest, X-Medspa-Id, X-Dashboard, policy version); bounded,
    least recently used first."""

    def __init__(self, *, ttl_seconds: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, tuple[Principal, float]] = OrderedDict()
        _CACHES.add(self)

    @staticmethod
    def key(
        bearer: str, medspa: str | None, dashboard: str | None, *, policy_version: int
    ) -> CacheKey:
        # The digest, not the token: the cache holds no usable credential.
        return (hashlib.sha256(bearer.encode()).hexdigest(), medspa, dashboard, policy_version)

    def get(self, key: CacheKey, *, request_id: str) -> Principal | None:
        found = self._entries.get(key)
        if found is None:
            return None
        principal, expires = found
        if time.monotonic() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return dataclasses.replace(principal, request_id=request_id)

    def put(self, key: CacheKey, principal: Principal, *, token_expiry: float | None) -> None:
        """Keep `principal` until `token_expiry` (a Unix time) or the TTL, whichever first."""
        if principal.pcc_id is not None:
            return  # a PCC's reach moves with coverage windows: built every time
        now_wall, now = time.time(), time.monotonic()
        lifetime = self.ttl_seconds
        if token_expiry is not None:
            lifetime = min(lifetime, token_expiry - now_wall)
        if lifetime <= 0:
            return
        self._entries[key] = (principal, now + lifetime)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_CACHES: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


def clear_all() -> None:
    """Forget every principal of this process (identity data or policy changed)."""
    for cache in _CACHES:
        cache.clear()


@event.listens_for(Engine, "before_cursor_execute")
def _identity_written(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    # Every engine of the process, the owner's included: the next request must not be
    # answered with a principal this write made stale.
    if _IDENTITY_WRITE.match(statement) and not _LAST_USED_ONLY.match(statement):
        clear_all()


@event.listens_for(Engine, "commit")
def _committed(conn: Any) -> None:
    # Runs just before the commit itself: the NOTIFY is part of the writing transaction and
    # reaches the other processes when its rows become visible. A request that authenticated
    # between the write and its commit may have cached the old state: forget again here too.
    if conn.info.pop("identity_written", False):
        _announce(conn)
        clear_all()


def _announce(conn: Any) -> None:
    from api.authz.policy_store import CHANNEL  # policy_store imports this module

    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, IDENTITY_NOTICE))
    finally:
        cursor.close()


@event.listens_for(Engine, "after_cursor_execute")
def _mark_identity_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if _IDENTITY_WRITE.match(statement) and not _LAST_USED_ONLY.match(statement):
        conn.info["identity_written"] = True
