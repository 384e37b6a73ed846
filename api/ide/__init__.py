"""GraphiQL served by the API itself, with no CDN, so it works offline (development only).

A browser's GET of /graphql answers the IDE page; its scripts and styles are vendored from
their npm packages with their licences (static/vendor/README.md says which versions) and
served under /graphql/ide/. The page opens with a header editor showing how to paste a token,
and one tab per example document of the README, with the demo's ids already filled in
(api/ide/facts.py). URL parameters `query`, `variables` and `headers` open a single tab with
those instead (a shareable link; the browser test uses it).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from api.ide.examples import Example, readme_examples
from api.ide.facts import demo_facts
from api.settings import Settings

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
ASSETS_PATH = "/graphql/ide"

Endpoint = Callable[[Request], Awaitable[Response]]

WELCOME = """\
# Welcome to the medspa API. Every request needs a token, sent as a header:
#
#   1. In a terminal:  .venv/bin/medspa-api token nina@glow.example
#   2. Paste what it prints into Headers (the bottom panel), after "Bearer ".
#   3. Run this document (the play button, or Ctrl-Enter).
#
# `.venv/bin/medspa-api demo` lists every demo user. The other tabs are the README's
# examples, with the demo's ids filled in; each tab's Headers name whose token it needs.
{ viewer { kind roles dashboard user { email fullName } activeMedspa { name } } }
"""

PASTE = "Bearer <paste the output of: {command}>"


def asset_routes() -> list[BaseRoute]:
    """The vendored GraphiQL, React and the page's own script."""
    return [Mount(ASSETS_PATH, app=StaticFiles(directory=STATIC), name="ide")]


def with_ide(
    endpoint: Endpoint,
    *,
    settings: Settings,
    sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
) -> Endpoint:
    """`endpoint`, except that a browser's GET gets the IDE page (`sessions` gives the
    service's session factory, to fill the demo's ids into the examples)."""

    async def serve(request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and ("text/html" in accept or "*/*" in accept):
            return await ide_page(request, settings=settings, sessions=sessions())
        return await endpoint(request)

    return serve


async def ide_page(
    request: Request,
    *,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession] | None,
) -> Response:
    params = request.query_params
    if "query" in params:
        tabs = [
            {
                "query": params["query"],
                "variables": params.get("variables", ""),
                "headers": params.get("headers", ""),
            }
        ]
    else:
        tabs = await _example_tabs(settings=settings, sessions=sessions)
    config = {"url": request.url.path, "tabs": tabs}
    # JSON inside <script>: `<` escaped so no document text can close the element.
    payload = json.dumps(config).replace("<", "\\u003c")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(
        page.replace("{{assets}}", html.escape(ASSETS_PATH)).replace("{{config}}", payload)
    )


async def _example_tabs(
    *, settings: Settings, sessions: async_sessionmaker[AsyncSession] | None
) -> list[dict[str, Any]]:
    examples = readme_examples()
    facts = None
    if sessions is not None and examples:
        try:
            facts = await demo_facts(sessions, settings)
        except SQLAlchemyError:
            # The page still opens (with <NAME> placeholders) when the database misbehaves.
            log.exception("could not read the demo's ids for the IDE's examples")
    welcome = Example(title="welcome", document=WELCOME, caller="nina@glow.example")
    tabs = []
    for example in (welcome, *examples):
        headers = dict(example.headers)
        command = example.token_command()
        if command is not None:
            headers = {"Authorization": PASTE.format(command=command), **headers}
        document = facts.fill(example.document) if facts is not None else example.document
        tabs.append({"query": document, "headers": json.dumps(headers, indent=2)})
    return tabs
