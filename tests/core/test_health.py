"""Health endpoints: process up, and database reachable with migrations at head."""

from __future__ import annotations

import httpx

from api.app import Services, build_services, create_app
from db.session import create_app_engine
from tests.conftest import TEST_SETTINGS


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_head_revision(client: httpx.AsyncClient) -> None:
    from db.migrate import head_revision

    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["migrations"]["current"] == head_revision()


async def test_readyz_fails_when_the_database_is_unreachable(services: Services) -> None:
    dead = create_app_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/nothing", statement_timeout_ms=1000
    )
    broken: Services = build_services(TEST_SETTINGS, engine=dead)
    app = create_app(TEST_SETTINGS, services=broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    await dead.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
