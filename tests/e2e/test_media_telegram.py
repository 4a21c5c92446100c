"""Files sent on Telegram are fetched and kept by us: webhook -> inbox -> engine (the file
registered) -> media workers -> ``getFile`` and the file URL of a local fake of the Bot
API (python-telegram-bot's own request code) -> our store."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import TelegramChannel, build_application
from bot.channels.telegram_media import TelegramMediaSource
from bot.config import DEFAULT_MEDIA_TYPES
from bot.media_fetch import FetchPolicy, MediaFetcher
from bot.media_store import LocalMediaStore
from bot.web import TELEGRAM_SECRET_HEADER, TelegramWebhook, create_web_app
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from models.enums import Channel, MediaStatus
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, MediaAttachment, MediaFile
from scheduler.dispatcher import Dispatcher
from tests.e2e.test_telegram_channel import SECRET, inbox_workers, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi, photo_update, text_update
from tests.media_files import LATITUDE, jpeg
from tests.world import NOW, Chat, build_world, make_engine

ANI_CHAT = 1001
t = Translator()


@dataclass
class Env:
    fake: FakeTelegramApi
    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    clock: FixedClock
    inbox: InboxWorkers
    dispatcher: Dispatcher
    fetcher: MediaFetcher
    store: LocalMediaStore
    next_update: int = 1

    async def post(self, update: dict[str, Any]) -> None:
        await self.client.post(
            "/telegram/webhook", json=update, headers={TELEGRAM_SECRET_HEADER: SECRET}
        )
        await self.inbox.drain()
        while (await self.dispatcher.run_once()).sent:
            pass

    async def say(self, text: str) -> None:
        self.next_update += 1
        await self.post(text_update(self.next_update, ANI_CHAT, text))

    async def photo(self, file_id: str) -> None:
        self.next_update += 1
        await self.post(photo_update(self.next_update, ANI_CHAT, file_id=file_id))

    def last_text(self) -> str:
        return str(self.fake.calls_to("sendMessage")[-1].params["text"])

    async def files(self) -> list[MediaFile]:
        async with self.sessions() as session:
            return list(await session.scalars(select(MediaFile).order_by(MediaFile.id)))


@pytest.fixture
async def env(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> AsyncIterator[Env]:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        session.add(
            ChannelIdentity(
                address=f"telegram:{ANI_CHAT}", channel=Channel.TELEGRAM, staff_id=world.ani
            )
        )
    clock = FixedClock(NOW)
    async with FakeTelegramApi() as fake:
        application = build_application(telegram_settings(fake))
        inbox = inbox_workers(sessions, clock)
        channel = TelegramChannel(
            application, bot_username="PendampingTestBot", clock=clock.now, inbox=inbox.store
        )
        web = create_web_app(
            telegram=TelegramWebhook(SECRET, channel.feed, channel.webhook_response)
        )
        store = LocalMediaStore(tmp_path / "media").prepare()
        source = TelegramMediaSource(application.bot, timeout=1.0)
        policy = FetchPolicy(max_bytes=200_000, allowed_types=frozenset(DEFAULT_MEDIA_TYPES))
        fetcher = MediaFetcher(sessions, store, {Channel.TELEGRAM: source}, clock, t, policy)
        async with (
            application,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=web), base_url="http://test"
            ) as client,
        ):
            dispatcher = Dispatcher(
                sessions, {Channel.TELEGRAM: channel.send_claimed}, {Channel.TELEGRAM: 30.0},
                clock,
            )
            yield Env(fake, client, sessions, clock, inbox, dispatcher, fetcher, store)
        await fetcher.close()


async def test_a_meeting_photo_sent_on_telegram_is_stored_by_us_and_shows_on_the_meeting(
    env: Env,
) -> None:
    photo = jpeg(seed=11)
    env.fake.add_file("dokumentasi-1", photo)
    await env.say("hadir")
    await env.say("1")
    await env.say("7")
    await env.say("tidak hadir: Sumarni (sakit)")
    assert t("attendance.ask_photo") in env.last_text()
    await env.photo("dokumentasi-1")
    await env.say("simpan")
    assert env.fake.downloads == []  # not fetched while the update was handled

    await env.fetcher.drain()

    [kept] = await env.files()
    assert kept.provider_ref == "telegram-file:dokumentasi-1"
    assert (kept.status, kept.sha256, kept.size_bytes) == (
        MediaStatus.STORED, hashlib.sha256(photo).hexdigest(), len(photo)
    )
    assert kept.latitude == pytest.approx(LATITUDE)
    assert env.store.path_of(kept.sha256 or "").read_bytes() == photo
    assert [c.params["file_id"] for c in env.fake.calls_to("getFile")] == ["dokumentasi-1"]
    async with env.sessions() as session:
        assert await session.scalar(select(MediaAttachment.media_ref)) == kept.provider_ref
    coordinator = Chat(make_engine(env.sessions, env.clock), env.clock, "console:dewi")
    text = "\n".join(r.text for r in await coordinator.send("/dokumentasi Melati"))
    assert "diambil 22/11/2026 09:14" in text and "Balai Desa" in text


async def test_a_file_telegram_says_is_too_big_gets_a_polite_refusal(env: Env) -> None:
    env.fake.fail_next("getFile", status=400, description="Bad Request: file is too big")
    await env.photo("video-besar")
    await env.fetcher.drain()
    while (await env.dispatcher.run_once()).sent:
        pass
    [row] = await env.files()
    assert row.status is MediaStatus.REFUSED
    assert env.last_text() == t("media.refused_too_large", limit="200 KB")


async def test_a_getfile_that_fails_is_tried_again(env: Env) -> None:
    env.fake.add_file("foto-2", jpeg(seed=12))
    env.fake.fail_next("getFile", status=502)
    await env.photo("foto-2")
    await env.fetcher.drain()
    [row] = await env.files()
    assert (row.status, row.attempts) == (MediaStatus.PENDING, 1)
    assert row.error is not None and "getFile" in row.error
