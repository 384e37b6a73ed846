"""The application factory the edge tests serve with uvicorn (settings from the environment)."""

from __future__ import annotations

from starlette.applications import Starlette

from api.app import create_app
from api.settings import Settings


def app() -> Starlette:
    return create_app(Settings())
