"""The inbox on both databases: stored once, handled once, one sender at a time in order,
a poisoned message kept as failed with one apology while the others go on, and claims a
dead process held taken over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.whatsapp import from_inbox
from handlers.engine import Engine
from handlers.flow import Ctx, Flow, StepResult
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from handlers.messages import IncomingMessage, Outcome
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings
from models.enums import Channel, InboxStatus
from models.messaging.inbox import Arrival, claim
from models.messaging.tables import Inbox, Outbox
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity
from tests.fakes.twilio_api import inbound_whatsapp_params
from tests.world import NOW, build_world, default_catalog

t = Translator()
ANI = "whatsapp:+6281211110001"


async def boom(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A flow with a bug: every message that starts it raises."""
    raise RuntimeError("a bug in a flow")


BOOM = Flow(name="boom", entry=boom, steps={})


def engine(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> Engine:
    return Engine(
        sessions,
        EngineSettings(catalog=default_catalog()),
        clock,
        (*FLOWS, BOOM),
        {**COMMANDS, "boom": "boom"},
        queued_channels=["whatsapp", "sms"],
    )


def workers(sessions, clock: FixedClock, **kwargs) -> InboxWorkers:
    return InboxWorkers(
        sessions,
        engine(sessions, clock),
        {Channel.WHATSAPP: from_inbox},
        clock,
        t,
        **kwargs,
    )


def arrival(sender: str, body: str, sid: str) -> Arrival:
    params = inbound_whatsapp_params(from_=sender, body=body, message_sid=sid)
    return Arrival(Channel.WHATSAPP, sid, sender, params)


async def linked(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        session.add(ChannelIdentity(address=ANI, channel=Channel.WHATSAPP, staff_id=world.ani))


async def inbox_rows(sessions) -> list[tuple[str, InboxStatus, int, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Inbox.external_id, Inbox.status, Inbox.attempts, Inbox.error).order_by(Inbox.id)
        )
        return [tuple(row) for row in rows]


async def replies(sessions, address: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Outbox.payload).where(Outbox.address == address).order_by(Outbox.id)
        )
        return [payload["text"] for payload in rows]


async def test_a_redelivered_message_is_stored_and_handled_once(sessions) -> None:
    await linked(sessions)
    clock = FixedClock(NOW)
    inbox = workers(sessions, clock)
    assert await inbox.store([arrival(ANI, "/bantuan", "SM1")]) == 1
    assert await inbox.store([arrival(ANI, "/bantuan", "SM1")]) == 0  # Twilio retried
    await inbox.drain()
    assert await inbox_rows(sessions) == [("SM1", InboxStatus.DONE, 1, None)]
    assert len(await replies(sessions, ANI)) == 1


async def test_a_poisoned_message_fails_with_its_reason_and_one_apology_while_others_go_on(
    sessions,
) -> None:
    await linked(sessions)
    stranger = "whatsapp:+6285799990001"
    clock = FixedClock(NOW)
    inbox = workers(sessions, clock, max_attempts=3)
    await inbox.store(
        [
            arrival(ANI, "/boom", "SM1"),
            arrival(ANI, "/bantuan", "SM2"),  # waits behind the poisoned one: order holds
            arrival(stranger, "halo", "SM3"),  # another sender is not held up
        ]
    )
    await inbox.drain()
    assert await inbox_rows(sessions) == [
        ("SM1", InboxStatus.PENDING, 1, "RuntimeError"),
        ("SM2", InboxStatus.PENDING, 0, None),
        ("SM3", InboxStatus.DONE, 1, None),
    ]
    for _ in range(2):  # the retries, each after its backoff
        clock.advance(timedelta(seconds=5))
        await inbox.drain()
    rows = await inbox_rows(sessions)
    assert rows[0] == ("SM1", InboxStatus.FAILED, 3, "RuntimeError (after 3 attempts)")
    assert rows[1] == ("SM2", InboxStatus.DONE, 1, None)
    texts = await replies(sessions, ANI)
    assert texts[0] == t("inbox.apology")  # once, before the next message's reply
    assert texts.count(t("inbox.apology")) == 1 and len(texts) == 2
    assert await replies(sessions, stranger) == [t("register.unknown_sender")]


async def test_one_sender_s_messages_are_handled_in_arrival_order_one_at_a_time(
    sessions,
) -> None:
    await linked(sessions)
    clock = FixedClock(NOW)
    inbox = workers(sessions, clock, concurrency=8)
    others = [f"whatsapp:+62857999900{n:02d}" for n in range(5)]
    await inbox.store(
        [arrival(ANI, "/hadir", "SM-a1"), arrival(ANI, "1", "SM-a2")]
        + [arrival(other, "halo", f"SM-o{n}") for n, other in enumerate(others)]
        + [arrival(ANI, "/batal", "SM-a3")]
    )
    async with sessions.begin() as session:
        first = await claim(session, now=NOW, limit=50, lease=timedelta(minutes=1))
    # Only the oldest row of each sender can be claimed: Ani's first, one per other.
    assert sorted(row.payload["MessageSid"] for row in first) == ["SM-a1"] + [
        f"SM-o{n}" for n in range(5)
    ]
    async with sessions.begin() as session:  # nothing more while those are in hand
        assert await claim(session, now=NOW, limit=50, lease=timedelta(minutes=1)) == []
    clock.advance(timedelta(minutes=2))  # the leases run out: as after a crash
    await inbox.drain()
    rows = await inbox_rows(sessions)
    assert all(status is InboxStatus.DONE for _, status, _, _ in rows)
    async with sessions() as session:
        done = list(
            await session.scalars(
                select(Inbox.external_id)
                .where(Inbox.address == ANI)
                .order_by(Inbox.done_at, Inbox.id)
            )
        )
    assert done == ["SM-a1", "SM-a2", "SM-a3"]
    texts = await replies(sessions, ANI)
    assert t("cancel.done") in texts[-1]  # /batal ended the attendance flow it followed


async def test_a_claim_a_dead_process_held_is_handled_once_after_its_lease(sessions) -> None:
    await linked(sessions)
    clock = FixedClock(NOW)
    await workers(sessions, clock).store([arrival(ANI, "/bantuan", "SM1")])
    async with sessions.begin() as session:  # a process claims it, then dies
        (held,) = await claim(session, now=NOW, limit=1, lease=timedelta(seconds=60))
    survivor = workers(sessions, clock)
    await survivor.drain()
    assert await replies(sessions, ANI) == []  # still held
    clock.advance(timedelta(seconds=61))
    await survivor.drain()
    assert await inbox_rows(sessions) == [("SM1", InboxStatus.DONE, 2, None)]
    assert len(await replies(sessions, ANI)) == 1


async def test_the_workers_wake_for_a_stored_message_and_stop_cleanly(sessions) -> None:
    await linked(sessions)
    clock = FixedClock(NOW)
    inbox = workers(sessions, clock)
    stop = asyncio.Event()
    running = asyncio.create_task(inbox.run(stop))
    await inbox.store([arrival(ANI, "/bantuan", "SM1")])
    for _ in range(200):  # handled within the loop's own turns, woken by the store
        if (await inbox_rows(sessions))[0][1] is InboxStatus.DONE:
            break
        await asyncio.sleep(0.01)
    stop.set()
    inbox.notify()
    await running
    assert await inbox_rows(sessions) == [("SM1", InboxStatus.DONE, 1, None)]


class CountingEngine:
    """Stands in for the engine: counts the steps under way at once."""

    def __init__(self) -> None:
        self.inside = self.most = self.handled = 0

    async def handle(self, message: IncomingMessage) -> Outcome:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await asyncio.sleep(0.01)  # a step's time at the database
        self.inside -= 1
        self.handled += 1
        return Outcome()


async def test_no_more_steps_go_to_the_database_at_once_than_the_workers_turns(
    sessions,
) -> None:
    """The workers take turns at the database, so a webhook's store waits behind the
    steps already at the connection pool, never behind every worker's."""
    for round_, (turns, most) in enumerate(((1, 1), (None, 6))):  # default: every worker
        senders = [f"whatsapp:+628579999{round_}{n:02d}" for n in range(6)]
        counting = CountingEngine()
        inbox = InboxWorkers(
            sessions, counting, {Channel.WHATSAPP: from_inbox}, FixedClock(NOW), t,
            concurrency=16, database_turns=turns,
        )
        await inbox.store(
            [arrival(sender, "halo", f"SM-{turns}-{n}") for n, sender in enumerate(senders)]
        )
        await inbox.drain()
        assert (counting.handled, counting.most) == (6, most)
