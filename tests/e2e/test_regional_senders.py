"""Regional Twilio senders end to end: the reminder sweep stores each KPM's region, the
dispatcher (as `pendamping scheduler` wires it) sends each message from its region's sender
and paces each sender on its own, and a reply goes from the number the person wrote to
(the real ``twilio`` SDK against the local fake of the Messages API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from itertools import groupby
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import App
from bot.channels.whatsapp import TwilioChannel, from_inbox
from bot.config import Settings, TwilioSenderSettings, TwilioSettings
from bot.jobs import build_dispatcher
from bot.runner import twilio_webhooks
from bot.web import TWILIO_SIGNATURE_HEADER, create_web_app
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from models.enums import Channel, MeetingStatus, OutboxStatus, StaffRole
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox, SendPace
from models.messaging.templates import TEMPLATES
from models.regions import RegionIndex
from models.rules.clock import FixedClock
from models.rules.text import name_key
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting, Region, Staff
from scheduler.dispatcher import Dispatcher
from scheduler.reminders import enqueue_reminders
from tests.fakes.twilio_api import FakeTwilioApi, inbound_whatsapp_params, twilio_signature
from tests.world import make_engine

PUBLIC = "https://pkh.example.org"
DEFAULT_WA = "+14155238886"
DEFAULT_SMS = "+6281100000001"
JATENG_WA = "+6281100003300"
JATENG_SMS = "+6281100003301"
SEMARANG_SERVICE = "MG" + "c" * 32
JATIM_WA = "+6281100003500"
REMINDER_SID = "HX" + "a" * 32
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # Sunday 10.00 WIB
MEETING_AT = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 09.00 WIB
SEND_AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the day before, 16.00 WIB

# Province > kabupaten > kecamatan > desa, with their Kemendagri codes.
PLACES = {
    "semarang": [("Jawa Tengah", "33"), ("Kota Semarang", "33.74"),
                 ("Kec. Candisari", "33.74.01"), ("Desa Jomblang", "33.74.01.1001")],
    "cilacap": [("Jawa Tengah", "33"), ("Kab. Cilacap", "33.01"),
                ("Kec. Dayeuhluhur", "33.01.01"), ("Desa Bingkeng", "33.01.01.2001")],
    "malang": [("Jawa Timur", "35"), ("Kab. Malang", "35.07"),
               ("Kec. Donomulyo", "35.07.01"), ("Desa Banjarejo", "35.07.01.2001")],
    "badung": [("Bali", "51"), ("Kab. Badung", "51.03"),
               ("Kec. Kuta", "51.03.01"), ("Desa Kuta", "51.03.01.1001")],
}


def twilio_settings(fake: FakeTwilioApi, *, rate: int = 80) -> TwilioSettings:
    """The default sender, Jawa Tengah's (its province), Semarang's (a kabupaten of it,
    through a Messaging Service) and Malang's; Bali has none."""
    return TwilioSettings(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        whatsapp_sender=DEFAULT_WA,
        sms_sender=DEFAULT_SMS,
        api_base_url=fake.base_url,
        public_base_url=PUBLIC,
        templates={TEMPLATES["reminder.kpm"].name: REMINDER_SID},
        messages_per_second=rate,
        senders=[
            TwilioSenderSettings(name="jateng", regions=["33"], whatsapp_sender=JATENG_WA,
                                 sms_sender=JATENG_SMS, messages_per_second=rate),
            TwilioSenderSettings(name="semarang", regions=["33.74"],
                                 messaging_service_sid=SEMARANG_SERVICE,
                                 messages_per_second=rate),
            TwilioSenderSettings(name="jatim", regions=["35.07"], whatsapp_sender=JATIM_WA,
                                 messages_per_second=rate),
        ],
    )


@dataclass
class Places:
    desa: dict[str, int]
    kelompok: dict[str, int]
    kpm: dict[str, list[int]]  # place -> its KPM ids
    phones: dict[str, list[str]]


async def build_places(sessions: async_sessionmaker[AsyncSession], members: int = 2) -> Places:
    """A kelompok in each place with ``members`` KPM on WhatsApp and a planned meeting."""
    places = Places({}, {}, {}, {})
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        for place, path in PLACES.items():
            for depth in range(1, len(path) + 1):
                region_id = await index.ensure_path([name for name, _ in path[:depth]])
                await session.execute(
                    update(Region).where(Region.id == region_id).values(
                        code=path[depth - 1][1],
                        timezone="Asia/Jakarta" if depth == 1 else None,
                    )
                )
            places.desa[place] = region_id
        pendamping = Staff(role=StaffRole.PENDAMPING, name="Ani Suryani",
                           name_key=name_key("Ani Suryani"), active=True)
        session.add(pendamping)
        await session.flush()
        for number, place in enumerate(PLACES, start=1):
            kelompok = Kelompok(
                name=f"Kelompok {place.title()}", name_key=name_key(f"Kelompok {place}"),
                desa_id=places.desa[place], pendamping_id=pendamping.id,
                rule_weekday=1, rule_week_of_month=4, rule_time=time(9, 0), place="Balai Desa",
            )
            session.add(kelompok)
            await session.flush()
            places.kelompok[place] = kelompok.id
            places.kpm[place], places.phones[place] = [], []
            for member in range(members):
                phone = f"+62812{number:02d}{member:06d}"
                kpm = Kpm(
                    id_pkh=f"PKH{number:02d}{member:06d}", nik=f"3399{number:02d}{member:010d}",
                    nama_pengurus=f"Warga {place} {member}", phone=phone,
                    preferred_channel=Channel.WHATSAPP, kelompok_id=kelompok.id,
                )
                session.add(kpm)
                await session.flush()
                places.kpm[place].append(kpm.id)
                places.phones[place].append(phone)
            session.add(Meeting(
                kelompok_id=kelompok.id, meeting_date=date(2026, 11, 24), starts_at=MEETING_AT,
                status=MeetingStatus.PLANNED, place="Balai Desa", plan_key="2026-11",
            ))
    return places


def app_of(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession],
           twilio: TwilioSettings, clock: FixedClock) -> App:
    return App(settings=Settings(twilio=twilio), engine=engine, sessions=sessions,
               read_sessions=sessions, clock=clock)


async def outbox(sessions: async_sessionmaker[AsyncSession]) -> list[Outbox]:
    async with sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


def sent_from(fake: FakeTwilioApi) -> dict[str, str]:
    """To -> the From (or MessagingServiceSid) of the accepted messages."""
    return {
        call.params["To"]: call.params.get("From") or call.params["MessagingServiceSid"]
        for call in fake.calls_to("messages")
        if call.method == "POST" and call.status == 201
    }


async def test_reminders_go_from_the_sender_of_the_kpm_region(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    places = await build_places(sessions)
    await enqueue_reminders(sessions, now=NOW, offsets_days=[1], reminder_time=time(16, 0),
                            quiet_start=time(21, 0), quiet_end=time(6, 0))
    rows = await outbox(sessions)
    assert len(rows) == 8
    codes = {place: path[-1][1] for place, path in PLACES.items()}
    assert {row.address: row.region for row in rows} == {
        f"whatsapp:{phone}": codes[place]
        for place, phones in places.phones.items() for phone in phones
    }
    clock = FixedClock(SEND_AT)
    async with FakeTwilioApi() as fake:
        fake.enforce_window(clock.now)
        settings = twilio_settings(fake)
        channel = TwilioChannel(settings, sessions, clock, Translator(), retry_wait=0.01,
                                timeout=2.0)
        dispatcher = build_dispatcher(app_of(engine, sessions, settings, clock), None, channel)
        assert dispatcher is not None
        report = await dispatcher.run_once()
        await channel.stop()
    assert report.sent == 8
    expected = {
        "semarang": SEMARANG_SERVICE,  # a kabupaten's sender before its province's
        "cilacap": f"whatsapp:{JATENG_WA}",  # the province's
        "malang": f"whatsapp:{JATIM_WA}",
        "badung": f"whatsapp:{DEFAULT_WA}",  # no sender for Bali: the default one
    }
    assert sent_from(fake) == {
        f"whatsapp:{phone}": expected[place]
        for place, phones in places.phones.items() for phone in phones
    }
    assert all(row.status is OutboxStatus.QUEUED for row in await outbox(sessions))
    if engine.dialect.name == "postgresql":  # each sender paced under its own key
        async with sessions() as session:
            keys = set(await session.scalars(select(SendPace.sender)))
        assert keys == {"whatsapp:semarang", "whatsapp:jateng", "whatsapp:jatim",
                        f"whatsapp:{DEFAULT_WA}"}


async def test_without_regional_senders_everything_goes_from_the_one_sender(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    places = await build_places(sessions, members=1)
    await enqueue_reminders(sessions, now=NOW, offsets_days=[1], reminder_time=time(16, 0),
                            quiet_start=time(21, 0), quiet_end=time(6, 0))
    clock = FixedClock(SEND_AT)
    async with FakeTwilioApi() as fake:
        settings = twilio_settings(fake).model_copy(update={"senders": []})
        channel = TwilioChannel(settings, sessions, clock, Translator(), timeout=2.0)
        dispatcher = build_dispatcher(app_of(engine, sessions, settings, clock), None, channel)
        assert dispatcher is not None
        assert (await dispatcher.run_once()).sent == 4
        await channel.stop()
    assert set(sent_from(fake).values()) == {f"whatsapp:{DEFAULT_WA}"}
    assert len(sent_from(fake)) == sum(len(p) for p in places.phones.values())


async def test_two_regional_senders_each_keep_to_their_own_rate(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """200 messages for Cilacap (Jawa Tengah's sender) and 200 for Malang (Jawa Timur's),
    each sender paced at 60/s and the fake refusing an 81st in any second from one sender
    (the margin absorbs a loaded machine's bunching on the HTTP path): each keeps under
    the provider's limit, none is refused, and the two go side by side, each at its own
    pace (on PostgreSQL a row of the shared pace each)."""
    rate, limit, count = 60, 80, 200
    async with sessions.begin() as session:
        await enqueue(session, [
            Enqueue(Channel.WHATSAPP, f"whatsapp:+62813{region[:2]}{n:06d}",
                    "meeting_reminder", reminder(f"Ibu Warga {n}"), Priority.REMINDER,
                    region=region)
            for n in range(count) for region in ("33.01.01.2001", "35.07.01.2001")
        ], now=NOW)
    clock = FixedClock(NOW)
    async with FakeTwilioApi() as fake:
        fake.limit_per_sender(limit)
        settings = twilio_settings(fake, rate=rate)
        channel = TwilioChannel(settings, sessions, clock, Translator(), timeout=5.0)
        dispatcher = build_dispatcher(app_of(engine, sessions, settings, clock), None, channel)
        assert isinstance(dispatcher, Dispatcher)
        await dispatch_until_sent(dispatcher, fake, 2 * count)
        await channel.stop()
    refused = [call for call in fake.calls_to("messages") if call.status == 429]
    assert refused == []
    most = fake.max_sends_in_window_by_sender()
    assert set(most) == {f"whatsapp:{JATENG_WA}", f"whatsapp:{JATIM_WA}"}
    assert all(sends <= limit for sends in most.values()), most
    assert longest_run(senders_in_order(fake)) <= 40  # side by side, not one after the other
    rows = await outbox(sessions)
    assert all(row.status is OutboxStatus.QUEUED for row in rows)
    if engine.dialect.name == "postgresql":
        async with sessions() as session:
            paces = set(await session.scalars(select(SendPace.sender)))
        assert {"whatsapp:jateng", "whatsapp:jatim"} <= paces


async def test_whatsapp_and_sms_go_side_by_side_from_one_dispatcher(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A backlog of WhatsApp reminders and one of SMS, each its sender's lane at 60/s: one
    dispatcher process sends both at once. The WhatsApp messages waiting for their
    sender's slots once held every send in flight, and the two lanes took turns."""
    count = 200
    async with sessions.begin() as session:
        await enqueue(session, [  # paced at 60/s each, under the fake's limit of 80
            Enqueue(channel, f"{prefix}+62813{n:08d}", "meeting_reminder",
                    reminder(f"Ibu Warga {n}"), Priority.REMINDER, region="51.03.01.1001")
            for channel, prefix in ((Channel.WHATSAPP, "whatsapp:"), (Channel.SMS, "sms:"))
            for n in range(count)
        ], now=NOW)
        await session.execute(update(ChannelIdentity).values(last_inbound_at=NOW))
    clock = FixedClock(NOW)
    async with FakeTwilioApi() as fake:
        fake.limit_per_sender(80)
        settings = twilio_settings(fake, rate=60).model_copy(update={"senders": []})
        channel = TwilioChannel(settings, sessions, clock, Translator(), timeout=5.0)
        dispatcher = build_dispatcher(app_of(engine, sessions, settings, clock), None, channel)
        assert isinstance(dispatcher, Dispatcher)
        await dispatch_until_sent(dispatcher, fake, 2 * count)
        await channel.stop()
    order = senders_in_order(fake)
    assert sorted(set(order)) == sorted({f"whatsapp:{DEFAULT_WA}", DEFAULT_SMS})
    assert [call for call in fake.calls_to("messages") if call.status == 429] == []
    # Enqueued all WhatsApp first: taking turns, a lane's batch (100) would go in one run.
    assert longest_run(order) <= 40, order


async def dispatch_until_sent(dispatcher: Dispatcher, fake: FakeTwilioApi, count: int) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop, idle=0.05))
    try:
        await fake.wait_for_messages(count, timeout=60.0)
    finally:
        stop.set()
        await running


def senders_in_order(fake: FakeTwilioApi) -> list[str]:
    """The sender of each message the fake accepted, in the order they arrived."""
    return [str(call.params.get("From") or call.params.get("MessagingServiceSid"))
            for call in fake.calls_to("messages")
            if call.method == "POST" and call.status == 201]


def longest_run(senders: list[str]) -> int:
    """The most messages in a row from one sender."""
    return max((len(list(run)) for _, run in groupby(senders)), default=0)


def reminder(penerima: str, kelompok: str = "Kelompok Cilacap") -> dict[str, Any]:
    """A KPM's meeting reminder as the sweep queues it."""
    return {"key": "reminder.kpm", "values": {
        "kelompok": kelompok, "date": "Selasa, 24 November 2026", "time": "09.00 WIB",
        "place": "Balai Desa", "pendamping": "Ani Suryani", "penerima": penerima}}


# --- replies: from the number the person wrote to ------------------------------------------


@dataclass
class Chat:
    fake: FakeTwilioApi
    client: httpx.AsyncClient
    inbox: InboxWorkers
    dispatcher: Dispatcher
    sessions: async_sessionmaker[AsyncSession]
    sequence: int = 0

    async def say(self, sender: str, to: str, body: str) -> None:
        self.sequence += 1
        params = inbound_whatsapp_params(from_=sender, to=to, body=body,
                                         message_sid=f"SM{self.sequence:032x}")
        signature = twilio_signature(self.fake.auth_token, PUBLIC + "/twilio/whatsapp", params)
        response = await self.client.post("/twilio/whatsapp", data=params,
                                          headers={TWILIO_SIGNATURE_HEADER: signature})
        assert response.status_code == 200
        self.fake.user_wrote(sender, to=to)  # the window opens with the number written to
        await self.inbox.drain()
        await self.dispatch()

    async def dispatch(self) -> None:
        while (await self.dispatcher.run_once()).progressed:
            pass


@pytest.fixture
async def chat(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[Chat, Places]]:
    places = await build_places(sessions, members=1)
    clock = FixedClock(NOW)
    async with FakeTwilioApi() as fake:
        fake.enforce_window(clock.now)
        settings = twilio_settings(fake)
        conversations = make_engine(sessions, clock, queued_channels=["whatsapp", "sms"])
        translate = {Channel.WHATSAPP: from_inbox, Channel.SMS: from_inbox}
        inbox = InboxWorkers(sessions, conversations, translate, clock, Translator())
        channel = TwilioChannel(settings, sessions, clock, Translator(), retry_wait=0.01,
                                timeout=2.0, inbox=inbox.store)
        dispatcher = build_dispatcher(app_of(engine, sessions, settings, clock), None, channel)
        assert dispatcher is not None
        web = create_web_app(twilio=twilio_webhooks(channel))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web),
                                     base_url="http://10.0.0.5:8080") as client:
            yield Chat(fake, client, inbox, dispatcher, sessions), places
        await channel.stop()


def calls_to(fake: FakeTwilioApi, address: str) -> list[dict[str, Any]]:
    return [call.params for call in fake.calls_to("messages")
            if call.method == "POST" and call.params.get("To") == address]


async def test_a_reply_goes_from_the_number_the_person_wrote_to(
    chat: tuple[Chat, Places],
) -> None:
    """A KPM of Bali (the default sender's region) writes to Jawa Tengah's number: the
    answer comes from that number, and so does a reminder inside the window it opened (the
    fake refuses free text from another number: the window is per business number)."""
    talk, places = chat
    address = f"whatsapp:{places.phones['badung'][0]}"
    await talk.say(address, f"whatsapp:{JATENG_WA}", "halo")  # not linked yet: no identity
    (first,) = calls_to(talk.fake, address)
    assert first["From"] == f"whatsapp:{JATENG_WA}"
    assert first["Body"].startswith("Terima kasih")  # the pesan KPM's acknowledgement
    async with talk.sessions() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.address == address)
        )
    assert identity is not None  # linked by that message
    await talk.say(address, f"whatsapp:{JATENG_WA}", "terima kasih")
    async with talk.sessions() as session:
        written = await session.scalar(
            select(ChannelIdentity.last_to).where(ChannelIdentity.address == address)
        )
    assert written == JATENG_WA
    assert {call["From"] for call in calls_to(talk.fake, address)} == {f"whatsapp:{JATENG_WA}"}

    # A message the business starts, inside that window: from the number written to, as
    # free text (from Bali's default number it would need its template).
    async with talk.sessions.begin() as session:
        await enqueue(session, [Enqueue(
            Channel.WHATSAPP, address, "meeting_reminder",
            reminder("Ibu Warga badung 0", "Kelompok Badung"),
            Priority.REMINDER, region="51.03.01.1001",
        )], now=NOW)
    await talk.dispatch()
    last = calls_to(talk.fake, address)[-1]
    assert last["From"] == f"whatsapp:{JATENG_WA}" and "Body" in last
    assert "ContentSid" not in last

    # Someone of Malang who never wrote: their region's number, as the template.
    other = f"whatsapp:{places.phones['malang'][0]}"
    async with talk.sessions.begin() as session:
        await enqueue(session, [Enqueue(
            Channel.WHATSAPP, other, "meeting_reminder",
            reminder("Ibu Warga malang 0", "Kelompok Malang"),
            Priority.REMINDER, region="35.07.01.2001",
        )], now=NOW)
    await talk.dispatch()
    (template,) = calls_to(talk.fake, other)
    assert template["From"] == f"whatsapp:{JATIM_WA}"
    assert template["ContentSid"] == REMINDER_SID
    rows = await outbox(talk.sessions)
    assert [row.error for row in rows if row.status is OutboxStatus.FAILED] == []


async def test_a_message_enqueued_without_a_region_goes_from_its_owner_s_region(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """What is enqueued without a region (a case alert the engine queues) goes from the
    sender of whom the address belongs to: a coordinator of Kab. Malang from Jawa Timur's
    number, a linked KPM of Semarang from Semarang's service."""
    places = await build_places(sessions, members=1)
    coordinator, kpm = "whatsapp:+6281377700001", f"whatsapp:{places.phones['semarang'][0]}"
    async with sessions.begin() as session:
        kabupaten = await session.scalar(select(Region.id).where(Region.code == "35.07"))
        staff = Staff(role=StaffRole.KOORDINATOR, name="Dewi", name_key="dewi", active=True,
                      region_id=kabupaten)
        session.add(staff)
        await session.flush()
        session.add_all([
            ChannelIdentity(address=coordinator, channel=Channel.WHATSAPP, staff_id=staff.id),
            ChannelIdentity(address=kpm, channel=Channel.WHATSAPP,
                            kpm_id=places.kpm["semarang"][0]),
        ])
        await enqueue(session, [
            Enqueue(Channel.WHATSAPP, address, "meeting_reminder", reminder("Ibu Dewi"),
                    Priority.ALERT)
            for address in (coordinator, kpm)
        ], now=NOW)
    assert {row.region for row in await outbox(sessions)} == {None}
    clock = FixedClock(NOW)
    async with FakeTwilioApi() as fake:
        settings = twilio_settings(fake)
        channel = TwilioChannel(settings, sessions, clock, Translator(), timeout=2.0)
        dispatcher = build_dispatcher(app_of(engine, sessions, settings, clock), None, channel)
        assert dispatcher is not None
        assert (await dispatcher.run_once()).sent == 2
        await channel.stop()
    assert sent_from(fake) == {coordinator: f"whatsapp:{JATIM_WA}", kpm: SEMARANG_SERVICE}


async def test_a_pendamping_s_nudges_carry_their_region(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The nudge sweep stores the staff member's region with each nudge (the pendamping of
    Kota Semarang: Semarang's sender)."""
    from scheduler.nudges import enqueue_nudges

    await build_places(sessions, members=1)
    async with sessions.begin() as session:
        semarang = await session.scalar(select(Region.id).where(Region.code == "33.74"))
        ani = await session.scalar(select(Staff).where(Staff.name == "Ani Suryani"))
        assert ani is not None
        ani.region_id = semarang
        session.add(ChannelIdentity(address="whatsapp:+6281377700002",
                                    channel=Channel.WHATSAPP, staff_id=ani.id))
    await enqueue_nudges(sessions, now=datetime(2026, 11, 23, 23, tzinfo=UTC),
                         morning_time=time(6, 30))
    rows = [row for row in await outbox(sessions) if row.address == "whatsapp:+6281377700002"]
    assert rows and {row.region for row in rows} == {"33.74"}
