"""Shared look-ups for the services, GFE and charting tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Answer, Audit

PROVIDER_DASHBOARD = {"X-Dashboard": "PROVIDER"}


def sid(demo: DemoIds, slug: str, name: str) -> str:
    """The global id of a medspa's (imported) service."""
    return encode_global_id("Service", demo.services[slug][name])


def gid(type_name: str, id_: uuid.UUID) -> str:
    return encode_global_id(type_name, id_)


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def a_patient_of(engine: AsyncEngine, demo: DemoIds, provider: str) -> uuid.UUID:
    """A patient the provider has an appointment with (in their OWN patient scope)."""
    found: uuid.UUID = await scalar(
        engine,
        "SELECT patient_id FROM appointment WHERE provider_id = :p ORDER BY starts_at LIMIT 1",
        p=demo.providers[provider],
    )
    return found


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def assert_denied(answer: Answer, audit: Audit, code: str) -> None:
    """A top-level refusal with its code, and a DENIED audit row for the request."""
    assert answer.codes == [code], answer.body
    found = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
    assert found, "no audit row"
    assert "DENIED" in {r["outcome"] for r in found}
