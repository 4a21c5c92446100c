"""Messages the business queued before a "berhenti" are withheld when their turn comes, on
every channel, by the rules the reminder sweep enqueues by; a "mulai" before then lets them
go. Against the dispatcher's own path (claim -> withhold or send -> record)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models.enums import Channel, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox
from models.optout import OPTED_OUT, opt_in, opt_out
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, Kpm
from scheduler.dispatcher import Dispatcher, DispatchReport
from tests.integration.test_dispatcher import RecordingSender
from tests.world import NOW, build_world

SITI_CHAT = "telegram:5001"
STRANGER = "+6285712345678"
CHANNELS = (Channel.WHATSAPP, Channel.SMS, Channel.TELEGRAM, Channel.CONSOLE)


def queued(channel: Channel, address: str, kind: str = "meeting_reminder") -> Enqueue:
    priority = Priority.REPLY if kind == "reply" else Priority.REMINDER
    return Enqueue(channel, address, kind, {"text": f"{kind} {address}"}, priority)


class Env:
    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.sender = RecordingSender()
        self.clock = FixedClock(NOW)
        self.dispatcher = Dispatcher(
            sessions,
            {channel: self.sender for channel in CHANNELS},
            {channel: 1000.0 for channel in CHANNELS},
            self.clock,
        )

    async def queue(self, *messages: Enqueue) -> None:
        async with self.sessions.begin() as session:
            await enqueue(session, list(messages), now=self.clock.now())

    async def dispatch(self) -> DispatchReport:
        return await self.dispatcher.run_once()

    async def outcome(self) -> dict[tuple[str, str], tuple[OutboxStatus, str | None]]:
        async with self.sessions() as session:
            rows = await session.scalars(select(Outbox).order_by(Outbox.id))
            return {(row.address, row.kind): (row.status, row.error) for row in rows}


async def link_telegram(sessions, kpm_id: int, address: str = SITI_CHAT) -> None:
    async with sessions.begin() as session:
        session.add(
            ChannelIdentity(
                address=address, channel=Channel.TELEGRAM, kpm_id=kpm_id, linked_at=NOW
            )
        )


async def phone_of_kpm(sessions, kpm_id: int) -> str:
    async with sessions() as session:
        kpm = await session.get(Kpm, kpm_id)
        assert kpm is not None and kpm.phone
        return kpm.phone


async def stop(sessions, address: str) -> None:
    async with sessions.begin() as session:
        assert await opt_out(session, address, now=NOW)


async def test_berhenti_on_telegram_withholds_the_family_s_queued_reminders_not_replies(
    sessions,
) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    await link_telegram(sessions, siti)
    phone = await phone_of_kpm(sessions, siti)
    env = Env(sessions)
    await env.queue(
        queued(Channel.TELEGRAM, SITI_CHAT),
        queued(Channel.WHATSAPP, f"whatsapp:{phone}"),  # her roster phone, never written from
        queued(Channel.TELEGRAM, SITI_CHAT, "reply"),
        queued(Channel.CONSOLE, "console:ani", "alert"),  # staff: never withheld
    )
    await stop(sessions, SITI_CHAT)
    report = await env.dispatch()
    assert (report.sent, report.withdrawn, report.failed) == (2, 2, 0)
    assert sorted(kind for _, kind in env.sender.sent) == ["alert", "reply"]
    outcome = await env.outcome()
    withheld = (OutboxStatus.CANCELLED, OPTED_OUT)
    assert outcome[(SITI_CHAT, "meeting_reminder")] == withheld
    assert outcome[(f"whatsapp:{phone}", "meeting_reminder")] == withheld
    assert outcome[(SITI_CHAT, "reply")][0] is OutboxStatus.QUEUED
    assert outcome[("console:ani", "alert")][0] is OutboxStatus.QUEUED
    assert not (await env.dispatch()).progressed  # withheld once, not retried


async def test_berhenti_on_whatsapp_withholds_the_sms_to_the_same_phone(sessions) -> None:
    await build_world(sessions)
    env = Env(sessions)
    other = "+6285700000001"
    await env.queue(
        queued(Channel.SMS, f"sms:{STRANGER}"),
        queued(Channel.SMS, f"sms:{other}"),
    )
    await stop(sessions, f"whatsapp:{STRANGER}")
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (1, 1)
    outcome = await env.outcome()
    assert outcome[(f"sms:{STRANGER}", "meeting_reminder")] == (OutboxStatus.CANCELLED, OPTED_OUT)
    assert outcome[(f"sms:{other}", "meeting_reminder")][0] is OutboxStatus.QUEUED


async def test_a_shared_phone_keeps_getting_messages_until_every_family_on_it_stopped(
    sessions,
) -> None:
    world = await build_world(sessions)
    siti, sri = world.kpm["Siti Aminah"], world.kpm["Sri Wahyuni"]
    phone = await phone_of_kpm(sessions, siti)
    async with sessions.begin() as session:
        kpm = await session.get(Kpm, sri)
        assert kpm is not None
        kpm.phone = phone  # Sri's family shares Siti's number
    await link_telegram(sessions, siti)
    env = Env(sessions)
    await env.queue(queued(Channel.WHATSAPP, f"whatsapp:{phone}"))
    await stop(sessions, SITI_CHAT)  # Siti stops on Telegram; Sri did not
    assert (await env.dispatch()).sent == 1
    await env.queue(queued(Channel.WHATSAPP, f"whatsapp:{phone}", "meeting_changed"))
    await link_telegram(sessions, sri, "telegram:5002")
    await stop(sessions, "telegram:5002")  # now every family on the phone has stopped
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (0, 1)
    outcome = await env.outcome()
    assert outcome[(f"whatsapp:{phone}", "meeting_changed")] == (OutboxStatus.CANCELLED, OPTED_OUT)


async def test_mulai_before_its_time_lets_a_queued_reminder_go(sessions) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    await link_telegram(sessions, siti)
    env = Env(sessions)
    await env.queue(
        queued(Channel.TELEGRAM, SITI_CHAT)._replace(not_before=NOW + timedelta(hours=2))
    )
    await stop(sessions, SITI_CHAT)
    async with sessions.begin() as session:
        assert await opt_in(session, SITI_CHAT, now=NOW + timedelta(hours=1))
    env.clock.advance(timedelta(hours=2))
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (1, 0)
    assert [kind for _, kind in env.sender.sent] == ["meeting_reminder"]


async def test_a_staff_member_on_a_number_a_family_stopped_still_gets_their_alerts(
    sessions,
) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    phone = await phone_of_kpm(sessions, siti)  # Ani's WhatsApp is Siti's roster number
    async with sessions.begin() as session:
        session.add(
            ChannelIdentity(
                address=f"whatsapp:{phone}", channel=Channel.WHATSAPP, staff_id=world.ani,
                linked_at=NOW,
            )
        )
    await link_telegram(sessions, siti)
    env = Env(sessions)
    await env.queue(queued(Channel.WHATSAPP, f"whatsapp:{phone}", "alert"))
    await stop(sessions, SITI_CHAT)  # Siti's family stopped, on Telegram
    await stop(sessions, f"sms:{phone}")  # and someone on that number, by SMS
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (1, 0)
