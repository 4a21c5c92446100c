"""The Telegram channel end to end: webhook route or polling -> inbox -> engine -> outbox ->
Bot API calls against a local fake of the Bot API (real python-telegram-bot request code,
no internet)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import TelegramChannel, build_application, from_inbox, split_text
from bot.config import TelegramSettings
from bot.web import TELEGRAM_SECRET_HEADER, TelegramWebhook, create_web_app
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from handlers.messages import Document, Media, Option, Reply, Toggle
from models.enums import Channel, InboxStatus, OutboxStatus
from models.messaging.tables import Inbox, Outbox
from models.rules.clock import FixedClock
from models.tables import Attendance, ChannelIdentity, Kelompok, Kpm
from scheduler.dispatcher import Dispatcher
from tests.fakes.telegram_api import (
    BOT_USERNAME,
    FakeTelegramApi,
    callback_update,
    contact_update,
    group_added_update,
    text_update,
)
from tests.world import MELATI, NOW, World, build_world, make_engine

SECRET = "s3cret-token_1"
ANI_CHAT = 1001
t = Translator()


@dataclass
class Env:
    fake: FakeTelegramApi
    channel: TelegramChannel
    client: httpx.AsyncClient
    world: World
    sessions: async_sessionmaker[AsyncSession]
    inbox: InboxWorkers
    dispatcher: Dispatcher | None = None  # replies queued in the outbox: it sends them
    clock: FixedClock | None = None
    next_update: int = 1

    async def later(self, seconds: float) -> None:
        """Time passes; the dispatcher sends what has become due."""
        assert self.clock is not None and self.dispatcher is not None
        self.clock.advance(timedelta(seconds=seconds))
        while (await self.dispatcher.run_once()).sent:
            pass

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {TELEGRAM_SECRET_HEADER: secret} if secret is not None else {}
        response = await self.client.post("/telegram/webhook", json=update, headers=headers)
        await self.inbox.drain()  # stored on arrival, now handled: replies queued
        if self.dispatcher is not None:
            while (await self.dispatcher.run_once()).sent:
                pass
        return response

    async def say(self, text: str, chat_id: int = ANI_CHAT, **kwargs: Any) -> httpx.Response:
        self.next_update += 1
        return await self.post(text_update(self.next_update, chat_id, text, **kwargs))

    async def tap(
        self, data: str, message_id: int, chat_id: int = ANI_CHAT, message_text: str = "..."
    ) -> httpx.Response:
        self.next_update += 1
        return await self.post(
            callback_update(
                self.next_update, chat_id, data, message_id=message_id, message_text=message_text
            )
        )

    def last_sent(self) -> dict[str, Any]:
        return self.fake.calls_to("sendMessage")[-1].params


def telegram_settings(fake: FakeTelegramApi) -> TelegramSettings:
    return TelegramSettings(
        token=fake.token,
        bot_username=BOT_USERNAME,
        mode="webhook",
        api_base_url=fake.base_url,
        api_file_url=fake.base_file_url,
        webhook_secret=SECRET,
        # Telegram's own pace (1 a second per chat) would make the tests wait: the
        # limiter still runs, at a rate no test reaches.
        messages_per_second=10_000,
        messages_per_second_per_chat=10_000,
        messages_per_minute_per_group=100_000,
    )


def inbox_workers(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> InboxWorkers:
    engine = make_engine(sessions, clock, queued_channels=["telegram"])
    translate = {Channel.TELEGRAM: lambda row: from_inbox(row, BOT_USERNAME)}
    return InboxWorkers(sessions, engine, translate, clock, t)


@pytest.fixture
async def env(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Env]:
    """Webhook mode, as `pendamping run` wires it: updates stored in the inbox before the
    webhook answers, the inbox workers run the engine, replies queued with the step and
    sent by the dispatcher."""
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
            application,
            bot_username=BOT_USERNAME,
            clock=clock.now,
            retry_wait=0.01,
            answer_in_webhook=True,
            inbox=inbox.store,
        )
        web = create_web_app(
            telegram=TelegramWebhook(SECRET, channel.feed, channel.webhook_response)
        )
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
            yield Env(fake, channel, client, world, sessions, inbox, dispatcher, clock)


async def test_a_reply_with_options_is_an_inline_keyboard(env: Env) -> None:
    await env.channel.send(
        ANI_CHAT, [Reply("Pilih:", options=(Option("a", "Satu"), Option("b", "Dua")))]
    )
    params = env.last_sent()
    assert params["chat_id"] == ANI_CHAT and params["text"] == "Pilih:"
    assert params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Satu", "callback_data": "a"}, {"text": "Dua", "callback_data": "b"}]
        ]
    }


async def test_toggles_are_one_button_per_row_with_their_state(env: Env) -> None:
    reply = Reply(
        "Tandai:",
        toggles=(
            Toggle("t:1", "1. Siti", True),
            Toggle("t:2", "2. Sri", False),
            Toggle("t:3", "3. Ani", None),  # not decided yet (a commitment not verified)
        ),
        options=(Option("done", "Selesai"),),
    )
    await env.channel.send(ANI_CHAT, [reply])
    rows = env.last_sent()["reply_markup"]["inline_keyboard"]
    assert rows == [
        [{"text": "✅ 1. Siti", "callback_data": "t:1"}],
        [{"text": "❌ 2. Sri", "callback_data": "t:2"}],
        [{"text": "⬜ 3. Ani", "callback_data": "t:3"}],
        [{"text": "Selesai", "callback_data": "done"}],
    ]


async def test_long_text_is_split_at_the_limit_with_the_keyboard_on_the_last_part(
    env: Env,
) -> None:
    text = "\n".join(f"Baris {n}: " + "x" * 80 for n in range(120))
    await env.channel.send(ANI_CHAT, [Reply(text, options=(Option("ok", "OK"),))])
    calls = env.fake.calls_to("sendMessage")
    assert len(calls) == 3
    assert all(len(call.params["text"]) <= 4096 for call in calls)
    assert "\n".join(call.params["text"] for call in calls) == text
    assert "reply_markup" not in calls[0].params and "reply_markup" in calls[-1].params
    assert split_text("a" * 5000) == ["a" * 4096, "a" * 904]


async def test_photos_and_documents_are_sent_as_files(env: Env) -> None:
    reply = Reply(
        "Laporan",
        media=(Media(ref="photo-file-id"),),
        document=Document("rekap.xlsx", b"PK\x03\x04data", "application/vnd.ms-excel"),
    )
    await env.channel.send(ANI_CHAT, [reply])
    assert env.fake.calls_to("sendPhoto")[0].params["photo"] == "photo-file-id"
    document = env.fake.calls_to("sendDocument")[0]
    assert document.files["document"] == b"PK\x03\x04data"
    assert document.params["document"]["filename"] == "rekap.xlsx"


async def test_an_update_of_unknown_shape_is_acknowledged_and_ignored(env: Env) -> None:
    for update in (
        {"update_id": 901, "message": "not an object"},
        {"update_id": 902, "callback_query": {"id": "q1", "data": "m:1"}},  # no sender
        {"update_id": 903, "edited_message": {"chat": {"id": ANI_CHAT}, "text": "x"}},
    ):
        assert (await env.post(update)).status_code == 200
    assert env.fake.calls_to("sendMessage") == []
    async with env.sessions() as session:
        assert list(await session.scalars(select(Outbox))) == []


async def test_the_webhook_refuses_a_missing_or_wrong_secret_and_processes_nothing(
    env: Env,
) -> None:
    update = text_update(500, ANI_CHAT, "/hadir")
    assert (await env.post(update, secret=None)).status_code == 403
    assert (await env.post(update, secret="wrong")).status_code == 403
    assert env.fake.calls_to("sendMessage") == []
    bad = await env.client.post(
        "/telegram/webhook", content=b"{not json", headers={TELEGRAM_SECRET_HEADER: SECRET}
    )
    assert bad.status_code == 400
    assert (await env.post(update)).status_code == 200
    assert env.last_sent()["text"] == t("attendance.pick_meeting", name="Kelompok Melati")


async def test_the_same_update_delivered_twice_is_processed_once(env: Env) -> None:
    update = text_update(777, ANI_CHAT, "/hadir")
    await env.post(update)
    await env.post(update)
    assert len(env.fake.calls_to("sendMessage")) == 2  # group note + meeting prompt, once
    async with env.sessions() as session:
        # The inbox's unique key is the dedupe: the second delivery was not stored.
        assert (await session.execute(select(Inbox.external_id, Inbox.status))).all() == [
            ("update:777", InboxStatus.DONE)
        ]


async def test_a_whole_attendance_conversation_by_buttons(env: Env) -> None:
    await env.say("/hadir")
    meeting = next(
        b
        for row in env.last_sent()["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"].startswith("Hari ini")
    )
    await env.tap(meeting["callback_data"], message_id=2)
    await env.tap("s:3", message_id=3)
    marking = env.fake.calls_to("sendMessage")[-1]
    rows = marking.params["reply_markup"]["inline_keyboard"]
    first_member = rows[0][0]
    assert first_member["text"].startswith("✅ 1.")
    message_id = len(env.fake.calls_to("sendMessage"))
    await env.tap(
        first_member["callback_data"], message_id=message_id, message_text=marking.params["text"]
    )
    edit = env.fake.calls_to("editMessageText") + env.fake.calls_to("editMessageReplyMarkup")
    assert len(edit) == 1 and edit[0].params["message_id"] == message_id
    assert edit[0].params["reply_markup"]["inline_keyboard"][0][0]["text"].startswith("❌ 1.")
    assert env.fake.calls_to("answerCallbackQuery") == []  # answered in the webhook response
    await env.tap("done", message_id=message_id)
    first_name = sorted(MELATI, key=str.lower)[0]
    assert env.last_sent()["text"] == t("attendance.ask_reason", name=first_name)
    await env.tap("sakit", message_id=message_id + 1)
    await env.tap("skip", message_id=message_id + 2)
    assert env.last_sent()["text"] == t(
        "attendance.summary",
        name="Kelompok Melati",
        date="Minggu, 22 November 2026",
        sesi=3,
        hadir=11,
        izin=0,
        sakit=1,
        alpa=0,
        photos=0,
        facilitator=t("attendance.facilitator_pendamping"),
        absentees=f"• {first_name}: sakit",
    )
    await env.tap("save", message_id=message_id + 3)
    saved = t("attendance.saved", name="Kelompok Melati", hadir=11, total=12)
    assert env.last_sent()["text"] == saved
    async with env.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Attendance)) == 12


async def test_a_toggle_with_unchanged_text_edits_only_the_keyboard(env: Env) -> None:
    await env.say("/hadir")
    await env.tap(env.last_sent()["reply_markup"]["inline_keyboard"][0][0]["callback_data"], 2)
    await env.tap("s:1", message_id=3)
    marking = env.last_sent()
    first = marking["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await env.tap(first, message_id=4, message_text=marking["text"])
    second = marking["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    text_now = env.fake.calls_to("editMessageText")[-1].params["text"]
    await env.tap(second, message_id=4, message_text=text_now.replace("11 dari", "10 dari"))
    assert env.fake.calls_to("editMessageReplyMarkup")[-1].params["message_id"] == 4


async def outbox_rows(env: Env) -> list[Outbox]:
    async with env.sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


async def test_retry_after_is_waited_out_by_the_dispatcher_and_the_message_arrives(
    env: Env,
) -> None:
    env.fake.fail_next("sendMessage", retry_after=30)
    await env.say("/bantuan")
    assert [call.status for call in env.fake.calls_to("sendMessage")] == [429]
    (row,) = await outbox_rows(env)  # one attempt, then back to the dispatcher's queue
    assert row.status is OutboxStatus.PENDING and row.error_code == "429"
    assert env.clock is not None and row.next_attempt_at >= env.clock.now() + timedelta(seconds=30)
    await env.later(10)  # before Telegram's time: nothing is tried
    assert [call.status for call in env.fake.calls_to("sendMessage")] == [429]
    await env.later(25)
    assert [call.status for call in env.fake.calls_to("sendMessage")] == [429, 200]
    assert t("help.general") in env.last_sent()["text"]


async def test_a_network_error_leaves_the_reply_to_the_dispatcher_s_retry(env: Env) -> None:
    env.fake.drop_next("sendMessage", times=2)
    await env.say("/bantuan")
    assert [call.status for call in env.fake.calls_to("sendMessage")] == [0]  # one attempt
    (row,) = await outbox_rows(env)
    assert row.status is OutboxStatus.PENDING and row.attempts == 1
    assert row.error_code == "network"
    await env.later(600)
    await env.later(600)
    assert [call.status for call in env.fake.calls_to("sendMessage")] == [0, 0, 200]
    (row,) = await outbox_rows(env)
    assert row.status is OutboxStatus.SENT and row.attempts == 3


async def test_a_later_part_of_a_message_is_retried_in_place_not_sent_twice(env: Env) -> None:
    """A long text goes in parts: when the second part meets a network error it is tried
    again at once, and the first is not sent again (the dispatcher's retry would)."""
    long = "\n".join(f"Baris {n} " + "x" * 60 for n in range(100))  # over 4,096 characters
    parts = split_text(long)
    assert len(parts) == 2
    env.fake.drop_next("sendMessage", after=1)
    await env.channel.send(ANI_CHAT, [Reply(long)])
    calls = env.fake.calls_to("sendMessage")
    assert [call.status for call in calls] == [200, 0, 200]
    assert [call.params["text"] for call in calls] == [parts[0], parts[1], parts[1]]


async def test_a_queued_reply_is_sent_once_even_when_the_process_died_after_the_step(
    env: Env,
) -> None:
    """The reply commits with the step: a dispatcher started later still sends it, once."""
    dispatcher, env.dispatcher = env.dispatcher, None  # the process dies before sending
    await env.say("/hadir")
    assert env.fake.calls_to("sendMessage") == []
    async with env.sessions() as session:
        rows = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
    assert rows and all(r.kind == "reply" and r.status is OutboxStatus.PENDING for r in rows)
    assert (await dispatcher.run_once()).sent == len(rows)  # a new process's dispatcher
    assert (await dispatcher.run_once()).sent == 0
    calls = env.fake.calls_to("sendMessage")
    assert [call.params["text"] for call in calls] == [row.payload["text"] for row in rows]
    assert calls[-1].params["reply_markup"]["inline_keyboard"]
    async with env.sessions() as session:
        sent = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
    assert all(r.status is OutboxStatus.SENT for r in sent)
    assert all((r.provider_id or "").startswith(f"{ANI_CHAT}:") for r in sent)


async def test_an_unknown_user_is_offered_to_share_their_contact_and_is_matched(
    env: Env,
) -> None:
    await env.say("halo", chat_id=2002)
    keyboard = env.last_sent()["reply_markup"]
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    env.next_update += 1
    phone = "+62812990" + f"{env.world.melati:02d}0001"
    await env.post(contact_update(env.next_update, 2002, phone.lstrip("+"), contact_user_id=2002))
    assert env.last_sent()["text"] == t("kpm.contact_linked")
    async with env.sessions() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.address == "telegram:2002")
        )
    assert identity is not None and identity.kpm_id is not None


async def test_someone_else_s_contact_links_nobody(env: Env) -> None:
    env.next_update += 1
    phone = "62812990" + f"{env.world.melati:02d}0001"
    await env.post(contact_update(env.next_update, 3003, phone, contact_user_id=4004))
    assert env.last_sent()["text"] == t("register.unknown_sender_ask_number")
    async with env.sessions() as session:
        assert (
            await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.address == "telegram:3003")
            )
            is None
        )


async def test_a_group_chat_is_linked_with_a_code_and_then_answers_only_commands(
    env: Env,
) -> None:
    group = -100555
    env.next_update += 1
    await env.post(group_added_update(env.next_update, group, by_user_id=ANI_CHAT))
    assert env.last_sent()["text"] == t("group.help")
    await env.say("/hubungkan Mawar")
    code_text = env.last_sent()["text"]
    code = code_text.split("/hubungkan ")[1].split()[0]
    await env.say(f"/hubungkan@{BOT_USERNAME} {code}", chat_id=group, user_id=ANI_CHAT)
    assert env.last_sent() == {"chat_id": group, "text": t("group.linked", name="Kelompok Mawar")}
    async with env.sessions() as session:
        kelompok = await session.get(Kelompok, env.world.mawar)
    assert kelompok.group_chat_address == f"telegram:{group}"
    sent = len(env.fake.calls_to("sendMessage"))
    await env.say("halo semua", chat_id=group, user_id=ANI_CHAT)
    await env.say("/start@OtherBot", chat_id=group, user_id=ANI_CHAT)
    assert len(env.fake.calls_to("sendMessage")) == sent
    await env.say("/kpm Siti", chat_id=group, user_id=ANI_CHAT)
    assert env.last_sent()["text"] == t("group.private_only")
    await env.say(f"/hubungkan {code}", chat_id=-100777, user_id=ANI_CHAT)
    assert env.last_sent()["text"] == t("group.link_used")


async def test_doctor_s_check_reports_the_bot_and_the_webhook(env: Env) -> None:
    username, state = await env.channel.check()
    assert username == f"@{BOT_USERNAME}" and state == "no webhook (polling)"
    await env.channel.application.bot.set_webhook(
        "https://localhost/telegram/webhook", secret_token=SECRET
    )
    assert (await env.channel.check())[1] == "webhook https://localhost/telegram/webhook"


async def test_a_tapped_button_is_answered_in_the_webhook_response(env: Env) -> None:
    update = callback_update(900, ANI_CHAT, "menu:kpm_card", message_id=5)
    response = await env.post(update)
    assert response.json() == {
        "method": "answerCallbackQuery",
        "callback_query_id": update["callback_query"]["id"],
    }
    assert env.fake.calls_to("answerCallbackQuery") == []


@asynccontextmanager
async def polling(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[
    tuple[FakeTelegramApi, InboxWorkers, Dispatcher]
]:
    """Polling as `pendamping run` does it: getUpdates batches stored in the inbox before
    the next call confirms them, workers and the dispatcher running."""
    world = await build_world(sessions)
    async with sessions.begin() as session:
        session.add(
            ChannelIdentity(
                address=f"telegram:{ANI_CHAT}", channel=Channel.TELEGRAM, staff_id=world.ani
            )
        )
    clock = FixedClock(NOW)
    async with FakeTelegramApi(max_poll_wait=0.2) as fake:
        settings = telegram_settings(fake).model_copy(update={"mode": "polling"})
        application = build_application(settings)
        inbox = inbox_workers(sessions, clock)
        channel = TelegramChannel(
            application, bot_username=BOT_USERNAME, clock=clock.now, retry_wait=0.01,
            inbox=inbox.store, poll_timeout=1,
        )
        dispatcher = Dispatcher(
            sessions, {Channel.TELEGRAM: channel.send_claimed}, {Channel.TELEGRAM: 30.0}, clock
        )
        inbox.on_queued(dispatcher.notify)
        stop = asyncio.Event()
        async with application:
            tasks = [
                asyncio.create_task(channel.poll(stop)),
                asyncio.create_task(inbox.run(stop)),
                asyncio.create_task(dispatcher.run(stop)),
            ]
            try:
                yield fake, inbox, dispatcher
            finally:
                stop.set()
                inbox.notify()
                dispatcher.notify()
                tasks[0].cancel()
                await asyncio.gather(*tasks, return_exceptions=True)


async def test_polling_mode_receives_updates_and_replies(sessions) -> None:
    async with polling(sessions) as (fake, _, _):
        fake.push_update(text_update(1, ANI_CHAT, "/kpm Siti Aminah"))
        calls = await fake.wait_for("sendMessage", timeout=10)
    async with sessions() as session:
        kpm = await session.scalar(select(Kpm).where(Kpm.nama_pengurus == "Siti Aminah"))
    assert calls[0].params["text"] == t(
        "kpm.card",
        name="Siti Aminah",
        id_pkh=kpm.id_pkh,
        nik="*" * 12 + kpm.nik[-4:],
        phone=kpm.phone,  # Ani is her pendamping
        kelompok="Kelompok Melati",
        status=t("kpm.status.aktif"),
        komponen="• Anak SD" + t("kpm.card_until", date="Kamis, 1 Maret 2029"),
        attendance=t("kpm.card_no_meetings"),
        period="November 2026",
        commitments="• Anak SD: Hadir di sekolah (min. 85%) — belum diverifikasi",
        recent=t("kpm.card_recent_empty"),
        cases=t("kpm.card_no_cases"),
        graduation=t(
            "kpm.card_graduation", stage="Penjajakan", assessed=t("kpm.card_graduation_unassessed")
        ),
    )


async def test_polling_a_tapped_button_is_answered_by_a_call(sessions) -> None:
    async with polling(sessions) as (fake, _, _):
        fake.push_update(callback_update(901, ANI_CHAT, "menu:kpm_card", message_id=5))
        calls = await fake.wait_for("answerCallbackQuery", timeout=10)
        await fake.wait_for("sendMessage", timeout=10)
    assert len(calls) == 1 and calls[0].status == 200


async def test_a_button_too_old_to_answer_still_gets_its_step_done(sessions) -> None:
    """Taps polled long after they were made cannot be answered any more (400): the step
    runs and replies all the same, without an error message."""
    async with polling(sessions) as (fake, _, _):
        fake.fail_next(
            "answerCallbackQuery",
            status=400,
            description="Bad Request: query is too old and response timeout expired",
        )
        fake.push_update(callback_update(902, ANI_CHAT, "menu:kpm_card", message_id=5))
        await fake.wait_for("sendMessage", timeout=10)
    assert fake.calls_to("answerCallbackQuery")[0].status == 400
    texts = [call.params["text"] for call in fake.calls_to("sendMessage")]
    assert texts and t("error.generic") not in texts


async def test_polling_confirms_an_offset_only_after_the_updates_are_in_the_inbox(
    sessions,
) -> None:
    from models.messaging.tables import Inbox

    async with polling(sessions) as (fake, _, _):
        fake.push_update(text_update(11, ANI_CHAT, "/bantuan"))
        fake.push_update(text_update(12, ANI_CHAT, "/bantuan"))
        await fake.wait_for("sendMessage", count=2, timeout=10)
        polls = fake.calls_to("getUpdates")
    first_offset = next(c.params.get("offset") for c in polls if c.params.get("offset"))
    assert first_offset == 13  # the next call after the batch confirms 11 and 12
    async with sessions() as session:
        stored = list(await session.scalars(select(Inbox.external_id).order_by(Inbox.id)))
    assert stored == ["update:11", "update:12"]


async def test_set_webhook_registers_the_url_and_secret(tmp_path) -> None:
    import io

    from rich.console import Console

    from bot import commands
    from bot.bootstrap import build_app
    from bot.config import Settings

    async with FakeTelegramApi() as fake:
        settings = Settings(
            database={"url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"},
            telegram=telegram_settings(fake).model_copy(
                update={"webhook_url": "https://localhost/telegram/webhook"}
            ),
        )
        app = build_app(settings)
        try:
            await commands.telegram_set_webhook(app, Console(file=io.StringIO()))
        finally:
            await app.close()
    call = fake.calls_to("setWebhook")[0]
    assert call.params["url"] == "https://localhost/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query", "my_chat_member"]


async def test_the_dispatcher_sends_a_queued_message_with_its_buttons(env: Env) -> None:
    from models.messaging.enqueue import Enqueue, Priority, enqueue
    from scheduler.dispatcher import Dispatcher

    async with env.sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(
                    channel=Channel.TELEGRAM,
                    address=f"telegram:{ANI_CHAT}",
                    kind="alert",
                    payload={
                        "text": "Pertemuan jatuh pada hari libur.",
                        "options": [{"value": "move:1:2026-12-28", "label": "Pindah ke Senin"}],
                    },
                    priority=Priority.ALERT,
                )
            ],
            now=NOW,
        )
    dispatcher = Dispatcher(
        env.sessions,
        {Channel.TELEGRAM: env.channel.send_claimed},
        {Channel.TELEGRAM: 30.0},
        FixedClock(NOW),
    )
    report = await dispatcher.run_once()
    assert report.sent == 1
    params = env.last_sent()
    assert params["text"] == "Pertemuan jatuh pada hari libur."
    assert params["reply_markup"]["inline_keyboard"] == [
        [{"text": "Pindah ke Senin", "callback_data": "move:1:2026-12-28"}]
    ]


REMINDER = "Pengingat: pertemuan Kelompok Melati besok pukul 09.00 di Balai Desa."


async def _kpm_with_a_reminder_queued(env: Env, chat_id: int) -> None:
    """A KPM links her chat by sharing her contact; a reminder is queued for her, due in an
    hour."""
    from models.messaging.enqueue import Enqueue, Priority, enqueue

    await env.say("halo", chat_id=chat_id)
    env.next_update += 1
    phone = "62812990" + f"{env.world.melati:02d}0001"
    await env.post(contact_update(env.next_update, chat_id, phone, contact_user_id=chat_id))
    assert env.last_sent()["text"] == t("kpm.contact_linked")
    async with env.sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(
                    Channel.TELEGRAM, f"telegram:{chat_id}", "meeting_reminder",
                    {"text": REMINDER}, Priority.REMINDER, not_before=NOW + timedelta(hours=1),
                )
            ],
            now=NOW,
        )


def _texts_to(env: Env, chat_id: int) -> list[str]:
    return [
        call.params["text"]
        for call in env.fake.calls_to("sendMessage")
        if call.params["chat_id"] == chat_id
    ]


async def test_a_reminder_queued_before_berhenti_never_reaches_the_chat(env: Env) -> None:
    from models.optout import OPTED_OUT

    await _kpm_with_a_reminder_queued(env, 2002)
    await env.say("berhenti", chat_id=2002)
    assert env.last_sent()["text"] == t("optout.stopped")
    await env.later(3600)  # the reminder's time comes
    assert REMINDER not in _texts_to(env, 2002)
    async with env.sessions() as session:
        row = await session.scalar(select(Outbox).where(Outbox.kind == "meeting_reminder"))
    assert row is not None and (row.status, row.error) == (OutboxStatus.CANCELLED, OPTED_OUT)


async def test_mulai_before_a_queued_reminder_s_time_lets_it_arrive(env: Env) -> None:
    await _kpm_with_a_reminder_queued(env, 2003)
    await env.say("berhenti", chat_id=2003)
    await env.say("mulai", chat_id=2003)
    assert env.last_sent()["text"] == t("optout.resumed")
    await env.later(3600)
    assert _texts_to(env, 2003)[-1] == REMINDER


async def test_mulai_after_a_reminder_was_withheld_brings_it_while_the_meeting_is_ahead(
    env: Env,
) -> None:
    from models.messaging.tables import Outbox as OutboxRow

    await _kpm_with_a_reminder_queued(env, 2004)
    async with env.sessions.begin() as session:  # its meeting: tomorrow
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == "meeting_reminder"))
        assert row is not None
        row.deadline_at = NOW + timedelta(days=1)
    await env.say("berhenti", chat_id=2004)
    await env.later(3600)  # withheld at its time
    assert REMINDER not in _texts_to(env, 2004)
    await env.say("mulai", chat_id=2004)
    await env.later(1)
    assert _texts_to(env, 2004)[-2:] == [t("optout.resumed"), REMINDER]
