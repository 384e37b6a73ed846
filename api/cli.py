"""The `medspa-api` command (DESIGN §7)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.settings import Settings, get_settings
from db.models import Dashboard, Medspa

log = logging.getLogger("medspa-api")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medspa-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (migrates first)")
    serve.add_argument("--seed-demo-if-empty", action="store_true")
    serve.add_argument("--reload", action="store_true")

    db = commands.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade", "url"])

    seed = commands.add_parser("seed", help="load seed data")
    seed.add_argument("dataset", choices=["demo"])

    token = commands.add_parser("token", help="mint a development token for a user")
    token.add_argument("email")
    token.add_argument("--medspa", help="slug of the medspa to preselect")
    token.add_argument("--dashboard", choices=[d.value for d in Dashboard])
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds (default 8 h)")

    api_client = commands.add_parser("api-client", help="partner API clients")
    api_client_commands = api_client.add_subparsers(dest="api_client_command", required=True)
    create = api_client_commands.add_parser("create", help="create a key (printed once)")
    create.add_argument("--medspa", required=True, help="medspa slug")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated, e.g. appointments:read")

    commands.add_parser("schema", help="print the GraphQL SDL")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()

    if args.command == "schema":
        from api.schema.schema import build_schema

        print(build_schema(settings).as_str())
        return 0
    if args.command == "serve":
        return _serve(settings, seed_if_empty=args.seed_demo_if_empty, reload=args.reload)
    if args.command == "db":
        url = _prepare_database(settings)
        if args.action == "url":
            print(url)
        return 0
    if args.command == "seed":
        _prepare_database(settings)
        asyncio.run(_seed_demo(settings))
        print("demo data seeded")
        return 0
    if args.command == "token":
        return asyncio.run(_token(settings, args))
    if args.command == "api-client":
        return asyncio.run(_create_api_client(settings, args))
    return 2


def _prepare_database(settings: Settings) -> str:
    """Resolve the database (starting the embedded one if needed) and migrate it."""
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


def _serve(settings: Settings, *, seed_if_empty: bool, reload: bool) -> int:
    import uvicorn

    from api.app import create_app

    url = _prepare_database(settings)
    if seed_if_empty and asyncio.run(_is_empty(settings)):
        asyncio.run(_seed_demo(settings))
        log.info("seeded the demo data")
    # The app connects to the same database the migrations ran on.
    served = settings.model_copy(update={"database_url": url})
    app = create_app(served)
    log.info("serving http://%s:%s/graphql", settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", reload=reload)
    return 0


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    from api.auth import mint_user_token
    from db.models import User
    from db.session import set_tenant_settings

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
        print(f"no user with email {args.email}", file=sys.stderr)
        return 1
    if args.medspa and medspa_id is None:
        print(f"no medspa with slug {args.medspa}", file=sys.stderr)
        return 1
    print(
        mint_user_token(
            settings,
            user_id=user.id,
            ttl=timedelta(seconds=args.ttl),
            medspa_id=medspa_id,
            dashboard=Dashboard(args.dashboard) if args.dashboard else None,
        )
    )
    return 0


async def _create_api_client(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from api.auth import hash_api_key, new_api_key
    from api.authz.actions import ApiScope
    from db.models import ApiClient, AuditEvent, AuditOutcome
    from db.session import set_tenant_settings

    try:
        scopes = sorted({ApiScope(s.strip()).value for s in args.scopes.split(",") if s.strip()})
    except ValueError:
        print(f"scopes must be among: {', '.join(s.value for s in ApiScope)}", file=sys.stderr)
        return 1
    if not scopes:
        print("give at least one scope", file=sys.stderr)
        return 1
    session, engine = await _owner_session(settings)
    key = new_api_key()
    async with session, session.begin():
        await set_tenant_settings(session, medspa_ids=(), platform=True)
        medspa_id = (
            await session.execute(select(Medspa.id).where(Medspa.slug == args.medspa))
        ).scalar_one_or_none()
        if medspa_id is None:
            print(f"no medspa with slug {args.medspa}", file=sys.stderr)
            return 1
        client = ApiClient(
            id=uuid.uuid4(),
            medspa_id=medspa_id,
            name=args.name,
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
    await engine.dispose()  # type: ignore[attr-defined]
    print(key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
