"""A medspa's wording of its patient messages (`notification_template`, issue 17 §1).

An admin reads every patient message's template (the medspa's own, or the built-in one of
api/events/templates.py), replaces one, or resets it to the built-in wording; the worker
renders whichever is stored when it sends. A template may name only the values its kind of
message carries (the placeholders of its built-in wording, plus `medspa` and `firstName`), so
a medspa's text can never reach patient data the message does not already hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from api.authz.actions import Action
from api.errors import invalid
from api.events.templates import DEFAULTS
from api.resolvers.scheduling import tenant_of
from db.models import NotificationChannel, NotificationKind, NotificationTemplate

if TYPE_CHECKING:
    from api.context import Context

Kind = NotificationKind
# The messages a medspa words itself: those to its patients. Staff invitations and inventory
# notices are Portrait's own wording.
PATIENT_KINDS: tuple[NotificationKind, ...] = (
    Kind.APPOINTMENT_CONFIRMATION,
    Kind.APPOINTMENT_RESCHEDULED,
    Kind.APPOINTMENT_CANCELLED,
    Kind.APPOINTMENT_REMINDER,
    Kind.REGISTRATION_LINK,
    Kind.CLEARANCE_EXPIRING,
)
MAX_SUBJECT = 200
MAX_BODY = {NotificationChannel.EMAIL: 5000, NotificationChannel.SMS: 480}


def _names(text: str) -> set[str]:
    return set(Template(text).get_identifiers())


def placeholders(kind: NotificationKind) -> frozenset[str]:
    """The names a template of `kind` may use: those of its built-in wording on any channel,
    and the recipient's first name and the medspa's name."""
    names = {"medspa", "firstName"}
    for (default_kind, _channel), (subject, body) in DEFAULTS.items():
        if default_kind is kind:
            names |= _names(subject) | _names(body)
    return frozenset(names)


@dataclass(frozen=True)
class TemplateView:
    kind: NotificationKind
    channel: NotificationChannel
    subject: str
    body: str
    custom: bool
    placeholders: frozenset[str]


def _view(
    kind: NotificationKind, channel: NotificationChannel, row: NotificationTemplate | None
) -> TemplateView:
    subject, body = (row.subject, row.body) if row else DEFAULTS[(kind, channel)]
    return TemplateView(kind, channel, subject, body, row is not None, placeholders(kind))


async def list_templates(ctx: Context) -> list[TemplateView]:
    """Every patient message of the caller's medspa on every channel it is sent on."""
    ctx.authorize(Action.MEDSPA_UPDATE_SETTINGS, resource_type="NotificationTemplate")
    medspa_id = tenant_of(ctx)
    stored = {
        (row.kind, row.channel): row
        for row in (
            await ctx.session.execute(
                select(NotificationTemplate).where(NotificationTemplate.medspa_id == medspa_id)
            )
        ).scalars()
    }
    return [
        _view(kind, channel, stored.get((kind, channel)))
        for kind in PATIENT_KINDS
        for channel in NotificationChannel
        if (kind, channel) in DEFAULTS
    ]


def _check_kind(kind: NotificationKind, channel: NotificationChannel) -> None:
    if kind not in PATIENT_KINDS:
        raise invalid("kind", "Only messages to patients are worded by the medspa.")
    if (kind, channel) not in DEFAULTS:
        raise invalid("channel", f"{kind.value} is not sent by {channel.value}.")


def _check_text(field: str, text: str, kind: NotificationKind) -> None:
    template = Template(text)
    if not template.is_valid():
        raise invalid(field, "A $ starts a placeholder such as $firstName; write $$ for a $.")
    unknown = sorted(_names(text) - placeholders(kind))
    if unknown:
        allowed = ", ".join(f"${n}" for n in sorted(placeholders(kind)))
        raise invalid(field, f"Unknown placeholder ${unknown[0]}; this message knows {allowed}.")


async def set_template(
    ctx: Context,
    *,
    kind: NotificationKind,
    channel: NotificationChannel,
    subject: str,
    body: str,
) -> TemplateView:
    """The medspa's own wording of one message on one channel (replacing any earlier one)."""
    medspa_id = tenant_of(ctx)
    _check_kind(kind, channel)
    subject, body = subject.strip(), body.strip()
    if channel is NotificationChannel.SMS:
        if subject:
            raise invalid("subject", "A text message has no subject.")
    elif not subject or len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject:
        raise invalid("subject", f"One line of 1 to {MAX_SUBJECT} characters.")
    if not body or len(body) > MAX_BODY[channel]:
        raise invalid("body", f"1 to {MAX_BODY[channel]} characters.")
    _check_text("subject", subject, kind)
    _check_text("body", body, kind)
    row = (
        await ctx.session.execute(
            select(NotificationTemplate)
            .where(
                NotificationTemplate.medspa_id == medspa_id,
                NotificationTemplate.kind == kind,
                NotificationTemplate.channel == channel,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        row = NotificationTemplate(medspa_id=medspa_id, kind=kind, channel=channel)
        ctx.session.add(row)
    row.subject, row.body = subject, body
    await ctx.session.flush()
    _audit(ctx, "set_template", kind, channel)
    return _view(kind, channel, row)


async def reset_template(
    ctx: Context, *, kind: NotificationKind, channel: NotificationChannel
) -> TemplateView:
    """Back to the built-in wording."""
    medspa_id = tenant_of(ctx)
    _check_kind(kind, channel)
    await ctx.session.execute(
        delete(NotificationTemplate).where(
            NotificationTemplate.medspa_id == medspa_id,
            NotificationTemplate.kind == kind,
            NotificationTemplate.channel == channel,
        )
    )
    _audit(ctx, "reset_template", kind, channel)
    return _view(kind, channel, None)


def _audit(
    ctx: Context, operation: str, kind: NotificationKind, channel: NotificationChannel
) -> None:
    ctx.allowed(
        Action.MEDSPA_UPDATE_SETTINGS,
        resource_type="NotificationTemplate",
        detail={"operation": operation, "kind": kind.value, "channel": channel.value},
    )
