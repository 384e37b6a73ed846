"""Partner API keys: shown once, stored hashed, scoped to one medspa, revoked at once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.tokens import hash_api_key
from db.seed.demo import DemoIds
from tests.conftest import Audit, Gql, StatementLog

CREATE = """mutation($s: [ApiScope!]!) { createApiClient(name: "site", scopes: $s) {
    client { id name scopes keyPrefix lastUsedAt revokedAt } key errors { code field } } }"""


async def test_key_is_shown_once_and_stored_hashed(gql: Gql, owner_engine: AsyncEngine) -> None:
    answer = await gql(CREATE, {"s": ["CATALOG_READ"]}, as_="dana@glow.example")
    payload = answer.data["createApiClient"]
    key = payload["key"]
    assert key.startswith("msk_") and len(key) > 40
    assert payload["client"]["keyPrefix"] == key[:10]
    async with owner_engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash FROM api_client"))).scalars().all()
    assert stored == [hash_api_key(key)]
    assert key not in str(stored)
    listed = await gql(
        "{ apiClients { edges { node { name keyPrefix } } } }", as_="dana@glow.example"
    )
    assert "key" not in str(listed.body).replace("keyPrefix", "")


async def test_key_reaches_only_its_medspa_and_scopes(
    gql: Gql, audit: Audit, demo: DemoIds
) -> None:
    key = (await gql(CREATE, {"s": ["CATALOG_READ"]}, as_="dana@glow.example")).data[
        "createApiClient"
    ]["key"]
    viewer = await gql("{ viewer { kind roles apiScopes activeMedspa { slug } } }", bearer=key)
    assert viewer.data["viewer"] == {
        "kind": "API_CLIENT",
        "roles": ["scope:catalog:read"],
        "apiScopes": ["catalog:read"],
        "activeMedspa": {"slug": "glow"},
    }
    medspas = await gql(
        "{ medspas { edges { node { slug locations { edges { node { name } } } } } } }", bearer=key
    )
    [glow] = medspas.data["medspas"]["edges"]
    assert glow["node"]["slug"] == "glow"
    assert len(glow["node"]["locations"]["edges"]) == 2
    # Not in its scopes: audit events, API client management.
    denied = await gql("{ auditEvents { edges { cursor } } }", bearer=key)
    assert denied.codes == ["FORBIDDEN"]
    [row] = await audit.rows(request_id=denied.errors[0]["extensions"]["requestId"])
    assert row["api_client_id"] is not None
    assert row["medspa_id"] == demo.medspas["glow"]


async def test_last_used_is_recorded(gql: Gql) -> None:
    created = (await gql(CREATE, {"s": ["CATALOG_READ"]}, as_="dana@glow.example")).data[
        "createApiClient"
    ]
    assert created["client"]["lastUsedAt"] is None
    await gql("{ viewer { kind } }", bearer=created["key"])
    listed = await gql("{ apiClients { edges { node { lastUsedAt } } } }", as_="dana@glow.example")
    assert listed.data["apiClients"]["edges"][0]["node"]["lastUsedAt"] is not None


async def test_revocation_is_effective_on_the_next_request(gql: Gql) -> None:
    created = (await gql(CREATE, {"s": ["CATALOG_READ"]}, as_="dana@glow.example")).data[
        "createApiClient"
    ]
    assert (await gql("{ viewer { kind } }", bearer=created["key"])).status == 200
    await gql(
        "mutation($id: ID!) { revokeApiClient(id: $id) { client { revokedAt } } }",
        {"id": created["client"]["id"]},
        as_="dana@glow.example",
    )
    after = await gql("{ viewer { kind } }", bearer=created["key"])
    assert after.status == 401
    assert after.codes == ["UNAUTHENTICATED"]


async def test_validation_errors_change_nothing(gql: Gql, owner_engine: AsyncEngine) -> None:
    empty = await gql(CREATE, {"s": []}, as_="dana@glow.example")
    assert empty.data["createApiClient"]["errors"] == [{"code": "VALIDATION", "field": "scopes"}]
    blank = await gql(
        'mutation { createApiClient(name: "  ", scopes: [CATALOG_READ]) {'
        " errors { code field } } }",
        as_="dana@glow.example",
    )
    assert blank.data["createApiClient"]["errors"] == [{"code": "VALIDATION", "field": "name"}]
    await gql(CREATE, {"s": ["CATALOG_READ"]}, as_="dana@glow.example")
    duplicate = await gql(CREATE, {"s": ["CATALOG_READ"]}, as_="dana@glow.example")
    assert duplicate.data["createApiClient"]["errors"] == [{"code": "NAME_TAKEN", "field": "name"}]
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM api_client"))).scalar_one() == 1


def test_cli_creates_a_key(
    capsys: object,
    demo: DemoIds,
    database_url: str,
    monkeypatch: object,
    statement_log: StatementLog,
) -> None:
    from api.cli import main
    from api.settings import get_settings

    # The command writes through its own engine, which the harness does not trace: name the
    # table so the next test finds it as seeded.
    statement_log.written.add("api_client")

    monkeypatch.setenv("DATABASE_URL", database_url)  # type: ignore[attr-defined]
    get_settings.cache_clear()
    try:
        code = main(
            [
                "api-client",
                "create",
                "--medspa",
                "glow",
                "--name",
                "cli",
                "--scopes",
                "catalog:read",
            ]
        )
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out.strip()  # type: ignore[attr-defined]
    assert code == 0
    assert out.startswith("msk_")
