"""A range beyond the limit (62 days) is a typed error on the field that asked for it: the
parent and the other fields still answer (issue 16 §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.seed.demo import DemoIds
from tests.conftest import Gql
from tests.scheduling.helpers import gid

START = datetime(2026, 3, 1, tzinfo=UTC)
TOO_LONG = (START + timedelta(days=63)).isoformat()
JUST_RIGHT = (START + timedelta(days=62)).isoformat()


async def test_a_too_long_range_nulls_only_the_connection(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(
        """query($id: ID!, $f: DateTime!, $t: DateTime!) { medspa(id: $id) {
            name appointments(from: $f, to: $t) { edges { node { id } } } } }""",
        {"id": gid("Medspa", demo.medspas["glow"]), "f": START.isoformat(), "t": TOO_LONG},
        as_="dana@glow.example",
    )
    assert answer.data == {"medspa": {"name": "Glow Aesthetics", "appointments": None}}
    [error] = answer.errors
    assert error["path"] == ["medspa", "appointments"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["maxDays"] == 62


async def test_one_bad_range_does_not_fail_the_other_parents_of_the_batch(
    gql: Gql, demo: DemoIds
) -> None:
    answer = await gql(
        """query($f: DateTime!, $bad: DateTime!, $ok: DateTime!) { medspas { edges { node {
            name
            bad: appointments(from: $f, to: $bad) { edges { node { id } } }
            ok: appointments(from: $f, to: $ok) { edges { node { id } } } } } } }""",
        {"f": START.isoformat(), "bad": TOO_LONG, "ok": JUST_RIGHT},
        as_="ops@portrait.example",
    )
    nodes = [e["node"] for e in answer.data["medspas"]["edges"]]
    assert {n["name"] for n in nodes} == {
        "Glow Aesthetics",
        "Radiance MedSpa",
        "Legacy Skin Studio",
    }
    assert all(n["bad"] is None and n["ok"] is not None for n in nodes)
    assert len(answer.errors) == 3
    assert {e["path"][-1] for e in answer.errors} == {"bad"}
    assert set(answer.codes) == {"BAD_USER_INPUT"}


async def test_the_calendar_fails_alone_beside_other_root_fields(gql: Gql) -> None:
    answer = await gql(
        """query($f: DateTime!, $t: DateTime!) { viewer { kind } calendar(from: $f, to: $t) {
            id } }""",
        {"f": START.isoformat(), "t": TOO_LONG},
        as_="dana@glow.example",
    )
    assert answer.data == {"viewer": {"kind": "USER"}, "calendar": None}
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.errors[0]["path"] == ["calendar"]
