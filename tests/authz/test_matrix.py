"""The role x tenant matrix through GraphQL for every field and mutation of the core.

Each caller (every demo role, a masquerade session, a partner key, no token) tries each
operation against its own medspa (Glow) and the other (Radiance). On a denial the test
checks that nothing changed and that the denial left an audit row with the request's id.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Answer, Audit, Gql, Principals
from tests.matrix import (
    MATRIX_KINDS,
    PARTNER_SCOPES,
    MatrixRecord,
    expect,
    guard_message,
    missing_pairs,
    schema_root_fields,
)

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
        "dana@glow.example:PROVIDER": 0,  # sessions on her, as a provider: none
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
    # What a caller may not see answers like ids that exist nowhere, errors included.
    absent = await _ask(
        gql,
        principals,
        who,
        NODES,
        {
            "ids": [
                encode_global_id("Location", uuid.uuid4()),
                encode_global_id("Location", uuid.uuid4()),
                encode_global_id("Provider", uuid.uuid4()),
            ]
        },
    )
    assert absent.body == {"data": {"nodes": [None, None, None]}}
    glow = {
        "dana@glow.example",
        "dana@glow.example:PROVIDER",
        "nina@glow.example",
        "omar@glow.example",
        "masquerade",
        "api_key",
        "api_key:CATALOG_READ",
        "vera@portrait.example",
        "covering",
    }
    # Partner keys read providers with any scope, locations with catalog:read only.
    glow_keys_without_catalog = {
        "api_key:APPOINTMENTS_READ",
        "api_key:APPOINTMENTS_WRITE",
        "api_key:PATIENTS_READ",
    }
    if who == "ops@portrait.example":
        expected = [True, True, True]
    elif who in {"maria@portrait.example", *glow_keys_without_catalog}:
        expected = [False, False, True]  # provider.read, no location.read
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
    # The actor who started it ends it, whichever of her dashboards she is on.
    if who in {"dana@glow.example", "dana@glow.example:PROVIDER"}:
        assert answer.data["endMasquerade"]["session"]["endedAt"]
        assert ended == 1
        return
    if who == "anonymous":
        expected = "UNAUTHENTICATED"
    elif who.startswith("api_key"):
        expected = "FORBIDDEN"  # partner keys hold no masquerade action
    else:
        expected = "NOT_FOUND"
    assert answer.codes == [expected]
    assert ended == 0
    rows = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert [r["outcome"] for r in rows] == ["DENIED"]


# --- the runtime guard (tests/matrix.py; run at the end of every whole-suite session) -------


def test_the_guard_names_a_root_field_no_caller_tried() -> None:
    """A field the run never sent (a new root field without a matrix) fails the session with
    one line per missing kind of caller; a field tried by every kind passes."""
    fields = [("query", "locations"), ("mutation", "newMutation")]
    seen = {("query", "locations", kind) for kind in MATRIX_KINDS}
    seen.add(("mutation", "newMutation", "platform admin"))
    missing = missing_pairs(fields, seen)
    assert len(missing) == len(MATRIX_KINDS) - 1
    assert "mutation newMutation x anonymous" in missing
    assert "mutation newMutation x partner key (CATALOG_READ)" in missing
    assert not any("locations" in line for line in missing)
    assert "mutation newMutation x anonymous" in guard_message(missing)
    assert missing_pairs(fields[:1], seen) == []


def test_the_guard_records_what_reached_execution_by_caller_kind() -> None:
    record = MatrixRecord()
    record.register("token-of-dana", "dana@glow.example")
    for document, executed in (
        ("{ viewer { roles } medspas { edges { cursor } } }", True),
        ('mutation M { createApiClient(name: "x", scopes: []) { key } }', True),
        ("{ calendar }", False),  # refused before execution: not a try of the field
        ("{ node(id: 1", True),  # not a document
    ):
        record.note(
            document=document,
            operation_name=None,
            caller=record.caller_of("token-of-dana"),
            executed=executed,
        )
    record.note(document="{ auditEvents }", operation_name=None, caller=None, executed=True)
    record.note(
        document='{ publicLocation(bookingSlug: "x") { name } }',
        operation_name=None,
        caller=record.caller_of(None),
        executed=True,
    )
    admin = "medspa admin (admin dashboard)"
    assert record.seen == {
        ("query", "viewer", admin),
        ("query", "medspas", admin),
        ("mutation", "createApiClient", admin),
        ("query", "publicLocation", "anonymous"),
    }


def test_every_kind_of_caller_is_in_the_matrix() -> None:
    """The kinds issue 10 names, each with at least one caller of ALL_CALLERS."""
    assert {
        "platform admin",
        "PCC manager",
        "designated PCC",
        "virtual PCC",
        "covering PCC",
        "medspa admin (admin dashboard)",
        "medspa admin (provider dashboard)",
        "provider",
        "masquerade session",
        "partner key (APPOINTMENTS_READ)",
        "partner key (APPOINTMENTS_WRITE)",
        "partner key (PATIENTS_READ)",
        "partner key (CATALOG_READ)",
        "anonymous",
        "other tenant",
    } <= MATRIX_KINDS
    assert set(schema_root_fields()) >= {("query", "viewer"), ("mutation", "createApiClient")}


VIEWER = """{ viewer { dashboard pccKind apiScopes user { email } actor { email }
    activeMedspa { slug } covering { providerId } } }"""
EVERY_SCOPE = ["appointments:read", "appointments:write", "catalog:read", "patients:read"]


def _viewer(
    email: str | None,
    *,
    dashboard: str | None = None,
    pcc: str | None = None,
    medspa: str | None = None,
    actor: str | None = None,
    scopes: list[str] | None = None,
    covering: int = 0,
) -> dict[str, Any]:
    return {
        "dashboard": dashboard,
        "pccKind": pcc,
        "apiScopes": scopes or [],
        "user": {"email": email} if email else None,
        "actor": {"email": actor} if actor else None,
        "activeMedspa": {"slug": medspa} if medspa else None,
        "covering": covering,
    }


# DESIGN §4: who each caller is. Staff need no medspa (a designated PCC works in his); a user
# of one medspa lands in it on the dashboard they hold (ADMIN first); only the masquerade has
# an actor besides its user (Nina, acted by Dana); a key is its medspa and scopes; Sam
# covering Vera covers her three Glow providers.
VIEWER_EXPECT: dict[str, dict[str, Any]] = {
    "ops@portrait.example": _viewer("ops@portrait.example"),
    "maria@portrait.example": _viewer("maria@portrait.example"),
    "vera@portrait.example": _viewer("vera@portrait.example", pcc="VIRTUAL"),
    "dean@portrait.example": _viewer("dean@portrait.example", pcc="DESIGNATED", medspa="radiance"),
    "cody@portrait.example": _viewer("cody@portrait.example", pcc="VIRTUAL"),
    "sam@portrait.example": _viewer("sam@portrait.example", pcc="VIRTUAL"),
    "covering": _viewer("sam@portrait.example", pcc="VIRTUAL", covering=3),
    "dana@glow.example": _viewer("dana@glow.example", dashboard="ADMIN", medspa="glow"),
    "dana@glow.example:PROVIDER": _viewer("dana@glow.example", dashboard="PROVIDER", medspa="glow"),
    "nina@glow.example": _viewer("nina@glow.example", dashboard="PROVIDER", medspa="glow"),
    "omar@glow.example": _viewer("omar@glow.example", dashboard="PROVIDER", medspa="glow"),
    "ruth@radiance.example": _viewer("ruth@radiance.example", dashboard="ADMIN", medspa="radiance"),
    "lee@radiance.example": _viewer(
        "lee@radiance.example", dashboard="PROVIDER", medspa="radiance"
    ),
    "lena@legacy.example": _viewer("lena@legacy.example", dashboard="ADMIN", medspa="legacy"),
    "kim@legacy.example": _viewer("kim@legacy.example", dashboard="PROVIDER", medspa="legacy"),
    "masquerade": _viewer(
        "nina@glow.example", dashboard="PROVIDER", medspa="glow", actor="dana@glow.example"
    ),
    "api_key": _viewer(None, medspa="glow", scopes=EVERY_SCOPE),
    **{
        f"api_key:{scope}": _viewer(None, medspa="glow", scopes=[scope.lower().replace("_", ":")])
        for scope in PARTNER_SCOPES
    },
    "anonymous": _viewer(None),
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_viewer(gql: Gql, principals: Principals, who: str) -> None:
    answer = await _ask(gql, principals, who, VIEWER, {})
    assert answer.errors == [], answer.body
    viewer = answer.data["viewer"]
    got = {
        **viewer,
        "apiScopes": sorted(viewer["apiScopes"]),
        "covering": len(viewer["covering"]),
    }
    assert got == VIEWER_EXPECT[who]


MEDSPAS = "{ medspas { edges { node { slug } } } }"
# medspa.read (DESIGN §5): staff every tenant; PCCs the medspas of the providers they reach
# (Sam: none, unless covering Vera); everyone bound to a medspa that one.
MEDSPAS_EXPECT: dict[str, set[str] | str] = expect(
    {
        "ops@portrait.example": {"glow", "radiance", "legacy"},
        "maria@portrait.example": {"glow", "radiance", "legacy"},
        "vera@portrait.example": {"glow"},
        "dean@portrait.example": {"radiance"},
        "cody@portrait.example": {"legacy"},
        "sam@portrait.example": set(),
        "covering": {"glow"},
        "ruth@radiance.example": {"radiance"},
        "lee@radiance.example": {"radiance"},
        "lena@legacy.example": {"legacy"},
        "kim@legacy.example": {"legacy"},
        "anonymous": "UNAUTHENTICATED",
    },
    default={"glow"},  # Glow's people, the masquerade and every Glow partner key
)


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_medspas(gql: Gql, principals: Principals, who: str) -> None:
    answer = await _ask(gql, principals, who, MEDSPAS, {})
    expected = MEDSPAS_EXPECT[who]
    if isinstance(expected, str):
        assert answer.codes == [expected], answer.body
        return
    assert answer.errors == [], answer.body
    assert {e["node"]["slug"] for e in answer.data["medspas"]["edges"]} == expected


NODE = "query($id: ID!) { node(id: $id) { id ... on Appointment { status } } }"
# appointment.read on one of Nina's appointments at Glow.
SEES_NINAS_APPOINTMENT = {
    "ops@portrait.example",  # ANY
    "vera@portrait.example",  # ASSIGNED: Glow's providers
    "covering",  # Vera's providers, while Sam covers her
    "dana@glow.example",  # TENANT
    "nina@glow.example",  # OWN
    "masquerade",  # Nina
    "api_key",
    "api_key:APPOINTMENTS_READ",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_node(
    gql: Gql, principals: Principals, owner_engine: AsyncEngine, demo: DemoIds, who: str
) -> None:
    async with owner_engine.connect() as conn:
        appointment = (
            await conn.execute(
                text("SELECT id FROM appointment WHERE provider_id = :p LIMIT 1"),
                {"p": demo.providers["nina@glow.example"]},
            )
        ).scalar_one()
    wanted = encode_global_id("Appointment", appointment)
    answer = await _ask(gql, principals, who, NODE, {"id": wanted})
    if who in SEES_NINAS_APPOINTMENT:
        assert answer.errors == [], answer.body
        assert answer.data["node"]["id"] == wanted
        return
    # Not visible: exactly the answer for an appointment that does not exist, errors included.
    absent = await _ask(
        gql, principals, who, NODE, {"id": encode_global_id("Appointment", uuid.uuid4())}
    )
    assert answer.body == absent.body
    assert answer.data == {"node": None}


PUBLIC_PAGE = """query($slug: String!) { publicLocation(bookingSlug: $slug) {
    name timeZone providers { displayName } appointmentTypes { name } } }"""


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_public_location(gql: Gql, principals: Principals, who: str) -> None:
    """The public page is the same for everyone, whoever else they are (PUBLIC through the
    booking slug); an inactive location has no page."""
    bearer = await principals.bearer(who)
    page = await gql(PUBLIC_PAGE, {"slug": "glow-downtown"}, bearer=bearer)
    assert page.errors == [], page.body
    location = page.data["publicLocation"]
    assert (location["name"], location["timeZone"]) == ("Downtown", "America/New_York")
    assert {t["name"] for t in location["appointmentTypes"]} >= {
        "Neuromodulator",
        "Dermal filler",
        "Chemical peel",
    }
    anonymous = await gql(PUBLIC_PAGE, {"slug": "glow-downtown"})
    assert page.body == anonymous.body
    inactive = await gql(PUBLIC_PAGE, {"slug": "glow-brooklyn"}, bearer=bearer)
    assert inactive.body == {"data": {"publicLocation": None}}
