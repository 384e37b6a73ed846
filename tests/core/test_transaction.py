"""One transaction per request, ended in one place, whatever happened inside it."""

from __future__ import annotations

from tests.conftest import Audit, Gql, Principals

SIBLINGS = """{ medspas { edges { node { slug providers { edges { node { displayName } } } } } }
  auditEvents { edges { node { action } } } }"""


async def test_a_denied_root_field_beside_a_running_one_answers_and_is_audited(
    gql: Gql, principals: Principals, audit: Audit
) -> None:
    # auditEvents is denied (MASQUERADE: provider role) while medspas may still be querying:
    # GraphQL cancels the sibling, which can leave the connection's transaction unusable.
    token = await principals.masquerade()
    for _ in range(5):
        answer = await gql(SIBLINGS, bearer=token)
        assert answer.status == 200, answer.body
        assert answer.data is None
        assert answer.codes == ["FORBIDDEN"]
        rows = await audit.rows(request_id=answer.errors[0]["extensions"]["requestId"])
        assert [r["outcome"] for r in rows] == ["DENIED"]
    # The pooled connection is healthy for the next request.
    after = await gql("{ viewer { kind } }", bearer=token)
    assert after.data == {"viewer": {"kind": "USER"}}


async def test_public_visitors_never_get_the_full_provider_type(
    gql: Gql, principals: Principals
) -> None:
    from api.ids import encode_global_id

    nina = encode_global_id("Provider", principals.demo.providers["nina@glow.example"])
    answer = await gql(
        """query($id: ID!) {
            publicLocation(bookingSlug: "glow-downtown") { providers { displayName } }
            node(id: $id) { ... on Provider { credentials licensedToSelfClear } } }""",
        {"id": nina},
    )
    assert answer.errors == [], answer.body
    assert answer.data["publicLocation"]["providers"]  # names are public
    assert answer.data["node"] is None  # the rest is not
