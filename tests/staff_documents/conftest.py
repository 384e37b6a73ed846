"""Staff-document tests run an app whose document storage is the test's temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import build_services, create_app
from api.settings import Settings
from db.seed.demo import DemoIds
from tests.conftest import TEST_SETTINGS, Gql


@pytest.fixture
def doc_settings(tmp_path: Path) -> Settings:
    return TEST_SETTINGS.model_copy(update={"documents_dir": tmp_path})


@pytest.fixture
async def doc_http(
    doc_settings: Settings, app_engine: AsyncEngine, demo: DemoIds
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(doc_settings, services=build_services(doc_settings, engine=app_engine))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def doc_gql(doc_http: httpx.AsyncClient, demo: DemoIds) -> Gql:
    return Gql(doc_http, demo)
