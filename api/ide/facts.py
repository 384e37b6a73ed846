"""What a newcomer needs to try the demo: ids, this week's range and a bookable public slot.

`medspa-api demo` prints these facts, the IDE fills them into the README's example documents
and the README test runs the examples with them. Each fact has a name, written `<NAME>` in a
README document and `$NAME` in its shell commands (`eval "$(.venv/bin/medspa-api demo --env)"`).
The ids are read by natural key from the seeded rows; the slot comes from the public booking
page's own slot computation, so it is one the API really offers to an anonymous visitor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.authz.authenticate import Authenticator, RequestCredentials
from api.authz.enforcer import PolicyEngine
from api.context import Context
from api.ids import encode_global_id
from api.resolvers import public_booking
from api.resolvers.loaders import Loaders
from api.settings import Settings
from db.models import Appointment, AppointmentStatus, Service, SupplierProduct

if TYPE_CHECKING:
    # The demo seed is imported only when its facts are asked for (production code never
    # loads db/seed at import time).
    from db.seed.demo import DemoIds

# The public page, type and provider whose slot the booking example takes.
SLOT_LOCATION = "glow-downtown"
SLOT_TYPE = "Neuromodulator"
# How far ahead to look for a slot: the public page answers at most 31 days at once.
SLOT_HORIZON = timedelta(days=14)

# Each fact's name and what it is, in the order `medspa-api demo` prints them.
DESCRIPTIONS = {
    "GLOW_ID": "Glow Aesthetics (Medspa id)",
    "RADIANCE_ID": "Radiance MedSpa (Medspa id)",
    "LEGACY_ID": "Legacy Skin Studio (Medspa id; LEGACY, on Acuity)",
    "NINA_PROVIDER_ID": "Nina Patel (Provider id, for masquerade)",
    "GLOW_DOWNTOWN_ID": "Glow Downtown (Location id, for a location-limited key)",
    "WEEK_FROM": "Monday 00:00 of this week in Glow's zone (calendar `from`)",
    "WEEK_TO": "the next Monday 00:00 (calendar `to`)",
    "NEXT_WEEK_TO": "the Monday after (next week's slots)",
    "RADIANCE_APPOINTMENT_ID": "the next confirmed Radiance appointment (Dean may check it in)",
    "LEE_PATIENT_ID": "a patient of Lee's at Radiance (Patient id, for a GFE request)",
    "RADIANCE_BOTOX_ID": "Botox Cosmetic at Radiance (Service id)",
    "SLOT_TYPE_ID": f"{SLOT_TYPE} at {SLOT_LOCATION} (AppointmentType id)",
    "SLOT_PROVIDER_ID": "the provider of a free public slot (Provider id)",
    "SLOT_STARTS_AT": f"the start of that free slot at {SLOT_LOCATION}",
    "DYSPORT_PRODUCT_ID": "Dysport 300U in Portrait's supplier catalogue (SupplierProduct id)",
    "LYFT_PRODUCT_ID": "Restylane Lyft in Portrait's supplier catalogue (SupplierProduct id)",
    "DELIVERY_DATE": "an inventory delivery date ten days out (Radiance's calendar)",
    "NINA_PATIENT_ID": "a patient only Nina sees (Patient id, for the checkout example)",
}
# The catalogue products the ordering example names (db/seed/inventory.py), by fact.
ORDER_PRODUCTS = {"DYSPORT_PRODUCT_ID": "Dysport 300U", "LYFT_PRODUCT_ID": "Restylane Lyft"}


@dataclass(frozen=True)
class DemoFacts:
    """The demo's facts by name, and the days its appointments cover."""

    values: dict[str, str]
    ids: DemoIds
    first_day: date | None = None
    last_day: date | None = None
    # Whether the seeded weeks include the current one (else: `seed demo` again).
    current: bool = False
    notes: list[str] = field(default_factory=list)

    def fill(self, text: str) -> str:
        """`text` with every `<NAME>` of a known fact replaced by its value."""
        for name, value in self.values.items():
            text = text.replace(f"<{name}>", value)
        return text


async def demo_facts(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, *, now: datetime | None = None
) -> DemoFacts | None:
    """The facts of the seeded demo, or None when the demo data is not there.

    `sessions` is the service's session factory (the non-owner role): the slot is computed
    exactly as for an anonymous visitor of the public page.
    """
    from db.seed.demo import MEDSPAS, find_demo_ids
    from db.seed.scheduling import week_monday

    now = now or datetime.now(UTC)
    # Read-only sessions: closing them rolls back.
    async with sessions() as session:
        ids = await find_demo_ids(session)
        if ids is None:
            return None
        days = (
            await session.execute(
                select(func.min(Appointment.starts_at), func.max(Appointment.starts_at)).where(
                    Appointment.medspa_id == ids.medspas["glow"]
                )
            )
        ).one()
        to_check_in = (
            await session.execute(
                select(Appointment.id)
                .where(
                    Appointment.medspa_id == ids.medspas["radiance"],
                    Appointment.status == AppointmentStatus.CONFIRMED,
                    Appointment.starts_at > now,
                )
                .order_by(Appointment.starts_at)
                .limit(1)
            )
        ).scalar_one_or_none()
        lee_patient = (
            await session.execute(
                select(Appointment.patient_id)
                .where(
                    Appointment.medspa_id == ids.medspas["radiance"],
                    Appointment.provider_id == ids.providers["lee@radiance.example"],
                )
                .order_by(Appointment.starts_at, Appointment.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        botox = (
            await session.execute(
                select(Service.id).where(
                    Service.medspa_id == ids.medspas["radiance"], Service.name == "Botox Cosmetic"
                )
            )
        ).scalar_one_or_none()
        products: dict[str, uuid.UUID] = {}
        for row in (
            await session.execute(
                select(SupplierProduct.name, SupplierProduct.id).where(
                    SupplierProduct.name.in_(ORDER_PRODUCTS.values())
                )
            )
        ).all():
            products[row.name] = row.id
        nina_patient = (
            await session.execute(
                select(Appointment.patient_id)
                .group_by(Appointment.patient_id)
                .having(
                    func.bool_and(Appointment.provider_id == ids.providers["nina@glow.example"])
                )
                .order_by(Appointment.patient_id)
                .limit(1)
            )
        ).scalar_one_or_none()
    glow = ZoneInfo(next(m.time_zone for m in MEDSPAS if m.slug == "glow"))
    monday = week_monday(now.astimezone(glow).date())
    week_from = datetime.combine(monday, time(0), tzinfo=glow)
    week_to = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=glow)
    next_week_to = datetime.combine(monday + timedelta(days=14), time(0), tzinfo=glow)
    notes: list[str] = []
    values = {
        "GLOW_ID": encode_global_id("Medspa", ids.medspas["glow"]),
        "RADIANCE_ID": encode_global_id("Medspa", ids.medspas["radiance"]),
        "LEGACY_ID": encode_global_id("Medspa", ids.medspas["legacy"]),
        "NINA_PROVIDER_ID": encode_global_id("Provider", ids.providers["nina@glow.example"]),
        "GLOW_DOWNTOWN_ID": encode_global_id("Location", ids.locations["glow-downtown"]),
        "WEEK_FROM": week_from.isoformat(),
        "WEEK_TO": week_to.isoformat(),
        "NEXT_WEEK_TO": next_week_to.isoformat(),
        "DELIVERY_DATE": (
            now.astimezone(ZoneInfo(next(m.time_zone for m in MEDSPAS if m.slug == "radiance")))
            + timedelta(days=10)
        )
        .date()
        .isoformat(),
    }
    notes = []
    if lee_patient is not None and botox is not None:
        values["LEE_PATIENT_ID"] = encode_global_id("Patient", lee_patient)
        values["RADIANCE_BOTOX_ID"] = encode_global_id("Service", botox)
    for fact, product in ORDER_PRODUCTS.items():
        if product in products:
            values[fact] = encode_global_id("SupplierProduct", products[product])
        else:
            notes.append(f"no {product} in the supplier catalogue")
    if nina_patient is None:
        notes.append("no patient seen by Nina alone")
    else:
        values["NINA_PATIENT_ID"] = encode_global_id("Patient", nina_patient)
    if to_check_in is None:
        notes.append("no upcoming confirmed Radiance appointment to check in")
    else:
        values["RADIANCE_APPOINTMENT_ID"] = encode_global_id("Appointment", to_check_in)
    slot = await _public_slot(sessions, settings, now=now)
    if slot is None:
        notes.append(f"no free public {SLOT_TYPE} slot at {SLOT_LOCATION} in the next two weeks")
    else:
        values.update(slot)
    first, last = (d.astimezone(glow).date() if d else None for d in days)
    return DemoFacts(
        values=values,
        ids=ids,
        first_day=first,
        last_day=last,
        current=first is not None and last is not None and first <= monday <= last,
        notes=notes,
    )


async def _public_slot(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, *, now: datetime
) -> dict[str, str] | None:
    """The first slot the public page offers from tomorrow on, as an anonymous visitor."""
    async with sessions() as session:
        principal = await Authenticator(settings, PolicyEngine()).authenticate(
            session,
            RequestCredentials(bearer=None, medspa=None, dashboard=None, request_id="demo-facts"),
        )
        ctx = Context(
            principal=principal,
            session=session,
            settings=settings,
            loaders=None,  # type: ignore[arg-type]  # set just below: loaders need the context
        )
        ctx.loaders = Loaders(ctx)
        location = await public_booking.reach_public_location(ctx, SLOT_LOCATION)
        if location is None:
            return None
        types = await public_booking.public_appointment_types(ctx, location)
        kind = next((t for t in types if t.name == SLOT_TYPE), None)
        if kind is None:
            return None
        start = now + timedelta(days=1)
        slots = await public_booking.public_slots(
            ctx,
            location,
            appointment_type_id=kind.id,
            provider_id=None,
            start=start,
            end=start + SLOT_HORIZON,
        )
    if not slots:
        return None
    slot = slots[0]
    local = ZoneInfo(location.time_zone)
    return {
        "SLOT_TYPE_ID": encode_global_id("AppointmentType", kind.id),
        "SLOT_PROVIDER_ID": encode_global_id("Provider", slot.provider_id),
        "SLOT_STARTS_AT": slot.starts_at.astimezone(local).isoformat(),
    }
