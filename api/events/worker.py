"""`medspa-api worker`: the job runner (procrastinate on the service's PostgreSQL).

Jobs are rows in procrastinate's tables (migration 0011), so any number of workers on any
number of machines share one queue; a job's `lock` keeps two attempts of one outbox row or
one delivery from running at once. Tasks:

- `send_notification(outbox_id)`: queued by the outbox row's insert, due at `deliver_at`;
  retried with exponential backoff (3^n s, 10 attempts: about a day), then the row is FAILED.
- `deliver_webhook(delivery_id)`: queued by the delivery's insert; re-deferred on its own
  schedule (api/events/webhooks.py) so that every attempt is logged on the delivery.
- periodic: `sweep_outbox` (every minute: due rows whose job went missing are queued again),
  `clearance_expiry_reminders` and `expire_registration_links` (hourly).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.events.notifications import send_outbox_row
from api.events.notifier import Channels, SmsDevSink, SmtpNotifier
from api.events.webhooks import deliver
from api.settings import Settings
from db.session import (
    create_owner_engine,
    libpq_url,
    owner_database_url,
    session_factory,
    set_tenant_settings,
)

log = logging.getLogger(__name__)

NOTIFICATION_ATTEMPTS = 10

app = App(connector=PsycopgConnector())


@dataclass
class WorkerState:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    channels: Channels


_state: WorkerState | None = None


def state() -> WorkerState:
    assert _state is not None, "the worker's state is set by run()"
    return _state


@app.task(
    name="send_notification",
    queue="notifications",
    pass_context=True,
    retry=RetryStrategy(max_attempts=NOTIFICATION_ATTEMPTS, exponential_wait=3),
)
async def send_notification(context: JobContext, outbox_id: str) -> None:
    attempts = context.job.attempts if context.job else 0
    current = state()
    await send_outbox_row(
        current.sessions,
        current.channels,
        uuid.UUID(outbox_id),
        final_attempt=attempts + 1 >= NOTIFICATION_ATTEMPTS,
    )


@app.task(name="deliver_webhook", queue="webhooks")
async def deliver_webhook(delivery_id: str) -> None:
    current = state()
    delay = await deliver(current.sessions, current.settings, uuid.UUID(delivery_id))
    if delay is not None:
        await deliver_webhook.configure(
            lock=f"webhook:{delivery_id}", schedule_in={"seconds": delay}
        ).defer_async(delivery_id=delivery_id)


async def _run_sql(sql: str) -> int:
    async with state().sessions() as session, session.begin():
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        result: Any = await session.execute(text(sql))
        return int(result.rowcount or 0)


@app.periodic(cron="* * * * *", periodic_id="sweep_outbox")
@app.task(name="sweep_outbox", queue="periodic", queueing_lock="sweep_outbox")
async def sweep_outbox(timestamp: int) -> None:
    """Queue again the due rows that have no job waiting or running (a lost job, rows
    written before the worker existed): the row's own lock keeps this from sending twice."""
    queued = await _run_sql(
        """
        SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(
            'notifications', 'send_notification', 0, 'notification:' || o.id, NULL,
            jsonb_build_object('outbox_id', o.id), NULL
        )::procrastinate_job_to_defer_v1])
        FROM notification_outbox o
        WHERE o.sent_at IS NULL AND o.superseded_at IS NULL AND o.failed_at IS NULL
          AND o.deliver_at <= now() AND o.deliver_at > now() - interval '1 day'
          AND NOT EXISTS (
              SELECT 1 FROM procrastinate_jobs j
              WHERE j.lock = 'notification:' || o.id AND j.status IN ('todo', 'doing')
          )
        """
    )
    if queued:
        log.info("sweep queued %s notifications again", queued)


@app.periodic(cron="17 * * * *", periodic_id="clearance_expiry_reminders")
@app.task(name="clearance_expiry_reminders", queue="periodic")
async def clearance_expiry_reminders(timestamp: int) -> None:
    """One message per clearance that expires within 14 days, unless a later clearance
    of the same patient and service replaces it."""
    await _run_sql(
        """
        WITH written AS (
        INSERT INTO notification_outbox
            (id, medspa_id, appointment_id, patient_id, kind, deliver_at, payload, subject_id)
        SELECT gen_random_uuid(), c.medspa_id, NULL, c.patient_id, 'CLEARANCE_EXPIRING', now(),
               jsonb_build_object('service', s.name, 'expiresAt', c.expires_at), c.id
        FROM clearance c
        JOIN service s ON s.medspa_id = c.medspa_id AND s.id = c.service_id
        WHERE c.expires_at > now()
          AND c.expires_at <= now() + interval '14 days'
          AND NOT EXISTS (
              SELECT 1 FROM clearance later
              WHERE later.medspa_id = c.medspa_id AND later.patient_id = c.patient_id
                AND later.service_id = c.service_id AND later.expires_at > c.expires_at
          )
        ON CONFLICT DO NOTHING
        RETURNING id, deliver_at
        )
        SELECT app_defer_jobs('send_notification', array_agg(id), array_agg(deliver_at))
        FROM written
        """
    )


@app.periodic(cron="7 * * * *", periodic_id="expire_registration_links")
@app.task(name="expire_registration_links", queue="periodic")
async def expire_registration_links(timestamp: int) -> None:
    """Links past their expiry are closed; their patients can be sent a new one."""
    closed = await _run_sql(
        """
        WITH expired AS (
            UPDATE registration_link SET superseded_at = now()
            WHERE used_at IS NULL AND superseded_at IS NULL AND expires_at <= now()
            RETURNING medspa_id, patient_id
        )
        UPDATE patient p SET registration_status = 'NOT_STARTED'
        FROM expired e
        WHERE p.medspa_id = e.medspa_id AND p.id = e.patient_id
          AND p.registration_status = 'LINK_SENT'
        """
    )
    if closed:
        log.info("expired the registration links of %s patients", closed)


def build_state(settings: Settings) -> WorkerState:
    engine = create_owner_engine(owner_database_url(settings))
    channels = Channels(
        email=SmtpNotifier(settings.smtp_url, sender=settings.mail_from),
        sms=SmsDevSink(settings.sms_sink_path),
    )
    return WorkerState(settings=settings, sessions=session_factory(engine), channels=channels)


async def run(settings: Settings, *, wait: bool = True) -> None:
    """Run the worker until cancelled (or, with `wait=False`, until the queue is empty)."""
    global _state
    _state = build_state(settings)
    connector = PsycopgConnector(conninfo=libpq_url(owner_database_url(settings)))
    with app.replace_connector(connector) as running:
        async with running.open_async():
            await running.run_worker_async(
                queues=["notifications", "webhooks", "periodic"],
                concurrency=settings.worker_concurrency,
                wait=wait,
                install_signal_handlers=True,
                delete_jobs="successful",
            )
