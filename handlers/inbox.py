"""The engine's entrypoint from the inbox: workers that handle what was stored on arrival.

Channels store each message (``store``) before they acknowledge it; the workers claim the
stored rows (at most one per sender at a time, oldest first, in every process), translate
each back into an :class:`IncomingMessage` with the channel's own function, and run the
engine, which marks the row done in the step's own transaction and queues the replies in
the outbox with it. A message whose handling raises is tried again a few times (its
sender's later messages wait behind it, so the order holds), then kept as failed with its
reason, and its sender gets one short apology.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Reply
from handlers.outgoing import queue_replies
from models.db import transaction
from models.enums import Channel
from models.messaging.inbox import (
    Arrival,
    Claimed,
    claim,
    mark_done,
    mark_failed,
    release_claims,
    retry_later,
    store,
)
from models.rules.clock import Clock

log = logging.getLogger(__name__)

Translate = Callable[[Claimed], IncomingMessage | None]
"""A channel's translation of a stored row (its provider payload) for the engine; None
for what the bot ignores."""


class InboxWorkers:
    """Store arrivals; claim and handle them until stopped."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        engine: Engine,
        translators: Mapping[Channel, Translate],
        clock: Clock,
        translator: Translator,
        *,
        concurrency: int = 16,
        database_turns: int | None = None,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 3,
        retry_base: float = 0.5,
        idle: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._translators = dict(translators)
        self._clock = clock
        self._t = translator
        self._concurrency = concurrency
        # At most this many steps wait for or hold a database connection at once (the
        # pool's size, less one where it has more): the others wait here, so a webhook's
        # store is never queued in the pool behind every worker's step, only behind those
        # already there.
        self._turns = asyncio.Semaphore(database_turns or concurrency)
        self._lease = lease
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._idle = idle
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._queued_listeners: list[Callable[[], None]] = []

    def on_queued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after an apology was queued in the outbox."""
        self._queued_listeners.append(listener)

    def notify(self) -> None:
        """Something was stored or finished: look now."""
        self._wake.set()

    async def store(self, arrivals: Sequence[Arrival]) -> int:
        """Store what arrived in one short transaction (before the provider is answered)
        and wake the workers; returns how many were new (the rest were redeliveries)."""
        async with transaction(self._sessions) as session:
            added = await store(session, list(arrivals), now=self._clock.now())
        if added:
            self.notify()
        return added

    async def release_claims(self) -> int:
        """At start-up of the only process serving the database: what a killed process
        held is handled now instead of after its lease."""
        async with self._sessions.begin() as session:
            return await release_claims(session)

    async def run_once(self) -> int:
        """Claim as many rows as there are free workers and start handling them."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        async with self._sessions.begin() as session:
            rows = await claim(session, now=self._clock.now(), limit=free, lease=self._lease)
        for row in rows:
            task = asyncio.create_task(self._handle(row), name=f"inbox-{row.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(rows)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.notify()  # the sender's next message may be claimable now

    async def drain(self) -> None:
        """Handle everything claimable now, and what that unblocks (for tests and the
        command line): returns when nothing is in flight and nothing can be claimed."""
        while True:
            # A step that commits while the claim runs may not be in the claim's snapshot
            # (PostgreSQL): only a claim begun with nothing in flight can say "nothing".
            busy = bool(self._in_flight)
            claimed = await self.run_once()
            if not claimed and not busy and not self._in_flight:
                return
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    async def run(self, stop: asyncio.Event) -> None:
        """Handle until ``stop`` is set, then let the messages in hand finish. Between
        rounds it sleeps until a wake-up (a message stored or finished in this process)
        or ``idle`` seconds (another process's messages, a retry's time)."""
        while not stop.is_set():
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception:  # the database may be briefly away; try again shortly
                log.exception("inbox claim failed")
                claimed = 0
            if claimed:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle)
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _handle(self, row: Claimed) -> None:
        try:
            translate = self._translators.get(row.channel)
            message = translate(row) if translate is not None else None
            if message is None:  # a shape the bot ignores: handled by doing nothing
                async with self._sessions.begin() as session:
                    await mark_done(session, row.id, now=self._clock.now())
                return
            message = replace(message, inbox_id=row.id, received_at=row.received_at)
            async with self._turns:
                outcome = await self._engine.handle(message)
            if outcome.failed is not None:
                await self._failed(row, message, outcome.failed)
            elif outcome.replies and not outcome.queued:
                log.error("inbox %s: replies for %s were not queued", row.id, row.channel)
        except Exception:  # a worker survives anything; the row comes back with its lease
            log.exception("inbox %s (%s) could not be handled", row.id, row.channel)

    async def _failed(self, row: Claimed, message: IncomingMessage, error: str) -> None:
        now = self._clock.now()
        final = row.attempts >= self._max_attempts
        async with self._sessions.begin() as session:
            if not final:
                delay = self._retry_base * 2 ** (row.attempts - 1)
                await retry_later(
                    session, row.id, retry_at=now + timedelta(seconds=delay), error=error
                )
            elif await mark_failed(
                session, row.id, now=now, error=f"{error} (after {row.attempts} attempts)"
            ):
                apology = Reply(self._t("inbox.apology"))
                await queue_replies(session, message, (apology,), now=now)
        if final:
            log.warning("inbox %s (%s) failed for good: %s", row.id, row.channel, error)
            for listener in self._queued_listeners:
                listener()
        else:
            log.warning(
                "inbox %s (%s) failed, attempt %d: %s", row.id, row.channel, row.attempts, error
            )
