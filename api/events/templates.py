"""Message templates: the built-in wording, or the medspa's own (`notification_template`).

Templates are `string.Template` text (`$name` or `${name}`): a template written by a medspa
can only name values, never reach attributes or code. The values are the outbox row's
payload (frozen at write time: appointment type, provider, location, ...), plus `medspa`,
`firstName` (the recipient's own), and `date` / `time` of `startsAt` in the medspa's time
zone. A name without a value is left as written.
"""

from __future__ import annotations

from datetime import datetime
from string import Template
from typing import Any
from zoneinfo import ZoneInfo

from db.models import NotificationChannel, NotificationKind

Kind = NotificationKind
EMAIL = NotificationChannel.EMAIL
SMS = NotificationChannel.SMS

# (subject, body) per kind and channel; SMS has no subject.
DEFAULTS: dict[tuple[NotificationKind, NotificationChannel], tuple[str, str]] = {
    (Kind.APPOINTMENT_CONFIRMATION, EMAIL): (
        "Your appointment at $medspa is confirmed",
        "Hello $firstName,\n\nYour $appointmentType with $provider at $location is booked "
        "for $date at $time.\n\n$medspa",
    ),
    (Kind.APPOINTMENT_RESCHEDULED, EMAIL): (
        "Your appointment at $medspa has moved",
        "Hello $firstName,\n\nYour $appointmentType with $provider at $location is now on "
        "$date at $time.\n\n$medspa",
    ),
    (Kind.APPOINTMENT_CANCELLED, EMAIL): (
        "Your appointment at $medspa is cancelled",
        "Hello $firstName,\n\nYour $appointmentType on $date at $time is cancelled.\n\n$medspa",
    ),
    (Kind.APPOINTMENT_REMINDER, EMAIL): (
        "Reminder: your appointment at $medspa",
        "Hello $firstName,\n\nA reminder: your $appointmentType with $provider at $location "
        "is on $date at $time.\n\n$medspa",
    ),
    (Kind.REGISTRATION_LINK, EMAIL): (
        "Complete your registration with $medspa",
        "Hello $firstName,\n\nPlease complete your registration: $url\nThe link expires on "
        "$expiresDate.\n\n$medspa",
    ),
    (Kind.CLEARANCE_EXPIRING, EMAIL): (
        "Your treatment clearance at $medspa expires soon",
        "Hello $firstName,\n\nYour clearance for $service expires on $expiresDate. Book a "
        "good-faith exam to renew it.\n\n$medspa",
    ),
    (Kind.STAFF_INVITATION, EMAIL): (
        "You are invited to join $medspaName on Portrait",
        "Hello $firstName,\n\nYou are invited to join $medspaName. Accept the invitation: "
        "$acceptUrl\nThe link works once and expires on $expiresDate.\n\n$medspaName",
    ),
    **{
        (kind, EMAIL): (
            f"Inventory order {word}",
            f"Hello $firstName,\n\nYour inventory order for delivery on $deliveryDate was "
            f"{word}.$reasonLine\n\nPortrait's inventory team",
        )
        for kind, word in (
            (Kind.INVENTORY_ORDER_PLACED, "placed"),
            (Kind.INVENTORY_ORDER_MODIFIED, "modified by Portrait"),
            (Kind.INVENTORY_ORDER_APPROVED, "approved"),
            (Kind.INVENTORY_ORDER_REJECTED, "rejected"),
        )
    },
    (Kind.APPOINTMENT_CONFIRMATION, SMS): (
        "",
        "$medspa: your $appointmentType is booked for $date at $time.",
    ),
    (Kind.APPOINTMENT_RESCHEDULED, SMS): ("", "$medspa: your appointment moved to $date at $time."),
    (Kind.APPOINTMENT_CANCELLED, SMS): ("", "$medspa: your appointment on $date is cancelled."),
    (Kind.APPOINTMENT_REMINDER, SMS): (
        "",
        "$medspa: reminder of your $appointmentType on $date at $time.",
    ),
    (Kind.REGISTRATION_LINK, SMS): ("", "$medspa: complete your registration: $url"),
    (Kind.CLEARANCE_EXPIRING, SMS): (
        "",
        "$medspa: your clearance for $service expires on $expiresDate.",
    ),
}


def values(
    payload: dict[str, Any], *, medspa: str, time_zone: str, first_name: str
) -> dict[str, str]:
    """The names a template may use, times shown in `time_zone`."""
    zone = ZoneInfo(time_zone)
    found: dict[str, str] = {
        k: str(v) for k, v in payload.items() if isinstance(v, str | int | float)
    }
    found.update(medspa=medspa, firstName=first_name)
    reason = payload.get("reason")
    found["reasonLine"] = f" Reason: {reason}" if isinstance(reason, str) and reason else ""
    for source, prefix in (("startsAt", ""), ("expiresAt", "expires")):
        raw = payload.get(source)
        if isinstance(raw, str):
            local = datetime.fromisoformat(raw).astimezone(zone)
            date_key, time_key = (prefix + "Date", prefix + "Time") if prefix else ("date", "time")
            found[date_key] = local.strftime("%A, %B %-d, %Y")
            found[time_key] = local.strftime("%-I:%M %p %Z")
    return found


def render(subject: str, body: str, names: dict[str, str]) -> tuple[str, str]:
    return Template(subject).safe_substitute(names), Template(body).safe_substitute(names)
