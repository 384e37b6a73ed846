"""The live calendar: `calendarChanged`, a subscription served over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.resolvers import live_calendar
from api.schema.node import encode_global_id
from api.schema.service import _ids
from api.subscriptions.live import LiveContext

if TYPE_CHECKING:
    from api.schema.appointment import Appointment

Info = strawberry.Info[LiveContext, None]
From = Annotated[datetime, strawberry.argument(name="from")]
LazyAppointment = Annotated["Appointment", strawberry.lazy("api.schema.appointment")]


@strawberry.type(description="An appointment that changed inside a live calendar's window.")
class CalendarChange:
    appointment_id: strawberry.ID
    removed: bool = strawberry.field(
        description="It left the window (another time, provider or location): drop it."
    )
    appointment: LazyAppointment | None = strawberry.field(
        description="The appointment as it is now; null when removed."
    )

    @classmethod
    def of(cls, change: live_calendar.CalendarChange) -> CalendarChange:
        from api.schema.appointment import Appointment

        return cls(
            appointment_id=strawberry.ID(encode_global_id("Appointment", change.appointment_id)),
            removed=change.appointment is None,
            appointment=Appointment.from_row(change.appointment) if change.appointment else None,
        )


@strawberry.type
class LiveCalendarSubscription:
    @strawberry.subscription(
        description="Changes of the appointments overlapping [from, to) in the viewer's scope"
        " (62 days at most), as they are committed. Over WebSocket (graphql-transport-ws)."
    )
    async def calendar_changed(
        self,
        info: Info,
        from_: From,
        to: datetime,
        provider_ids: list[strawberry.ID] | None = None,
        location_ids: list[strawberry.ID] | None = None,
    ) -> AsyncGenerator[CalendarChange, None]:
        window = live_calendar.window_of(
            start=from_,
            end=to,
            provider_ids=_ids(provider_ids, "Provider") if provider_ids is not None else None,
            location_ids=_ids(location_ids, "Location") if location_ids is not None else None,
        )
        async for change in live_calendar.changes(info.context, window):
            yield CalendarChange.of(change)
