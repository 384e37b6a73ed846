"""A medspa's wording of its patient messages: the type and its root fields."""

from __future__ import annotations

from typing import Any, Self

import strawberry

from api.authz.actions import Action
from api.context import Context
from api.resolvers import notification_template as templates
from api.schema.payload import Payload
from db.models import NotificationChannel, NotificationKind

Info = strawberry.Info[Context, None]

strawberry.enum(NotificationKind, description="A kind of message the medspa sends.")
strawberry.enum(NotificationChannel)


@strawberry.type(
    description="How one message reads on one channel: the medspa's own wording, or the"
    " built-in one."
)
class NotificationTemplate:
    kind: NotificationKind
    channel: NotificationChannel
    subject: str = strawberry.field(description="Empty for text messages.")
    body: str
    custom: bool = strawberry.field(description="The medspa's own wording (else built-in).")
    placeholders: list[str] = strawberry.field(
        description="The $names this message may use (e.g. $firstName)."
    )

    @classmethod
    def from_view(cls, view: templates.TemplateView) -> NotificationTemplate:
        return cls(
            kind=view.kind,
            channel=view.channel,
            subject=view.subject,
            body=view.body,
            custom=view.custom,
            placeholders=sorted(view.placeholders),
        )


@strawberry.input
class NotificationTemplateInput:
    kind: NotificationKind
    channel: NotificationChannel
    subject: str = strawberry.field(
        default="", description="Email: one line of at most 200 characters; SMS: empty."
    )
    body: str = strawberry.field(description="Email: at most 5,000 characters; SMS: 480.")


@strawberry.type
class NotificationTemplatePayload(Payload):
    template: NotificationTemplate | None = None

    @classmethod
    def of(cls, result: Any) -> Self:
        return cls(template=NotificationTemplate.from_view(result))


@strawberry.type
class NotificationTemplateQuery:
    @strawberry.field(description="Every patient message of your medspa, as it reads now (admins).")
    async def notification_templates(self, info: Info) -> list[NotificationTemplate]:
        views = await templates.list_templates(info.context)
        return [NotificationTemplate.from_view(v) for v in views]


@strawberry.type
class NotificationTemplateMutation:
    @strawberry.mutation(description="Word one patient message your own way.")
    async def set_notification_template(
        self, info: Info, input: NotificationTemplateInput
    ) -> NotificationTemplatePayload:
        return await NotificationTemplatePayload.run(
            info,
            Action.MEDSPA_UPDATE_SETTINGS,
            lambda: templates.set_template(
                info.context,
                kind=input.kind,
                channel=input.channel,
                subject=input.subject,
                body=input.body,
            ),
        )

    @strawberry.mutation(description="Back to the built-in wording of one patient message.")
    async def reset_notification_template(
        self, info: Info, kind: NotificationKind, channel: NotificationChannel
    ) -> NotificationTemplatePayload:
        return await NotificationTemplatePayload.run(
            info,
            Action.MEDSPA_UPDATE_SETTINGS,
            lambda: templates.reset_template(info.context, kind=kind, channel=channel),
        )


NOTIFICATION_TEMPLATE_TYPES = [NotificationTemplate]
