"""The context of a live subscription: a GraphQL `Context` whose principal, session and
loaders are renewed for every event.

A subscription outlives any one transaction. Each event it handles opens a short transaction
of its own, authenticates the connection's credentials again (an ended masquerade, an expired
token or a revoked key ends the subscription: `AuthenticationError`), and builds fresh
loaders; the event's answer is produced inside that transaction, then it is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.authz.authenticate import Authenticator, RequestCredentials
from api.context import Context
from api.subscriptions.hub import CalendarHub, Listener
from api.subscriptions.notices import Notice


class SubscriptionOverflow(Exception):
    """The subscription fell too far behind its notices."""


@dataclass
class LiveSource:
    """What a subscription needs beyond a request's context."""

    authenticator: Authenticator
    sessions: async_sessionmaker[AsyncSession]
    credentials: RequestCredentials
    hub: CalendarHub
    make_loaders: Callable[[Context], Any]
    listener: Listener | None = None
    # Set by the subscription once its opening checks passed (the socket answers nothing
    # else before either this or the subscription's error).
    started: asyncio.Event = field(default_factory=asyncio.Event)

    @asynccontextmanager
    async def event(self, ctx: Context) -> AsyncIterator[None]:
        """One transaction for one event, with the principal checked again."""
        session = self.sessions()
        try:
            await session.begin()
            ctx.session = session
            ctx.principal = await self.authenticator.authenticate(session, self.credentials)
            ctx.rls_medspa_ids = ctx.principal.rls_medspa_ids
            ctx.loaders = self.make_loaders(ctx)
            if self.listener is not None:
                self.listener.medspa_ids = ctx.principal.rls_medspa_ids
                self.listener.platform = ctx.principal.rls_platform
            try:
                yield
            finally:
                await ctx.finish()  # audit rows of a refusal, if any
                ctx.audit_events = []
        finally:
            await session.close()

    async def next_notice(self) -> Notice:
        listener = self.listener
        assert listener is not None, "the socket registers the listener before it starts"
        get = asyncio.ensure_future(listener.queue.get())
        overflow = asyncio.ensure_future(listener.overflowed.wait())
        try:
            await asyncio.wait({get, overflow}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            overflow.cancel()
            if not get.done():
                get.cancel()
        if listener.overflowed.is_set():
            raise SubscriptionOverflow
        return get.result()


@dataclass
class LiveContext(Context):
    live: LiveSource | None = None
