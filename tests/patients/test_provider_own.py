"""A provider's OWN patients: an appointment, a GFE request or a clearance with them (§5)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.ids import encode_global_id
from db.models import Appointment, Patient
from db.models.gfe import GfeDestination, GfeRequest, GfeRequestStatus
from db.seed.demo import DemoIds
from tests.conftest import Gql

QUERY = "query($id: ID!) { node(id: $id) { ... on Patient { firstName } } }"


async def test_a_gfe_request_makes_the_patient_the_providers(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession
) -> None:
    nina = demo.providers["nina@glow.example"]
    stranger = (
        (
            await owner_session.execute(
                select(Patient).where(
                    Patient.medspa_id == demo.medspas["glow"],
                    ~Patient.id.in_(
                        select(Appointment.patient_id).where(Appointment.provider_id == nina)
                    ),
                )
            )
        )
        .scalars()
        .first()
    )
    assert stranger is not None
    patient_id = encode_global_id("Patient", stranger.id)
    before = await gql(QUERY, {"id": patient_id}, as_="nina@glow.example")
    assert before.data == {"node": None}

    owner_session.add(
        GfeRequest(
            id=uuid.uuid4(),
            medspa_id=demo.medspas["glow"],
            patient_id=stranger.id,
            provider_id=nina,
            destination=GfeDestination.MANUAL,
            status=GfeRequestStatus.PENDING,
        )
    )
    await owner_session.commit()
    after = await gql(QUERY, {"id": patient_id}, as_="nina@glow.example")
    assert after.data == {"node": {"firstName": stranger.first_name}}
