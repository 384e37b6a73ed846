"""First contact: the service answers viewer for a demo user."""

from __future__ import annotations

from tests.conftest import Gql


async def test_viewer_returns_nina(gql: Gql) -> None:
    answer = await gql(
        "{ viewer { kind roles dashboard user { email fullName } } }", as_="nina@glow.example"
    )
    assert answer.status == 200, answer.body
    assert answer.data["viewer"]["user"]["email"] == "nina@glow.example"
    assert answer.data["viewer"]["roles"] == ["provider"]
    assert answer.data["viewer"]["dashboard"] == "PROVIDER"
