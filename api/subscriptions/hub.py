"""One process's fan-out of appointment notices to its live subscriptions.

The process listens once (the policy watcher's LISTEN connection also listens on the calendar
channel, `api.subscriptions.notices.CHANNEL`) and hands each notice to every subscription of
this process whose row-level security could reach the notice's medspa at all; each
subscription then re-reads the row through its principal's scope before showing anything.
A subscription that falls `QUEUE_SIZE` notices behind is ended rather than left to grow.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

from api.subscriptions.notices import Notice

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


@dataclass(eq=False)
class Listener:
    """One subscription's inbox."""

    medspa_ids: frozenset[uuid.UUID]
    platform: bool
    queue: asyncio.Queue[Notice] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def may_reach(self, notice: Notice) -> bool:
        # Row-level security's own bound: a medspa outside it could never be read.
        return self.platform or notice.medspa_id in self.medspa_ids


class CalendarHub:
    def __init__(self) -> None:
        self.listeners: set[Listener] = set()

    def add(self, *, medspa_ids: frozenset[uuid.UUID], platform: bool) -> Listener:
        listener = Listener(medspa_ids=medspa_ids, platform=platform)
        self.listeners.add(listener)
        return listener

    def remove(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    def publish(self, payload: str) -> None:
        """A NOTIFY payload from the listening connection."""
        try:
            notice = Notice.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable calendar notice ignored")
            return
        for listener in list(self.listeners):
            if not listener.may_reach(notice):
                continue
            try:
                listener.queue.put_nowait(notice)
            except asyncio.QueueFull:
                listener.overflowed.set()
