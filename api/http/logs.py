"""Structured logs: one JSON line per request, for operators (DESIGN §6.13).

The request line carries the request id, operation name, document hash, caller kind and id,
cost, statement count, duration, status and error codes: never the document's literals, the
variables or response data, which hold patient data. Expected client errors are INFO without
traceback; unexpected ones ERROR with traceback. Casbin's dump of the model and policy is
demoted to DEBUG.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import structlog

REQUEST_LOGGER = "api.request"


def _dumps(value: Any, **_kwargs: Any) -> str:
    return orjson.dumps(value, default=str).decode()


class _DemoteToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno = logging.DEBUG
        record.levelname = "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


_DEMOTE = _DemoteToDebug()


def configure_logging() -> None:
    """structlog hands each event to the standard logging tree (idempotent); the record
    carries the event dict, rendered as one JSON line by `json_formatter`."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    for name in ("casbin", "casbin.policy", "casbin.model", "casbin.role", "casbin.enforcer"):
        logger = logging.getLogger(name)
        if _DEMOTE not in logger.filters:
            logger.addFilter(_DEMOTE)


def json_formatter() -> logging.Formatter:
    """Renders structlog events and plain records alike as one JSON object per line."""
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        foreign_pre_chain=[
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
    )


def install_json_output(level: int = logging.INFO) -> None:
    """In a serving process: every line on stderr is JSON, and the access log (which would
    print GET query strings, i.e. documents) is off; the request line replaces it."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if type(h) is logging.StreamHandler]
    if not handlers:
        handler = logging.StreamHandler()
        root.addHandler(handler)
        handlers = [handler]
    formatter = json_formatter()
    for handler in handlers:
        handler.setFormatter(formatter)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True


def request_logger() -> Any:
    return structlog.get_logger(REQUEST_LOGGER)
