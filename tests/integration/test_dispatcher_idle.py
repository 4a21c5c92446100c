"""An idle dispatcher stays idle: rows it cannot claim (a channel it has no sender for, a
lease another process holds, a row another transaction has locked, messages held back by
pacing and per-address order) never make it ask the database in a loop, and the rows it
can send still go out when due."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.enums import Channel, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.outbox import claim, expire_overdue, next_due
from models.messaging.sending import SendResult
from models.messaging.tables import Outbox
from scheduler.dispatcher import Dispatcher

NOW = datetime(2026, 12, 3, 3, tzinfo=UTC)
SPAN = 1.5  # seconds each dispatcher runs
MOST_STATEMENTS = 30  # over SPAN: a round is a claim and a look at the next due time


class LoopClock:
    """Starts at NOW and moves with the event loop's time, as the system clock would."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self._loop.time() - self._start)


class Recording:
    def __init__(self, clock: LoopClock) -> None:
        self.clock = clock
        self.sent: list[tuple[str, str, datetime]] = []

    async def __call__(self, message) -> SendResult:
        self.sent.append((message.address, message.payload["text"], self.clock.now()))
        return SendResult(OutboxStatus.SENT, provider_id=f"P{message.id}")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine's connections run inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def message(channel: Channel, address: str, label: str, **extra) -> Enqueue:
    return Enqueue(
        channel, address, "meeting_reminder", {"text": label}, Priority.REMINDER, **extra
    )


async def run_for(dispatcher: Dispatcher, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    dispatcher.notify()
    await task


async def statuses(sessions, channel: Channel) -> list[OutboxStatus]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Outbox.status).where(Outbox.channel == channel).order_by(Outbox.id)
            )
        )


async def test_due_rows_of_a_channel_without_a_sender_do_not_make_the_dispatcher_spin(
    engine, sessions
) -> None:
    """The operator's set-up: Telegram only, and WhatsApp reminders due in the outbox."""
    async with sessions.begin() as session:
        await enqueue(
            session,
            [message(Channel.WHATSAPP, f"whatsapp:+6281200000{n:03d}", f"w{n}") for n in range(50)]
            + [
                message(Channel.TELEGRAM, "telegram:1001", "now"),
                message(
                    Channel.TELEGRAM,
                    "telegram:1002",
                    "soon",
                    not_before=NOW + timedelta(seconds=0.5),
                ),
            ],
            now=NOW,
        )
    clock = LoopClock()
    telegram = Recording(clock)
    dispatcher = Dispatcher(sessions, {Channel.TELEGRAM: telegram}, {Channel.TELEGRAM: 30.0}, clock)

    with statements(engine) as seen:
        await run_for(dispatcher, SPAN)

    assert len(seen) <= MOST_STATEMENTS, f"{len(seen)} statements in {SPAN}s: it spins"
    assert [text_ for _, text_, _ in telegram.sent] == ["now", "soon"]
    assert telegram.sent[1][2] >= NOW + timedelta(seconds=0.5)  # not before it was due
    assert await statuses(sessions, Channel.WHATSAPP) == [OutboxStatus.PENDING] * 50


async def test_a_lease_another_process_holds_is_waited_out_not_polled(engine, sessions) -> None:
    async with sessions.begin() as session:
        await enqueue(session, [message(Channel.WHATSAPP, "whatsapp:+6281200000001", "x")], now=NOW)
        # Another dispatcher claimed it and died: its lease runs out in 0.6 s.
        await claim(session, now=NOW, limit=1, lease=timedelta(seconds=0.6))
    clock = LoopClock()
    whatsapp = Recording(clock)
    dispatcher = Dispatcher(sessions, {Channel.WHATSAPP: whatsapp}, {Channel.WHATSAPP: 80.0}, clock)

    with statements(engine) as seen:
        await run_for(dispatcher, SPAN)

    assert len(seen) <= MOST_STATEMENTS, f"{len(seen)} statements in {SPAN}s: it spins"
    assert [(text_, at >= NOW + timedelta(seconds=0.6)) for _, text_, at in whatsapp.sent] == [
        ("x", True)
    ]


async def test_messages_held_back_by_pacing_and_order_per_address_cost_no_extra_queries(
    engine, sessions
) -> None:
    """Eight messages at four a second, five of them to one address: they go out paced,
    one address's in order, and the dispatcher does not poll while they wait."""
    async with sessions.begin() as session:
        await enqueue(
            session,
            [message(Channel.WHATSAPP, "whatsapp:+6281200000001", f"a{n}") for n in range(5)]
            + [message(Channel.WHATSAPP, f"whatsapp:+628120000010{n}", f"b{n}") for n in range(3)],
            now=NOW,
        )
    clock = LoopClock()
    whatsapp = Recording(clock)
    dispatcher = Dispatcher(sessions, {Channel.WHATSAPP: whatsapp}, {Channel.WHATSAPP: 4.0}, clock)

    with statements(engine) as seen:
        await run_for(dispatcher, 2.5)

    assert len(seen) <= MOST_STATEMENTS, f"{len(seen)} statements: it spins"
    one_address = [text_ for address, text_, _ in whatsapp.sent if address.endswith("0001")]
    assert one_address == ["a0", "a1", "a2", "a3", "a4"]
    assert len(whatsapp.sent) == 8
    times = sorted(at for _, _, at in whatsapp.sent)
    assert all(
        later - earlier >= timedelta(seconds=0.2) for earlier, later in pairwise(times)
    )


@pytest.mark.postgres
async def test_a_row_another_transaction_holds_locked_is_not_polled(
    db_url, engine, sessions
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks skipped by SKIP LOCKED exist on PostgreSQL only")
    async with sessions.begin() as session:
        await enqueue(session, [message(Channel.WHATSAPP, "whatsapp:+6281200000001", "x")], now=NOW)
    clock = LoopClock()
    whatsapp = Recording(clock)
    dispatcher = Dispatcher(sessions, {Channel.WHATSAPP: whatsapp}, {Channel.WHATSAPP: 80.0}, clock)
    async with engine.connect() as other:
        await other.execute(text("SELECT id FROM outbox FOR UPDATE"))  # another claim, mid-way
        with statements(engine) as seen:
            await run_for(dispatcher, SPAN)
        assert len(seen) <= MOST_STATEMENTS + 1, f"{len(seen)} statements in {SPAN}s: it spins"
        assert whatsapp.sent == []
        await other.rollback()
    await run_for(dispatcher, 0.2)
    assert [text_ for _, text_, _ in whatsapp.sent] == ["x"]


async def test_next_due_counts_only_the_channels_asked_and_the_leases_running_out(
    sessions,
) -> None:
    async with sessions.begin() as session:
        await enqueue(
            session,
            [
                message(Channel.WHATSAPP, "whatsapp:+6281200000001", "w", not_before=NOW),
                message(Channel.TELEGRAM, "telegram:1", "t", not_before=NOW + timedelta(hours=1)),
                message(Channel.SMS, "sms:+6281200000002", "s", not_before=NOW),
            ],
            now=NOW,
        )
        await claim(session, now=NOW, limit=1, lease=timedelta(minutes=2), channels=[Channel.SMS])
    async with sessions() as session:
        assert await next_due(session, [Channel.TELEGRAM]) == NOW + timedelta(hours=1)
        assert await next_due(session, [Channel.SMS]) == NOW + timedelta(minutes=2)
        assert await next_due(session, [Channel.TELEGRAM, Channel.WHATSAPP]) == NOW
        assert await next_due(session, []) is None


async def test_rows_past_their_deadline_fail_with_a_reason_whatever_their_channel(
    sessions,
) -> None:
    async with sessions.begin() as session:
        await enqueue(
            session,
            [
                message(Channel.WHATSAPP, "whatsapp:+6281200000001", "old", deadline_at=NOW),
                message(
                    Channel.WHATSAPP,
                    "whatsapp:+6281200000002",
                    "later",
                    deadline_at=NOW + timedelta(days=1),
                ),
                message(
                    Channel.TELEGRAM, "telegram:1", "old", deadline_at=NOW - timedelta(hours=1)
                ),
            ],
            now=NOW - timedelta(days=2),
        )
    async with sessions.begin() as session:
        expired = await expire_overdue(session, now=NOW)
    assert expired == {Channel.WHATSAPP: 1, Channel.TELEGRAM: 1}
    async with sessions() as session:
        rows = (await session.execute(select(Outbox.payload, Outbox.status, Outbox.error))).all()
    assert sorted((p["text"], s, e) for p, s, e in rows) == [
        ("later", OutboxStatus.PENDING, None),
        ("old", OutboxStatus.FAILED, "deadline passed before it could be sent"),
        ("old", OutboxStatus.FAILED, "deadline passed before it could be sent"),
    ]
