"""Portrait's service library and each demo medspa's catalogue (DESIGN §8), run by `seed_demo`.

The library is realistic enough for front-end work: neuromodulators, dermal fillers, peels,
microneedling, Kybella, vitamin injections and PRF, each with a consent, care messages and
standing orders. Every demo medspa imports the whole library, active at the default prices,
and its appointment types are linked to the services they deliver. Idempotent: rows are
found by name first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.resolvers.service_library import import_into
from db.models import (
    AppointmentTypeService,
    LibraryService,
    LibraryServiceGroup,
)


@dataclass(frozen=True)
class DemoLibraryService:
    group: str
    name: str
    description: str
    price_cents: int
    standing_orders: str
    consent: str
    aftercare: str


def _consent(treatment: str, risks: str) -> str:
    return (
        f"I consent to {treatment}. I understand the expected results, the alternatives, and"
        f" the risks, including {risks}. I have disclosed my medical history, medications and"
        " allergies, and I may withdraw consent at any time before treatment."
    )


NEUROTOXIN_ORDERS = (
    "Dose per units chart; maximum 100 units per session. Contraindicated in pregnancy,"
    " lactation, neuromuscular disease and active infection at the site."
)
FILLER_ORDERS = (
    "Hyaluronic acid filler up to 2 syringes per session; hyaluronidase on site."
    " Contraindicated with active infection, bleeding disorders or filler allergy."
)
PEEL_ORDERS = "No isotretinoin in the last 6 months; patch test for Fitzpatrick V-VI."

LIBRARY_GROUPS = {
    "Neuromodulators": "Botulinum toxin type A injections for dynamic lines.",
    "Dermal fillers": "Hyaluronic acid fillers for volume and contour.",
    "Chemical peels": "Resurfacing peels for tone and texture.",
    "Collagen induction": "Microneedling and platelet-rich fibrin treatments.",
    "Fat reduction": "Injectable submental fat reduction.",
    "Wellness injections": "Vitamin and nutrient injections.",
}

LIBRARY = (
    DemoLibraryService(
        "Neuromodulators",
        "Botox Cosmetic",
        "OnabotulinumtoxinA for glabellar, forehead and crow's-feet lines.",
        45_000,
        NEUROTOXIN_ORDERS,
        _consent("onabotulinumtoxinA injection", "bruising, headache and eyelid ptosis"),
        "Stay upright for 4 hours; no massage or exercise for 24 hours.",
    ),
    DemoLibraryService(
        "Neuromodulators",
        "Dysport",
        "AbobotulinumtoxinA for moderate to severe glabellar lines.",
        42_000,
        NEUROTOXIN_ORDERS,
        _consent("abobotulinumtoxinA injection", "bruising, headache and eyelid ptosis"),
        "Stay upright for 4 hours; no massage or exercise for 24 hours.",
    ),
    DemoLibraryService(
        "Neuromodulators",
        "Xeomin",
        "IncobotulinumtoxinA, free of complexing proteins.",
        40_000,
        NEUROTOXIN_ORDERS,
        _consent("incobotulinumtoxinA injection", "bruising, headache and eyelid ptosis"),
        "Stay upright for 4 hours; no massage or exercise for 24 hours.",
    ),
    DemoLibraryService(
        "Dermal fillers",
        "Juvederm Ultra XC",
        "Hyaluronic acid filler for lips and perioral lines, per syringe.",
        75_000,
        FILLER_ORDERS,
        _consent("hyaluronic acid filler", "swelling, bruising, nodules and vascular occlusion"),
        "Ice as needed; avoid alcohol, heat and strenuous exercise for 48 hours.",
    ),
    DemoLibraryService(
        "Dermal fillers",
        "Restylane Lyft",
        "Hyaluronic acid filler for cheeks and mid-face volume, per syringe.",
        72_000,
        FILLER_ORDERS,
        _consent("hyaluronic acid filler", "swelling, bruising, nodules and vascular occlusion"),
        "Ice as needed; avoid alcohol, heat and strenuous exercise for 48 hours.",
    ),
    DemoLibraryService(
        "Chemical peels",
        "VI Peel",
        "Medium-depth peel with TCA, phenol and retinoic acid.",
        30_000,
        PEEL_ORDERS,
        _consent("a medium-depth chemical peel", "redness, peeling and pigment change"),
        "Do not pick peeling skin; SPF 30+ daily; no retinoids for 7 days.",
    ),
    DemoLibraryService(
        "Chemical peels",
        "Glycolic peel",
        "Superficial alpha-hydroxy acid peel.",
        15_000,
        PEEL_ORDERS,
        _consent("a superficial chemical peel", "redness, stinging and flaking"),
        "Gentle cleanser and SPF 30+ daily for a week.",
    ),
    DemoLibraryService(
        "Collagen induction",
        "Microneedling",
        "Collagen induction therapy for texture and acne scarring.",
        35_000,
        "Needle depth 0.5-2.0 mm by area; no active acne or isotretinoin in 6 months.",
        _consent("microneedling", "redness, pinpoint bleeding and infection"),
        "No makeup for 24 hours; SPF 30+; no actives for 5 days.",
    ),
    DemoLibraryService(
        "Collagen induction",
        "PRF under-eye",
        "Platelet-rich fibrin injection for under-eye hollows and crepiness.",
        70_000,
        "Draw and spin per PRF protocol; inject within 20 minutes of processing.",
        _consent("platelet-rich fibrin injection", "bruising, swelling and infection"),
        "Ice for 10 minutes at a time; expect swelling for 2-3 days.",
    ),
    DemoLibraryService(
        "Fat reduction",
        "Kybella",
        "Deoxycholic acid injection for submental fullness.",
        60_000,
        "Up to 50 injections (10 mL) per session, sessions at least 1 month apart.",
        _consent("deoxycholic acid injection", "swelling, numbness and marginal nerve injury"),
        "Swelling peaks at 48 hours; sleep elevated; ice as needed.",
    ),
    DemoLibraryService(
        "Wellness injections",
        "Vitamin B-12 injection",
        "Cyanocobalamin 1,000 mcg intramuscular injection.",
        3_500,
        "Cyanocobalamin 1,000 mcg IM; contraindicated with cobalt allergy or Leber's disease.",
        _consent("a vitamin B-12 injection", "soreness at the site and allergic reaction"),
        "Mild soreness at the site is normal for a day.",
    ),
)

# Which library services each demo appointment type delivers.
TYPE_SERVICES = {
    "Neuromodulator": ("Botox Cosmetic",),
    "Dermal filler": ("Juvederm Ultra XC",),
    "Chemical peel": ("VI Peel",),
}


@dataclass
class ServiceIds:
    library: dict[str, uuid.UUID]
    # {medspa slug: {service name: id}}
    services: dict[str, dict[str, uuid.UUID]]


async def seed_library(session: AsyncSession) -> dict[str, LibraryService]:
    groups: dict[str, LibraryServiceGroup] = {}
    for name, description in LIBRARY_GROUPS.items():
        group = (
            await session.execute(select(LibraryServiceGroup).filter_by(name=name))
        ).scalar_one_or_none()
        if group is None:
            group = LibraryServiceGroup(id=uuid.uuid4(), name=name, description=description)
            session.add(group)
        groups[name] = group
    await session.flush()
    rows: dict[str, LibraryService] = {}
    for spec in LIBRARY:
        row = (
            await session.execute(select(LibraryService).filter_by(name=spec.name))
        ).scalar_one_or_none()
        if row is None:
            row = LibraryService(
                id=uuid.uuid4(),
                group_id=groups[spec.group].id,
                name=spec.name,
                description=spec.description,
                default_price_cents=spec.price_cents,
                standing_orders=spec.standing_orders,
                consents=[{"title": f"{spec.name} consent", "body": spec.consent}],
                care_messages=[{"title": f"{spec.name} aftercare", "body": spec.aftercare}],
                version=1,
            )
            session.add(row)
        rows[spec.name] = row
    await session.flush()
    return rows


async def seed_services(
    session: AsyncSession,
    *,
    medspa_ids: dict[str, uuid.UUID],
    appointment_types: dict[str, dict[str, uuid.UUID]],
) -> ServiceIds:
    library = await seed_library(session)
    services: dict[str, dict[str, uuid.UUID]] = {}
    for slug, medspa_id in medspa_ids.items():
        services[slug] = {}
        for name, row in library.items():
            service = await import_into(session, medspa_id=medspa_id, library=row, active=True)
            services[slug][name] = service.id
        for type_name, type_id in appointment_types.get(slug, {}).items():
            for service_name in TYPE_SERVICES.get(type_name, ()):
                link = await session.get(
                    AppointmentTypeService, (type_id, services[slug][service_name])
                )
                if link is None:
                    session.add(
                        AppointmentTypeService(
                            medspa_id=medspa_id,
                            appointment_type_id=type_id,
                            service_id=services[slug][service_name],
                        )
                    )
    await session.flush()
    return ServiceIds(library={n: r.id for n, r in library.items()}, services=services)
