"""A known token authenticates without SQL, and never outlives a change to who it is (issue 12).

The fixed cost of a request is its row-level-security settings: a token presented again
finds its principal in the process's cache. Every change to the rows a principal is built
from (deactivating a user, revoking a key, removing a membership, ending a masquerade) is
seen by the very next request, whether it was made through the API or behind its back, and
bounded in the other processes by the entry's lifetime (and a NOTIFY identity clears them).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.app import Services
from api.authz.policy_store import CHANNEL, PolicyWatcher
from api.authz.principal import Principal, PrincipalKind
from api.authz.principal_cache import PrincipalCache
from db.models import Membership, User
from db.seed.demo import DemoIds
from db.session import session_factory
from tests.conftest import Gql, Principals, StatementLog, token_for

VIEWER = "{ viewer { kind roles } }"


def _libpq(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def test_viewer_of_a_known_token_costs_one_statement(
    gql: Gql, demo: DemoIds, statement_log: StatementLog
) -> None:
    token = token_for(demo, "dana@glow.example")
    statement_log.clear()
    first = await gql(VIEWER, bearer=token)
    cold = statement_log.count(excluding_setup=False)
    statement_log.clear()
    again = await gql(VIEWER, bearer=token)
    warm = statement_log.count(excluding_setup=False)
    assert first.data == again.data and again.errors == []
    assert cold >= 4, statement_log.statements  # the identity rows were read once
    # Only the transaction's row-level-security settings: at most 2 statements.
    assert warm <= 2, statement_log.statements


async def test_a_deactivated_user_is_refused_on_the_next_request(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    token = token_for(demo, "nina@glow.example")
    assert (await gql(VIEWER, bearer=token)).errors == []
    # Behind the API's back, through another engine: the cache must not answer for her.
    await owner_session.execute(
        update(User).where(User.id == demo.users["nina@glow.example"]).values(active=False)
    )
    await owner_session.commit()
    refused = await gql(VIEWER, bearer=token)
    assert refused.codes == ["UNAUTHENTICATED"], refused.body


async def test_a_removed_membership_takes_its_roles_at_once(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    token = token_for(demo, "omar@glow.example")
    assert (await gql(VIEWER, bearer=token)).errors == []
    await owner_session.execute(
        delete(Membership).where(Membership.user_id == demo.users["omar@glow.example"])
    )
    await owner_session.commit()
    refused = await gql(VIEWER, bearer=token)
    assert refused.codes == ["UNAUTHENTICATED"], refused.body


async def test_a_revoked_key_is_refused_on_the_next_request(
    gql: Gql, principals: Principals
) -> None:
    key = await principals.api_key(("CATALOG_READ",))
    assert (await gql(VIEWER, bearer=key)).errors == []
    clients = await gql("{ apiClients { edges { node { id name } } } }", as_="dana@glow.example")
    client_id = clients.data["apiClients"]["edges"][-1]["node"]["id"]
    revoked = await gql(
        "mutation($id: ID!) { revokeApiClient(id: $id) { errors { code } } }",
        {"id": client_id},
        as_="dana@glow.example",
    )
    assert revoked.data["revokeApiClient"]["errors"] == []
    refused = await gql(VIEWER, bearer=key)
    assert refused.codes == ["UNAUTHENTICATED"], refused.body


async def test_an_ended_masquerade_is_refused_on_the_next_request(
    gql: Gql, principals: Principals
) -> None:
    token = await principals.masquerade()
    assert (await gql(VIEWER, bearer=token)).errors == []
    ended = await gql("mutation { endMasquerade { errors { code } } }", bearer=token)
    assert ended.data["endMasquerade"]["errors"] == []
    refused = await gql(VIEWER, bearer=token)
    assert refused.codes == ["UNAUTHENTICATED"], refused.body


async def test_a_notification_from_another_process_empties_the_cache(
    services: Services, app_engine: AsyncEngine, gql: Gql, demo: DemoIds
) -> None:
    watcher = PolicyWatcher(
        services.policy, session_factory(app_engine), _libpq(app_engine), poll_seconds=30
    )
    await watcher.start()
    try:
        assert (await gql(VIEWER, bearer=token_for(demo, "dana@glow.example"))).errors == []
        cache = services.authenticator.cache
        assert len(cache) >= 1
        await asyncio.sleep(0.2)  # the watcher is listening
        async with await psycopg.AsyncConnection.connect(
            _libpq(app_engine), autocommit=True
        ) as other:
            await other.execute(f"SELECT pg_notify('{CHANNEL}', 'identity')")
        for _ in range(100):  # up to 5 s
            if len(cache) == 0:
                break
            await asyncio.sleep(0.05)
        assert len(cache) == 0
    finally:
        await watcher.stop()


async def test_an_identity_write_announces_itself_to_other_processes_at_commit(
    gql: Gql, principals: Principals, app_engine: AsyncEngine
) -> None:
    """Another process's cache is cleared by the NOTIFY the revoking transaction sends: a
    revoked key is refused everywhere at once, not after the entries' lifetime."""
    key = await principals.api_key(("CATALOG_READ",))
    clients = await gql("{ apiClients { edges { node { id } } } }", as_="dana@glow.example")
    client_id = clients.data["apiClients"]["edges"][-1]["node"]["id"]
    async with await psycopg.AsyncConnection.connect(
        _libpq(app_engine), autocommit=True
    ) as listener:
        await listener.execute(f"LISTEN {CHANNEL}")
        # A read announces nothing.
        assert (await gql(VIEWER, bearer=key)).errors == []
        heard = [n.payload async for n in listener.notifies(timeout=0.5)]
        assert "identity" not in heard
        revoked = await gql(
            "mutation($id: ID!) { revokeApiClient(id: $id) { errors { code } } }",
            {"id": client_id},
            as_="dana@glow.example",
        )
        assert revoked.data["revokeApiClient"]["errors"] == []
        heard = [n.payload async for n in listener.notifies(timeout=5, stop_after=1)]
        assert heard == ["identity"]


def _principal(request_id: str = "r") -> Principal:
    return Principal(
        kind=PrincipalKind.USER,
        subjects=("medspa_admin",),
        domain=str(uuid.uuid4()),
        permissions=None,  # type: ignore[arg-type]  # not consulted by the cache
        request_id=request_id,
        user_id=uuid.uuid4(),
    )


def test_entries_are_bounded_and_the_oldest_go_first() -> None:
    cache = PrincipalCache(max_entries=3)
    keys = [PrincipalCache.key(f"token-{i}", None, None, policy_version=1) for i in range(5)]
    for key in keys:
        cache.put(key, _principal(), token_expiry=None)
    assert len(cache) == 3
    assert cache.get(keys[0], request_id="x") is None
    assert cache.get(keys[4], request_id="x") is not None


def test_an_entry_ends_with_its_token_and_carries_the_new_request_id() -> None:
    cache = PrincipalCache()
    key = PrincipalCache.key("token", "m", "ADMIN", policy_version=1)
    cache.put(key, _principal("first"), token_expiry=time.time() + 0.05)
    found = cache.get(key, request_id="second")
    assert found is not None and found.request_id == "second"
    time.sleep(0.1)
    assert cache.get(key, request_id="third") is None
    cache.put(key, _principal(), token_expiry=time.time() - 1)  # already expired: not kept
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("t", None, None, 1), ("t", None, None, 2)),  # a policy reload
        (("t", None, None, 1), ("t", "other-medspa", None, 1)),  # another X-Medspa-Id
        (("t", None, None, 1), ("t", None, "PROVIDER", 1)),  # another X-Dashboard
        (("t", None, None, 1), ("u", None, None, 1)),  # another token
    ],
)
def test_what_changes_the_principal_changes_the_key(
    first: tuple[str, str | None, str | None, int], second: tuple[str, str | None, str | None, int]
) -> None:
    cache = PrincipalCache()
    token, medspa, dashboard, version = first
    cache.put(
        PrincipalCache.key(token, medspa, dashboard, policy_version=version),
        _principal(),
        token_expiry=None,
    )
    token, medspa, dashboard, version = second
    other = PrincipalCache.key(token, medspa, dashboard, policy_version=version)
    assert cache.get(other, request_id="x") is None


def test_the_cache_holds_no_usable_credential() -> None:
    key = PrincipalCache.key("secret-token-value", None, None, policy_version=1)
    assert "secret-token-value" not in repr(key)
