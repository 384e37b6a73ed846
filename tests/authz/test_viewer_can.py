"""`viewer.can`: allowed or not, with the matching rule or the reason none matched."""

from __future__ import annotations

import pytest

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Gql, Principals

CAN = """query($a: Action!, $r: ID) { viewer { can(action: $a, resourceId: $r) {
    allowed scope reason } } }"""


async def _can(gql: Gql, action: str, resource: str | None = None, **who: str) -> dict:
    answer = await gql(CAN, {"a": action, "r": resource}, **who)
    assert answer.errors == [], answer.body
    return answer.data["viewer"]["can"]


async def test_allowed_with_the_matching_rule(gql: Gql) -> None:
    decision = await _can(gql, "APPOINTMENT_READ", as_="nina@glow.example")
    assert decision["allowed"] is True
    assert decision["scope"] == "OWN"
    assert "p, provider, *, appointment, read, OWN, allow" in decision["reason"]


async def test_denied_with_the_reason(gql: Gql) -> None:
    decision = await _can(gql, "APPOINTMENT_TYPE_MANAGE", as_="nina@glow.example")
    assert decision == {
        "allowed": False,
        "scope": None,
        "reason": decision["reason"],
    }
    assert "no rule grants provider appointment_type.manage" in decision["reason"]


# DESIGN §5: while masquerading, starting another masquerade, managing API clients, changing
# the provider's identity/credentials/license and signing are refused, each of them, even
# where the provider (or the actor) holds the action.
@pytest.mark.parametrize(
    ("action", "holder"),
    [
        ("MASQUERADE_START", "dana@glow.example"),
        ("API_CLIENT_MANAGE", "dana@glow.example"),
        ("PROVIDER_UPDATE_IDENTITY", "nina@glow.example"),
        ("GFE_SELF_CLEAR", "nina@glow.example"),
    ],
)
async def test_masquerade_reason(
    gql: Gql, principals: Principals, demo: DemoIds, action: str, holder: str
) -> None:
    nina = encode_global_id("Provider", demo.providers["nina@glow.example"])
    resource = nina if action == "PROVIDER_UPDATE_IDENTITY" else None
    held = await _can(gql, action, resource, as_=holder)
    assert held["allowed"] is True, held  # the refusal below is the masquerade's, not policy's
    token = await principals.masquerade()
    refused = await _can(gql, action, resource, bearer=token)
    assert refused == {"allowed": False, "scope": None, "reason": "MASQUERADE_FORBIDDEN"}


async def test_object_level_answer_follows_scope(gql: Gql, demo: DemoIds) -> None:
    own = encode_global_id("Location", demo.locations["glow-downtown"])
    foreign = encode_global_id("Location", demo.locations["radiance-santa-monica"])
    assert (await _can(gql, "LOCATION_MANAGE", own, as_="dana@glow.example"))["allowed"] is True
    outside = await _can(gql, "LOCATION_MANAGE", foreign, as_="dana@glow.example")
    assert outside["allowed"] is False
    assert "not within TENANT scope" in outside["reason"]
    provider = encode_global_id("Provider", demo.providers["nina@glow.example"])
    other = encode_global_id("Provider", demo.providers["omar@glow.example"])
    assert (await _can(gql, "PROVIDER_UPDATE_IDENTITY", provider, as_="nina@glow.example"))[
        "allowed"
    ]
    assert not (await _can(gql, "PROVIDER_UPDATE_IDENTITY", other, as_="nina@glow.example"))[
        "allowed"
    ]
