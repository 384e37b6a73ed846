"""Appointment types and provider configuration in the scheduling settings."""

from __future__ import annotations

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

CREATE = """mutation($i: AppointmentTypeInput!) { createAppointmentType(input: $i) {
    errors { code field } appointmentType { id name durationMinutes priceCents
    bufferBeforeMinutes bufferAfterMinutes depositCents bookable locations { name } } } }"""
STATE = """mutation($id: ID!, $active: Boolean, $archived: Boolean) {
    setAppointmentTypeState(id: $id, active: $active, archived: $archived) {
    errors { code } appointmentType { active archived bookable } } }"""
CONFIGURE = """mutation($p: ID!, $l: [ID!], $t: [ID!]) {
    configureProvider(providerId: $p, locationIds: $l, appointmentTypeIds: $t) {
    errors { code field } provider { locations { name } appointmentTypes { name } } } }"""

LASER = {
    "name": "Laser hair removal",
    "durationMinutes": 20,
    "priceCents": 15000,
    "bufferBeforeMinutes": 5,
    "bufferAfterMinutes": 10,
}


async def test_admin_creates_a_type_and_a_provider_offers_it(gql: Gql, demo: DemoIds) -> None:
    downtown = gid("Location", demo.locations["glow-downtown"])
    created = await gql(CREATE, {"i": {**LASER, "locationIds": [downtown]}}, as_=GLOW_ADMIN)
    kind = created.data["createAppointmentType"]["appointmentType"]
    assert kind["bookable"] is True and kind["locations"] == [{"name": "Downtown"}]
    configured = await gql(
        CONFIGURE,
        {"p": gid("Provider", demo.providers["omar@glow.example"]), "t": [kind["id"]]},
        as_=GLOW_ADMIN,
    )
    provider = configured.data["configureProvider"]["provider"]
    assert provider["appointmentTypes"] == [{"name": "Laser hair removal"}]
    assert provider["locations"] == [{"name": "Downtown"}]  # unchanged (not given)


async def test_deposits_need_the_medspa_setting(gql: Gql, demo: DemoIds) -> None:
    refused = await gql(CREATE, {"i": {**LASER, "depositCents": 5000}}, as_=GLOW_ADMIN)
    assert [(e["code"], e["field"]) for e in refused.data["createAppointmentType"]["errors"]] == [
        ("VALIDATION", "depositCents")
    ]
    enabled = await gql(
        "mutation { updateSchedulingSettings(input: {depositsEnabled: true}) { errors { code } } }",
        as_=GLOW_ADMIN,
    )
    assert enabled.data["updateSchedulingSettings"]["errors"] == []
    created = await gql(CREATE, {"i": {**LASER, "depositCents": 5000}}, as_=GLOW_ADMIN)
    assert created.data["createAppointmentType"]["appointmentType"]["depositCents"] == 5000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"durationMinutes": 7}, "durationMinutes"),
        ({"priceCents": -1}, "priceCents"),
        ({"bufferAfterMinutes": 500}, "bufferAfterMinutes"),
        ({"name": "Neuromodulator"}, "name"),
    ],
)
async def test_type_validation(
    gql: Gql, demo: DemoIds, change: dict[str, int | str], field: str
) -> None:
    answer = await gql(CREATE, {"i": {**LASER, **change}}, as_=GLOW_ADMIN)
    assert [e["field"] for e in answer.data["createAppointmentType"]["errors"]] == [field]


async def test_archived_types_are_not_bookable_or_public(gql: Gql, demo: DemoIds) -> None:
    kind = gid("AppointmentType", demo.appointment_types["glow"]["Chemical peel"])
    archived = await gql(STATE, {"id": kind, "archived": True}, as_=GLOW_ADMIN)
    assert archived.data["setAppointmentTypeState"]["appointmentType"] == {
        "active": True,
        "archived": True,
        "bookable": False,
    }
    page = await gql(
        '{ publicLocation(bookingSlug: "glow-downtown") { appointmentTypes { name } } }'
    )
    assert "Chemical peel" not in {
        t["name"] for t in page.data["publicLocation"]["appointmentTypes"]
    }


async def test_configure_refuses_another_medspas_location(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(
        CONFIGURE,
        {
            "p": gid("Provider", demo.providers["nina@glow.example"]),
            "l": [gid("Location", demo.locations["radiance-santa-monica"])],
        },
        as_=GLOW_ADMIN,
    )
    assert [(e["code"], e["field"]) for e in answer.data["configureProvider"]["errors"]] == [
        ("NOT_FOUND", "locationIds")
    ]


CREATE_EXPECT = {
    **ADMIN_ONLY_ON_GLOW,
    "ruth@radiance.example": OK,
    "lena@legacy.example": "FEATURE_UNAVAILABLE",
}


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_create_type_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "appointment_type")
    answer = await gql(CREATE, {"i": LASER}, bearer=bearer)
    await assert_matrix_answer(
        answer=answer,
        expected=CREATE_EXPECT[who],
        field="createAppointmentType",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_archive_type_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "appointment_type")
    answer = await gql(
        STATE,
        {
            "id": gid("AppointmentType", demo.appointment_types["glow"]["Chemical peel"]),
            "archived": True,
        },
        bearer=bearer,
    )
    await assert_matrix_answer(
        answer=answer,
        expected=ADMIN_ONLY_ON_GLOW[who],
        field="setAppointmentTypeState",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_configure_provider_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "provider_location", "provider_appointment_type")
    answer = await gql(
        CONFIGURE,
        {
            "p": gid("Provider", demo.providers["nina@glow.example"]),
            "t": [gid("AppointmentType", demo.appointment_types["glow"]["Chemical peel"])],
        },
        bearer=bearer,
    )
    await assert_matrix_answer(
        answer=answer,
        expected=ADMIN_ONLY_ON_GLOW[who],
        field="configureProvider",
        audit=audit,
        before=before,
        engine=owner_engine,
    )


CATALOG = """query($id: ID!) { medspa(id: $id) { appointmentTypes { edges { node { name } } }
    locations { edges { node { name appointmentTypes { name } providers { displayName } } } } } }"""


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_catalog_read_matrix(
    gql: Gql, demo: DemoIds, principals: Principals, who: str
) -> None:
    answer = await gql(
        CATALOG, {"id": gid("Medspa", demo.medspas["glow"])}, bearer=await principals.bearer(who)
    )
    assert answer.errors == [], answer.body
    medspa = answer.data["medspa"]
    sees_glow = who in {
        "ops@portrait.example",
        "maria@portrait.example",
        "vera@portrait.example",
        "dana@glow.example",
        "nina@glow.example",
        "omar@glow.example",
        "masquerade",
        "api_key",
        "covering",
        "dana@glow.example:PROVIDER",
        "api_key:APPOINTMENTS_READ",
        "api_key:APPOINTMENTS_WRITE",
        "api_key:PATIENTS_READ",
        "api_key:CATALOG_READ",
    }
    if not sees_glow:
        assert medspa is None
        return
    types = {e["node"]["name"] for e in medspa["appointmentTypes"]["edges"]}
    # The PCC manager reads medspas and providers, not the catalogue; partner keys read the
    # catalogue with catalog:read only.
    no_catalogue = {
        "maria@portrait.example",
        "api_key:APPOINTMENTS_READ",
        "api_key:APPOINTMENTS_WRITE",
        "api_key:PATIENTS_READ",
    }
    expected = (
        set() if who in no_catalogue else {"Neuromodulator", "Dermal filler", "Chemical peel"}
    )
    assert types == expected


UPDATE = """mutation($id: ID!, $i: AppointmentTypeInput!) { updateAppointmentType(id: $id,
    input: $i) { errors { code field } appointmentType { name durationMinutes priceCents } } }"""


@pytest.mark.parametrize("who", ALL_CALLERS)
async def test_update_type_matrix(
    gql: Gql,
    demo: DemoIds,
    principals: Principals,
    audit: Audit,
    owner_engine: AsyncEngine,
    who: str,
) -> None:
    bearer = await principals.bearer(who)
    before = await snapshot(owner_engine, "appointment_type")
    answer = await gql(
        UPDATE,
        {
            "id": gid("AppointmentType", demo.appointment_types["glow"]["Chemical peel"]),
            "i": {"name": "Deep peel", "priceCents": 21_000},
        },
        bearer=bearer,
    )
    payload = await assert_matrix_answer(
        answer=answer,
        expected=ADMIN_ONLY_ON_GLOW[who],
        field="updateAppointmentType",
        audit=audit,
        before=before,
        engine=owner_engine,
    )
    if payload is not None:
        updated = payload["appointmentType"]
        assert (updated["name"], updated["priceCents"]) == ("Deep peel", 21_000)
        assert updated["durationMinutes"] == 45  # untouched fields keep their value
