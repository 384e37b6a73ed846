"""The worker's queue, notification templates and partner webhooks

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23

- procrastinate's schema (its `schema.sql`, from the pinned version in pyproject.toml) is
  applied here, so `medspa-api db upgrade` prepares the queue like every other table. A
  procrastinate upgrade that changes its schema ships a migration file: apply it in a new
  Alembic revision.
- The outbox gains what the worker records (attempts, last error, failure) and a subject for
  messages about no appointment (a registration link, an expiring clearance).
- `notification_template`: a medspa's own wording per kind and channel.
- `webhook_endpoint`, `webhook_event`, `webhook_delivery`: partner webhooks and their log.
- `app_defer_jobs` queues the jobs of new outbox and delivery rows in the writer's
  transaction; it runs as the owner, so the application role gets no grant on the queue.
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APP_ROLE = "medspa_app"

TENANT_TABLES = {
    "notification_template": "SELECT, INSERT, UPDATE, DELETE",
    "webhook_endpoint": "SELECT, INSERT, UPDATE, DELETE",
    "webhook_event": "SELECT, INSERT",
    "webhook_delivery": "SELECT, INSERT, UPDATE",
}

QUEUE_TABLES = (
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
)

# The queue names and task names of api/events/worker.py.
NOTIFICATION_TASK = "send_notification"
WEBHOOK_TASK = "deliver_webhook"


def upgrade() -> None:
    # procrastinate's own DDL, as its schema applier runs it (several statements, no
    # parameters: the driver's simple query protocol).
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    driver.execute(SchemaManager.get_schema())

    op.execute("ALTER TYPE notification_kind ADD VALUE IF NOT EXISTS 'REGISTRATION_LINK'")
    op.execute("ALTER TYPE notification_kind ADD VALUE IF NOT EXISTS 'CLEARANCE_EXPIRING'")
    op.execute("CREATE TYPE notification_channel AS ENUM ('EMAIL', 'SMS')")
    op.execute("CREATE TYPE webhook_delivery_status AS ENUM ('PENDING', 'SUCCEEDED', 'FAILED')")
    op.execute(
        """
        ALTER TABLE notification_outbox
            ALTER COLUMN appointment_id DROP NOT NULL,
            ADD COLUMN subject_id uuid,
            ADD COLUMN attempts integer NOT NULL DEFAULT 0,
            ADD COLUMN last_error varchar(500),
            ADD COLUMN failed_at timestamptz,
            ADD CONSTRAINT ck_notification_outbox_about_something
                CHECK (appointment_id IS NOT NULL OR subject_id IS NOT NULL);
        -- One message per subject and kind (the periodic jobs may run on several workers).
        CREATE UNIQUE INDEX uq_notification_outbox_subject
            ON notification_outbox (medspa_id, kind, subject_id)
            WHERE subject_id IS NOT NULL;

        CREATE TABLE notification_template (
            id uuid NOT NULL,
            medspa_id uuid NOT NULL REFERENCES medspa(id) ON DELETE CASCADE,
            kind notification_kind NOT NULL,
            channel notification_channel NOT NULL,
            subject varchar(200) NOT NULL DEFAULT '',
            body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_notification_template PRIMARY KEY (medspa_id, id),
            CONSTRAINT uq_notification_template_medspa_id_kind_channel
                UNIQUE (medspa_id, kind, channel),
            CONSTRAINT ck_notification_template_body_size CHECK (length(body) <= 5000)
        );
        CREATE INDEX ix_notification_template_medspa_id ON notification_template (medspa_id);

        CREATE TABLE webhook_endpoint (
            id uuid NOT NULL,
            medspa_id uuid NOT NULL REFERENCES medspa(id) ON DELETE CASCADE,
            api_client_id uuid NOT NULL,
            url varchar(2048) NOT NULL,
            event_types text[] NOT NULL,
            secret varchar(100) NOT NULL,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_webhook_endpoint PRIMARY KEY (medspa_id, id),
            CONSTRAINT fk_webhook_endpoint_client FOREIGN KEY (medspa_id, api_client_id)
                REFERENCES api_client (medspa_id, id) ON DELETE CASCADE,
            CONSTRAINT ck_webhook_endpoint_some_events CHECK (cardinality(event_types) > 0)
        );
        CREATE INDEX ix_webhook_endpoint_medspa_id ON webhook_endpoint (medspa_id);
        CREATE INDEX ix_webhook_endpoint_api_client_id ON webhook_endpoint (api_client_id);

        CREATE TABLE webhook_event (
            id uuid NOT NULL,
            medspa_id uuid NOT NULL REFERENCES medspa(id) ON DELETE CASCADE,
            kind varchar(64) NOT NULL,
            payload jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_webhook_event PRIMARY KEY (medspa_id, id)
        );
        CREATE INDEX ix_webhook_event_medspa_id ON webhook_event (medspa_id);

        CREATE TABLE webhook_delivery (
            id uuid NOT NULL,
            medspa_id uuid NOT NULL REFERENCES medspa(id) ON DELETE CASCADE,
            endpoint_id uuid NOT NULL,
            event_id uuid NOT NULL,
            status webhook_delivery_status NOT NULL DEFAULT 'PENDING',
            attempts integer NOT NULL DEFAULT 0,
            response_status integer,
            latency_ms integer,
            last_error varchar(500),
            created_at timestamptz NOT NULL DEFAULT now(),
            last_attempt_at timestamptz,
            next_attempt_at timestamptz,
            CONSTRAINT pk_webhook_delivery PRIMARY KEY (medspa_id, id),
            CONSTRAINT fk_webhook_delivery_endpoint FOREIGN KEY (medspa_id, endpoint_id)
                REFERENCES webhook_endpoint (medspa_id, id) ON DELETE CASCADE,
            CONSTRAINT fk_webhook_delivery_event FOREIGN KEY (medspa_id, event_id)
                REFERENCES webhook_event (medspa_id, id) ON DELETE CASCADE
        );
        CREATE INDEX ix_webhook_delivery_medspa_id ON webhook_delivery (medspa_id);
        CREATE INDEX ix_webhook_delivery_endpoint_created
            ON webhook_delivery (endpoint_id, created_at);
        """
    )
    for table, privileges in TENANT_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (app_can_see(medspa_id)) WITH CHECK (app_can_see(medspa_id))"
        )

    # The jobs: deferred with their rows, in the writer's transaction (a rolled-back booking
    # queues nothing), through one function that runs as the owner, so the application role
    # holds no grant on the queue's tables. No trigger: Citus runs none on tenant tables.
    # The job lock serialises the attempts of one row across workers.
    op.execute(
        f"""
        CREATE FUNCTION app_defer_jobs(task text, ids uuid[], due timestamptz[])
        RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        BEGIN
            IF task NOT IN ('{NOTIFICATION_TASK}', '{WEBHOOK_TASK}') THEN
                RAISE EXCEPTION 'unknown task';
            END IF;
            PERFORM procrastinate_defer_jobs_v1(array_agg(ROW(
                CASE task WHEN '{NOTIFICATION_TASK}' THEN 'notifications' ELSE 'webhooks' END,
                task, 0,
                CASE task WHEN '{NOTIFICATION_TASK}' THEN 'notification:' ELSE 'webhook:' END
                    || j.id,
                NULL,
                CASE task WHEN '{NOTIFICATION_TASK}' THEN jsonb_build_object('outbox_id', j.id)
                    ELSE jsonb_build_object('delivery_id', j.id) END,
                CASE WHEN j.due > now() THEN j.due END
            )::procrastinate_job_to_defer_v1))
            FROM unnest(ids, due) AS j(id, due);
        END $$;
        REVOKE ALL ON FUNCTION app_defer_jobs(text, uuid[], timestamptz[]) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION app_defer_jobs(text, uuid[], timestamptz[]) TO {APP_ROLE};
        """
    )
    # On Citus the queue stays on the coordinator (its triggers must run there).
    for table in QUEUE_TABLES:
        op.execute(
            f"COMMENT ON TABLE {table} IS 'citus: local - the job queue of the worker"
            " (procrastinate); its triggers NOTIFY the workers'"
        )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION IF EXISTS app_defer_jobs(text, uuid[], timestamptz[]);
        DROP TABLE IF EXISTS webhook_delivery, webhook_event, webhook_endpoint,
            notification_template;
        DROP TYPE IF EXISTS webhook_delivery_status;
        DROP TYPE IF EXISTS notification_channel;
        DROP INDEX IF EXISTS uq_notification_outbox_subject;
        DELETE FROM notification_outbox WHERE appointment_id IS NULL;
        ALTER TABLE notification_outbox
            DROP CONSTRAINT IF EXISTS ck_notification_outbox_about_something,
            DROP COLUMN IF EXISTS failed_at,
            DROP COLUMN IF EXISTS last_error,
            DROP COLUMN IF EXISTS attempts,
            DROP COLUMN IF EXISTS subject_id,
            ALTER COLUMN appointment_id SET NOT NULL;
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
            procrastinate_jobs, procrastinate_workers CASCADE;
        DO $$
        DECLARE f record;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                     WHERE left(p.proname, 14) = 'procrastinate_'
                       AND p.pronamespace = 'public'::regnamespace
            LOOP
                EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
            END LOOP;
        END $$;
        DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
            procrastinate_job_status CASCADE;
        """
    )
    # notification_kind keeps its two new values: PostgreSQL cannot drop an enum value.
