"""Locations in the scheduling settings: create, update, activate, booking slug and URL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.seed.demo import DemoIds
from tests.conftest import ALL_CALLERS, Audit, Gql, Principals
from tests.scheduling.helpers import (
    ADMIN_ONLY_ON_GLOW,
    GLOW_ADMIN,
    OK,
    assert_matrix_answer,
    gid,
    snapshot,
)

CREATE = """mutation($i: LocationInput!) { createLocation(input: $i) {
    errors { code field } location { id name timeZone bookingSlug bookingUrl activeForScheduling
    medspa { slug } } } }"""
UPDATE = """mutation($id: ID!, $i: LocationInput!) { updateLocation(id: $id, input: $i) {
    errors { code field } location { name bookingSlug bookingUrl timeZone } } }"""
ACTIVATE = """mutation($id: ID!, $a: Boolean!) { setLocationActive(id: $id, active: $a) {
    errors { code } location { activeForScheduling } } }"""

NEW = {
    "name": "Midtown",
    "addressLine1": "5 W 45th St",
    "city": "New York",
    "region": "NY",
    "postalCode": "10036",
    "bookingSlug": "glow-midtown",
}


async def test_admin_configures_a_new_location(gql: Gql, demo: DemoIds) -> None:
    created = await gql(CREATE, {"i": NEW}, as_=GLOW_ADMIN)
    location = created.data["createLocation"]["location"]
    assert created.data["createLocation"]["errors"] == []
    assert location["timeZone"] == "America/New_York"  # the medspa's, by default
    assert location["activeForScheduling"] is False  # opened deliberately
    assert location["bookingUrl"] == "http://localhost:5173/book/glow-midtown"
    assert location["medspa"]["slug"] == "glow"
    page = '{ publicLocation(bookingSlug: "glow-midtown") { name } }'
    assert (await gql(page)).data["publicLocation"] is None
    opened = await gql(ACTIVATE, {"id": location["id"], "a": True}, as_=GLOW_ADMIN)
    assert opened.data["setLocationActive"]["location"]["activeForScheduling"] is True
    assert (await gql(page)).data["publicLocation"] == {"name": "Midtown"}


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"bookingSlug": "radiance-santa-monica"}, "SLUG_TAKEN", "bookingSlug"),  # other tenant
        ({"bookingSlug": "Bad Slug!"}, "VALIDATION", "bookingSlug"),
        ({"name": "Brooklyn"}, "NAME_TAKEN", "name"),
        ({"timeZone": "Mars/Olympus"}, "VALIDATION", "timeZone"),
        ({"country": "USA"}, "VALIDATION", "country"),
    ],
)
async def test_update_validation(
    gql: Gql,
    demo: DemoIds,
    owner_engine: AsyncEngine,
    change: dict[str, Any],
    code: str,
    field: str,
) -> None:
    before = await snapshot(owner_engine, "location")
    answer = await gql(
        UPDATE,
        {"id": gid("Location", demo.locations["glow-downtown"]), "i": change},
        as_=GLOW_ADMIN,
    )
    assert [(e["code"], e["field"]) for e in answer.data["updateLocation"]["errors"]] == [
        (code, field)
    ]
    assert await snapshot(owner_engine, "location") == before


async def test_update_and_clear_the_slug(gql: Gql, demo: DemoIds) -> None:
    downtown = gid("Location", demo.locations["glow-downtown"])
    renamed = await gql(
        UPDATE,
        {
            "id": downtown,
            "i": {"name": "Downtown NYC", "bookingSlug": "glow-nyc", "timeZone": "America/Chicago"},
        },
        as_=GLOW_ADMIN,
    )
    assert renamed.data["updateLocation"]["location"] == {
        "name": "Downtown NYC",
        "bookingSlug": "glow-nyc",
        "bookingUrl": "http://localhost:5173/book/glow-nyc",
        "timeZone": "America/Chicago",
    }
    cleared = await gql(UPDATE, {"id": downtown, "i": {"clearBookingSlug": True}}, as_=GLOW_ADMIN)
    assert cleared.data["updateLocation"]["location"]["bookingUrl"] is None


async def test_legacy_location_settings_are_feature_unavailable(gql: Gql, demo: DemoIds) -> None:
    created = await gql(
        CREATE, {"i": {**NEW, "bookingSlug": "legacy-two"}}, as_="lena@legacy.example"
    )
    assert [e["code"] for e in created.data["createLocation"]["errors"]] == ["FEATURE_UNAVAILABLE"]
    updated = await gql(
        ACTIVATE,
        {"id": gid("Location", demo.locations["legacy-main"]), "a": False},
        as_="lena@legacy.example",
    )
    assert [e["code"] for e in updated.data["setLocationActive"]["errors"]] == [
        "FEATURE_UNAVAILABLE"
    ]


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_update_location_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "location")
    answer = await gql(
        ACTIVATE,
        {"id": gid("Location", demo.locations["glow-brooklyn"]), "a": True},
        bearer=bearer,
    )
    expected = ADMIN_ONLY_ON_GLOW[who]
    payload = await assert_matrix_answer(
        answer=answer,
        expected=expected,
        field="setLocationActive",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["location"]["activeForScheduling"] is True


# Creating acts on the caller's own medspa: Radiance's admin creates in Radiance and the
# LEGACY admin is told the feature is unavailable.
CREATE_EXPECT = {
    **ADMIN_ONLY_ON_GLOW,
    "ruth@radiance.example": OK,
    "lena@legacy.example": "FEATURE_UNAVAILABLE",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_create_location_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "location")
    answer = await gql(CREATE, {"i": NEW}, bearer=bearer)
    await assert_matrix_answer(
        answer=answer,
        expected=CREATE_EXPECT[who],
        field="createLocation",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_update_location_fields_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "location")
    answer = await gql(
        UPDATE,
        {"id": gid("Location", demo.locations["glow-downtown"]), "i": {"name": "Downtown NYC"}},
        bearer=bearer,
    )
    payload = await assert_matrix_answer(
        answer=answer,
        expected=ADMIN_ONLY_ON_GLOW[who],
        field="updateLocation",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        assert payload["location"]["name"] == "Downtown NYC"
        assert payload["location"]["bookingSlug"] == "glow-downtown"
