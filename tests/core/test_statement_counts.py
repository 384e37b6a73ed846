"""SQL statement counts of list fields do not grow with the number of rows (DataLoaders)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import BusinessModel, GfeRouting, Location, Medspa
from db.seed.demo import DemoIds
from tests.conftest import Gql, StatementLog

QUERY = """{ medspas(first: 100) { edges { node { slug
    locations { edges { node { name bookingSlug medspa { slug } } } }
    providers { edges { node { displayName } } } } } } }"""


async def _add_medspas(session: AsyncSession, count: int) -> None:
    for i in range(count):
        medspa = Medspa(
            id=uuid.uuid4(),
            name=f"Extra {i:03d}",
            slug=f"extra-{i:03d}",
            business_model=BusinessModel.LAUNCH,
            time_zone="America/New_York",
            gfe_routing=GfeRouting.PORTRAIT_CLEARING,
        )
        session.add(medspa)
        await session.flush()
        for j in range(3):
            session.add(
                Location(
                    id=uuid.uuid4(),
                    medspa_id=medspa.id,
                    name=f"Site {j}",
                    address_line1="1 Main St",
                    city="Town",
                    region="NY",
                    postal_code="10001",
                    time_zone="America/New_York",
                    booking_slug=f"extra-{i:03d}-{j}",
                )
            )
    await session.commit()


async def _statements(gql: Gql, log: StatementLog) -> tuple[int, int]:
    log.clear()
    answer = await gql(QUERY, as_="ops@portrait.example")
    assert answer.errors == []
    return len(answer.data["medspas"]["edges"]), log.count()


async def test_medspas_with_locations_cost_the_same_for_3_and_43_medspas(
    gql: Gql, demo: DemoIds, owner_session: AsyncSession, statement_log: StatementLog
) -> None:
    few_rows, few = await _statements(gql, statement_log)
    await _add_medspas(owner_session, 40)
    many_rows, many = await _statements(gql, statement_log)
    assert (few_rows, many_rows) == (3, 43)
    assert few == many
    # auth (user, staff) + medspas + locations + providers + nested medspa loader
    assert many <= 7, statement_log.statements
