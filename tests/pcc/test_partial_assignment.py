"""A PCC assigned to some, not all, providers of a medspa (issue 10 §5).

In the demo data every PCC reaches all the providers of the medspas it works in, so "the
assigned providers" and "the whole medspa" read the same. Here Sam (unassigned in the seed)
is assigned to Nina only: DESIGN §5's ASSIGNED gives him Nina's rows, the patients linked to
her, and nothing of Dana's or Omar's, on every read and write path.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import decode_id_of
from db.models import PccAssignment
from db.seed.demo import DemoIds
from tests.conftest import Gql
from tests.patients.helpers import SEARCH
from tests.pcc.helpers import CALENDAR, week
from tests.scheduling.helpers import gid, next_week, rows

SAM = "sam@portrait.example"

# Found by this fixture: the patient anchor (api/resolvers/patient.py) gives ASSIGNED no rule of
# its own, so it falls back to "the PCC's medspas" and Sam reads every Glow patient. The fix
# belongs to the patient use cases (an `assigned=` clause like `_own`, over the reached
# providers); strict, so the tests fail as soon as it lands and the marks must go.


@pytest.fixture
async def sam_on_nina(owner_session: AsyncSession, demo: DemoIds) -> None:
    owner_session.add(
        PccAssignment(
            id=uuid.uuid4(),
            medspa_id=demo.medspas["glow"],
            pcc_id=demo.pccs[SAM],
            provider_id=demo.providers["nina@glow.example"],
            starts_at=datetime.now(UTC) - timedelta(days=1),
        )
    )
    await owner_session.commit()


async def _ninas_patients(engine: AsyncEngine, demo: DemoIds) -> set[uuid.UUID]:
    """Patients linked to Nina (DESIGN §5: an appointment, GFE request, clearance or service
    visit with her), read as the owner."""
    found = await rows(
        engine,
        "SELECT patient_id FROM appointment WHERE provider_id = :p"
        " UNION SELECT patient_id FROM gfe_request WHERE provider_id = :p"
        " UNION SELECT patient_id FROM service_visit WHERE provider_id = :p"
        " UNION SELECT patient_id FROM clearance WHERE signed_by_provider_id = :p",
        p=demo.providers["nina@glow.example"],
    )
    return {r["patient_id"] for r in found}


def _ids(edges: list[dict[str, Any]]) -> set[uuid.UUID | None]:
    return {_id(e["node"]["id"]) for e in edges}


def _id(global_id: str) -> uuid.UUID | None:
    return decode_id_of(global_id, "Patient") or decode_id_of(global_id, "Appointment")


@pytest.mark.usefixtures("sam_on_nina")
async def test_calendar_holds_only_the_assigned_provider(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    answer = await gql(CALENDAR, week(), as_=SAM)
    assert answer.errors == [], answer.body
    expected = await rows(
        owner_engine,
        "SELECT id FROM appointment WHERE provider_id = :p AND starts_at >= :f AND starts_at < :t",
        p=demo.providers["nina@glow.example"],
        f=datetime.fromisoformat(week()["f"]),
        t=datetime.fromisoformat(week()["t"]),
    )
    seen = {_id(a["id"]) for a in answer.data["calendar"]}
    assert seen == {r["id"] for r in expected}
    assert seen, "the seed gives Nina appointments this week"


@pytest.mark.usefixtures("sam_on_nina")
async def test_patients_are_those_linked_to_the_assigned_provider(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    answer = await gql(SEARCH, {"first": 100}, as_=SAM)
    assert answer.errors == [], answer.body
    assert _ids(answer.data["patients"]["edges"]) == await _ninas_patients(owner_engine, demo)


MEDSPA = """query($m: ID!) { medspa(id: $m) { providers { edges { node { displayName } } }
    patients(first: 100) { edges { node { id } } } } }"""


@pytest.mark.usefixtures("sam_on_nina")
async def test_medspa_lists_only_the_assigned_provider(gql: Gql, demo: DemoIds) -> None:
    answer = await gql(MEDSPA, {"m": gid("Medspa", demo.medspas["glow"])}, as_=SAM)
    assert answer.errors == [], answer.body
    providers = answer.data["medspa"]["providers"]["edges"]
    assert [e["node"]["displayName"] for e in providers] == ["Nina Patel"]


@pytest.mark.usefixtures("sam_on_nina")
async def test_medspa_lists_only_the_assigned_providers_patients(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    answer = await gql(MEDSPA, {"m": gid("Medspa", demo.medspas["glow"])}, as_=SAM)
    assert answer.errors == [], answer.body
    patients = answer.data["medspa"]["patients"]["edges"]
    assert _ids(patients) == await _ninas_patients(owner_engine, demo)


@pytest.mark.usefixtures("sam_on_nina")
async def test_another_providers_appointment_answers_like_a_random_id(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    (omars, *_) = await rows(
        owner_engine,
        "SELECT id FROM appointment WHERE provider_id = :p LIMIT 1",
        p=demo.providers["omar@glow.example"],
    )
    (ninas, *_) = await rows(
        owner_engine,
        "SELECT id FROM appointment WHERE provider_id = :p LIMIT 1",
        p=demo.providers["nina@glow.example"],
    )
    query = "query($id: ID!) { node(id: $id) { id ... on Appointment { status } } }"
    hidden = await gql(query, {"id": gid("Appointment", omars["id"])}, as_=SAM)
    random = await gql(query, {"id": gid("Appointment", uuid.uuid4())}, as_=SAM)
    assert hidden.body == random.body == {"data": {"node": None}}
    visible = await gql(query, {"id": gid("Appointment", ninas["id"])}, as_=SAM)
    assert visible.data["node"]["id"] == gid("Appointment", ninas["id"])


@pytest.mark.usefixtures("sam_on_nina")
@pytest.mark.parametrize(
    ("provider", "expected"), [("nina@glow.example", None), ("omar@glow.example", "NOT_FOUND")]
)
async def test_books_only_for_the_assigned_provider(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine, provider: str, expected: str | None
) -> None:
    from tests.scheduling.helpers import BOOK, booking

    variables = await booking(owner_engine, demo, provider=provider, at=next_week(2, time(10)))
    answer = await gql(BOOK, variables, as_=SAM)
    if expected is None:
        assert answer.errors == [], answer.body
        assert answer.data["bookAppointment"]["errors"] == []
    else:
        assert answer.codes == [expected], answer.body
