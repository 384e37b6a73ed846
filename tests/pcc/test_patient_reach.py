"""A PCC reaches the patients linked to the providers it reaches right now (DESIGN §3, §5).

"Rows that belong to a provider follow the provider: a PCC reaches the patients linked to the
providers it reaches (an appointment, GFE request, clearance or service visit with them, or
created by this PCC for one of them), never the rest of the medspa's patients."

Glow gets one fresh patient per kind of link, each linked to Omar only, plus one linked to no
one. Vera is assigned to all of Glow's providers in the seed; the tests take Omar away from
her (assigned to two of three), and give him back through a coverage window (before, inside
and after it), as a DESIGNATED PCC would reach him too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.ids import encode_global_id
from db.models import (
    Clearance,
    ClearanceSource,
    GfeDestination,
    GfeRequest,
    Patient,
    PccAssignment,
    ServiceVisit,
)
from db.seed.demo import DemoIds
from tests.conftest import Gql
from tests.pcc.helpers import absence

LINKS = ("appointment", "gfe_request", "clearance", "service_visit", "created_by_vera")
SEARCH = "{ patients(first: 100) { edges { node { id } } } }"
NODE = "query($id: ID!) { node(id: $id) { ... on Patient { id } } }"


async def _patient(session: AsyncSession, demo: DemoIds, label: str, **created: object) -> Patient:
    row = Patient(
        id=uuid.uuid4(),
        medspa_id=demo.medspas["glow"],
        first_name="Reach",
        last_name=label,
        email=f"reach-{label}@example.com",
        **created,
    )
    session.add(row)
    await session.flush()
    return row


async def _omars_patients(session: AsyncSession, demo: DemoIds) -> dict[str, uuid.UUID]:
    """One fresh Glow patient per link to Omar, and one linked to no provider at all."""
    glow, omar = demo.medspas["glow"], demo.providers["omar@glow.example"]
    made = {
        "gfe_request": await _patient(session, demo, "gfe"),
        "clearance": await _patient(session, demo, "clearance"),
        "service_visit": await _patient(session, demo, "visit"),
        "created_by_vera": await _patient(
            session,
            demo,
            "created",
            created_by_user_id=demo.users["vera@portrait.example"],
            created_for_provider_id=omar,
        ),
        "created_by_someone_else": await _patient(
            session,
            demo,
            "created-by-nina",
            created_by_user_id=demo.users["nina@glow.example"],
            created_for_provider_id=omar,
        ),
        "unlinked": await _patient(session, demo, "unlinked"),
    }
    now = datetime.now(UTC)
    session.add(
        GfeRequest(
            id=uuid.uuid4(),
            medspa_id=glow,
            patient_id=made["gfe_request"].id,
            provider_id=omar,
            destination=GfeDestination.MANUAL,
        )
    )
    session.add(
        Clearance(
            id=uuid.uuid4(),
            medspa_id=glow,
            patient_id=made["clearance"].id,
            service_id=next(iter(demo.services["glow"].values())),
            source=ClearanceSource.SELF,
            signed_by_provider_id=omar,
            signer_name="Omar Haddad",
            signed_at=now,
            expires_at=now + timedelta(days=365),
        )
    )
    session.add(
        ServiceVisit(
            id=uuid.uuid4(),
            medspa_id=glow,
            provider_id=omar,
            patient_id=made["service_visit"].id,
            opened_at=now,
        )
    )
    await session.commit()
    ids = {label: row.id for label, row in made.items()}
    ids["appointment"] = await _seeded_patient_of_only(session, demo, "omar@glow.example")
    return ids


async def _seeded_patient_of_only(session: AsyncSession, demo: DemoIds, who: str) -> uuid.UUID:
    """A seeded Glow patient with appointments with `who` and no other provider."""
    from sqlalchemy import text

    row = (
        await session.execute(
            text(
                "SELECT patient_id FROM appointment WHERE medspa_id = :m GROUP BY patient_id"
                " HAVING bool_and(provider_id = :p) LIMIT 1"
            ),
            {"m": demo.medspas["glow"], "p": demo.providers[who]},
        )
    ).scalar_one()
    return uuid.UUID(str(row))


async def _end_omar_for_vera(session: AsyncSession, demo: DemoIds) -> None:
    await session.execute(
        update(PccAssignment)
        .where(
            PccAssignment.pcc_id == demo.pccs["vera@portrait.example"],
            PccAssignment.provider_id == demo.providers["omar@glow.example"],
        )
        .values(ends_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()


async def _reads(gql: Gql, who: str) -> set[str]:
    answer = await gql(SEARCH, as_=who)
    assert answer.errors == [], answer.body
    return {e["node"]["id"] for e in answer.data["patients"]["edges"]}


def _gids(ids: dict[str, uuid.UUID], labels: tuple[str, ...]) -> set[str]:
    return {encode_global_id("Patient", ids[label]) for label in labels}


async def test_assigned_pcc_reads_patients_linked_to_its_providers_by_every_link(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    ids = await _omars_patients(owner_session, demo)
    reads = await _reads(gql, "vera@portrait.example")
    assert _gids(ids, LINKS) <= reads
    # Linked to no provider, or created for Omar by someone else: not Vera's.
    assert not _gids(ids, ("unlinked", "created_by_someone_else")) & reads
    # The medspa admin reads every patient of Glow, linked or not.
    assert _gids(ids, (*LINKS, "unlinked", "created_by_someone_else")) <= await _reads(
        gql, "dana@glow.example"
    )


async def test_pcc_assigned_to_two_of_three_providers_reads_none_of_the_thirds(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    ids = await _omars_patients(owner_session, demo)
    await _end_omar_for_vera(owner_session, demo)
    reads = await _reads(gql, "vera@portrait.example")
    assert not _gids(ids, LINKS) & reads
    # ... one by one too (invisible equals absent), while Dana and Nina's patients stay.
    for label in LINKS:
        node = await gql(
            NODE, {"id": encode_global_id("Patient", ids[label])}, as_="vera@portrait.example"
        )
        assert node.data["node"] is None, label
    nina_only = await _seeded_patient_of_only(owner_session, demo, "nina@glow.example")
    assert encode_global_id("Patient", nina_only) in reads


@pytest.mark.parametrize(
    ("window", "inside"),
    [
        ((timedelta(hours=2), timedelta(days=1)), False),  # before the window opens
        ((-timedelta(hours=1), timedelta(hours=5)), True),  # inside it
        ((-timedelta(days=2), -timedelta(days=1)), False),  # after it closed
    ],
)
async def test_covering_pcc_reads_the_absent_pccs_patients_only_inside_the_window(
    gql: Gql,
    demo: DemoIds,
    owner_session: AsyncSession,
    window: tuple[timedelta, timedelta],
    inside: bool,
) -> None:
    ids = await _omars_patients(owner_session, demo)
    now = datetime.now(UTC)
    await absence(
        owner_session,
        demo,
        starts=now + window[0],
        ends=now + window[1],
        covering="cody@portrait.example",
    )
    reads = await _reads(gql, "cody@portrait.example")
    linked = _gids(ids, ("appointment", "gfe_request", "clearance", "service_visit"))
    assert (linked <= reads) is inside
    if not inside:
        assert not linked & reads
    # Never the medspa's unlinked patients, nor what Vera (not Cody) created for Omar.
    assert not _gids(ids, ("unlinked", "created_by_vera")) & reads


async def test_covering_pcc_loses_a_provider_who_covers_their_own_lines(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    from db.models import OooAffectedProvider

    ids = await _omars_patients(owner_session, demo)
    now = datetime.now(UTC)
    ooo = await absence(
        owner_session,
        demo,
        starts=now - timedelta(hours=1),
        ends=now + timedelta(hours=5),
        covering="cody@portrait.example",
    )
    assert _gids(ids, ("appointment",)) <= await _reads(gql, "cody@portrait.example")
    await owner_session.execute(
        update(OooAffectedProvider)
        .where(
            OooAffectedProvider.ooo_id == ooo["id"],
            OooAffectedProvider.provider_id == demo.providers["omar@glow.example"],
        )
        .values(covers_own_lines=True)
    )
    await owner_session.commit()
    assert not _gids(ids, LINKS) & await _reads(gql, "cody@portrait.example")


async def test_designated_pcc_reads_patients_of_its_medspas_providers_only(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    from sqlalchemy import text

    reads = await _reads(gql, "dean@portrait.example")
    async with owner_engine.connect() as conn:
        radiance = {
            encode_global_id("Patient", row[0])
            for row in await conn.execute(
                text("SELECT id FROM patient WHERE medspa_id = :m"), {"m": demo.medspas["radiance"]}
            )
        }
        linked = {
            encode_global_id("Patient", row[0])
            for row in await conn.execute(
                text("SELECT DISTINCT patient_id FROM appointment WHERE medspa_id = :m"),
                {"m": demo.medspas["radiance"]},
            )
        }
    assert reads == linked
    assert reads < radiance  # Radiance's patients with no provider stay out of reach


CREATE = """mutation($i: PatientInput!, $p: ID, $m: ID) {
  createPatient(input: $i, providerId: $p, medspaId: $m) {
    patient { id } errors { code field } } }"""


def _new(label: str) -> dict[str, str]:
    return {"firstName": "New", "lastName": label, "email": f"new-{label}@example.com"}


async def test_pcc_creates_a_patient_for_a_provider_reads_and_books_them(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    from tests.scheduling.helpers import BOOK, booking, next_week

    omar = encode_global_id("Provider", demo.providers["omar@glow.example"])
    created = await gql(CREATE, {"i": _new("for-omar"), "p": omar}, as_="vera@portrait.example")
    assert created.data["createPatient"]["errors"] == [], created.body
    patient = created.data["createPatient"]["patient"]["id"]
    assert (await gql(NODE, {"id": patient}, as_="vera@portrait.example")).data["node"] == {
        "id": patient
    }
    # Another PCC of Glow's providers (none) and Omar's colleague do not read it.
    assert (await gql(NODE, {"id": patient}, as_="sam@portrait.example")).data["node"] is None
    assert (await gql(NODE, {"id": patient}, as_="nina@glow.example")).data["node"] is None
    variables = await booking(
        owner_engine, demo, provider="omar@glow.example", at=next_week(2, time(11))
    )
    variables["input"]["patientId"] = patient
    booked = await gql(BOOK, variables, as_="vera@portrait.example")
    assert booked.data["bookAppointment"]["errors"] == [], booked.body
    # Booked with Omar: Omar reads the patient now (OWN: an appointment with them).
    assert (await gql(NODE, {"id": patient}, as_="omar@glow.example")).data["node"] == {
        "id": patient
    }


async def test_pcc_cannot_create_for_a_provider_it_does_not_reach(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    await _end_omar_for_vera(owner_session, demo)
    omar = encode_global_id("Provider", demo.providers["omar@glow.example"])
    lee = encode_global_id("Provider", demo.providers["lee@radiance.example"])
    for provider in (omar, lee):
        answer = await gql(CREATE, {"i": _new("x"), "p": provider}, as_="vera@portrait.example")
        assert answer.codes == ["NOT_FOUND"], answer.body
    # A provider names only themselves; a provider of the medspa is visible, so FORBIDDEN.
    other = await gql(CREATE, {"i": _new("y"), "p": omar}, as_="nina@glow.example")
    assert other.codes == ["FORBIDDEN"], other.body
    # The provider and the medspa named must agree.
    nina = encode_global_id("Provider", demo.providers["nina@glow.example"])
    radiance = encode_global_id("Medspa", demo.medspas["radiance"])
    mismatch = await gql(
        CREATE, {"i": _new("z"), "p": nina, "m": radiance}, as_="vera@portrait.example"
    )
    assert mismatch.data["createPatient"]["errors"] == [
        {"code": "VALIDATION", "field": "providerId"}
    ]


async def test_created_patient_records_creator_and_provider(
    gql: Gql, demo: DemoIds, owner_engine: AsyncEngine
) -> None:
    from sqlalchemy import text

    nina = encode_global_id("Provider", demo.providers["nina@glow.example"])
    made = await gql(CREATE, {"i": _new("recorded"), "p": nina}, as_="vera@portrait.example")
    mine = await gql(CREATE, {"i": _new("own")}, as_="nina@glow.example")
    # Dana on her admin dashboard creates for the medspa, not for herself as a provider.
    admin = await gql(CREATE, {"i": _new("admin")}, as_="dana@glow.example")
    assert admin.data["createPatient"]["errors"] == []
    async with owner_engine.connect() as conn:
        rows = {
            row.last_name: (row.created_by_user_id, row.created_for_provider_id)
            for row in await conn.execute(
                text(
                    "SELECT last_name, created_by_user_id, created_for_provider_id FROM patient"
                    " WHERE last_name IN ('recorded', 'own', 'admin')"
                )
            )
        }
    assert made.data["createPatient"]["errors"] == mine.data["createPatient"]["errors"] == []
    assert rows == {
        "recorded": (demo.users["vera@portrait.example"], demo.providers["nina@glow.example"]),
        "own": (demo.users["nina@glow.example"], demo.providers["nina@glow.example"]),
        "admin": (demo.users["dana@glow.example"], None),
    }
