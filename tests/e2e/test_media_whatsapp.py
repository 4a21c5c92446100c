"""Files sent on WhatsApp are fetched and kept by us: signed Twilio webhooks -> inbox ->
engine (the file registered, never fetched while the webhook waits) -> media workers ->
Twilio's media URL (basic auth, against a local fake of Twilio that serves media like
Twilio: content types, a 404, a slow answer) -> our store; Twilio's copy deleted."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.twilio_media import TwilioMediaSource
from bot.channels.whatsapp import TwilioChannel, from_inbox
from bot.config import DEFAULT_MEDIA_TYPES, TwilioSettings
from bot.media_fetch import FetchPolicy, MediaFetcher
from bot.media_store import LocalMediaStore
from bot.runner import twilio_webhooks
from bot.web import TWILIO_SIGNATURE_HEADER, create_web_app
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from models.enums import Channel, InboxStatus, MediaStatus
from models.media_views import media_counts
from models.messaging.tables import Inbox
from models.rules.clock import FixedClock
from models.tables import Attendance, ChannelIdentity, MediaAttachment, MediaFile
from scheduler.dispatcher import Dispatcher
from tests.fakes.twilio_api import FakeTwilioApi, inbound_whatsapp_params, twilio_signature
from tests.media_files import LATITUDE, LONGITUDE, NOT_A_PHOTO, jpeg
from tests.world import MELATI, NOW, Chat, World, build_world, make_engine

PUBLIC = "https://pkh.example.org"
ANI = "whatsapp:+6281211110001"
MAX_BYTES = 200_000
t = Translator()


@dataclass
class Env:
    fake: FakeTwilioApi
    client: httpx.AsyncClient
    world: World
    sessions: async_sessionmaker[AsyncSession]
    clock: FixedClock
    inbox: InboxWorkers
    dispatcher: Dispatcher
    fetcher: MediaFetcher
    store: LocalMediaStore
    sequence: int = 0

    async def say(self, body: str = "", **kwargs: Any) -> httpx.Response:
        self.sequence += 1
        params = inbound_whatsapp_params(
            from_=ANI, body=body, message_sid=f"MM{self.sequence:032x}", **kwargs
        )
        signature = twilio_signature(self.fake.auth_token, PUBLIC + "/twilio/whatsapp", params)
        response = await self.client.post(
            "/twilio/whatsapp", data=params, headers={TWILIO_SIGNATURE_HEADER: signature}
        )
        self.fake.user_wrote(ANI)
        await self.inbox.drain()
        await self.send_all()
        return response

    async def send_all(self) -> None:
        while (await self.dispatcher.run_once()).sent:
            pass

    async def photo(self, content: bytes, content_type: str = "image/jpeg") -> str:
        """A photo sent as WhatsApp sends it: Twilio keeps it and posts its MediaUrl."""
        url = self.fake.add_media(content, content_type)
        await self.say(num_media=1, media_urls=[url], media_types=[content_type])
        return url

    async def later(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.fetcher.drain()
        await self.send_all()

    async def files(self) -> list[MediaFile]:
        async with self.sessions() as session:
            return list(await session.scalars(select(MediaFile).order_by(MediaFile.id)))

    def bodies(self) -> list[str]:
        return [m["body"] for m in self.fake.messages.values() if m["to"] == ANI]

    def media_gets(self) -> list[Any]:
        return [c for c in self.fake.calls_to("media") if c.method == "GET"]


@pytest.fixture
async def env(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> AsyncIterator[Env]:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        session.add(ChannelIdentity(address=ANI, channel=Channel.WHATSAPP, staff_id=world.ani))
    clock = FixedClock(NOW)
    async with FakeTwilioApi() as fake:
        fake.enforce_window(clock.now)
        settings = TwilioSettings(
            account_sid=fake.account_sid,
            auth_token=fake.auth_token,
            whatsapp_sender="+14155238886",
            api_base_url=fake.base_url,
            public_base_url=PUBLIC,
        )
        engine = make_engine(sessions, clock, queued_channels=["whatsapp", "console"])
        inbox = InboxWorkers(sessions, engine, {Channel.WHATSAPP: from_inbox}, clock, t)
        channel = TwilioChannel(
            settings, sessions, clock, t, retry_wait=0.01, timeout=1.0, inbox=inbox.store
        )
        store = LocalMediaStore(tmp_path / "var" / "media").prepare()
        # Time enough for a download on a loaded CI machine (0.5 s timed out there); the
        # slow-answer test's delay is well beyond it.
        source = TwilioMediaSource(settings, channel.client, timeout=3.0)
        policy = FetchPolicy(max_bytes=MAX_BYTES, allowed_types=frozenset(DEFAULT_MEDIA_TYPES),
                             timeout=2.0)
        fetcher = MediaFetcher(
            sessions, store, {Channel.WHATSAPP: source}, clock, t, policy
        )
        web = create_web_app(twilio=twilio_webhooks(channel))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://10.0.0.5:8080"
        ) as client:
            dispatcher = Dispatcher(
                sessions, {Channel.WHATSAPP: channel.send_claimed}, {}, clock, base_delay=0.01
            )
            yield Env(fake, client, world, sessions, clock, inbox, dispatcher, fetcher, store)
        await fetcher.close()
        await channel.stop()


async def record_attendance_with(env: Env, content: bytes) -> str:
    """The pendamping records today's meeting and sends its photo (dokumentasi)."""
    await env.say("hadir")
    await env.say("1")
    await env.say("7")  # P2K2 session 7
    await env.say("tidak hadir: Sumarni (sakit)")
    assert t("attendance.ask_photo") in env.bodies()[-1]
    url = await env.photo(content)
    await env.say("simpan")
    assert t("attendance.saved", name="Kelompok Melati", hadir=11, total=12) in env.bodies()[-1]
    return url


async def test_a_meeting_photo_is_stored_by_us_with_its_hash_and_size_and_shows_on_the_meeting(
    env: Env,
) -> None:
    photo = jpeg()
    url = await record_attendance_with(env, photo)
    [pending] = await env.files()
    assert pending.status is MediaStatus.PENDING and pending.provider_ref == url
    assert env.media_gets() == []  # nothing fetched while the webhook or the step ran

    await env.fetcher.drain()

    [kept] = await env.files()
    digest = hashlib.sha256(photo).hexdigest()
    assert (kept.status, kept.sha256, kept.size_bytes) == (MediaStatus.STORED, digest, len(photo))
    assert kept.content_type == "image/jpeg" and kept.storage_key == digest
    assert kept.taken_at is not None and kept.taken_at.strftime("%H:%M") == "09:14"
    assert (kept.latitude, kept.longitude) == (pytest.approx(LATITUDE), pytest.approx(LONGITUDE))
    path = env.store.path_of(digest)
    assert path.read_bytes() == photo
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert all(call.auth_ok for call in env.media_gets())  # the account's basic auth
    # Twilio's copy is gone, through its Media API
    assert env.fake.media_deleted == [url.rsplit("/", 1)[1]] and env.fake.media == {}
    assert kept.provider_deleted_at is not None and not kept.provider_delete
    async with env.sessions() as session:
        attached = await session.scalar(select(MediaAttachment.media_ref))
        marks = len(list(await session.scalars(select(Attendance))))
    assert attached == url and marks == len(MELATI)

    # the coordinator sees it beside the meeting's planned place and time
    coordinator = Chat(make_engine(env.sessions, env.clock), env.clock, "console:dewi")
    text = "\n".join(r.text for r in await coordinator.send("/dokumentasi Melati"))
    assert "Balai Desa" in text and "09:00" in text  # planned
    assert "diambil 22/11/2026 09:14" in text and "-6.20833, 106.81667" in text


async def test_a_download_that_fails_three_times_is_tried_later_and_reported_and_nothing_is_lost(
    env: Env,
) -> None:
    photo = jpeg(seed=2)
    env.fake.fail_next(status=500, endpoint="media")
    env.fake.delay_next(5.0, endpoint="media")  # slower than the fetch may take
    env.fake.drop_next(endpoint="media")
    await record_attendance_with(env, photo)
    async with env.sessions() as session:  # the message itself was handled at once
        assert set(await session.scalars(select(Inbox.status))) == {InboxStatus.DONE}
        assert await session.scalar(select(MediaAttachment.media_ref)) is not None

    await env.fetcher.drain()  # 500
    await env.later(timedelta(seconds=20))  # slow: timed out
    await env.later(timedelta(seconds=40))  # connection dropped
    [failing] = await env.files()
    assert (failing.status, failing.attempts) == (MediaStatus.PENDING, 3)
    assert failing.next_attempt_at >= env.clock.now() + timedelta(minutes=29)
    async with env.sessions() as session:
        counts = await media_counts(session)
    assert [row[0] for row in counts.failing] == [failing.id]

    await env.later(timedelta(minutes=1))
    assert len(env.media_gets()) == 3  # not before its time
    await env.later(timedelta(minutes=30))
    [kept] = await env.files()
    assert kept.status is MediaStatus.STORED and kept.size_bytes == len(photo)
    async with env.sessions() as session:
        assert (await media_counts(session)).failing == []


async def test_a_media_url_twilio_no_longer_has_is_a_failure_to_retry(env: Env) -> None:
    url = env.fake.add_media(jpeg(seed=3))
    env.fake.media.clear()  # Twilio answers 404
    await env.say(num_media=1, media_urls=[url])
    await env.fetcher.drain()
    [row] = await env.files()
    assert (row.status, row.error, row.attempts) == (MediaStatus.PENDING, "HTTP 404", 1)
    env.clock.advance(timedelta(hours=73))  # past give_up_after: kept as failed
    await env.fetcher.drain()
    [row] = await env.files()
    assert row.status is MediaStatus.FAILED
    async with env.sessions() as session:
        assert (await media_counts(session)).given_up == 1


@pytest.mark.parametrize(
    ("content", "key"),
    [(jpeg(noise=True, size=(600, 600)), "media.refused_too_large"),
     (NOT_A_PHOTO, "media.refused_type")],
    ids=["too large", "not a photo"],
)
async def test_a_file_too_large_or_of_another_type_gets_a_polite_refusal(
    env: Env, content: bytes, key: str
) -> None:
    assert key != "media.refused_too_large" or len(content) > MAX_BYTES
    url = await env.photo(content, "image/jpeg")  # the type the phone claims is not trusted
    await env.fetcher.drain()
    await env.send_all()
    [row] = await env.files()
    assert row.status is MediaStatus.REFUSED and row.storage_key is None
    expected = t(key, limit="200 KB") if key == "media.refused_too_large" else t(key)
    assert env.bodies()[-1] == expected
    assert list(env.store.folder.glob("??/*")) == []  # nothing kept
    assert env.fake.media_deleted == [url.rsplit("/", 1)[1]]  # nor left at Twilio
    await env.fetcher.drain()  # refused once: said once
    await env.send_all()
    assert env.bodies().count(expected) == 1


async def test_the_same_photo_sent_twice_is_kept_once(env: Env) -> None:
    photo = jpeg(seed=5)
    await env.photo(photo)
    await env.photo(photo)
    await env.fetcher.drain()
    rows = await env.files()
    assert [r.status for r in rows] == [MediaStatus.STORED] * 2
    assert rows[0].storage_key == rows[1].storage_key
    assert len(list(env.store.folder.glob("??/*"))) == 1
