"""The audit trail (DESIGN §6.7): what is written, who reads it, how it is filtered."""

from __future__ import annotations

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Gql, Principals

EVENTS = """query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) { edges { node {
    action outcome actorUserId effectiveUserId masqueradeSessionId resourceType requestId } } } }"""


async def test_filters_by_actor_effective_user_action_and_outcome(
    gql: Gql, principals: Principals, demo: DemoIds
) -> None:
    token = await principals.masquerade()  # Dana as Nina: masquerade.start ALLOWED
    await gql("{ apiClients { edges { cursor } } }", bearer=token)  # DENIED, as Nina by Dana
    await gql("{ auditEvents { edges { cursor } } }", as_="omar@glow.example")  # DENIED

    dana = encode_global_id("User", demo.users["dana@glow.example"])
    nina = encode_global_id("User", demo.users["nina@glow.example"])

    async def events(**f: object) -> list[dict]:
        answer = await gql(EVENTS, {"f": f}, as_="dana@glow.example")
        assert answer.errors == [], answer.body
        return [e["node"] for e in answer.data["auditEvents"]["edges"]]

    by_actor = await events(actorUserId=dana)
    assert {e["action"] for e in by_actor} >= {"masquerade.start", "api_client.manage"}
    as_nina = await events(effectiveUserId=nina)
    assert [(e["action"], e["outcome"]) for e in as_nina] == [("api_client.manage", "DENIED")]
    assert as_nina[0]["actorUserId"] == dana
    assert as_nina[0]["masqueradeSessionId"] is not None
    denied = await events(outcome="DENIED")
    assert {e["action"] for e in denied} == {"api_client.manage", "audit_event.read"}
    started = await events(action="masquerade.start")
    assert [e["outcome"] for e in started] == ["ALLOWED"]
    future = await events(occurredFrom="2999-01-01T00:00:00+00:00")
    assert future == []


async def test_newest_first_and_paginated(gql: Gql) -> None:
    for _ in range(3):
        await gql("{ auditEvents { edges { cursor } } }", as_="nina@glow.example")
    first = await gql(
        "{ auditEvents(first: 2) { edges { node { requestId } }"
        " pageInfo { hasNextPage endCursor } } }",
        as_="dana@glow.example",
    )
    page = first.data["auditEvents"]
    assert len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        "query($a: String) { auditEvents(first: 10, after: $a) { edges { node { requestId } } } }",
        {"a": page["pageInfo"]["endCursor"]},
        as_="dana@glow.example",
    )
    ids = [e["node"]["requestId"] for e in page["edges"] + rest.data["auditEvents"]["edges"]]
    assert len(ids) == 3 and len(set(ids)) == 3
