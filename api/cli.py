"""The `medspa-api` command (DESIGN §7).

Expected failures (an unknown user or medspa, a duplicate name, a refused token, an
unreachable database) end with one line on stderr and exit status 1; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import timedelta

import psycopg
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from api.authz.actions import ApiScope
from api.settings import Settings, get_settings
from db.models import Dashboard, Medspa

log = logging.getLogger("medspa-api")

DEFAULT_TTL = 8 * 3600
MAX_TTL = 30 * 24 * 3600  # a development token, not a credential to keep
MAX_CLIENT_NAME = 120  # as createApiClient

# What each partner scope lets a key do (policy.csv's `scope:` rows; a test compares them).
SCOPE_MEANINGS = {
    ApiScope.APPOINTMENTS_READ: "read appointments (and the medspa and its providers)",
    ApiScope.APPOINTMENTS_WRITE: "book, reschedule and cancel appointments",
    ApiScope.PATIENTS_READ: "read patients",
    ApiScope.CATALOG_READ: "read locations, appointment types, services and the service library",
    ApiScope.GFE_CLEAR: "gfe requests routed to the medspa: read_routed, and clear or decline them",
    ApiScope.AVAILABILITY_READ: "read availability (free slots), locations and appointment types",
    ApiScope.PATIENTS_CREATE: "create patients (to book them; never a read of other patients)",
}


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exit status 1."""


SCOPES_HELP = "partner API scopes (--scopes takes the value or the GraphQL name):\n" + "\n".join(
    f"  {scope.value:<20} {scope.name:<20} {meaning}" for scope, meaning in SCOPE_MEANINGS.items()
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Alembic announces every plugin it loads at INFO: noise on every command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Casbin prints the whole policy at INFO when an enforcer is built.
    logging.getLogger("casbin").setLevel(logging.WARNING)
    try:
        return _run(args, get_settings())
    except CliError as exc:
        print(f"medspa-api: {exc}", file=sys.stderr)
        return 1
    except (OperationalError, InterfaceError, psycopg.OperationalError) as exc:
        # The database could not be reached (down, wrong URL, no connection slot left).
        print(f"medspa-api: database unavailable: {_first_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the embedded server's directory or binaries
        print(f"medspa-api: {_first_line(exc)}", file=sys.stderr)
        return 1


def _first_line(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medspa-api",
        description="The medspa platform's API and its development tools. Without "
        "DATABASE_URL every command uses the embedded PostgreSQL in .data/.",
        epilog="Start with `medspa-api demo`: the demo users' token commands and the ids the "
        "README's examples use.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the API (never migrates: run `db upgrade` first)",
        description="Serve /graphql, /healthz and /readyz on MEDSPA_HOST:MEDSPA_PORT. Refuses to "
        "start while the database is behind the code's migrations (or waits for them with "
        "MEDSPA_SCHEMA_BEHIND=wait); `make run` runs `db upgrade` first.",
    )
    serve.add_argument(
        "--seed-demo-if-empty",
        action="store_true",
        help="load the demo data first when the database holds no medspa",
    )
    serve.add_argument(
        "--reload", action="store_true", help="restart on code changes (development only)"
    )
    serve.add_argument(
        "--workers", type=_positive, default=1, help="uvicorn worker processes (default 1)"
    )

    db = commands.add_parser(
        "db",
        help="migrate the database or print its URL",
        description="upgrade: apply the Alembic migrations up to head. "
        "url: print the owner URL in use (starting the embedded server if needed).",
    )
    db.add_argument("action", choices=["upgrade", "url"], help="upgrade | url")

    seed = commands.add_parser(
        "seed",
        help="load the demo data (idempotent)",
        description="demo: the three demo medspas, their people and places, with appointments, "
        "absences and coverage around the current week. Idempotent: running it again on a "
        "later day adds the weeks that became current and changes nothing else.",
    )
    seed.add_argument("dataset", choices=["demo"], help="the dataset to load: demo")

    demo = commands.add_parser(
        "demo",
        help="print the demo users' token commands, ids and a bookable slot",
        description="What a newcomer needs to try the README's examples: a token command per "
        "demo user, each medspa's id, Nina's Provider id, this week's range and a free "
        "public slot. Names in capitals are the <NAME> placeholders of the README.",
    )
    demo.add_argument(
        "--env",
        action="store_true",
        help='print only `export NAME=value` lines, for eval "$(medspa-api demo --env)"',
    )

    token = commands.add_parser(
        "token",
        help="mint a development token for a user",
        description="Print a bearer token for a user (send it as `Authorization: Bearer ...`). "
        "Refuses what the API would refuse: an unknown or inactive user, a medspa or "
        "dashboard the user does not hold, a lifetime that is not positive.",
    )
    token.add_argument("email", help="the user's email, e.g. nina@glow.example")
    token.add_argument("--medspa", metavar="SLUG", help="preselect one of the user's medspas")
    token.add_argument(
        "--dashboard",
        choices=[d.value for d in Dashboard],
        help="preselect a dashboard the user holds in that medspa",
    )
    token.add_argument(
        "--ttl",
        type=int,
        default=DEFAULT_TTL,
        metavar="SECONDS",
        help=f"lifetime in seconds, 1 to {MAX_TTL} (default 8 h)",
    )

    api_client = commands.add_parser(
        "api-client",
        help="partner API clients",
        description="Partner API keys; the key is printed once and only its hash is stored.",
    )
    api_client_commands = api_client.add_subparsers(
        dest="api_client_command", required=True, metavar="ACTION"
    )
    create = api_client_commands.add_parser(
        "create",
        help="create a key (printed once)",
        description="Create a partner key for a medspa (audited like the GraphQL mutation).",
        epilog=SCOPES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("--medspa", required=True, metavar="SLUG", help="medspa slug, e.g. glow")
    create.add_argument(
        "--name", required=True, help=f"unique within the medspa, {MAX_CLIENT_NAME} chars at most"
    )
    create.add_argument(
        "--scopes", required=True, help="comma-separated, e.g. catalog:read,appointments:read"
    )

    documents = commands.add_parser(
        "documents",
        help="trusted documents (documents/*.graphql)",
        description="build: check every documents/*.graphql against the schema and write "
        "documents/manifest.json (their sha256:<hex> ids).",
    )
    documents.add_argument("action", choices=["build"], help="write documents/manifest.json")

    commands.add_parser("schema", help="print the GraphQL SDL")

    worker = commands.add_parser(
        "worker",
        help="run the job worker (notifications, webhooks, periodic jobs)",
        description="Send the notification outbox (SMTP at MEDSPA_SMTP_URL, SMS to the "
        "development sink), deliver signed webhooks and run the periodic jobs, from the "
        "queue in PostgreSQL (any number of workers may share it). Never migrates.",
    )
    worker.add_argument(
        "--until-empty",
        action="store_true",
        help="stop once no job is due (instead of waiting for new ones)",
    )
    return parser


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "schema":
        from api.schema.schema import build_schema

        print(build_schema(settings).as_str())
        return 0
    if args.command == "documents":
        return _build_documents(settings)
    if args.command == "worker":
        from api.events.worker import run

        asyncio.run(run(settings, wait=not args.until_empty))
        return 0
    if args.command == "serve":
        return _serve(
            settings,
            seed_if_empty=args.seed_demo_if_empty,
            reload=args.reload,
            workers=args.workers,
        )
    if args.command == "db":
        url = _prepare_database(settings)
        if args.action == "url":
            print(url)
        else:
            from db.migrate import head_revision

            log.info("database at revision %s (head)", head_revision())
        return 0
    if args.command == "seed":
        _prepare_database(settings)
        asyncio.run(_seed_demo(settings))
        print("demo data seeded")
        return 0
    if args.command == "demo":
        return asyncio.run(_demo(settings, env=args.env))
    if args.command == "token":
        return asyncio.run(_token(settings, args))
    if args.command == "api-client":
        return asyncio.run(_create_api_client(settings, args))
    return 2


def _build_documents(settings: Settings) -> int:
    """Write the manifest of trusted documents, after checking each against the schema."""
    from api.http.documents import MANIFEST_PATH, DocumentStore, build_manifest, read_documents
    from api.schema.schema import build_schema

    store = DocumentStore(build_schema(settings)._schema, settings)
    try:
        store.load_trusted(read_documents())  # parses, validates: refuses a broken document
    except ValueError as exc:
        print(f"documents build: {exc}", file=sys.stderr)
        return 1
    MANIFEST_PATH.write_text(build_manifest(), encoding="utf-8")
    print(f"wrote {len(read_documents())} trusted documents to {MANIFEST_PATH}")
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _prepare_database(settings: Settings) -> str:
    """Resolve the database (starting the embedded one if needed) and migrate it (under an
    advisory lock: replicas may run this at the same time)."""
    from db.migrate import upgrade
    from db.session import ensure_database, owner_database_url

    url = ensure_database(owner_database_url(settings))
    upgrade(url)
    return url


async def _owner_session(settings: Settings) -> tuple[AsyncSession, object]:
    from db.session import create_owner_engine, ensure_database, owner_database_url, session_factory

    engine = create_owner_engine(ensure_database(owner_database_url(settings)))
    return session_factory(engine)(), engine


async def _seed_demo(settings: Settings) -> None:
    from db.seed.demo import seed_demo

    session, engine = await _owner_session(settings)
    async with session, session.begin():
        await seed_demo(session)
    await engine.dispose()  # type: ignore[attr-defined]


async def _is_empty(settings: Settings) -> bool:
    from db.session import set_tenant_settings

    session, engine = await _owner_session(settings)
    async with session, session.begin():
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        count = (await session.execute(select(func.count()).select_from(Medspa))).scalar_one()
    await engine.dispose()  # type: ignore[attr-defined]
    return int(count) == 0


def _wait_for_schema(settings: Settings, url: str) -> bool:
    """Whether the database is at the head revision, waiting for it when so configured
    (`MEDSPA_SCHEMA_BEHIND=wait`: another process runs `db upgrade`)."""
    from db.migrate import database_revision, head_revision

    head = head_revision()
    deadline = time.monotonic() + settings.schema_wait_seconds
    while True:
        try:
            current = database_revision(url)
        except OperationalError as exc:  # not reachable (yet), or no such database
            current = f"unreachable ({exc.orig or exc})".splitlines()[0]
        if current == head:
            return True
        if settings.schema_behind == "refuse" or time.monotonic() >= deadline:
            print(
                f"the database is at revision {current or 'none'} but this code needs {head}:"
                " run `medspa-api db upgrade` first (or set MEDSPA_SCHEMA_BEHIND=wait)",
                file=sys.stderr,
            )
            return False
        log.info("database at revision %s, waiting for %s", current or "none", head)
        time.sleep(1.0)


def _serve(settings: Settings, *, seed_if_empty: bool, reload: bool, workers: int) -> int:
    import uvicorn

    from db.session import owner_database_url

    # Never migrates: with N replicas, migrations are the separate, locked `db upgrade` step.
    if not _wait_for_database(settings):
        return 1
    url = owner_database_url(settings)
    if not _wait_for_schema(settings, url):
        return 1
    if seed_if_empty and asyncio.run(_is_empty(settings)):
        asyncio.run(_seed_demo(settings))
        log.info("seeded the demo data")
    # The workers read their settings from the environment: pin the database this process
    # resolved (the embedded server's URL when DATABASE_URL was unset).
    os.environ["DATABASE_URL"] = url
    log.info(
        "serving http://%s:%s/graphql with %d worker(s)", settings.host, settings.port, workers
    )
    uvicorn.run(
        "api.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level="info",
        reload=reload,
        workers=None if reload else workers,
        loop="uvloop",
        http="httptools",
        # SIGTERM: stop accepting, let requests in flight finish for this long, then cancel
        # them (their transactions roll back) and exit.
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
    )
    return 0


def _wait_for_database(settings: Settings) -> bool:
    """Wait (with backoff, up to `MEDSPA_DB_WAIT_S`) for the configured server to accept
    connections: a service that starts before its database is not an error."""
    import psycopg
    from sqlalchemy.engine import make_url

    from api.resilience import wait_for_database

    if not settings.database_url:
        return True  # the embedded server is started, and waited for, by this process
    server = make_url(settings.database_url).set(drivername="postgresql", database="postgres")
    try:
        wait_for_database(
            server.render_as_string(hide_password=False),
            limit_seconds=settings.db_wait_s,
            connect_timeout_s=settings.db_connect_timeout_s,
        )
    except psycopg.OperationalError:
        print(
            f"the database did not answer within MEDSPA_DB_WAIT_S={settings.db_wait_s:g} s",
            file=sys.stderr,
        )
        return False
    return True


async def _demo(settings: Settings, *, env: bool) -> int:
    from api.ide.facts import DESCRIPTIONS, demo_facts
    from db.seed.demo import demo_people
    from db.session import create_app_engine, owner_database_url, session_factory

    url = _existing_database(owner_database_url(settings))
    engine = create_app_engine(
        url, app_url=settings.app_database_url, statement_timeout_ms=settings.statement_timeout_ms
    )
    try:
        facts = await demo_facts(session_factory(engine), settings)
    finally:
        await engine.dispose()
    if facts is None:
        raise CliError("no demo data: run `.venv/bin/medspa-api seed demo` first")
    if env:
        for name, value in facts.values.items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    print("Demo users: a token for each, to send as `Authorization: Bearer <token>`")
    for email, who in demo_people():
        command = f".venv/bin/medspa-api token {email}"
        print(f"  {command:<58} # {who}")
    print()
    print("Ids and inputs the README's examples use (<NAME> in a document; the IDE fills them in):")
    for name, value in facts.values.items():
        print(f"  {name}={value}")
        print(f"      {DESCRIPTIONS[name]}")
    for note in facts.notes:
        print(f"  ({note})")
    print()
    if facts.first_day is None or facts.last_day is None:
        print("No demo appointments: run `.venv/bin/medspa-api seed demo`.")
    else:
        print(
            f"Demo appointments on weekdays from {facts.first_day} to {facts.last_day} "
            "(Glow's zone)."
        )
        if not facts.current:
            print("They do not reach this week: run `.venv/bin/medspa-api seed demo` again.")
    print('Shell: eval "$(.venv/bin/medspa-api demo --env)" sets the names above.')
    return 0


def _existing_database(url: str) -> str:
    """The database URL, the embedded server started if needed, without creating or migrating."""
    from db.session import ensure_database

    return ensure_database(url)


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    from api.tokens import mint_user_token
    from db.models import User
    from db.session import set_tenant_settings

    if not 0 < args.ttl <= MAX_TTL:
        raise CliError(f"--ttl must be between 1 and {MAX_TTL} seconds")
    session, engine = await _owner_session(settings)
    async with session, session.begin():
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        user = (
            await session.execute(select(User).where(func.lower(User.email) == args.email.lower()))
        ).scalar_one_or_none()
        medspa_id = None
        if args.medspa:
            medspa_id = (
                await session.execute(select(Medspa.id).where(Medspa.slug == args.medspa))
            ).scalar_one_or_none()
    await engine.dispose()  # type: ignore[attr-defined]
    if user is None:
        raise CliError(f"no user with email {args.email}")
    if not user.active:
        raise CliError(f"{args.email} is deactivated: the API refuses their tokens")
    if args.medspa and medspa_id is None:
        raise CliError(f"no medspa with slug {args.medspa}")
    token = mint_user_token(
        settings,
        user_id=user.id,
        ttl=timedelta(seconds=args.ttl),
        medspa_id=medspa_id,
        dashboard=Dashboard(args.dashboard) if args.dashboard else None,
    )
    if args.medspa or args.dashboard:
        await _check_token(settings, token, email=args.email)
    print(token)
    return 0


async def _check_token(settings: Settings, token: str, *, email: str) -> None:
    """Authenticate `token` exactly as the API would, and refuse it when the API would."""
    from api.authz.authenticate import Authenticator, RequestCredentials
    from api.authz.enforcer import PolicyEngine
    from api.errors import ApiError
    from db.models import StaffMember
    from db.session import create_app_engine, owner_database_url, session_factory

    url = owner_database_url(settings)
    engine = create_app_engine(
        url, app_url=settings.app_database_url, statement_timeout_ms=settings.statement_timeout_ms
    )
    try:
        async with session_factory(engine)() as session:
            creds = RequestCredentials(bearer=token, medspa=None, dashboard=None, request_id="cli")
            try:
                principal = await Authenticator(settings, PolicyEngine()).authenticate(
                    session, creds
                )
            except ApiError as exc:
                raise CliError(f"the API would refuse this token: {exc.message}") from None
            user_id = principal.user_id
            if user_id is not None and await session.get(StaffMember, user_id) is not None:
                # Portrait staff reach medspas through their role, not a membership: the API
                # ignores a medspa or dashboard in their tokens, so asking for one is a mistake.
                raise CliError(
                    f"{email} is Portrait staff: staff tokens take no medspa or dashboard"
                )
    finally:
        await engine.dispose()


def _parse_scopes(text: str) -> list[str]:
    """Scope values from `a,b`, each given as its value (`catalog:read`) or its GraphQL name
    (`CATALOG_READ`)."""
    by_name = {**{s.value: s for s in ApiScope}, **{s.name: s for s in ApiScope}}
    scopes = set()
    for given in (part.strip() for part in text.split(",")):
        if not given:
            continue
        scope = by_name.get(given) or by_name.get(given.upper())
        if scope is None:
            known = ", ".join(s.value for s in ApiScope)
            raise CliError(f"unknown scope {given!r}: scopes are {known}")
        scopes.add(scope.value)
    if not scopes:
        raise CliError("give at least one scope, e.g. --scopes catalog:read")
    return sorted(scopes)


async def _create_api_client(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from api.tokens import hash_api_key, new_api_key
    from db.models import ApiClient, AuditEvent, AuditOutcome
    from db.session import set_tenant_settings

    scopes = _parse_scopes(args.scopes)
    name = args.name.strip()
    if not name or len(name) > MAX_CLIENT_NAME:
        raise CliError(f"--name must be 1 to {MAX_CLIENT_NAME} characters")
    session, engine = await _owner_session(settings)
    key = new_api_key()
    try:
        async with session, session.begin():
            await set_tenant_settings(session, medspa_ids=(), platform=True)
            medspa_id = (
                await session.execute(select(Medspa.id).where(Medspa.slug == args.medspa))
            ).scalar_one_or_none()
            if medspa_id is None:
                raise CliError(f"no medspa with slug {args.medspa}")
            taken = (
                await session.execute(
                    select(ApiClient.id).where(
                        ApiClient.medspa_id == medspa_id, ApiClient.name == name
                    )
                )
            ).first()
            if taken is not None:
                raise CliError(f"{args.medspa} already has an API client named {name!r}")
            client = ApiClient(
                id=uuid.uuid4(),
                medspa_id=medspa_id,
                name=name,
                key_prefix=key[:10],
                key_hash=hash_api_key(key),
                scopes=scopes,
            )
            session.add(client)
            session.add(
                AuditEvent(
                    id=uuid.uuid4(),
                    medspa_id=medspa_id,
                    action="api_client.manage",
                    resource_type="ApiClient",
                    resource_id=str(client.id),
                    outcome=AuditOutcome.ALLOWED,
                    detail={"operation": "create", "via": "cli", "scopes": scopes},
                )
            )
    except IntegrityError:  # created concurrently under the same name
        raise CliError(f"{args.medspa} already has an API client named {name!r}") from None
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    print(key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
