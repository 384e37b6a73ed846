"""The demo dataset of DESIGN §8. Idempotent: every row is found by its natural key first.

Front-end developers and the README's examples rely on these names; keep them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    BusinessModel,
    GfeRouting,
    Location,
    Medspa,
    Membership,
    MembershipRole,
    Pcc,
    PccAssignment,
    PccKind,
    Provider,
    StaffMember,
    StaffRole,
    User,
)
from db.seed.checkout import seed_checkouts
from db.seed.coverage import seed_coverage
from db.seed.inventory import seed_inventory
from db.seed.scheduling import seed_scheduling
from db.seed.services import seed_services
from db.session import set_tenant_settings

T = TypeVar("T")

WEEKDAY_HOURS = {d: [["09:00", "17:00"]] for d in ("MON", "TUE", "WED", "THU", "FRI")}


@dataclass(frozen=True)
class DemoProvider:
    email: str
    name: str
    credentials: str
    licensed: bool = False
    admin: bool = False


@dataclass(frozen=True)
class DemoLocation:
    name: str
    slug: str
    address: str
    city: str
    region: str
    postal_code: str
    active: bool = True


@dataclass(frozen=True)
class DemoMedspa:
    name: str
    slug: str
    model: BusinessModel
    time_zone: str
    routing: GfeRouting
    providers: tuple[DemoProvider, ...]
    locations: tuple[DemoLocation, ...]
    admins_only: tuple[tuple[str, str], ...] = ()


MEDSPAS = (
    DemoMedspa(
        name="Glow Aesthetics",
        slug="glow",
        model=BusinessModel.LAUNCH,
        time_zone="America/New_York",
        routing=GfeRouting.DO_NOT_ROUTE,
        providers=(
            DemoProvider("dana@glow.example", "Dana Whitfield", "NP", licensed=True, admin=True),
            DemoProvider("nina@glow.example", "Nina Patel", "RN"),
            DemoProvider("omar@glow.example", "Omar Haddad", "PA"),
        ),
        locations=(
            DemoLocation("Downtown", "glow-downtown", "120 Hudson St", "New York", "NY", "10013"),
            DemoLocation(
                "Brooklyn", "glow-brooklyn", "45 Wythe Ave", "Brooklyn", "NY", "11249", active=False
            ),
        ),
    ),
    DemoMedspa(
        name="Radiance MedSpa",
        slug="radiance",
        model=BusinessModel.FLEX,
        time_zone="America/Los_Angeles",
        routing=GfeRouting.PORTRAIT_CLEARING,
        providers=(
            DemoProvider("lee@radiance.example", "Lee Chen", "NP"),
            DemoProvider("maya@radiance.example", "Maya Brooks", "RN"),
        ),
        admins_only=(("ruth@radiance.example", "Ruth Alvarez"),),
        locations=(
            DemoLocation(
                "Santa Monica",
                "radiance-santa-monica",
                "1400 Montana Ave",
                "Santa Monica",
                "CA",
                "90403",
            ),
        ),
    ),
    DemoMedspa(
        name="Legacy Skin Studio",
        slug="legacy",
        model=BusinessModel.LEGACY,
        time_zone="America/Chicago",
        routing=GfeRouting.PORTRAIT_CLEARING,
        providers=(
            DemoProvider("lena@legacy.example", "Lena Novak", "MD", admin=True),
            DemoProvider("kim@legacy.example", "Kim Park", "RN"),
        ),
        locations=(
            DemoLocation("Main Street", "legacy-main", "210 N Main St", "Chicago", "IL", "60602"),
        ),
    ),
)

STAFF = (
    ("ops@portrait.example", "Olivia Ops", StaffRole.PLATFORM_ADMIN),
    ("maria@portrait.example", "Maria Gomez", StaffRole.PCC_MANAGER),
    ("ames@portrait.example", "Dr. Alex Ames", StaffRole.MEDICAL_TEAM),
    ("ivy@portrait.example", "Ivy Chen", StaffRole.INVENTORY_TEAM),
)

# email, name, kind, time zone, designated medspa slug, slugs whose providers are assigned
PCCS = (
    ("vera@portrait.example", "Vera Lind", PccKind.VIRTUAL, "America/Denver", None, ("glow",)),
    (
        "dean@portrait.example",
        "Dean Foster",
        PccKind.DESIGNATED,
        "America/Los_Angeles",
        "radiance",
        (),
    ),
    ("cody@portrait.example", "Cody Reyes", PccKind.VIRTUAL, "America/Chicago", None, ("legacy",)),
    ("sam@portrait.example", "Sam Taylor", PccKind.VIRTUAL, "America/New_York", None, ()),
)

ASSIGNMENTS_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class DemoIds:
    """What the seed created or found, by natural key (tests and later seeds use it)."""

    medspas: dict[str, uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    providers: dict[str, uuid.UUID] = field(default_factory=dict)
    locations: dict[str, uuid.UUID] = field(default_factory=dict)
    pccs: dict[str, uuid.UUID] = field(default_factory=dict)
    # {medspa slug: {appointment type name: id}} (db/seed/scheduling.py)
    appointment_types: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)
    # Portrait's library {name: id} and each medspa's services {slug: {name: id}}
    # (db/seed/services.py)
    library_services: dict[str, uuid.UUID] = field(default_factory=dict)
    services: dict[str, dict[str, uuid.UUID]] = field(default_factory=dict)
    # Portrait's supplier catalogue {product name: id} (db/seed/inventory.py)
    supplier_products: dict[str, uuid.UUID] = field(default_factory=dict)


async def _get_or_add(
    session: AsyncSession, model: type[T], where: dict[str, Any], **values: Any
) -> T:
    stmt = select(model).filter_by(**where)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        fields = {**where, **values}
        if hasattr(model, "id"):
            fields["id"] = uuid.uuid4()
        row = cast(Any, model)(**fields)
        session.add(row)
        await session.flush()
    return row


async def _user(session: AsyncSession, email: str, name: str) -> User:
    row = (
        await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    ).scalar_one_or_none()
    if row is None:
        row = User(id=uuid.uuid4(), email=email, full_name=name, active=True)
        session.add(row)
        await session.flush()
    return row


async def _pairs(session: AsyncSession, stmt: Select[Any, uuid.UUID]) -> dict[Any, uuid.UUID]:
    return {key: id_ for key, id_ in (await session.execute(stmt)).all() if key is not None}


async def find_demo_ids(session: AsyncSession) -> DemoIds | None:
    """The ids of the seeded demo people and places, by natural key, without writing; None
    when the demo data is not (fully) there."""
    await set_tenant_settings(session, medspa_ids=(), platform=True)
    emails = [p.email for m in MEDSPAS for p in m.providers]
    emails += [email for m in MEDSPAS for email, _ in m.admins_only]
    emails += [email for email, _, _ in STAFF] + [email for email, *_ in PCCS]
    slugs = [loc.slug for m in MEDSPAS for loc in m.locations]
    ids = DemoIds(
        medspas=await _pairs(
            session,
            select(Medspa.slug, Medspa.id).where(Medspa.slug.in_([m.slug for m in MEDSPAS])),
        ),
        users=await _pairs(session, select(User.email, User.id).where(User.email.in_(emails))),
        providers=await _pairs(
            session,
            select(User.email, Provider.id)
            .join(Provider, Provider.user_id == User.id)
            .where(User.email.in_(emails)),
        ),
        locations=await _pairs(
            session,
            select(Location.booking_slug, Location.id).where(Location.booking_slug.in_(slugs)),
        ),
        pccs=await _pairs(
            session,
            select(User.email, Pcc.id)
            .join(Pcc, Pcc.user_id == User.id)
            .where(User.email.in_(emails)),
        ),
    )
    complete = (
        len(ids.medspas) == len(MEDSPAS)
        and set(emails) <= set(ids.users)
        and len(ids.pccs) == len(PCCS)
    )
    return ids if complete else None


async def seed_demo(session: AsyncSession, *, now: datetime | None = None) -> DemoIds:
    """Create (or find) the demo dataset, its dated rows placed around `now` (default: the
    current time). The caller commits."""
    await set_tenant_settings(session, medspa_ids=(), platform=True)
    ids = DemoIds()
    for spec in MEDSPAS:
        medspa = await _get_or_add(
            session,
            Medspa,
            {"slug": spec.slug},
            name=spec.name,
            business_model=spec.model,
            time_zone=spec.time_zone,
            gfe_routing=spec.routing,
            pcc_service=True,
            uses_portrait_ehr=True,
        )
        ids.medspas[spec.slug] = medspa.id
        for email, name in spec.admins_only:
            user = await _user(session, email, name)
            ids.users[email] = user.id
            await _get_or_add(
                session,
                Membership,
                {"medspa_id": medspa.id, "user_id": user.id, "role": MembershipRole.MEDSPA_ADMIN},
            )
        for p in spec.providers:
            user = await _user(session, p.email, p.name)
            ids.users[p.email] = user.id
            await _get_or_add(
                session,
                Membership,
                {"medspa_id": medspa.id, "user_id": user.id, "role": MembershipRole.PROVIDER},
            )
            if p.admin:
                await _get_or_add(
                    session,
                    Membership,
                    {
                        "medspa_id": medspa.id,
                        "user_id": user.id,
                        "role": MembershipRole.MEDSPA_ADMIN,
                    },
                )
            provider = await _get_or_add(
                session,
                Provider,
                {"medspa_id": medspa.id, "user_id": user.id},
                display_name=p.name,
                credentials=p.credentials,
                licensed_to_self_clear=p.licensed,
                active=True,
            )
            ids.providers[p.email] = provider.id
        for loc in spec.locations:
            location = await _get_or_add(
                session,
                Location,
                {"booking_slug": loc.slug},
                medspa_id=medspa.id,
                name=loc.name,
                address_line1=loc.address,
                city=loc.city,
                region=loc.region,
                postal_code=loc.postal_code,
                country="US",
                time_zone=spec.time_zone,
                active_for_scheduling=loc.active,
            )
            ids.locations[loc.slug] = location.id

    for email, name, role in STAFF:
        user = await _user(session, email, name)
        ids.users[email] = user.id
        await _get_or_add(session, StaffMember, {"user_id": user.id}, role=role)

    for email, name, kind, tz, designated, assigned_slugs in PCCS:
        user = await _user(session, email, name)
        ids.users[email] = user.id
        await _get_or_add(session, StaffMember, {"user_id": user.id}, role=StaffRole.PCC)
        pcc = await _get_or_add(
            session,
            Pcc,
            {"user_id": user.id},
            kind=kind,
            time_zone=tz,
            working_hours=WEEKDAY_HOURS,
            designated_medspa_id=ids.medspas[designated] if designated else None,
        )
        ids.pccs[email] = pcc.id
        for slug in assigned_slugs:
            spec = next(m for m in MEDSPAS if m.slug == slug)
            for p in spec.providers:
                await _get_or_add(
                    session,
                    PccAssignment,
                    {"pcc_id": pcc.id, "provider_id": ids.providers[p.email]},
                    medspa_id=ids.medspas[slug],
                    starts_at=ASSIGNMENTS_START,
                    ends_at=None,
                )
    await session.flush()
    ids.appointment_types = await seed_scheduling(
        session, medspa_ids=ids.medspas, provider_ids=ids.providers, now=now
    )
    await seed_coverage(session, pccs=ids.pccs, users=ids.users, medspas=ids.medspas, now=now)
    catalogue = await seed_services(
        session, medspa_ids=ids.medspas, appointment_types=ids.appointment_types
    )
    ids.library_services, ids.services = catalogue.library, catalogue.services
    ids.supplier_products = await seed_inventory(
        session, medspa_ids=ids.medspas, users=ids.users, now=now or datetime.now(UTC)
    )
    await seed_checkouts(session, medspa_ids=ids.medspas, provider_ids=ids.providers, now=now)
    return ids


def demo_people() -> list[tuple[str, str]]:
    """Every demo user's email with who they are, in DESIGN §8's order."""
    people: list[tuple[str, str]] = []
    for spec in MEDSPAS:
        for email, _name in spec.admins_only:
            people.append((email, f"{spec.name}: admin only"))
        for p in spec.providers:
            role = "admin and provider" if p.admin else "provider"
            licensed = ", licensed to self-clear" if p.licensed else ""
            people.append((p.email, f"{spec.name}: {role} ({p.credentials}{licensed})"))
    for email, _name, role in STAFF:
        people.append((email, f"Portrait: {role.value.lower().replace('_', ' ')}"))
    for email, _name, kind, _tz, designated, assigned in PCCS:
        if designated:
            reach = f"designated at {designated}"
        elif assigned:
            reach = "assigned to " + ", ".join(assigned) + "'s providers"
        else:
            reach = "no assignments: the coverage pool"
        people.append((email, f"Portrait: {kind.value.lower()} PCC, {reach}"))
    return people
