"""Tenant isolation through `node`, `medspa`, `medspas` and nested locations (DESIGN §6.4)."""

from __future__ import annotations

import uuid

import pytest

from api.ids import encode_global_id
from db.seed.demo import DemoIds
from tests.conftest import Gql

MEDSPAS = "{ medspas { edges { node { slug locations { edges { node { bookingSlug } } } } } } }"


def _slugs(answer: object) -> set[str]:
    return {e["node"]["slug"] for e in answer.data["medspas"]["edges"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("ops@portrait.example", {"glow", "radiance", "legacy"}),
        ("maria@portrait.example", {"glow", "radiance", "legacy"}),
        ("vera@portrait.example", {"glow"}),
        ("dean@portrait.example", {"radiance"}),
        ("cody@portrait.example", {"legacy"}),
        ("sam@portrait.example", set()),
        ("dana@glow.example", {"glow"}),
        ("nina@glow.example", {"glow"}),
        ("ruth@radiance.example", {"radiance"}),
        ("kim@legacy.example", {"legacy"}),
    ],
)
async def test_medspas_are_scoped_to_the_principal(
    gql: Gql, email: str, expected: set[str]
) -> None:
    answer = await gql(MEDSPAS, as_=email)
    assert answer.errors == []
    assert _slugs(answer) == expected


async def test_anonymous_cannot_list_medspas(gql: Gql) -> None:
    answer = await gql(MEDSPAS)
    assert answer.codes == ["UNAUTHENTICATED"]
    assert answer.data is None


async def test_locations_hang_off_the_medspa(gql: Gql) -> None:
    answer = await gql(MEDSPAS, as_="dana@glow.example")
    [glow] = answer.data["medspas"]["edges"]
    slugs = {e["node"]["bookingSlug"] for e in glow["node"]["locations"]["edges"]}
    assert slugs == {"glow-downtown", "glow-brooklyn"}


async def test_other_tenants_location_is_indistinguishable_from_a_missing_one(
    gql: Gql, demo: DemoIds
) -> None:
    query = "query($id: ID!) { node(id: $id) { id ... on Location { name } } }"
    foreign = encode_global_id("Location", demo.locations["radiance-santa-monica"])
    missing = encode_global_id("Location", uuid.uuid4())
    own = encode_global_id("Location", demo.locations["glow-downtown"])

    foreign_answer = await gql(query, {"id": foreign}, as_="nina@glow.example")
    missing_answer = await gql(query, {"id": missing}, as_="nina@glow.example")
    own_answer = await gql(query, {"id": own}, as_="nina@glow.example")

    # Only the cost report (the caller's own budget) may differ between the two answers.
    assert {**foreign_answer.body, "extensions": None} == {
        "data": {"node": None},
        "extensions": None,
    }
    assert {**missing_answer.body, "extensions": None} == {
        "data": {"node": None},
        "extensions": None,
    }
    assert own_answer.data["node"]["name"] == "Downtown"


async def test_medspa_by_id_is_scoped(gql: Gql, demo: DemoIds) -> None:
    query = "query($id: ID!) { medspa(id: $id) { slug } }"
    radiance = encode_global_id("Medspa", demo.medspas["radiance"])
    assert (await gql(query, {"id": radiance}, as_="dana@glow.example")).data == {"medspa": None}
    assert (await gql(query, {"id": radiance}, as_="ruth@radiance.example")).data == {
        "medspa": {"slug": "radiance"}
    }
    assert (await gql(query, {"id": radiance}, as_="ops@portrait.example")).data == {
        "medspa": {"slug": "radiance"}
    }


async def test_nodes_mixes_visible_and_invisible(gql: Gql, demo: DemoIds) -> None:
    ids = [
        encode_global_id("Medspa", demo.medspas["glow"]),
        encode_global_id("Medspa", demo.medspas["legacy"]),
        "garbage",
        encode_global_id("Provider", demo.providers["nina@glow.example"]),
    ]
    answer = await gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": ids},
        as_="omar@glow.example",
    )
    nodes = answer.data["nodes"]
    assert [n and n["__typename"] for n in nodes] == ["Medspa", None, None, "Provider"]


async def test_virtual_pcc_reaches_only_assigned_providers(gql: Gql, demo: DemoIds) -> None:
    query = "query($id: ID!) { node(id: $id) { ... on Provider { displayName } } }"
    nina = encode_global_id("Provider", demo.providers["nina@glow.example"])
    lee = encode_global_id("Provider", demo.providers["lee@radiance.example"])
    assert (await gql(query, {"id": nina}, as_="vera@portrait.example")).data["node"] == {
        "displayName": "Nina Patel"
    }
    assert (await gql(query, {"id": lee}, as_="vera@portrait.example")).data["node"] is None
    assert (await gql(query, {"id": lee}, as_="dean@portrait.example")).data["node"] == {
        "displayName": "Lee Chen"
    }


async def test_page_size_is_capped(gql: Gql) -> None:
    answer = await gql(
        "{ medspas(first: 101) { edges { node { slug } } } }", as_="ops@portrait.example"
    )
    assert answer.codes == ["BAD_USER_INPUT"]


async def test_cursor_pagination_walks_every_medspa_once(gql: Gql) -> None:
    query = """query($after: String) { medspas(first: 1, after: $after) {
        edges { cursor node { slug } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    for _ in range(5):
        answer = await gql(query, {"after": after}, as_="ops@portrait.example")
        connection = answer.data["medspas"]
        seen += [e["node"]["slug"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == ["glow", "legacy", "radiance"]  # ordered by name


async def test_bad_cursor_is_a_clear_error(gql: Gql) -> None:
    answer = await gql('{ medspas(after: "%%%") { edges { cursor } } }', as_="ops@portrait.example")
    assert answer.codes == ["BAD_USER_INPUT"]
