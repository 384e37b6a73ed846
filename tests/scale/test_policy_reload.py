"""Policy reload that scales (issue 14): notifications name the medspas whose rows changed
(TRUNCATE and "too many" name every medspa), a process rebuilds only those medspas, off the
event loop, and a version poll catches what a lost notification would have missed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import api.authz.policy_store as policy_store
from api.app import Services
from api.authz.actions import Action, Scope
from api.authz.enforcer import PLATFORM_DOMAIN, PolicyEngine, PolicyRow, build_enforcer
from api.authz.policy_store import PolicyWatcher, parse_notice
from api.authz.principal_cache import IDENTITY_NOTICE
from db.seed.demo import DemoIds
from db.session import libpq_url, session_factory

CHANNEL = "policy_changed"


@pytest.fixture
async def listener(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[object]]:
    conn = await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True)
    await conn.execute(f"LISTEN {CHANNEL}")
    yield conn
    await conn.close()


async def _notices(conn: psycopg.AsyncConnection[object], seconds: float = 0.5) -> list[dict]:
    """The policy notifications (identity notices share the channel: resetting the demo data
    between tests writes identity rows, and announces it)."""
    return [
        json.loads(n.payload)
        async for n in conn.notifies(timeout=seconds)
        if n.payload != IDENTITY_NOTICE
    ]


def _rule(medspa_id: uuid.UUID, subject: str = "provider", eft: str = "deny") -> TextClause:
    return text(
        "INSERT INTO policy_rule (id, medspa_id, subject, obj, act, scope, eft)"
        " VALUES (:id, :medspa, :subject, 'earnings', 'read', 'OWN', :eft)"
    ).bindparams(id=uuid.uuid4(), medspa=medspa_id, subject=subject, eft=eft)


async def test_each_statement_names_the_medspas_it_changed(
    listener: psycopg.AsyncConnection[object], owner_session: AsyncSession, demo: DemoIds
) -> None:
    glow, radiance = str(demo.medspas["glow"]), str(demo.medspas["radiance"])
    version = (await owner_session.execute(text("SELECT version FROM policy_version"))).scalar()
    await owner_session.execute(_rule(demo.medspas["glow"]))
    await owner_session.execute(_rule(demo.medspas["radiance"]))
    await owner_session.execute(text("UPDATE policy_rule SET eft = 'allow'"))
    await owner_session.execute(text("UPDATE policy_rule SET eft = 'deny' WHERE false"))
    await owner_session.execute(
        text("DELETE FROM policy_rule WHERE medspa_id = :m"), {"m": demo.medspas["glow"]}
    )
    await owner_session.execute(text("TRUNCATE policy_rule"))
    await owner_session.commit()
    notices = await _notices(listener)
    assert [n["version"] for n in notices] == [version + i for i in range(1, 6)]
    assert [n["medspas"] if n["medspas"] == "*" else sorted(n["medspas"]) for n in notices] == [
        [glow],
        [radiance],
        sorted([glow, radiance]),
        # the UPDATE that changed no row sent nothing
        [glow],
        "*",
    ]


async def test_a_statement_touching_many_medspas_names_every_medspa(
    listener: psycopg.AsyncConnection[object], owner_session: AsyncSession, demo: DemoIds
) -> None:
    await owner_session.execute(
        text(
            "INSERT INTO medspa (id, name, slug, business_model, time_zone, gfe_routing,"
            " pcc_service, uses_portrait_ehr) SELECT gen_random_uuid(), 'm' || i, 'm-' || i,"
            " 'FLEX', 'UTC', 'PORTRAIT_CLEARING', false, true FROM generate_series(1, 101) i"
        )
    )
    await owner_session.execute(
        text(
            "INSERT INTO policy_rule (id, medspa_id, subject, obj, act, scope, eft)"
            " SELECT gen_random_uuid(), id, 'provider', 'earnings', 'read', 'OWN', 'deny'"
            " FROM medspa WHERE slug LIKE 'm-%'"
        )
    )
    await owner_session.commit()
    (notice,) = await _notices(listener)
    assert notice["medspas"] == "*"
    assert parse_notice(json.dumps(notice)) == (notice["version"], None)


@pytest.mark.parametrize(
    "payload",
    ["", "7", '{"version": "7", "medspas": []}', '{"version": 7, "medspas": ["nope"]}', "{}"],
)
def test_an_unreadable_notification_is_refused(payload: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        parse_notice(payload)


async def _wait_for(predicate: object, seconds: float = 1.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return bool(predicate())  # type: ignore[operator]


@pytest.fixture
async def watcher(
    services: Services, app_engine: AsyncEngine, demo: DemoIds
) -> AsyncIterator[PolicyWatcher]:
    # Started only after `demo` has put the tables back (the reset runs with triggers off, so
    # a watcher already running would keep a rule an earlier test left behind). The session's
    # policy engine may still hold a medspa's rows from an earlier test whose rows the reset
    # has removed behind its back (no watcher was listening then): start from the baseline,
    # as a process does, and let the new watcher load the database's rows.
    services.policy.install(dict.fromkeys(services.policy.tailored_domains))
    running = PolicyWatcher(
        services.policy,
        session_factory(app_engine),
        libpq_url(app_engine.url.render_as_string(hide_password=False)),
        poll_seconds=60,  # only notifications count here
    )
    await running.start()
    await running.listening.wait()
    yield running
    await running.stop()


async def test_a_change_rebuilds_only_the_medspas_it_names(
    watcher: PolicyWatcher, services: Services, owner_session: AsyncSession, demo: DemoIds
) -> None:
    glow, radiance = str(demo.medspas["glow"]), str(demo.medspas["radiance"])
    await owner_session.execute(_rule(demo.medspas["radiance"], eft="allow"))
    await owner_session.commit()
    assert await _wait_for(lambda: radiance in services.policy.tailored_domains)
    radiance_set = services.policy.permissions("provider", radiance)
    glow_before = services.policy.permissions("provider", glow)
    assert glow_before.allows(Action.EARNINGS_READ)

    await owner_session.execute(_rule(demo.medspas["glow"]))
    await owner_session.commit()
    assert await _wait_for(
        lambda: not services.policy.permissions("provider", glow).allows(Action.EARNINGS_READ)
    ), "the change did not arrive within a second"
    # Radiance's rows did not change: its set is the very same object, not rebuilt.
    assert services.policy.permissions("provider", radiance) is radiance_set


async def test_truncate_reaches_a_running_watcher_within_a_second(
    watcher: PolicyWatcher, services: Services, owner_session: AsyncSession, demo: DemoIds
) -> None:
    glow = str(demo.medspas["glow"])
    await owner_session.execute(_rule(demo.medspas["glow"]))
    await owner_session.commit()
    assert await _wait_for(lambda: glow in services.policy.tailored_domains)
    await owner_session.execute(text("TRUNCATE policy_rule"))
    await owner_session.commit()
    assert await _wait_for(lambda: not services.policy.tailored_domains)
    assert services.policy.permissions("provider", glow).allows(Action.EARNINGS_READ)


async def test_the_version_poll_catches_a_lost_notification(
    services: Services, app_engine: AsyncEngine, owner_session: AsyncSession, demo: DemoIds
) -> None:
    glow = str(demo.medspas["glow"])
    watcher = PolicyWatcher(
        services.policy,
        session_factory(app_engine),
        "postgresql://nobody@127.0.0.1:1/none",  # the listener never connects: no NOTIFY
        poll_seconds=0.3,
    )
    await watcher.refresh()
    # A change whose notification is lost: triggers off, the version bumped by hand.
    await owner_session.execute(text("SET LOCAL session_replication_role = replica"))
    await owner_session.execute(_rule(demo.medspas["glow"]))
    await owner_session.execute(text("UPDATE policy_version SET version = version + 1"))
    await owner_session.commit()
    poll = asyncio.create_task(_poll_forever(watcher))
    try:
        assert await _wait_for(lambda: glow in services.policy.tailored_domains, seconds=3)
    finally:
        poll.cancel()


async def _poll_forever(watcher: PolicyWatcher) -> None:
    while True:
        await asyncio.sleep(watcher.poll_seconds)
        await watcher.refresh()


async def test_rebuilding_runs_off_the_event_loop(
    services: Services,
    app_engine: AsyncEngine,
    owner_session: AsyncSession,
    demo: DemoIds,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[int] = []
    build = policy_store.build_domain_policy

    def recording_build(domain: str, rows: object) -> object:
        threads.append(threading.get_ident())
        return build(domain, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(policy_store, "build_domain_policy", recording_build)
    watcher = PolicyWatcher(services.policy, session_factory(app_engine), "unused")
    await watcher.refresh()
    await owner_session.execute(_rule(demo.medspas["glow"]))
    await owner_session.commit()
    assert await watcher.refresh() is True
    assert threads and threading.get_ident() not in threads


MEDSPA_A = "6f0c7e0e-0000-4000-8000-00000000000a"
MEDSPA_B = "6f0c7e0e-0000-4000-8000-00000000000b"

ROW_SETS = {
    "a deny for one role": [
        PolicyRow("p", ("provider", MEDSPA_A, "earnings", "read", "OWN", "deny"))
    ],
    "an allow for a parent role reaches its children": [
        PolicyRow("p", ("pcc_virtual", MEDSPA_A, "service", "manage", "ASSIGNED", "allow"))
    ],
    "a medspa-local inheritance link": [
        PolicyRow("g", ("provider", "medspa_admin", MEDSPA_A)),
        PolicyRow("p", ("provider", MEDSPA_B, "chart", "read", "OWN", "deny")),
    ],
    "a partner scope denied": [
        PolicyRow("p", ("partner", MEDSPA_B, "location", "read", "TENANT", "deny")),
        PolicyRow("p", ("scope:catalog:read", MEDSPA_A, "location", "read", "TENANT", "deny")),
    ],
}


@pytest.mark.parametrize("rows", ROW_SETS.values(), ids=ROW_SETS.keys())
def test_per_medspa_policies_answer_like_one_enforcer_over_every_row(
    rows: list[PolicyRow],
) -> None:
    """The per-medspa split is an optimisation: for every subject and domain it must decide
    each action exactly as one Casbin enforcer holding every row would."""
    engine = PolicyEngine(rows)
    oracle = build_enforcer(rows)
    subjects = {row.values[0] for row in rows} | {
        "provider", "medspa_admin", "pcc_designated", "pcc_virtual", "scope:catalog:read",
        "scope:appointments:read", "public", "platform_admin",
    }  # fmt: skip
    for domain in (MEDSPA_A, MEDSPA_B, "6f0c7e0e-0000-4000-8000-00000000000c", PLATFORM_DOMAIN):
        for subject in subjects:
            permissions = engine.permissions(subject, domain)
            for action in Action:
                allowed, rule = oracle.enforce_ex(subject, domain, action.resource, action.verb)
                assert permissions.allows(action) is allowed, (subject, domain, action)
                if allowed:
                    assert permissions.scope(action) is Scope(rule[4]), (subject, domain, action)
