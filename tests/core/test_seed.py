"""The demo seed is idempotent and matches DESIGN §8."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Location, Medspa, Membership, Pcc, PccAssignment, Provider, User
from db.seed.demo import DemoIds, seed_demo


async def _counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in (Medspa, User, Membership, Provider, Location, Pcc, PccAssignment):
        counts[model.__tablename__] = (
            await session.execute(select(func.count()).select_from(model))
        ).scalar_one()
    return counts


async def test_seeding_twice_changes_nothing(owner_session: AsyncSession, demo: DemoIds) -> None:
    before = await _counts(owner_session)
    again = await seed_demo(owner_session)
    after = await _counts(owner_session)
    assert before == after
    assert again.medspas == demo.medspas
    assert again.providers == demo.providers


async def test_demo_people_and_places(owner_session: AsyncSession, demo: DemoIds) -> None:
    assert set(demo.medspas) == {"glow", "radiance", "legacy"}
    assert set(demo.locations) == {
        "glow-downtown",
        "glow-brooklyn",
        "radiance-santa-monica",
        "legacy-main",
    }
    inactive = (
        (
            await owner_session.execute(
                select(Location.booking_slug).where(Location.active_for_scheduling.is_(False))
            )
        )
        .scalars()
        .all()
    )
    assert inactive == ["glow-brooklyn"]
    vera_assignments = (
        await owner_session.execute(
            text(
                "SELECT count(*) FROM pcc_assignment a JOIN pcc p ON p.id = a.pcc_id"
                " JOIN app_user u ON u.id = p.user_id WHERE u.email = 'vera@portrait.example'"
            )
        )
    ).scalar_one()
    assert vera_assignments == 3  # every Glow provider
