"""Root fields and mutations of scheduling (issue 4), mixed into the root Query and Mutation.

One-liners: decode ids, call the use case, wrap rows. Deciding is the resolvers' job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry

from api.context import Context
from api.ids import decode_id_of
from api.resolvers import appointment as appointments
from api.resolvers import appointment_type as appointment_types
from api.resolvers import (
    availability,
    location_management,
    patient,
    provider_configuration,
    public_booking,
    scheduling_settings,
    slots,
)
from api.resolvers.patient import PatientInput as PatientData
from api.resolvers.scheduling import zone
from api.schema.appointment import (
    Appointment,
    AppointmentPayload,
    AppointmentStatus,
    BookAppointmentInput,
    BookAppointmentPayload,
    Slot,
    prime_relations,
)
from api.schema.appointment_type import (
    AppointmentType,
    AppointmentTypeInput,
    AppointmentTypePayload,
)
from api.schema.node import encode_global_id
from api.schema.patient import Patient, PatientInput, PatientPayload
from api.schema.payload import UserError, run_mutation
from api.schema.public_booking import (
    PublicBookAppointmentInput,
    PublicBookAppointmentPayload,
    PublicBookingConfirmation,
    PublicLocation,
)
from api.schema.scheduling import (
    AvailabilityException,
    AvailabilityExceptionInput,
    AvailabilityExceptionPayload,
    LocationInput,
    LocationPayload,
    ProviderPayload,
    SchedulingSettings,
    SchedulingSettingsInput,
    SchedulingSettingsPayload,
    WeeklyHours,
    WeeklyHoursInput,
    WeeklyHoursPayload,
)
from api.schema.types import Location, Provider
from db import models

Info = strawberry.Info[Context, None]
From = Annotated[datetime, strawberry.argument(name="from")]
T = TypeVar("T")

SCHEDULING_TYPES = [Appointment, AppointmentType, Patient]


def _ids(ids: list[strawberry.ID] | None, type_name: str) -> list[Any] | None:
    return None if ids is None else [decode_id_of(i, type_name) for i in ids]


async def _run(
    info: Info, action: str, use_case: Callable[[], Awaitable[T]]
) -> T | list[UserError]:
    return await run_mutation(info.context, action, use_case)


def _location_changes(data: LocationInput) -> location_management.LocationChanges:
    return location_management.LocationChanges(
        name=data.name,
        address_line1=data.address_line1,
        address_line2=data.address_line2,
        city=data.city,
        region=data.region,
        postal_code=data.postal_code,
        country=data.country,
        time_zone=data.time_zone,
        booking_slug=data.booking_slug,
        clear_booking_slug=data.clear_booking_slug,
        active_for_scheduling=data.active_for_scheduling,
    )


def _type_changes(data: AppointmentTypeInput) -> appointment_types.AppointmentTypeChanges:
    return appointment_types.AppointmentTypeChanges(
        name=data.name,
        description=data.description,
        duration_minutes=data.duration_minutes,
        price_cents=data.price_cents,
        buffer_before_minutes=data.buffer_before_minutes,
        buffer_after_minutes=data.buffer_after_minutes,
        deposit_cents=data.deposit_cents,
        cancellation_fee_cents=data.cancellation_fee_cents,
        clear_deposit=data.clear_deposit,
        clear_cancellation_fee=data.clear_cancellation_fee,
        location_ids=_ids(data.location_ids, "Location"),
    )


def _location_payload(result: models.Location | list[UserError]) -> LocationPayload:
    if isinstance(result, list):
        return LocationPayload(errors=result)
    return LocationPayload(location=Location.from_row(result))


def _type_payload(result: models.AppointmentType | list[UserError]) -> AppointmentTypePayload:
    if isinstance(result, list):
        return AppointmentTypePayload(errors=result)
    return AppointmentTypePayload(appointment_type=AppointmentType.from_row(result))


def _appointment_payload(result: models.Appointment | list[UserError]) -> AppointmentPayload:
    if isinstance(result, list):
        return AppointmentPayload(errors=result)
    return AppointmentPayload(appointment=Appointment.from_row(result))


def _exception_payload(
    result: models.AvailabilityException | list[UserError],
) -> AvailabilityExceptionPayload:
    if isinstance(result, list):
        return AvailabilityExceptionPayload(errors=result)
    return AvailabilityExceptionPayload(exception=AvailabilityException.from_row(result))


@strawberry.type
class SchedulingQuery:
    @strawberry.field(
        description="Appointments overlapping [from, to) in the viewer's scope (62 days at most)."
    )
    async def calendar(
        self,
        info: Info,
        from_: From,
        to: datetime,
        provider_ids: list[strawberry.ID] | None = None,
        location_ids: list[strawberry.ID] | None = None,
        statuses: list[AppointmentStatus] | None = None,  # type: ignore[valid-type]
    ) -> list[Appointment]:
        rows = await appointments.calendar(
            info.context,
            filters=appointments.CalendarFilter(
                start=from_,
                end=to,
                provider_ids=_ids(provider_ids, "Provider"),
                location_ids=_ids(location_ids, "Location"),
                statuses=statuses,
            ),
        )
        await prime_relations(info, rows)
        return [Appointment.from_row(r) for r in rows]

    @strawberry.field(description="Free slots in the location's zone (31 days at most).")
    async def available_slots(
        self,
        info: Info,
        location_id: strawberry.ID,
        appointment_type_id: strawberry.ID,
        from_: From,
        to: datetime,
        provider_id: strawberry.ID | None = None,
    ) -> list[Slot]:
        found = await slots.available_slots(
            info.context,
            location_id=decode_id_of(location_id, "Location"),
            appointment_type_id=decode_id_of(appointment_type_id, "AppointmentType"),
            provider_id=decode_id_of(provider_id, "Provider") if provider_id else None,
            start=from_,
            end=to,
        )
        return [
            Slot(
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                provider_id=encode_global_id("Provider", s.provider_id),
            )
            for s in found
        ]

    @strawberry.field(
        description="A location's public booking page; null unless active with this slug."
    )
    async def public_location(self, info: Info, booking_slug: str) -> PublicLocation | None:
        row = await public_booking.reach_public_location(info.context, booking_slug)
        return PublicLocation.from_row(row) if row else None


@strawberry.type
class SchedulingMutation:
    @strawberry.mutation
    async def create_location(self, info: Info, input: LocationInput) -> LocationPayload:
        return _location_payload(
            await _run(
                info,
                "location.manage",
                lambda: location_management.create_location(
                    info.context, changes=_location_changes(input)
                ),
            )
        )

    @strawberry.mutation
    async def update_location(
        self, info: Info, id: strawberry.ID, input: LocationInput
    ) -> LocationPayload:
        return _location_payload(
            await _run(
                info,
                "location.manage",
                lambda: location_management.update_location(
                    info.context,
                    location_id=decode_id_of(id, "Location"),
                    changes=_location_changes(input),
                ),
            )
        )

    @strawberry.mutation(description="Open or close a location for scheduling and booking.")
    async def set_location_active(
        self, info: Info, id: strawberry.ID, active: bool
    ) -> LocationPayload:
        return _location_payload(
            await _run(
                info,
                "location.manage",
                lambda: location_management.update_location(
                    info.context,
                    location_id=decode_id_of(id, "Location"),
                    changes=location_management.LocationChanges(active_for_scheduling=active),
                ),
            )
        )

    @strawberry.mutation(description="Set where a provider works and which types they offer.")
    async def configure_provider(
        self,
        info: Info,
        provider_id: strawberry.ID,
        location_ids: list[strawberry.ID] | None = None,
        appointment_type_ids: list[strawberry.ID] | None = None,
    ) -> ProviderPayload:
        result = await _run(
            info,
            "provider.configure",
            lambda: provider_configuration.configure_provider(
                info.context,
                provider_id=decode_id_of(provider_id, "Provider"),
                location_ids=_ids(location_ids, "Location"),
                appointment_type_ids=_ids(appointment_type_ids, "AppointmentType"),
            ),
        )
        if isinstance(result, list):
            return ProviderPayload(errors=result)
        return ProviderPayload(provider=Provider.from_row(result))

    @strawberry.mutation
    async def create_appointment_type(
        self, info: Info, input: AppointmentTypeInput
    ) -> AppointmentTypePayload:
        return _type_payload(
            await _run(
                info,
                "appointment_type.manage",
                lambda: appointment_types.create_appointment_type(
                    info.context, changes=_type_changes(input)
                ),
            )
        )

    @strawberry.mutation
    async def update_appointment_type(
        self, info: Info, id: strawberry.ID, input: AppointmentTypeInput
    ) -> AppointmentTypePayload:
        return _type_payload(
            await _run(
                info,
                "appointment_type.manage",
                lambda: appointment_types.update_appointment_type(
                    info.context,
                    type_id=decode_id_of(id, "AppointmentType"),
                    changes=_type_changes(input),
                ),
            )
        )

    @strawberry.mutation(description="Activate or deactivate, archive or unarchive a type.")
    async def set_appointment_type_state(
        self,
        info: Info,
        id: strawberry.ID,
        active: bool | None = None,
        archived: bool | None = None,
    ) -> AppointmentTypePayload:
        return _type_payload(
            await _run(
                info,
                "appointment_type.manage",
                lambda: appointment_types.set_appointment_type_state(
                    info.context,
                    type_id=decode_id_of(id, "AppointmentType"),
                    active=active,
                    archived=archived,
                ),
            )
        )

    @strawberry.mutation(description="Replace a provider's weekly hours at one location.")
    async def set_weekly_hours(
        self,
        info: Info,
        provider_id: strawberry.ID,
        location_id: strawberry.ID,
        hours: list[WeeklyHoursInput],
    ) -> WeeklyHoursPayload:
        result = await _run(
            info,
            "availability.manage",
            lambda: availability.set_weekly_hours(
                info.context,
                provider_id=decode_id_of(provider_id, "Provider"),
                location_id=decode_id_of(location_id, "Location"),
                hours=[
                    availability.HoursInput(h.weekday.value, h.start_time, h.end_time)
                    for h in hours
                ],
            ),
        )
        if isinstance(result, list):
            return WeeklyHoursPayload(errors=result)
        return WeeklyHoursPayload(hours=[WeeklyHours.from_row(r) for r in result])

    @strawberry.mutation(description="Time off for a provider (everywhere, or one location).")
    async def add_block_off(
        self, info: Info, input: AvailabilityExceptionInput
    ) -> AvailabilityExceptionPayload:
        return await _add_exception(info, models.AvailabilityExceptionKind.BLOCK_OFF, input)

    @strawberry.mutation(description="Extra hours for a provider at one location.")
    async def add_availability_override(
        self, info: Info, input: AvailabilityExceptionInput
    ) -> AvailabilityExceptionPayload:
        return await _add_exception(info, models.AvailabilityExceptionKind.OVERRIDE, input)

    @strawberry.mutation
    async def remove_availability_exception(
        self, info: Info, id: strawberry.ID
    ) -> AvailabilityExceptionPayload:
        return _exception_payload(
            await _run(
                info,
                "availability.manage",
                lambda: availability.remove_exception(
                    info.context, exception_id=decode_id_of(id, "AvailabilityException")
                ),
            )
        )

    @strawberry.mutation(description="Deposits, cancellation fees and patient notifications.")
    async def update_scheduling_settings(
        self, info: Info, input: SchedulingSettingsInput
    ) -> SchedulingSettingsPayload:
        result = await _run(
            info,
            "medspa.update_settings",
            lambda: scheduling_settings.update_scheduling_settings(
                info.context,
                changes=scheduling_settings.SettingsChanges(
                    deposits_enabled=input.deposits_enabled,
                    cancellation_fees_enabled=input.cancellation_fees_enabled,
                    cancellation_window_hours=input.cancellation_window_hours,
                    send_confirmation=input.send_confirmation,
                    reminder_lead_hours=input.reminder_lead_hours,
                    send_cancellation_notice=input.send_cancellation_notice,
                ),
            ),
        )
        if isinstance(result, list):
            return SchedulingSettingsPayload(errors=result)
        return SchedulingSettingsPayload(settings=SchedulingSettings.from_row(result))

    @strawberry.mutation
    async def create_patient(
        self, info: Info, input: PatientInput, medspa_id: strawberry.ID | None = None
    ) -> PatientPayload:
        result = await _run(
            info,
            "patient.create",
            lambda: patient.create_patient(
                info.context,
                medspa_id=decode_id_of(medspa_id, "Medspa") if medspa_id else None,
                data=PatientData(
                    input.first_name,
                    input.last_name,
                    input.email,
                    input.phone,
                    input.date_of_birth,
                ),
            ),
        )
        if isinstance(result, list):
            return PatientPayload(errors=result)
        return PatientPayload(patient=Patient.from_row(result))

    @strawberry.mutation
    async def book_appointment(
        self, info: Info, input: BookAppointmentInput
    ) -> BookAppointmentPayload:
        result = await _run(
            info,
            "appointment.book",
            lambda: appointments.book_appointment(
                info.context,
                data=appointments.BookingInput(
                    patient_id=decode_id_of(input.patient_id, "Patient"),
                    provider_id=decode_id_of(input.provider_id, "Provider"),
                    location_id=decode_id_of(input.location_id, "Location"),
                    appointment_type_id=decode_id_of(input.appointment_type_id, "AppointmentType"),
                    starts_at=input.starts_at,
                    idempotency_key=input.idempotency_key,
                ),
            ),
        )
        if isinstance(result, list):
            return BookAppointmentPayload(errors=result)
        return BookAppointmentPayload(
            appointment=Appointment.from_row(result.appointment), replayed=result.replayed
        )

    @strawberry.mutation
    async def reschedule_appointment(
        self,
        info: Info,
        id: strawberry.ID,
        starts_at: datetime,
        provider_id: strawberry.ID | None = None,
        location_id: strawberry.ID | None = None,
    ) -> AppointmentPayload:
        return _appointment_payload(
            await _run(
                info,
                "appointment.reschedule",
                lambda: appointments.reschedule_appointment(
                    info.context,
                    appointment_id=decode_id_of(id, "Appointment"),
                    starts_at=starts_at,
                    provider_id=decode_id_of(provider_id, "Provider") if provider_id else None,
                    location_id=decode_id_of(location_id, "Location") if location_id else None,
                ),
            )
        )

    @strawberry.mutation
    async def cancel_appointment(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> AppointmentPayload:
        return _appointment_payload(
            await _run(
                info,
                "appointment.cancel",
                lambda: appointments.cancel_appointment(
                    info.context, appointment_id=decode_id_of(id, "Appointment"), reason=reason
                ),
            )
        )

    @strawberry.mutation(description="Confirm, check in, complete, or mark a no-show.")
    async def set_appointment_status(
        self,
        info: Info,
        id: strawberry.ID,
        status: AppointmentStatus,  # type: ignore[valid-type]
    ) -> AppointmentPayload:
        return _appointment_payload(
            await _run(
                info,
                f"appointment.status.{models.AppointmentStatus(status).value.lower()}",
                lambda: appointments.change_status(
                    info.context,
                    appointment_id=decode_id_of(id, "Appointment"),
                    status=models.AppointmentStatus(status),
                ),
            )
        )

    @strawberry.mutation(description="Book through a location's public booking link.")
    async def public_book_appointment(
        self, info: Info, input: PublicBookAppointmentInput
    ) -> PublicBookAppointmentPayload:
        result = await _run(
            info,
            "appointment.book",
            lambda: public_booking.public_book_appointment(
                info.context,
                data=public_booking.PublicBookingInput(
                    booking_slug=input.booking_slug,
                    appointment_type_id=decode_id_of(input.appointment_type_id, "AppointmentType"),
                    provider_id=decode_id_of(input.provider_id, "Provider"),
                    starts_at=input.starts_at,
                    patient=PatientData(
                        input.patient.first_name,
                        input.patient.last_name,
                        input.patient.email,
                        input.patient.phone,
                    ),
                    idempotency_key=input.idempotency_key,
                ),
            ),
        )
        if isinstance(result, list):
            return PublicBookAppointmentPayload(errors=result)
        row = result.booked.appointment
        tz = zone(result.location.time_zone)
        return PublicBookAppointmentPayload(
            booking=PublicBookingConfirmation(
                confirmation_code=row.id.hex[:8].upper(),
                starts_at=row.starts_at.astimezone(tz),
                ends_at=row.ends_at.astimezone(tz),
                appointment_type_name=result.appointment_type.name,
                provider_name=result.provider.display_name,
                location_name=result.location.name,
            )
        )


async def _add_exception(
    info: Info, kind: models.AvailabilityExceptionKind, data: AvailabilityExceptionInput
) -> AvailabilityExceptionPayload:
    action = (
        "availability.block_off"
        if kind is models.AvailabilityExceptionKind.BLOCK_OFF
        else "availability.manage"
    )
    return _exception_payload(
        await _run(
            info,
            action,
            lambda: availability.add_exception(
                info.context,
                kind=kind,
                provider_id=decode_id_of(data.provider_id, "Provider"),
                location_id=decode_id_of(data.location_id, "Location")
                if data.location_id
                else None,
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                reason=data.reason,
            ),
        )
    )
