"""The outbox dispatcher against a recording sender: priorities, retries, leases, deadlines,
and (on PostgreSQL) two dispatchers that never send the same row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from models.db import create_engine, session_factory
from models.enums import Channel, OutboxStatus
from models.messaging.enqueue import Enqueue, EnqueueColumns, Priority, enqueue
from models.messaging.sending import SendResult
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from scheduler.dispatcher import Dispatcher

NOW = datetime(2026, 11, 22, 3, tzinfo=UTC)


class RecordingSender:
    """Answers with scripted results and records what it was asked to send."""

    def __init__(self, script: list[SendResult] | None = None) -> None:
        self.sent: list[tuple[int, str]] = []
        self.script = list(script or [])

    async def __call__(self, message) -> SendResult:
        self.sent.append((message.id, message.kind))
        await asyncio.sleep(0)
        if self.script:
            return self.script.pop(0)
        return SendResult(OutboxStatus.QUEUED, provider_id=f"P{message.id}")


def message(kind: str, priority: int, **extra) -> Enqueue:
    return Enqueue(
        channel=Channel.WHATSAPP,
        address="whatsapp:+6281234567890",
        kind=kind,
        payload={"text": kind},
        priority=priority,
        **extra,
    )


async def rows(sessions) -> list[Outbox]:
    async with sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


def dispatcher(sessions, sender, clock, **kwargs) -> Dispatcher:
    return Dispatcher(
        sessions,
        {Channel.WHATSAPP: sender},
        {Channel.WHATSAPP: 1000.0},
        clock,
        base_delay=2.0,
        **kwargs,
    )


async def test_replies_go_before_alerts_before_reminders(sessions) -> None:
    async with sessions.begin() as session:
        await enqueue(
            session,
            [
                message("meeting_reminder", Priority.REMINDER),
                message("alert", Priority.ALERT),
                message("reply", Priority.REPLY),
            ],
            now=NOW,
        )
    sender, clock = RecordingSender(), FixedClock(NOW)
    one_at_a_time = dispatcher(sessions, sender, clock, batch=1)
    for _ in range(3):
        await one_at_a_time.run_once()
    assert [kind for _, kind in sender.sent] == ["reply", "alert", "meeting_reminder"]
    assert [(r.status, r.provider_id) for r in await rows(sessions)] == [
        (OutboxStatus.QUEUED, "P1"),
        (OutboxStatus.QUEUED, "P2"),
        (OutboxStatus.QUEUED, "P3"),
    ]


async def test_enqueueing_the_same_dedupe_key_twice_adds_one_message(sessions) -> None:
    async with sessions.begin() as session:
        first = await enqueue(
            session, [message("meeting_reminder", 30, dedupe_key="r:1:3:7")], now=NOW
        )
        again = await enqueue(
            session, [message("meeting_reminder", 30, dedupe_key="r:1:3:7")], now=NOW
        )
    assert (first, again) == (1, 0)
    assert len(await rows(sessions)) == 1


async def test_a_bulk_enqueue_adds_each_new_key_once_in_order(sessions) -> None:
    """Thousands of rows (several rows per INSERT on SQLite, and a remainder), some keys
    there already and one twice in the batch: each key is stored once, in the given order,
    and the count says how many were added."""
    async with sessions.begin() as session:
        earlier = [message("meeting_reminder", 30, dedupe_key=f"r:{n}") for n in range(0, 50, 7)]
        assert await enqueue(session, earlier, now=NOW) == len(earlier)
    payload = {"text": "reminder"}  # one object shared by every row, as a sweep does

    def reminder(n: int) -> Enqueue:
        at = NOW + timedelta(minutes=n % 3)
        address = f"whatsapp:+62812{n:08d}"
        return Enqueue(Channel.WHATSAPP, address, "meeting_reminder", payload, 30, f"r:{n}", at)

    batch = [reminder(n) for n in range(2345)] + [reminder(5)]  # r:5 twice in this batch
    columns = EnqueueColumns.of(batch)
    async with sessions.begin() as session:
        added = await enqueue(session, columns, now=NOW)
    assert added == 2345 - len(earlier)
    stored = await rows(sessions)
    assert len(stored) == 2345
    assert sorted(r.dedupe_key for r in stored) == sorted(f"r:{n}" for n in range(2345))
    new = stored[len(earlier) :]
    assert [r.dedupe_key for r in new] == [
        f"r:{n}" for n in range(2345) if not (n < 50 and n % 7 == 0)
    ]
    assert {r.payload["text"] for r in new} == {"reminder"}
    assert {r.next_attempt_at for r in new} == {NOW + timedelta(minutes=m) for m in range(3)}
    assert {(r.status, r.attempts, r.created_at) for r in new} == {(OutboxStatus.PENDING, 0, NOW)}


async def test_a_temporary_error_is_retried_later_then_fails_after_the_last_attempt(
    sessions,
) -> None:
    async with sessions.begin() as session:
        await enqueue(session, [message("alert", Priority.ALERT)], now=NOW)
    busy = SendResult(
        OutboxStatus.FAILED,
        error_code="20429",
        error="Too Many Requests",
        temporary=True,
        retry_after=30,
    )
    sender, clock = RecordingSender([busy, busy, busy]), FixedClock(NOW)
    worker = dispatcher(sessions, sender, clock, max_attempts=3)
    await worker.run_once()
    (row,) = await rows(sessions)
    assert row.status is OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at >= NOW + timedelta(seconds=30)  # Retry-After honoured
    await worker.run_once()
    assert len(sender.sent) == 1  # not due yet: nothing is sent early
    for _ in range(2):
        clock.advance(timedelta(minutes=10))
        await worker.run_once()
    (row,) = await rows(sessions)
    assert row.status is OutboxStatus.FAILED and row.attempts == 3
    assert row.error_code == "20429"


async def test_a_permanent_error_fails_at_once_with_its_code(sessions) -> None:
    async with sessions.begin() as session:
        await enqueue(session, [message("alert", Priority.ALERT)], now=NOW)
    invalid = SendResult(OutboxStatus.FAILED, error_code="21211", error="invalid number")
    await dispatcher(sessions, RecordingSender([invalid]), FixedClock(NOW)).run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.error_code) == (OutboxStatus.FAILED, 1, "21211")


async def test_a_claim_left_by_a_crashed_process_is_taken_again_after_its_lease(
    sessions,
) -> None:
    from models.messaging.outbox import claim

    async with sessions.begin() as session:
        await enqueue(session, [message("alert", Priority.ALERT)], now=NOW)
        (claimed,) = await claim(session, now=NOW, limit=10, lease=timedelta(minutes=2))
    clock = FixedClock(NOW + timedelta(minutes=1))
    sender = RecordingSender()
    await dispatcher(sessions, sender, clock).run_once()
    assert sender.sent == []  # still leased to the process that died
    clock.advance(timedelta(minutes=2))
    await dispatcher(sessions, sender, clock).run_once()
    assert sender.sent == [(claimed.id, "alert")]
    (row,) = await rows(sessions)
    assert row.status is OutboxStatus.QUEUED and row.attempts == 2


async def test_a_message_past_its_deadline_is_not_sent(sessions) -> None:
    async with sessions.begin() as session:
        await enqueue(
            session,
            [
                message(
                    "meeting_reminder", Priority.REMINDER, deadline_at=NOW - timedelta(minutes=1)
                )
            ],
            now=NOW,
        )
    sender = RecordingSender()
    await dispatcher(sessions, sender, FixedClock(NOW)).run_once()
    (row,) = await rows(sessions)
    assert sender.sent == [] and row.status is OutboxStatus.FAILED
    assert "deadline" in row.error


@pytest.mark.postgres
async def test_two_dispatchers_on_postgresql_never_send_the_same_row(db_url) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several dispatchers run on PostgreSQL only; SQLite has one process")
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        first = session_factory(engines[0])
        async with first.begin() as session:
            await enqueue(
                session, [message(f"m{n}", Priority.REMINDER) for n in range(300)], now=NOW
            )
        senders = [RecordingSender(), RecordingSender()]
        workers = [
            dispatcher(session_factory(engine), sender, FixedClock(NOW), batch=25)
            for engine, sender in zip(engines, senders, strict=True)
        ]
        for _ in range(8):
            await asyncio.gather(*(worker.run_once() for worker in workers))
        ids = [message_id for sender in senders for message_id, _ in sender.sent]
        assert len(ids) == 300 and len(set(ids)) == 300
        assert all(sender.sent for sender in senders)  # both took part
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(sessions) -> None:
    evening = datetime(2026, 11, 22, 13, 59, tzinfo=UTC)  # 20:59 WIB, 21:59 WITA
    async with sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(
                    channel=Channel.WHATSAPP,
                    address="whatsapp:+6281234567890",
                    kind="meeting_reminder",
                    payload={"text": "pengingat", "zone": "Asia/Jakarta"},
                    priority=Priority.REMINDER,
                ),
                Enqueue(
                    channel=Channel.WHATSAPP,
                    address="whatsapp:+6281234567891",
                    kind="reply",
                    payload={"text": "balasan"},
                    priority=Priority.REPLY,
                ),
            ],
            now=evening,
        )
    busy = SendResult(OutboxStatus.FAILED, error_code="network", temporary=True, retry_after=120)
    sender, clock = RecordingSender([busy, busy]), FixedClock(evening)
    quiet = dispatcher(sessions, sender, clock, quiet=(time(21, 0), time(6, 0)))

    report = await quiet.run_once()

    assert report.retried == 2
    reminder, reply = sorted(await rows(sessions), key=lambda row: row.kind)
    assert reminder.kind == "meeting_reminder" and reply.kind == "reply"
    # 21:01 WIB would be quiet: the reminder waits for 06:00 WIB (23:00 UTC).
    assert reminder.next_attempt_at == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    # A reply to someone who just wrote is retried at once, quiet hours or not.
    assert evening < reply.next_attempt_at <= evening + timedelta(minutes=3)


async def test_enqueue_is_undone_with_the_caller_s_transaction(sessions) -> None:
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:  # enqueue is its first statement
            await enqueue(session, [message("alert", Priority.ALERT)], now=NOW)
            raise RuntimeError("something after it failed")
    assert await rows(sessions) == []


async def test_one_address_gets_its_messages_in_order_while_others_go_alongside(
    sessions,
) -> None:
    """A conversation's replies never overtake each other, even sent concurrently with
    other chats' messages and when the first of them is the slowest to send."""
    addresses = [f"whatsapp:+62812000000{n}" for n in range(3)]
    async with sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(Channel.WHATSAPP, address, "reply", {"text": f"{n}"}, Priority.REPLY)
                for n in range(4)
                for address in addresses
            ],
            now=NOW,
        )
    sent: list[tuple[str, str]] = []
    in_flight: dict[str, int] = {}
    most_chats_at_once = 0

    async def slow_first(message) -> SendResult:
        nonlocal most_chats_at_once
        in_flight[message.address] = in_flight.get(message.address, 0) + 1
        assert in_flight[message.address] == 1, "two messages to one address at once"
        most_chats_at_once = max(most_chats_at_once, sum(in_flight.values()))
        await asyncio.sleep(0.02 if message.payload["text"] == "0" else 0)
        sent.append((message.address, message.payload["text"]))
        in_flight[message.address] -= 1
        return SendResult(OutboxStatus.SENT, provider_id=f"P{message.id}")

    report = await dispatcher(sessions, slow_first, FixedClock(NOW)).run_once()
    assert report.sent == 12
    for address in addresses:
        assert [text for to, text in sent if to == address] == ["0", "1", "2", "3"]
    assert most_chats_at_once == 3  # the chats did not wait in line for each other


async def test_a_stop_finishes_the_sends_in_flight_and_gives_the_rest_back(sessions) -> None:
    """A shutdown does not wait for a whole batch at the provider's pace: the sends that
    began finish and are recorded, the rest are pending again with their claim uncounted,
    due at once for the next process."""
    async with sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(
                    Channel.WHATSAPP, f"whatsapp:+6281200000{n:02}", "reply", {}, Priority.REPLY
                )
                for n in range(10)
            ],
            now=NOW,
        )
    stop = asyncio.Event()
    began = asyncio.Event()

    async def slow(message) -> SendResult:
        began.set()
        await asyncio.sleep(0.1)
        return SendResult(OutboxStatus.SENT, provider_id=f"P{message.id}")

    paced = Dispatcher(
        sessions, {Channel.WHATSAPP: slow}, {Channel.WHATSAPP: 2.0}, FixedClock(NOW)
    )  # two a second: the whole batch would take five seconds
    running = asyncio.create_task(paced.run(stop))
    await asyncio.wait_for(began.wait(), 5)
    stop.set()
    await asyncio.wait_for(running, 2)
    outbox = await rows(sessions)
    sent = [row for row in outbox if row.status is OutboxStatus.SENT]
    back = [row for row in outbox if row.status is OutboxStatus.PENDING]
    assert len(sent) == 1 and sent[0].attempts == 1 and sent[0].provider_id
    assert len(back) == 9
    assert all(row.attempts == 0 and row.claimed_until is None for row in back)
    assert all(row.next_attempt_at.replace(tzinfo=UTC) <= NOW for row in back)
