"""Masquerade rules (DESIGN §4, §5): what an admin acting as a provider may never do.

While masquerading the principal *is* the provider; these actions are removed from its
permission set with the reason `MASQUERADE_FORBIDDEN`, so every check refuses them the same way.
"""

from __future__ import annotations

from datetime import timedelta

from api.authz.actions import Action

MASQUERADE_FORBIDDEN: frozenset[Action] = frozenset(
    {
        Action.MASQUERADE_START,  # no nesting
        Action.API_CLIENT_MANAGE,
        Action.PROVIDER_UPDATE_IDENTITY,  # identity, credentials, license
        Action.GFE_SELF_CLEAR,  # signing
        Action.STAFF_DOCUMENT_MANAGE,  # the provider's photo ID, signature and licence
        Action.CHECKOUT_REFUND,  # money back out (refunds and voids), issue 18
        Action.PAYMENT_METHOD_MANAGE,  # a patient's cards on file, issue 18
    }
)

MASQUERADE_FORBIDDEN_REASON = "MASQUERADE_FORBIDDEN"

HARD_CAP = timedelta(hours=8)


def masquerade_duration(minutes: int | None, *, default_minutes: int) -> timedelta:
    """The session length asked for, defaulted and checked against the 8-hour cap."""
    if minutes is None:
        minutes = default_minutes
    if minutes < 1:
        raise ValueError("minutes must be at least 1")
    duration = timedelta(minutes=minutes)
    if duration > HARD_CAP:
        raise ValueError("a masquerade session lasts at most 8 hours")
    return duration
