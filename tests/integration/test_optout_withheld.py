"""Messages the business queued before a "berhenti" are withheld when their turn comes, on
every channel, by the rules the reminder sweep enqueues by; a "mulai" before then lets them
go. Against the dispatcher's own path (claim -> withhold or send -> record)."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import select

from models.enums import Channel, KpmStatus, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox
from models.optout import OPTED_OUT, opt_in, opt_out
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, Kpm
from scheduler.dispatcher import Dispatcher, DispatchReport
from tests.integration.test_dispatcher import RecordingSender
from tests.world import NOW, World, build_world

SITI_CHAT = "telegram:5001"
STRANGER = "+6285712345678"
CHANNELS = (Channel.WHATSAPP, Channel.SMS, Channel.TELEGRAM, Channel.CONSOLE)


def queued(
    channel: Channel, address: str, kind: str = "meeting_reminder", for_kpm: str | None = None
) -> Enqueue:
    """A message as a sweep queues it; ``for_kpm``: the end of a reminder's key, the KPM
    it is for ("12", "12+15"), as the reminder sweep writes it."""
    priority = Priority.REPLY if kind == "reply" else Priority.REMINDER
    key = f"reminder:1:v1:3:{for_kpm}" if for_kpm else None
    return Enqueue(channel, address, kind, {"text": f"{kind} {address} {for_kpm}"}, priority, key)


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

    async def outcome_by_key(self) -> dict[str | None, tuple[OutboxStatus, str | None]]:
        async with self.sessions() as session:
            rows = await session.scalars(select(Outbox).order_by(Outbox.id))
            return {row.dedupe_key: (row.status, row.error) for row in rows}


async def link_telegram(sessions, kpm_id: int, address: str = SITI_CHAT) -> None:
    await link(sessions, address, kpm_id=kpm_id)


async def link(sessions, address: str, **owner: int) -> None:
    """A chat known as ``owner``'s (``kpm_id=`` or ``staff_id=``)."""
    channel = Channel(address.partition(":")[0])
    async with sessions.begin() as session:
        session.add(ChannelIdentity(address=address, channel=channel, linked_at=NOW, **owner))


async def change_kpm(sessions, kpm_id: int, **values: object) -> None:
    async with sessions.begin() as session:
        kpm = await session.get(Kpm, kpm_id)
        assert kpm is not None
        for name, value in values.items():
            setattr(kpm, name, value)


async def phone_of_kpm(sessions, kpm_id: int) -> str:
    async with sessions() as session:
        kpm = await session.get(Kpm, kpm_id)
        assert kpm is not None and kpm.phone
        return kpm.phone


class Setting(NamedTuple):
    world: World
    siti: int
    phone: str  # Siti's roster phone
    env: Env


async def siti_on_telegram(sessions) -> Setting:
    """The world, with Siti Aminah's Telegram chat linked to her."""
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    await link_telegram(sessions, siti)
    return Setting(world, siti, await phone_of_kpm(sessions, siti), Env(sessions))


async def stop(sessions, address: str) -> None:
    async with sessions.begin() as session:
        assert await opt_out(session, address, now=NOW)


async def test_berhenti_on_telegram_withholds_the_family_s_queued_reminders_not_replies(
    sessions,
) -> None:
    _, siti, phone, env = await siti_on_telegram(sessions)
    await env.queue(
        queued(Channel.TELEGRAM, SITI_CHAT, for_kpm=str(siti)),
        # her roster phone, never written from; a message keyed to nobody (a ketua's list)
        queued(Channel.WHATSAPP, f"whatsapp:{phone}"),
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
    async with sessions() as session:  # nothing went: no attempt counted
        withheld = await session.scalars(select(Outbox.attempts).where(Outbox.error == OPTED_OUT))
        assert list(withheld) == [0, 0]


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
    world, siti, phone, env = await siti_on_telegram(sessions)
    sri = world.kpm["Sri Wahyuni"]
    await change_kpm(sessions, sri, phone=phone)  # Sri's family shares Siti's number
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
    _, siti, _, env = await siti_on_telegram(sessions)
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


async def test_a_staff_member_on_a_number_a_family_stopped_gets_alerts_not_its_reminders(
    sessions,
) -> None:
    world, siti, phone, env = await siti_on_telegram(sessions)
    # Ani's WhatsApp is Siti's roster number
    await link(sessions, f"whatsapp:{phone}", staff_id=world.ani)
    await env.queue(
        queued(Channel.WHATSAPP, f"whatsapp:{phone}", "alert"),
        queued(Channel.WHATSAPP, f"whatsapp:{phone}", for_kpm=str(siti)),
    )
    await stop(sessions, SITI_CHAT)  # Siti's family stopped, on Telegram
    await stop(sessions, f"sms:{phone}")  # and someone on that number, by SMS
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (1, 1)
    assert [kind for _, kind in env.sender.sent] == ["alert"]


async def test_on_a_phone_two_kelompok_share_only_the_stopped_family_s_reminder_is_withheld(
    sessions,
) -> None:
    world, siti, phone, env = await siti_on_telegram(sessions)  # Siti: Melati
    rina = world.kpm["Rina Marlina"]  # Kenanga
    await change_kpm(sessions, rina, phone=phone)
    address = f"whatsapp:{phone}"
    await env.queue(
        queued(Channel.WHATSAPP, address, for_kpm=str(siti)),  # Melati's meeting: Siti's
        queued(Channel.WHATSAPP, address, for_kpm=str(rina)),  # Kenanga's: Rina's
    )
    await stop(sessions, SITI_CHAT)
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (1, 1)
    outcome = await env.outcome_by_key()
    assert outcome[f"reminder:1:v1:3:{siti}"] == (OutboxStatus.CANCELLED, OPTED_OUT)
    assert outcome[f"reminder:1:v1:3:{rina}"][0] is OutboxStatus.QUEUED


async def test_a_family_that_left_does_not_keep_a_stopped_family_s_phone_reached(
    sessions,
) -> None:
    world, _, phone, env = await siti_on_telegram(sessions)
    sri = world.kpm["Sri Wahyuni"]
    # the number was Sri's when she wrote from it; she has left since
    await link(sessions, f"whatsapp:{phone}", kpm_id=sri)
    await change_kpm(sessions, sri, status=KpmStatus.KELUAR)
    await env.queue(queued(Channel.WHATSAPP, f"whatsapp:{phone}"))  # keyed to nobody
    await stop(sessions, SITI_CHAT)
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (0, 1)


async def test_mulai_after_a_reminder_was_withheld_puts_it_back_while_its_meeting_is_ahead(
    sessions,
) -> None:
    _, siti, phone, env = await siti_on_telegram(sessions)
    ahead, begun = NOW + timedelta(days=1), NOW + timedelta(hours=1)
    await env.queue(
        queued(Channel.WHATSAPP, f"whatsapp:{phone}", for_kpm=str(siti))._replace(
            deadline_at=ahead
        ),
        queued(Channel.TELEGRAM, SITI_CHAT, "meeting_changed")._replace(deadline_at=begun),
    )
    await stop(sessions, SITI_CHAT)
    assert (await env.dispatch()).withdrawn == 2
    env.clock.advance(timedelta(hours=2))  # the notice's meeting has begun; the other not
    async with sessions.begin() as session:  # "mulai" on Telegram: her WhatsApp's comes back
        assert await opt_in(session, SITI_CHAT, now=env.clock.now())
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (1, 0)
    outcome = await env.outcome()
    assert outcome[(f"whatsapp:{phone}", "meeting_reminder")] == (OutboxStatus.QUEUED, None)
    assert outcome[(SITI_CHAT, "meeting_changed")] == (OutboxStatus.CANCELLED, OPTED_OUT)


async def test_mulai_on_one_chat_while_another_is_still_stopped_withholds_again(
    sessions,
) -> None:
    _, siti, phone, env = await siti_on_telegram(sessions)
    await env.queue(queued(Channel.TELEGRAM, SITI_CHAT, for_kpm=str(siti)))
    await stop(sessions, SITI_CHAT)
    await stop(sessions, f"whatsapp:{phone}")  # and on WhatsApp
    assert (await env.dispatch()).withdrawn == 1
    async with sessions.begin() as session:
        assert await opt_in(session, SITI_CHAT, now=NOW)  # WhatsApp still says stop
    report = await env.dispatch()
    assert (report.sent, report.withdrawn) == (0, 1)
