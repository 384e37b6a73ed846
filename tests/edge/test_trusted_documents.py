"""Trusted documents (DESIGN §6.11): the first-party front-ends' documents live in
`documents/`, the committed manifest lists them by `sha256:` id, a request may send
`documentId` instead of `query`, and with MEDSPA_TRUSTED_DOCUMENTS=only user tokens and
anonymous callers run only those while partner keys keep free documents."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import build_pipeline, build_services, create_app
from api.http.documents import (
    MANIFEST_PATH,
    DocumentStore,
    build_manifest,
    document_id,
    load_manifest,
    read_documents,
)
from api.schema.schema import build_schema
from api.settings import Settings
from db.seed.demo import DemoIds
from tests.conftest import TEST_SETTINGS, Principals, token_for

VIEWER_TEXT = next(t for t in read_documents().values() if "query Viewer" in t)
VIEWER_ID = document_id(VIEWER_TEXT)


def test_the_committed_manifest_matches_the_documents() -> None:
    committed = MANIFEST_PATH.read_text(encoding="utf-8")
    assert committed == build_manifest(), "documents/ changed: run `medspa-api documents build`"
    assert all(i.startswith("sha256:") and len(i) == 71 for i in load_manifest())


def test_the_cli_builds_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    from api.cli import main

    assert main(["documents", "build"]) == 0
    assert "trusted documents" in capsys.readouterr().out
    assert MANIFEST_PATH.read_text(encoding="utf-8") == build_manifest()


def test_manifest_documents_are_prepared_once_at_start(services: object) -> None:
    pipeline = build_pipeline(services)  # type: ignore[arg-type]
    for id_ in load_manifest():
        prepared = pipeline.documents.trusted(id_)
        assert prepared is not None and prepared.trusted and not prepared.errors


def test_a_broken_or_forged_manifest_stops_the_start() -> None:
    store = DocumentStore(build_schema(TEST_SETTINGS)._schema, TEST_SETTINGS)
    broken = "query Broken { viewer { noSuchField } }"
    with pytest.raises(ValueError, match="invalid"):
        store.load_trusted({document_id(broken): broken})
    with pytest.raises(ValueError, match="does not match"):
        store.load_trusted({"sha256:" + "0" * 64: VIEWER_TEXT})


async def _client(engine: AsyncEngine, mode: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(MEDSPA_ENV="test", MEDSPA_TRUSTED_DOCUMENTS=mode)  # type: ignore[call-arg]
    app = create_app(settings, services=build_services(settings, engine=engine))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


@pytest.fixture
async def only(app_engine: AsyncEngine, demo: DemoIds) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(app_engine, "only"):
        yield client


async def test_document_id_runs_the_manifest_document(
    app_engine: AsyncEngine, demo: DemoIds
) -> None:
    headers = {"authorization": f"Bearer {token_for(demo, 'nina@glow.example')}"}
    async for http in _client(app_engine, "allow"):
        by_id = await http.post("/graphql", json={"documentId": VIEWER_ID}, headers=headers)
        by_text = await http.post("/graphql", json={"query": VIEWER_TEXT}, headers=headers)
        unknown = await http.post(
            "/graphql", json={"documentId": "sha256:" + "1" * 64}, headers=headers
        )
    assert by_id.status_code == 200
    assert by_id.json()["data"] == by_text.json()["data"]
    assert by_id.json()["data"]["viewer"]["user"]["email"] == "nina@glow.example"
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_NOT_FOUND"


async def test_only_mode_user_tokens_run_only_trusted_documents(
    only: httpx.AsyncClient, demo: DemoIds
) -> None:
    headers = {"authorization": f"Bearer {token_for(demo, 'nina@glow.example')}"}
    free = await only.post("/graphql", json={"query": "{ viewer { kind } }"}, headers=headers)
    trusted = await only.post("/graphql", json={"documentId": VIEWER_ID}, headers=headers)
    assert free.status_code == 403
    assert free.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    assert trusted.status_code == 200
    assert trusted.json()["data"]["viewer"]["kind"] == "USER"


async def test_only_mode_anonymous_callers_run_only_trusted_documents(
    only: httpx.AsyncClient,
) -> None:
    free = await only.post("/graphql", json={"query": "{ viewer { kind } }"})
    assert free.status_code == 403
    assert free.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"


async def test_only_mode_partners_keep_free_documents(
    only: httpx.AsyncClient, principals: Principals
) -> None:
    key = await principals.api_key()  # created through the default test app
    answer = await only.post(
        "/graphql",
        json={"query": "{ viewer { kind apiScopes } }"},
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["viewer"]["kind"] == "API_CLIENT"
    assert answer.json()["extensions"]["cost"]["requested"] == 3


def test_manifest_documents_are_costed_at_start(
    app_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """At its widest (a 62-day window) the Calendar document costs more than 1,000 points:
    the start warns the operator, and requests are still costed with their own variables."""
    settings = Settings(MEDSPA_ENV="test", MEDSPA_MAX_COST=1000)  # type: ignore[call-arg]
    build_pipeline(build_services(settings, engine=app_engine))
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("Calendar" in m and "MEDSPA_MAX_COST" in m for m in warned), warned
    assert not any("Viewer" in m for m in warned)
