"""The small world (``tests.world``) wired as `pendamping run` wires WhatsApp and SMS:
signed Twilio webhooks into the inbox, the engine, the reminder sweep and a dispatcher
(a new one at each :meth:`SmsEnv.dispatch`, as after a restart) sending through the real
``twilio`` SDK to the local fake of Twilio's API.

Kelompok Mawar (Ani Marlina, Tuti Alawiyah, Iis Dahlia; pendamping Ani Suryani) meets on
Wednesday 25 November 2026 at 09:00 WIB; the clock starts on Sunday 22 November at 16:00
WIB, when the three-day reminders are due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.whatsapp import TwilioChannel, from_inbox
from bot.config import SmsSettings, TwilioSettings
from bot.runner import twilio_webhooks
from bot.web import TWILIO_SIGNATURE_HEADER, create_web_app
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from models.enums import Channel, MeetingStatus
from models.messaging.tables import Outbox
from models.messaging.templates import TEMPLATES
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting
from scheduler.dispatcher import Dispatcher, DispatchReport
from scheduler.reminders import ReminderReport, enqueue_reminders
from tests.fakes.twilio_api import FakeTwilioApi, inbound_sms_params, twilio_signature
from tests.world import World, build_world, make_engine

PUBLIC = "https://pkh.example.org"
WHATSAPP_SENDER = "+14155238886"
SMS_SENDER = "+6281100000001"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # Sunday 22 November 2026, 16:00 WIB
MEETING_AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday, 09:00 WIB
TEMPLATE_SIDS = {
    TEMPLATES[key].name: "HX" + digit * 32
    for key, digit in (
        ("reminder.kpm", "a"),
        ("reminder.changed", "b"),
        ("reminder.cancelled", "c"),
        ("nudge.sms_switched", "d"),
    )
}


@dataclass
class SmsEnv:
    fake: FakeTwilioApi
    channel: TwilioChannel
    client: httpx.AsyncClient
    world: World
    sessions: async_sessionmaker[AsyncSession]
    clock: FixedClock
    inbox: InboxWorkers
    meeting: int
    budget: int = 0
    sequence: int = 0

    phones: dict[str, str] = field(default_factory=dict)  # Mawar's KPM by name

    def phone(self, name: str) -> str:
        """A KPM's roster number (``tests.world`` numbers them by kelompok and row)."""
        return self.phones[name]

    async def sweep(self) -> ReminderReport:
        return await enqueue_reminders(
            self.sessions,
            now=self.clock.now(),
            offsets_days=[3, 1],
            reminder_time=time(16, 0),
            quiet_start=time(21, 0),
            quiet_end=time(6, 0),
        )

    def dispatcher(self) -> Dispatcher:
        """A dispatcher of its own, as a process started afresh has."""
        send = self.channel.send_claimed
        return Dispatcher(
            self.sessions,
            {Channel.WHATSAPP: send, Channel.SMS: send},
            {},
            self.clock,
            base_delay=0.01,
            sms_budget=self.budget,
        )

    async def dispatch(self, dispatcher: Dispatcher | None = None) -> DispatchReport:
        """A dispatcher's rounds (a new one's, unless given) until nothing more is due."""
        dispatcher = dispatcher or self.dispatcher()
        total = DispatchReport()
        while True:
            report = await dispatcher.run_once()
            total.sent += report.sent
            total.failed += report.failed
            total.retried += report.retried
            if not report.progressed:
                return total

    async def post(self, path: str, params: dict[str, str], url: str | None = None) -> int:
        """A signed webhook, as Twilio posts it; the inbox is then drained."""
        signature = twilio_signature(self.fake.auth_token, url or PUBLIC + path, params)
        response = await self.client.post(
            path, data=params, headers={TWILIO_SIGNATURE_HEADER: signature}
        )
        await self.inbox.drain()
        return response.status_code

    async def post_callbacks(self) -> list[tuple[str, dict[str, str]]]:
        """Post the status callbacks the fake has for us; returns them (to post again)."""
        callbacks = self.fake.take_callbacks()
        for url, params in callbacks:
            assert url == PUBLIC + "/twilio/status"
            assert await self.post("/twilio/status", params, url) == 204
        return callbacks

    async def sms_says(self, sender: str, body: str) -> None:
        self.sequence += 1
        params = inbound_sms_params(
            from_=sender, body=body, to=SMS_SENDER, message_sid=f"SM{self.sequence:032x}"
        )
        assert await self.post("/twilio/sms", params) == 200

    async def outbox(self) -> list[Outbox]:
        async with self.sessions() as session:
            return list(await session.scalars(select(Outbox).order_by(Outbox.id)))

    def sent_to(self, to: str) -> list[dict[str, object]]:
        """The messages the fake accepted for ``to`` (``whatsapp:+62...`` or ``+62...``)."""
        return [m for m in self.fake.messages.values() if m["to"] == to]

    async def identity(self, address: str) -> ChannelIdentity | None:
        async with self.sessions() as session:
            return await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.address == address)
            )

    async def prefer_sms(self, *names: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(Kpm)
                .where(Kpm.id.in_([self.world.kpm[name] for name in names]))
                .values(preferred_channel=Channel.SMS)
            )

    async def add_meeting(self, starts_at: datetime, kelompok: int | None = None) -> int:
        async with self.sessions.begin() as session:
            meeting = Meeting(
                kelompok_id=kelompok or self.world.mawar,
                meeting_date=starts_at.date(),
                starts_at=starts_at,
                status=MeetingStatus.PLANNED,
                place="Balai Desa",
            )
            session.add(meeting)
            await session.flush()
            return meeting.id

    async def set_place(self, place: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                update(Kelompok).where(Kelompok.id == self.world.mawar).values(place=place)
            )
            await session.execute(
                update(Meeting).where(Meeting.kelompok_id == self.world.mawar).values(place=None)
            )


@asynccontextmanager
async def sms_env(
    sessions: async_sessionmaker[AsyncSession],
    *,
    sms: SmsSettings | None = None,
    budget: int = 0,
) -> AsyncIterator[SmsEnv]:
    """The world with Mawar's meeting, a fake of Twilio that enforces WhatsApp's window,
    the web app, the inbox workers and the engine."""
    world = await build_world(sessions)
    clock = FixedClock(START)
    async with sessions.begin() as session:
        meeting = Meeting(
            kelompok_id=world.mawar,
            meeting_date=date(2026, 11, 25),
            starts_at=MEETING_AT,
            status=MeetingStatus.PLANNED,
            place="Balai Desa",
        )
        session.add(meeting)
        await session.execute(  # only Mawar's meetings matter here
            update(Meeting)
            .where(Meeting.kelompok_id != world.mawar)
            .values(status=MeetingStatus.CANCELLED)
        )
        await session.flush()
        phones = dict(
            (name, phone)
            for name, phone in await session.execute(
                select(Kpm.nama_pengurus, Kpm.phone).where(Kpm.kelompok_id == world.mawar)
            )
        )
        meeting_id = meeting.id
    async with FakeTwilioApi() as fake:
        fake.enforce_window(clock.now)
        settings = TwilioSettings(
            account_sid=fake.account_sid,
            auth_token=fake.auth_token,
            whatsapp_sender=WHATSAPP_SENDER,
            sms_sender=SMS_SENDER,
            api_base_url=fake.base_url,
            public_base_url=PUBLIC,
            templates=TEMPLATE_SIDS,
        )
        engine = make_engine(sessions, clock, queued_channels=["whatsapp", "sms"])
        translate = {Channel.WHATSAPP: from_inbox, Channel.SMS: from_inbox}
        inbox = InboxWorkers(sessions, engine, translate, clock, Translator())
        channel = TwilioChannel(
            settings,
            sessions,
            clock,
            Translator(),
            retry_wait=0.01,
            timeout=2.0,
            inbox=inbox.store,
            sms=sms or SmsSettings(),
        )
        web = create_web_app(twilio=twilio_webhooks(channel))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://10.0.0.5:8080"
        ) as client:
            try:
                yield SmsEnv(
                    fake, channel, client, world, sessions, clock, inbox, meeting_id,
                    budget=budget, phones=phones,
                )
            finally:
                await channel.stop()
