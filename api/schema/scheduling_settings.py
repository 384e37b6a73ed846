"""The medspa's scheduling settings: deposits, cancellation fees and patient notifications."""

from __future__ import annotations

from typing import Any, Self

import strawberry

from api.authz.actions import Action
from api.context import Context
from api.resolvers import scheduling_settings
from api.schema.payload import Payload
from db import models

Info = strawberry.Info[Context, None]


@strawberry.type(description="Deposits, cancellation fees and patient notifications.")
class SchedulingSettings:
    deposits_enabled: bool
    cancellation_fees_enabled: bool
    cancellation_window_hours: int
    send_confirmation: bool
    reminder_lead_hours: list[int]
    send_cancellation_notice: bool

    @classmethod
    def from_row(cls, row: models.SchedulingSettings) -> SchedulingSettings:
        return cls(
            deposits_enabled=row.deposits_enabled,
            cancellation_fees_enabled=row.cancellation_fees_enabled,
            cancellation_window_hours=row.cancellation_window_hours,
            send_confirmation=row.send_confirmation,
            reminder_lead_hours=list(row.reminder_lead_hours),
            send_cancellation_notice=row.send_cancellation_notice,
        )


@strawberry.input
class SchedulingSettingsInput:
    deposits_enabled: bool | None = None
    cancellation_fees_enabled: bool | None = None
    cancellation_window_hours: int | None = None
    send_confirmation: bool | None = None
    reminder_lead_hours: list[int] | None = None
    send_cancellation_notice: bool | None = None


@strawberry.type
class SchedulingSettingsPayload(Payload):
    settings: SchedulingSettings | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(settings=SchedulingSettings.from_row(result))


@strawberry.type
class SchedulingSettingsMutation:
    @strawberry.mutation(description="Deposits, cancellation fees and patient notifications.")
    async def update_scheduling_settings(
        self, info: Info, input: SchedulingSettingsInput
    ) -> SchedulingSettingsPayload:
        return await SchedulingSettingsPayload.run(
            info,
            Action.MEDSPA_UPDATE_SETTINGS,
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
