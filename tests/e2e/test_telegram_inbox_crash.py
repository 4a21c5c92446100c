"""Nothing acknowledged is lost on Telegram either: a real `pendamping run` takes 200 text
updates from 20 chats, is killed with SIGKILL while it handles them, and is started again;
every update is handled once, each chat's in the order it arrived. The Bot API is a local
fake.

In webhook mode an update is acknowledged by the webhook's 200. In polling mode it is
acknowledged by the next getUpdates ``offset``, which the bot sends only after the batch is
stored: the test holds the first process in the gap between storing a batch and confirming
it (the confirming call is refused), so after the restart Telegram offers the stored batch
again, and the inbox keeps each update once."""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web import TELEGRAM_SECRET_HEADER
from models.enums import InboxStatus
from models.messaging.tables import Inbox
from tests.e2e.test_inbox_crash import (
    count,
    free_port,
    kill_once_handling,
    post_turns,
    replies_and_handling_order,
    server,
)
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramApi, text_update

CHATS = [5_000_001 + n for n in range(20)]
PER_CHAT = 10
TOTAL = len(CHATS) * PER_CHAT
SECRET = "crash-test_secret-1"
SENT_DATE = 1_767_225_600  # the "date" of the messages the fake says it sent


def update_id(turn: int, index: int) -> int:
    """Telegram numbers updates in the order they arrive: here turn by turn."""
    return 1 + turn * len(CHATS) + index


def updates() -> list[dict[str, Any]]:
    return [
        text_update(update_id(turn, index), chat, "halo")
        for turn in range(PER_CHAT)
        for index, chat in enumerate(CHATS)
    ]


def slow_send_message(fake: FakeTelegramApi) -> None:
    """sendMessage answers in a few hundred milliseconds, as Telegram may."""
    message_ids = itertools.count(1)

    async def send_message(params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.3)
        return {
            "message_id": next(message_ids),
            "from": fake.bot_user,
            "chat": {"id": params["chat_id"], "type": "private", "first_name": "Ani"},
            "date": SENT_DATE,
            "text": params["text"],
        }

    fake.on("sendMessage", send_message)


def environment(db_url: str, port: int, fake: FakeTelegramApi, mode: str) -> dict[str, str]:
    return {
        **os.environ,
        "PENDAMPING_CONFIG": "",
        "PENDAMPING_DATABASE_URL": db_url,
        "PENDAMPING_TELEGRAM_TOKEN": fake.token,
        "PENDAMPING_TELEGRAM_BOT_USERNAME": BOT_USERNAME,
        "PENDAMPING_TELEGRAM_MODE": mode,
        "PENDAMPING_TELEGRAM_API_BASE_URL": fake.base_url,
        "PENDAMPING_TELEGRAM_API_FILE_URL": fake.base_file_url,
        "PENDAMPING_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "PENDAMPING_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PENDAMPING_WEB_PORT": str(port),
        "PENDAMPING_INBOX_WORKERS": "2",  # slow enough to be killed half-way
        "PENDAMPING_INBOX_LEASE_SECONDS": "2",
    }


async def wait_until_all_done(sessions: async_sessionmaker[AsyncSession]) -> None:
    for _ in range(1500):
        if await count(sessions, InboxStatus.DONE) == TOTAL:
            return
        await asyncio.sleep(0.02)


async def assert_each_handled_once_in_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await count(sessions, InboxStatus.DONE) == TOTAL  # none lost
    async with sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(Inbox))
    replies, order = await replies_and_handling_order(sessions)
    assert stored == TOTAL  # none stored twice
    assert replies == {f"telegram:{chat}": PER_CHAT for chat in CHATS}  # none twice
    for index, chat in enumerate(CHATS):
        handled = [external for address, external in order if address == f"telegram:{chat}"]
        assert handled == [f"update:{update_id(turn, index)}" for turn in range(PER_CHAT)]


async def test_200_webhook_updates_survive_a_sigkill_and_are_handled_once(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    port = free_port()
    async with FakeTelegramApi() as fake:
        slow_send_message(fake)
        env = environment(db_url, port, fake, "webhook")
        turns = [updates()[turn * len(CHATS) : (turn + 1) * len(CHATS)] for turn in range(PER_CHAT)]

        async def post(client: httpx.AsyncClient, update: dict[str, Any]) -> int:
            response = await client.post(
                "/telegram/webhook", json=update, headers={TELEGRAM_SECRET_HEADER: SECRET}
            )
            return response.status_code

        async with server(env, port) as first:
            # Killed once 20 are handled, whether the posting is still going on or not.
            killer = asyncio.create_task(kill_once_handling(first, sessions))
            unacknowledged = await post_turns(port, turns, post)
            await killer
        handled_before = await count(sessions, InboxStatus.DONE)
        assert 0 < handled_before < TOTAL, "the kill did not land mid-handling"
        async with server(env, port):
            # As Telegram does: what was not acknowledged with a 200 is sent again.
            assert await post_turns(port, unacknowledged, post) == []
            await wait_until_all_done(sessions)
    await assert_each_handled_once_in_order(sessions)


async def test_200_polled_updates_survive_a_sigkill_and_are_handled_once(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    port = free_port()
    # A long poll waits long enough for the test to queue the updates while it waits.
    async with FakeTelegramApi(max_poll_wait=30) as fake:
        slow_send_message(fake)
        env = environment(db_url, port, fake, "polling")
        async with server(env, port) as first:
            await fake.wait_for("getUpdates", 1, timeout=30)  # its first long poll waits
            for update in updates():
                fake.push_update(update)
            # A webhook is set now: Telegram answers getUpdates 409 Conflict before its
            # offset confirms anything. The poll already waiting still returns the first
            # 100 updates; the process stores them and its confirming call is refused, so
            # they stay stored but unconfirmed, as if it died between the two.
            fake.webhook_url = f"http://127.0.0.1:{port}/telegram/webhook"
            await kill_once_handling(first, sessions)
        handled_before = await count(sessions, InboxStatus.DONE)
        assert 0 < handled_before < TOTAL, "the kill did not land mid-handling"
        async with sessions() as session:
            kept = set(await session.scalars(select(Inbox.external_id)))
        queued = {f"update:{update['update_id']}" for update in fake.updates}
        assert len(kept) == 100  # the first batch, stored before it was confirmed
        assert kept < queued  # ... and so Telegram still holds it: it comes again
        async with server(env, port):  # deletes the webhook and polls again
            await wait_until_all_done(sessions)
            for _ in range(500):  # the last batch confirmed too
                if not fake.updates:
                    break
                await asyncio.sleep(0.02)
            assert fake.updates == []  # every update confirmed to Telegram
    await assert_each_handled_once_in_order(sessions)
