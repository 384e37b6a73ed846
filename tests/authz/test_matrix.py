"""The role x tenant matrix through GraphQL for every field and mutation of the core.

Each caller (every demo role, a masquerade session, a partner key, no token) tries each
operation against its own medspa (Glow) and the other (Radiance). On a denial the test
checks that nothing changed and that the denial left an audit row with the request's id.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Answer, Audit, Gql, Principals

OK = "ok"
DENIALS = {"FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED", "MASQUERADE_FORBIDDEN"}


async def _ask(
    gql: Gql, principals: Principals, who: str, query: str, variables: dict[str, Any]
) -> Answer:
    return await gql(query, variables, bearer=await principals.bearer(who))


async def _assert_denied_and_audited(answer: Answer, expected: str, audit: Audit) -> None:
    assert answer.codes == [expected], answer.body
    request_id = answer.errors[0]["extensions"]["requestId"]
    rows = await audit.rows(request_id=request_id)
    assert rows, "a denial must leave an audit row"
    assert {r["outcome"] for r in rows} == {"DENIED"}


async def _count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


# --- queries --------------------------------------------------------------------------------

AUDIT_EVENTS = "{ auditEvents(first: 100) { edges { node { action medspaId } } } }"
API_CLIENTS = "{ apiClients { edges { node { name } } } }"
MASQUERADES = "{ masqueradeSessions { edges { node { reason provider { displayName } } } } }"

AUDIT_EXPECT = {
    "ops@portrait.example": OK,
    "dana@glow.example": OK,
    "ruth@radiance.example": OK,
    "lena@legacy.example": OK,
    "masquerade": "FORBIDDEN",
    "anonymous": "UNAUTHENTICATED",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_audit_events(
    gql: Gql, principals: Principals, audit: Audit, who: str, demo: DemoIds
) -> None:
    # Leave one event in Glow and one in Radiance.
    await gql(API_CLIENTS, as_="nina@glow.example")
    await gql(API_CLIENTS, as_="lee@radiance.example")
    answer = await _ask(gql, principals, who, AUDIT_EVENTS, {})
    expected = AUDIT_EXPECT.get(who, "FORBIDDEN")
    if expected != OK:
        await _assert_denied_and_audited(answer, expected, audit)
        return
    medspas = {e["node"]["medspaId"] for e in answer.data["auditEvents"]["edges"]}
    glow = encode_global_id("Medspa", demo.medspas["glow"])
    radiance = encode_global_id("Medspa", demo.medspas["radiance"])
    if who == "ops@portrait.example":
        assert {glow, radiance} <= medspas
    elif who == "dana@glow.example":
        assert medspas == {glow}
    elif who == "ruth@radiance.example":
        assert medspas == {radiance}
    else:
        assert glow not in medspas and radiance not in medspas


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_api_clients(gql: Gql, principals: Principals, audit: Audit, who: str) -> None:
    await principals.api_key()  # a Glow client exists
    await principals.api_key(admin="ruth@radiance.example", scopes=("CATALOG_READ",))
    answer = await _ask(gql, principals, who, API_CLIENTS, {})
    admins = {"dana@glow.example", "ruth@radiance.example", "lena@legacy.example"}
    if who in admins:
        names = [e["node"]["name"] for e in answer.data["apiClients"]["edges"]]
        assert len(names) == (0 if who == "lena@legacy.example" else 1)
        return
    expected = {
        "anonymous": "UNAUTHENTICATED",
        "masquerade": "MASQUERADE_FORBIDDEN",
    }.get(who, "FORBIDDEN")
    await _assert_denied_and_audited(answer, expected, audit)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_masquerade_sessions(
    gql: Gql, principals: Principals, audit: Audit, who: str
) -> None:
    await principals.masquerade()  # Dana as Nina, in Glow
    answer = await _ask(gql, principals, who, MASQUERADES, {})
    visible = {
        "ops@portrait.example": 1,
        "dana@glow.example": 1,
        "nina@glow.example": 1,  # the session targets her
        "masquerade": 1,  # the session itself is Nina
        "omar@glow.example": 0,
        "ruth@radiance.example": 0,
        "lee@radiance.example": 0,
        "lena@legacy.example": 0,
        "kim@legacy.example": 0,
    }
    if who in visible:
        assert answer.errors == [], answer.body
        assert len(answer.data["masqueradeSessions"]["edges"]) == visible[who]
        return
    expected = "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"
    await _assert_denied_and_audited(answer, expected, audit)


NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_nodes(gql: Gql, principals: Principals, demo: DemoIds, who: str) -> None:
    ids = [
        encode_global_id("Location", demo.locations["glow-downtown"]),
        encode_global_id("Location", demo.locations["radiance-santa-monica"]),
        encode_global_id("Provider", demo.providers["nina@glow.example"]),
    ]
    answer = await _ask(gql, principals, who, NODES, {"ids": ids})
    assert answer.errors == [], answer.body
    seen = [n is not None for n in answer.data["nodes"]]
    glow = {
        "dana@glow.example",
        "nina@glow.example",
        "omar@glow.example",
        "masquerade",
        "api_key",
        "vera@portrait.example",
    }
    if who == "ops@portrait.example":
        expected = [True, True, True]
    elif who == "maria@portrait.example":
        expected = [False, False, True]  # provider.read ANY, no location.read
    elif who in glow:
        expected = [True, False, True]
    elif who in {"ruth@radiance.example", "lee@radiance.example", "dean@portrait.example"}:
        expected = [False, True, False]
    else:  # anonymous visitors reach public rows only through a booking slug
        expected = [False, False, False]
    assert seen == expected


# --- mutations ------------------------------------------------------------------------------

START = """mutation($p: ID!) { startMasquerade(providerId: $p, reason: "checking a chart") {
    session { id provider { displayName } } token errors { code } } }"""


@pytest.mark.parametrize("target", ["nina@glow.example", "lee@radiance.example"])
@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_start_masquerade(
    gql: Gql,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    demo: DemoIds,
    who: str,
    target: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await _count(owner_engine, "SELECT count(*) FROM masquerade_session")
    answer = await gql(
        START, {"p": encode_global_id("Provider", demo.providers[target])}, bearer=bearer
    )
    allowed = {
        ("dana@glow.example", "nina@glow.example"),
        ("ops@portrait.example", "nina@glow.example"),
        ("ops@portrait.example", "lee@radiance.example"),
        ("ruth@radiance.example", "lee@radiance.example"),
    }
    if (who, target) in allowed:
        payload = answer.data["startMasquerade"]
        assert payload["errors"] == []
        assert payload["token"]
        assert await _count(owner_engine, "SELECT count(*) FROM masquerade_session") == before + 1
        return
    if who == "anonymous":
        expected = "UNAUTHENTICATED"
    elif who == "masquerade":
        expected = "MASQUERADE_FORBIDDEN"
    elif who in {"dana@glow.example", "ruth@radiance.example", "lena@legacy.example"}:
        expected = "NOT_FOUND"  # an admin, but the provider is in another tenant
    else:
        expected = "FORBIDDEN"
    await _assert_denied_and_audited(answer, expected, audit)
    assert await _count(owner_engine, "SELECT count(*) FROM masquerade_session") == before


CREATE = """mutation { createApiClient(name: "website", scopes: [CATALOG_READ]) {
    client { name scopes } key errors { code } } }"""


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_create_api_client(
    gql: Gql, principals: Principals, audit: Audit, owner_engine: AsyncEngine, who: str
) -> None:
    bearer = await principals.bearer(who)
    before = await _count(owner_engine, "SELECT count(*) FROM api_client")
    answer = await gql(CREATE, bearer=bearer)
    if who in {"dana@glow.example", "ruth@radiance.example", "lena@legacy.example"}:
        payload = answer.data["createApiClient"]
        assert payload["errors"] == []
        assert payload["key"].startswith("msk_")
        assert await _count(owner_engine, "SELECT count(*) FROM api_client") == before + 1
        return
    expected = {"anonymous": "UNAUTHENTICATED", "masquerade": "MASQUERADE_FORBIDDEN"}.get(
        who, "FORBIDDEN"
    )
    await _assert_denied_and_audited(answer, expected, audit)
    assert await _count(owner_engine, "SELECT count(*) FROM api_client") == before


REVOKE = "mutation($id: ID!) { revokeApiClient(id: $id) { client { revokedAt } errors { code } } }"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_revoke_glow_api_client(
    gql: Gql, principals: Principals, audit: Audit, owner_engine: AsyncEngine, who: str
) -> None:
    created = await gql(
        'mutation { createApiClient(name: "to revoke", scopes: [CATALOG_READ]) { client { id } } }',
        as_="dana@glow.example",
    )
    client_id = created.data["createApiClient"]["client"]["id"]
    bearer = await principals.bearer(who)
    answer = await gql(REVOKE, {"id": client_id}, bearer=bearer)
    revoked = await _count(
        owner_engine,
        "SELECT count(*) FROM api_client WHERE name = 'to revoke' AND revoked_at IS NOT NULL",
    )
    if who == "dana@glow.example":
        assert answer.data["revokeApiClient"]["client"]["revokedAt"]
        assert revoked == 1
        return
    expected = {
        "anonymous": "UNAUTHENTICATED",
        "masquerade": "MASQUERADE_FORBIDDEN",
        "ruth@radiance.example": "NOT_FOUND",  # an admin, of another tenant
        "lena@legacy.example": "NOT_FOUND",
    }.get(who, "FORBIDDEN")
    await _assert_denied_and_audited(answer, expected, audit)
    assert revoked == 0


END = "mutation($id: ID) { endMasquerade(sessionId: $id) { session { endedAt } errors { code } } }"


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_end_someone_elses_masquerade(
    gql: Gql, principals: Principals, audit: Audit, owner_engine: AsyncEngine, who: str
) -> None:
    started = await gql(
        START,
        {"p": encode_global_id("Provider", principals.demo.providers["omar@glow.example"])},
        as_="dana@glow.example",
    )
    session_id = started.data["startMasquerade"]["session"]["id"]
    answer = await gql(END, {"id": session_id}, bearer=await principals.bearer(who))
    ended = await _count(
        owner_engine, "SELECT count(*) FROM masquerade_session WHERE ended_at IS NOT NULL"
    )
    if who == "dana@glow.example":  # the actor who started it
        assert answer.data["endMasquerade"]["session"]["endedAt"]
        assert ended == 1
        return
    expected = {"anonymous": "UNAUTHENTICATED", "api_key": "FORBIDDEN"}.get(who, "NOT_FOUND")
    assert answer.codes == [expected]
    assert ended == 0
    rows = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert [r["outcome"] for r in rows] == ["DENIED"]


def test_every_root_field_is_in_a_role_matrix() -> None:
    """A root field no matrix module exercises fails here: every field and mutation is
    tried by every kind of caller somewhere (a module that runs over ALL_CALLERS)."""
    import re
    from pathlib import Path

    from strawberry.types.base import get_object_definition

    from api.schema.schema import Mutation, Query

    tests_dir = Path(__file__).resolve().parent.parent
    matrix_text = "\n".join(
        text
        for path in tests_dir.rglob("test_*.py")
        if "ALL_CALLERS" in (text := path.read_text()) and path.name != "conftest.py"
    )
    names: set[str] = set()
    for root in (Query, Mutation):
        definition = get_object_definition(root, strict=True)
        names |= {f.graphql_name or _camel(f.python_name) for f in definition.fields}
    # The viewer is everyone's own: exercised for every caller by the auth tests.
    names.discard("viewer")
    missing = sorted(n for n in names if not re.search(rf"\b{n}\b", matrix_text))
    assert not missing, f"root fields outside every role matrix: {missing}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
