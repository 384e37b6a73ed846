"""Events that leave the building (DESIGN §6 principle 14).

Writes append rows in their own transaction (the notification outbox, webhook events and
deliveries); `medspa-api worker` (api/events/worker.py, procrastinate on PostgreSQL) sends
them: notifications through a `Notifier` (api/events/notifier.py) and signed webhooks
(api/events/webhooks.py). `emit` (api/events/emit.py) is the one way code announces an event.
"""
