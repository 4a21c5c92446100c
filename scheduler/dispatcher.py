"""The outbox dispatcher: claims due messages by priority and hands them to the channels.

Channel senders (in ``bot.channels``) do the provider work and say how it went; the
dispatcher keeps each channel under its rate, retries temporary failures with exponential
backoff and jitter, marks a message failed after the configured attempts, and keeps the
provider's id for delivery receipts. Claims carry a lease: rows a crashed process had
claimed become due again when it runs out, so a kill -9 loses nothing (the messages in
flight at that moment may go twice).

A KPM's WhatsApp message that failed because the number is not on WhatsApp is sent again
by SMS, once, in the transaction that records the failure; an SMS sent keeps its billed
segments; with a monthly SMS budget, the SMS the business starts are failed once the
month's segments reach it (:mod:`scheduler.sms_budget`). A reminder or meeting notice
whose family has stopped them since it was queued ("berhenti", on any channel) is not
sent: it is withdrawn when its turn comes (:func:`models.optout.withheld`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time as time_module
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import Channel, OutboxStatus
from models.messaging.outbox import (
    BUSINESS_INITIATED_KINDS,
    FAMILY_KINDS,
    Attempt,
    Claimed,
    claim,
    finish_all,
    next_due,
)
from models.messaging.pace import reserve_slots
from models.messaging.sending import Sender, SendResult
from models.messaging.sms_fallback import fall_back_to_sms
from models.messaging.sms_usage import SMS_BUDGET_SPENT
from models.optout import OPTED_OUT, withheld
from models.rules.calendar import after_quiet_hours
from models.rules.clock import Clock
from scheduler.sms_budget import SmsBudget

log = logging.getLogger(__name__)
SAFETY = 0.97  # keep a little under the provider's rate, so no one-second window goes over


class Pacer:
    """Evenly spaced send slots: over any one-second window at most ``per_second``.

    aiolimiter's leaky bucket either allows a burst (a full bucket plus the refill can
    exceed the rate within one second) or, with a bucket of one, falls about 10% short of
    the rate because of timer granularity; the provider's limit needs neither."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / (per_second * SAFETY)
        self._next = 0.0

    async def acquire(self, stopping: asyncio.Event | None = None) -> None:
        """Wait for the next slot (or until ``stopping`` is set, whichever comes first);
        a slot woken up for too late is missed (see :func:`_on_time`)."""
        loop = asyncio.get_running_loop()
        while True:
            slot = max(loop.time(), self._next)
            self._next = slot + self._interval
            await _sleep(slot - loop.time(), stopping)
            if _on_time(slot, loop.time(), self._interval, stopping):
                return


async def _sleep(delay: float, stopping: asyncio.Event | None) -> None:
    if delay <= 0:
        return
    if stopping is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), delay)


LATE_SLOTS = 2
"""How many intervals after its slot a send may still go: ``SAFETY``'s 3 % leaves room
for 2.4 sends more in any one second at 80/s, so two late ones never take a sender over."""


def _on_time(slot: float, now: float, interval: float, stopping: asyncio.Event | None) -> bool:
    """Whether a send may go at ``now`` for ``slot``: within ``LATE_SLOTS`` intervals of it
    (or when stopping). A process that stalled (busy, short of CPU) wakes every send
    waiting in it at once; sent then, they would go as a burst over the rate (measured
    with several dispatcher processes on 2 cores: bench/scale.py), so a later one takes
    another slot."""
    return (stopping is not None and stopping.is_set()) or now - slot <= LATE_SLOTS * interval


BLOCK_SECONDS = 0.25
"""How much of a sender's time a process reserves at once from the shared pace: what it
leaves unused when it has less to send is lost to the others (at most this long)."""


class SharedPacer:
    """:class:`Pacer`'s slots, shared by every dispatcher process through the database
    (:mod:`models.messaging.pace`): over any one-second window, all processes together
    send at most ``per_second`` for ``sender``. Slots are reserved a block at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: str,
        per_second: float,
        *,
        now: Callable[[], float] = time_module.time,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._interval = 1.0 / (per_second * SAFETY)
        self._block = max(1, math.ceil(per_second * SAFETY * BLOCK_SECONDS))
        self._now = now
        self._slots: deque[float] = deque()
        self._reserving = asyncio.Lock()
        self._lead = 0.0  # how long the last reservation took

    async def next_slot(self) -> float:
        """The next slot of this process (seconds since the epoch), reserving a block of
        them when those reserved are used up."""
        async with self._reserving:
            # A slot this process let pass (it was busy: claiming, recording, short of
            # CPU) is given up: sent now, it would crowd the slots of the other processes
            # that follow it, and a sender's one-second window would go over its rate
            # (measured with 4 processes on 2 cores: bench/scale.py).
            stale = self._now() - LATE_SLOTS * self._interval
            while self._slots and self._slots[0] < stale:
                self._slots.popleft()
            if not self._slots:
                # The block starts as far ahead as the last reservation took: its first
                # slots are not already past (and so given up) when it comes back.
                asked = self._now()
                async with self._sessions.begin() as session:
                    first = await reserve_slots(
                        session, self._sender, count=self._block, interval=self._interval,
                        now=asked + self._lead,
                    )
                self._lead = min(max(self._now() - asked, 0.0), BLOCK_SECONDS)
                self._slots.extend(first + n * self._interval for n in range(self._block))
            return self._slots.popleft()

    async def acquire(self, stopping: asyncio.Event | None = None) -> None:
        """Wait for the next slot (or until ``stopping`` is set, whichever comes first);
        a slot woken up for too late is missed (see :func:`_on_time`)."""
        while True:
            slot = await self.next_slot()
            await _sleep(slot - self._now(), stopping)
            if _on_time(slot, self._now(), self._interval, stopping):
                return


class Pacing(Protocol):
    async def acquire(self, stopping: asyncio.Event | None = None) -> None: ...


Router = Callable[[list[Claimed]], Coroutine[Any, Any, list[Claimed]]]
"""Gives claimed messages the sender each goes from (``Claimed.sender``): several senders
of one channel (regional Twilio senders, ``bot.senders``)."""
SenderPacing = Callable[[Channel, str], Pacing]
"""The pace of one sender of a channel, made at its first message."""


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0  # claimed, not begun before a stop: pending again, not counted
    withdrawn: int = 0  # not sent: the recipient stopped messages since they were queued
    claimed_at: datetime | None = None  # the time the round's claim looked from

    @property
    def progressed(self) -> bool:
        return bool(self.sent or self.retried or self.failed or self.withdrawn)


def _business_sms(message: Claimed) -> bool:
    """An SMS the business starts: what the monthly SMS budget stops."""
    return message.channel is Channel.SMS and message.kind in BUSINESS_INITIATED_KINDS


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[Channel, Sender],
        rates: Mapping[Channel, float],
        clock: Clock,
        *,
        batch: int = 100,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 6,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
        concurrency: int = 32,
        write_every: int = 20,
        quiet: tuple[time, time] | None = None,
        default_zone: str = "Asia/Jakarta",
        sms_budget: int = 0,
        pacers: Mapping[Channel, Pacing] | None = None,
        addresses: Sequence[str] | None = None,
        router: Router | None = None,
        sender_pacing: SenderPacing | None = None,
    ) -> None:
        self._sessions = sessions
        self._addresses = addresses  # only the messages to these (the web simulator's)
        self._budget = SmsBudget(sessions, sms_budget, default_zone) if sms_budget else None
        self._quiet = quiet
        self._default_zone = default_zone
        self._senders = dict(senders)
        self._limiters: dict[Channel, Pacing] = {
            channel: Pacer(rate) for channel, rate in rates.items()
        }
        self._limiters.update(pacers or {})  # shared with other processes (PostgreSQL)
        # Several senders on a channel: each message waits for its own sender's slot.
        self._router = router
        self._sender_pacing = sender_pacing
        self._sender_limiters: dict[tuple[Channel, str], Pacing] = {}
        self._clock = clock
        self._batch = batch
        self._lease = lease
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        # Sends in flight, per pace (sender): a sender's messages waiting for their slots
        # must not hold another sender's turn (one shared limit did: two senders' lanes
        # took turns, 71% of their combined rate from one process: bench/scale.py).
        self._concurrency = concurrency
        self._in_flight: dict[Pacing | None, asyncio.Semaphore] = {}
        self._write_every = write_every
        self._wakes = {channel: asyncio.Event() for channel in self._senders}  # per lane
        self._stopping = asyncio.Event()  # never set for run_once; run's own stop

    def notify(self) -> None:
        """Something was enqueued: look now rather than at the next due time."""
        for wake in self._wakes.values():
            wake.set()

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter, in seconds."""
        ceiling = min(self._max_delay, self._base_delay * 2 ** max(attempts - 1, 0))
        return random.uniform(ceiling / 2, ceiling)

    async def run_once(self, channels: Sequence[Channel] | None = None) -> DispatchReport:
        """Claim one batch (of ``channels``, default all) and send it; outcomes are written
        in small groups as they come (a crash can only resend the messages whose outcome
        was not written yet)."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            messages = await claim(
                session, now=now, limit=self._batch, lease=self._lease,
                channels=list(channels or self._senders), addresses=self._addresses,
            )
        if self._router is not None and messages:
            messages = await self._router(messages)
        report = DispatchReport(claimed_at=now)
        pending: list[tuple[Claimed, SendResult | None]] = []
        messages = await self._withhold_stopped(messages, pending)
        if self._budget is not None and any(map(_business_sms, messages)):
            await self._budget.refresh(now)
        for done in asyncio.as_completed(self._in_order_per_address(messages)):
            pending.append(await done)
            if len(pending) >= self._write_every:
                await self._record(pending, report)
                pending = []
        await self._record(pending, report)
        return report

    async def _withhold_stopped(
        self, messages: list[Claimed], outcomes: list[tuple[Claimed, SendResult | None]]
    ) -> list[Claimed]:
        """The messages to send: reminders and meeting notices to a family that has stopped
        them go to ``outcomes`` as withdrawn instead (one look for the whole batch)."""
        family = {(m.address, m.dedupe_key) for m in messages if m.kind in FAMILY_KINDS}
        if not family:
            return messages
        async with self._sessions() as session:
            stopped = await withheld(session, family)
        if not stopped:
            return messages
        withdrawn = SendResult(OutboxStatus.CANCELLED, error=OPTED_OUT)
        kept = []
        for message in messages:
            if message.kind in FAMILY_KINDS and (message.address, message.dedupe_key) in stopped:
                outcomes.append((message, withdrawn))
            else:
                kept.append(message)
        return kept

    def _in_order_per_address(
        self, messages: list[Claimed]
    ) -> list[Coroutine[Any, Any, tuple[Claimed, SendResult | None]]]:
        """One sending coroutine per message; the messages of one address go one after
        another, in the order claimed (a conversation's replies must not overtake)."""
        loop = asyncio.get_running_loop()
        last: dict[str, asyncio.Future[None]] = {}
        sends = []
        for message in messages:
            before = last.get(message.address)
            last[message.address] = done = loop.create_future()
            sends.append(self._send_after(message, before, done))
        return sends

    async def _send_after(
        self,
        message: Claimed,
        before: asyncio.Future[None] | None,
        done: asyncio.Future[None],
    ) -> tuple[Claimed, SendResult | None]:
        try:
            if before is not None:
                await before
            return await self._send(message)
        finally:
            done.set_result(None)

    async def _send(self, message: Claimed) -> tuple[Claimed, SendResult | None]:
        """Send one message; ``None`` when the dispatcher is stopping before it began (a
        shutdown finishes the sends in flight, and gives the rest of the batch back)."""
        sender = self._senders[message.channel]
        limiter = self._limiter(message)
        in_flight = self._in_flight.get(limiter)
        if in_flight is None:
            in_flight = self._in_flight[limiter] = asyncio.Semaphore(self._concurrency)
        async with in_flight:
            if limiter is not None and not self._stopping.is_set():
                await limiter.acquire(self._stopping)
            if self._stopping.is_set():
                return message, None
            budget = self._budget if message.channel is Channel.SMS else None
            reserved = budget is not None and _business_sms(message)
            if budget is not None and reserved and not budget.take():
                return message, SendResult(OutboxStatus.FAILED, error=SMS_BUDGET_SPENT)
            try:
                result = await sender(message)
            except Exception as exc:  # a sender bug must not stop the dispatcher
                log.exception("sender for %s failed on outbox %s", message.channel, message.id)
                result = SendResult(OutboxStatus.FAILED, error=type(exc).__name__, temporary=True)
            if budget is not None:
                budget.settle(result.segments if result.provider_id else None, reserved=reserved)
            return message, result

    def _limiter(self, message: Claimed) -> Pacing | None:
        """The pace a message waits for: its sender's when routed to one, else its
        channel's."""
        if message.sender is None or self._sender_pacing is None:
            return self._limiters.get(message.channel)
        key = (message.channel, message.sender)
        limiter = self._sender_limiters.get(key)
        if limiter is None:
            limiter = self._sender_limiters[key] = self._sender_pacing(*key)
        return limiter

    async def _record(
        self, outcomes: list[tuple[Claimed, SendResult | None]], report: DispatchReport
    ) -> None:
        if not outcomes:
            return
        now = self._clock.now()
        attempts = []
        not_on_whatsapp = []
        for message, result in outcomes:
            if result is None:  # never begun: due again at once, the claim not counted
                report.released += 1
                attempts.append(
                    Attempt(
                        message.id,
                        OutboxStatus.PENDING,
                        retry_at=now,
                        attempts=message.attempts - 1,
                    )
                )
                continue
            retry_at = None
            if result.temporary and message.attempts < self._max_attempts:
                delay = max(result.retry_after or 0.0, self.backoff(message.attempts))
                retry_at = self._outside_quiet_hours(message, now + timedelta(seconds=delay))
                report.retried += 1
            elif result.status in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED):
                report.failed += 1
                if result.not_on_whatsapp and message.channel is Channel.WHATSAPP:
                    not_on_whatsapp.append(message.id)
                if result.error != SMS_BUDGET_SPENT:  # that one is said once a month
                    log.warning(
                        "outbox %s (%s) failed: %s",
                        message.id,
                        message.kind,
                        result.error_code or result.error,
                    )
            elif result.status is OutboxStatus.CANCELLED:
                report.withdrawn += 1
            else:
                report.sent += 1
            attempts.append(
                Attempt(
                    message.id,
                    result.status,
                    result.provider_id,
                    result.error_code,
                    result.error,
                    retry_at=retry_at,
                    # withheld: nothing went, so the claim's count is taken back
                    attempts=(
                        message.attempts - 1 if result.status is OutboxStatus.CANCELLED else None
                    ),
                    segments=result.segments,
                )
            )
        async with self._sessions.begin() as session:
            await finish_all(session, attempts, now=now)
            # Again by SMS, with the failure: a restart between the two cannot lose it,
            # and the SMS's dedupe key keeps a second attempt from adding it again.
            if not_on_whatsapp and await fall_back_to_sms(session, not_on_whatsapp, now=now):
                self.notify()  # the SMS is due now: this dispatcher may send it

    def _outside_quiet_hours(self, message: Claimed, retry_at: datetime) -> datetime:
        """A retry of a message the business starts (a reminder, a nudge, an alert) that
        would fall in the recipient's quiet hours waits for their end; replies to someone
        who just wrote do not wait. The zone is the payload's, else the default one."""
        if self._quiet is None or message.kind not in BUSINESS_INITIATED_KINDS:
            return retry_at
        zone = ZoneInfo(str(message.payload.get("zone") or self._default_zone))
        local = after_quiet_hours(retry_at.astimezone(zone), *self._quiet)
        return local.astimezone(UTC)

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Dispatch until ``stop`` is set; between rounds sleep until the next message this
        dispatcher can claim falls due, a wake-up, or ``idle`` seconds at most (other
        processes may enqueue without waking us). When ``stop`` is set the sends in flight
        finish and the rest of the batch goes back to pending, for the next process.

        Each channel is a lane of its own, claiming and sending only its messages: a
        backlog on one (a day's WhatsApp reminders) never leaves another's sender idle
        (one claim of all channels, by priority and time, took a batch of one channel
        at a time, and two senders sent at the rate of one: bench/scale.py)."""
        self._stopping = stop  # read by the sends of the round in progress
        await asyncio.gather(*(self._lane(stop, idle, channel) for channel in self._senders))

    async def _lane(self, stop: asyncio.Event, idle: float, channel: Channel) -> None:
        wake = self._wakes[channel]
        while not stop.is_set():
            wake.clear()  # a wake-up during this round keeps it set for the wait
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=await self._round(idle, [channel]))

    async def _round(self, idle: float, channels: list[Channel]) -> float:
        """One round: claim and send; returns how long to wait before the next one."""
        try:
            report = await self.run_once(channels)
            if report.progressed:
                return 0.0
            async with self._sessions() as session:
                due = await next_due(session, channels, self._addresses)
        except Exception:  # the database may be briefly away; try again shortly
            log.exception("dispatch round failed")
            return idle
        if due is None:
            return idle
        if report.claimed_at is not None and due <= report.claimed_at:
            # Due when the claim looked, yet not claimed: a row another process holds
            # locked this instant (PostgreSQL's SKIP LOCKED), or a batch the claim found
            # past its deadline and failed. Asking again at once could spin; a locked row
            # comes back with its lease or its outcome.
            return idle
        return min(idle, max((due - self._clock.now()).total_seconds(), 0.0))
