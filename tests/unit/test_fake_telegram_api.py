"""The Telegram Bot API fake, driven through python-telegram-bot's real request layer."""

from __future__ import annotations

import asyncio
import datetime as dtm
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import CommandHandler, ContextTypes
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram_api import (
    BOT_ID,
    BOT_USERNAME,
    DEFAULT_TOKEN,
    NOT_MODIFIED,
    FakeTelegramApi,
    callback_update,
    contact_update,
    document_update,
    group_added_update,
    photo_update,
    text_update,
)

KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Hadir", callback_data="att:7:hadir")],
        [InlineKeyboardButton("Izin", callback_data="att:7:izin")],
    ]
)
KEYBOARD_JSON = {
    "inline_keyboard": [
        [{"text": "Hadir", "callback_data": "att:7:hadir"}],
        [{"text": "Izin", "callback_data": "att:7:izin"}],
    ]
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as api:
        yield api


@pytest.fixture
async def bot(fake: FakeTelegramApi) -> AsyncIterator[Bot]:
    async with fake.bot() as b:
        yield b


def _no_unknown_fields(obj: object, path: str = "update") -> None:
    """PTB parks JSON fields it does not know in api_kwargs: a misspelt field lands there."""
    if isinstance(obj, TelegramObject):
        assert not obj.api_kwargs, f"{path} has unknown fields {dict(obj.api_kwargs)}"
        for cls in type(obj).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if not name.startswith("_"):
                    _no_unknown_fields(getattr(obj, name, None), f"{path}.{name}")
    elif isinstance(obj, tuple | list):
        for i, item in enumerate(obj):
            _no_unknown_fields(item, f"{path}[{i}]")


# ------------------------------------------------------------------ basics


async def test_listens_on_loopback_only(fake: FakeTelegramApi) -> None:
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/bot"
    assert fake.base_file_url == f"http://127.0.0.1:{fake.port}/file/bot"


async def test_get_me_returns_the_bot(fake: FakeTelegramApi) -> None:
    # A Bot built the plain way (PTB's own HTTPXRequest objects) works against the fake too.
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        me = await bot.get_me()
        assert (me.id, me.username, me.is_bot) == (BOT_ID, BOT_USERNAME, True)
        assert bot.username == BOT_USERNAME  # Bot.initialize() called getMe already
    assert [c.method for c in fake.calls] == ["getMe", "getMe"]


async def test_wrong_token_is_unauthorized(fake: FakeTelegramApi) -> None:
    request = fake.request()
    other = Bot("999:WRONG", base_url=fake.base_url, request=request)
    try:
        with pytest.raises(InvalidToken, match="rejected by the server") as raised:
            await other.initialize()  # PTB wraps the 401 InvalidToken("Unauthorized") of getMe
    finally:
        await request.shutdown()  # a Bot that failed to initialize does not shut down
    assert str(raised.value.__cause__) == "Unauthorized"
    assert fake.calls == []


async def test_unknown_method_is_not_found(bot: Bot, fake: FakeTelegramApi) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod", api_kwargs={"x": 1})
    assert fake.calls_to("noSuchMethod")[0].status == 404


# ------------------------------------------------------------------ messages


async def test_send_message_records_decoded_params(bot: Bot, fake: FakeTelegramApi) -> None:
    first = await bot.send_message(42, "Pilih status", reply_markup=KEYBOARD)
    second = await bot.send_message(-100123, "123")

    [call, call2] = fake.calls_to("sendMessage")
    assert call.params == {"chat_id": 42, "text": "Pilih status", "reply_markup": KEYBOARD_JSON}
    assert call2.params == {"chat_id": -100123, "text": "123"}  # a numeric text stays a str
    assert isinstance(first, Message)
    assert first.reply_markup == KEYBOARD
    assert (first.chat.type, second.chat.type) == ("private", "supergroup")
    assert second.message_id == first.message_id + 1
    assert first.from_user is not None and first.from_user.id == BOT_ID
    _no_unknown_fields(first, "message")
    assert fake.sent_messages(42)[0]["text"] == "Pilih status"


async def test_send_message_checks_what_telegram_checks(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "x" * 4097)
    too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(42, "hi", reply_markup=too_long_data)


async def test_edit_reply_markup_and_not_modified(bot: Bot, fake: FakeTelegramApi) -> None:
    sent = await bot.send_message(42, "Absen", reply_markup=KEYBOARD)
    smaller = InlineKeyboardMarkup([[InlineKeyboardButton("Hadir", callback_data="att:7:hadir")]])

    edited = await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=smaller)
    assert isinstance(edited, Message)
    assert edited.reply_markup == smaller
    assert edited.text == "Absen"
    assert edited.edit_date is not None

    with pytest.raises(BadRequest, match="Message is not modified") as raised:
        await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=smaller)
    assert raised.value.message == NOT_MODIFIED.removeprefix("Bad Request: ").capitalize()
    assert [c.status for c in fake.calls_to("editMessageReplyMarkup")] == [200, 400]


async def test_edit_message_text_not_modified_only_when_nothing_changes(bot: Bot) -> None:
    sent = await bot.send_message(42, "Absen", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Absen", 42, sent.message_id, reply_markup=KEYBOARD)
    # Same text without the markup removes the keyboard: a change.
    edited = await bot.edit_message_text("Absen", 42, sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    # A message the fake never sent (e.g. from callback_update) can be edited too.
    other = await bot.edit_message_text("Tercatat", 42, 9999)
    assert isinstance(other, Message) and other.message_id == 9999


# ------------------------------------------------------------------ errors


async def test_retry_after(
    bot: Bot, fake: FakeTelegramApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.fail_next("sendMessage", retry_after=2, times=2)

    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22.8: opt in to timedelta
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(42, "hi")
    assert raised.value.retry_after == dtm.timedelta(seconds=2)

    monkeypatch.delenv("PTB_TIMEDELTA")  # default: int seconds, with a deprecation warning
    with pytest.warns(PTBDeprecationWarning, match="retry_after"):
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(42, "hi")
        assert raised.value.retry_after == 2

    await bot.send_message(42, "hi")  # the fault is used up
    assert [c.status for c in fake.calls_to("sendMessage")] == [429, 429, 200]
    assert fake.sent_messages() and len(fake.sent_messages()) == 1


async def test_forbidden_when_blocked(bot: Bot, fake: FakeTelegramApi) -> None:
    fake.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "hi")


async def test_bad_request_with_own_description(bot: Bot, fake: FakeTelegramApi) -> None:
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(42, "hi")


async def test_drop_next_is_a_network_error(
    bot: Bot, fake: FakeTelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.drop_next("sendMessage")
    with pytest.raises(NetworkError, match="peer closed connection"):
        await bot.send_message(42, "hi")
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]
    assert fake.calls_to("sendMessage")[0].status == 0
    assert fake.sent_messages() == []
    await bot.send_message(42, "again")  # a fresh connection works
    assert fake.sent_messages()[0]["text"] == "again"


# ------------------------------------------------------------------ files


async def test_send_photo_bytes_is_recorded_and_downloadable(
    bot: Bot, fake: FakeTelegramApi
) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\r\n--x\r\n"
    message = await bot.send_photo(42, jpeg, caption="Bukti kunjungan")

    [call] = fake.calls_to("sendPhoto")
    assert call.params["chat_id"] == 42
    assert call.params["caption"] == "Bukti kunjungan"
    assert call.params["photo"]["size"] == len(jpeg)
    assert call.params["photo"]["filename"]
    assert call.files["photo"] == jpeg
    assert message.caption == "Bukti kunjungan"

    file = await bot.get_file(message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == jpeg


async def test_send_document_and_default_file_download(bot: Bot, fake: FakeTelegramApi) -> None:
    message = await bot.send_document(-100123, b"PK\x03\x04data", filename="laporan.xlsx")
    assert message.document is not None
    assert message.document.file_name == "laporan.xlsx"
    assert fake.calls_to("sendDocument")[0].params["document"]["filename"] == "laporan.xlsx"

    file = await bot.get_file("photo-abc")  # unknown file ids serve placeholder bytes
    assert file.file_path is not None and file.file_path.endswith("photos/photo-abc.jpg")
    assert bytes(await file.download_as_bytearray()) == b"fakejpeg"
    assert fake.downloads[-1] == "photos/photo-abc.jpg"


# ------------------------------------------------------------------ updates and webhook


async def test_get_updates_returns_pushed_updates(bot: Bot, fake: FakeTelegramApi) -> None:
    fake.push_update(text_update(1, 42, "/start"))
    fake.push_update(callback_update(2, 42, "att:7:hadir", message_id=5))

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [1, 2]
    assert updates[0].message is not None and updates[0].message.text == "/start"
    assert isinstance(updates[1].callback_query, CallbackQuery)

    assert await bot.get_updates(offset=3, timeout=0) == ()  # acknowledges 1 and 2
    assert fake.updates == []

    # A long poll answers as soon as an update arrives.
    poll = asyncio.create_task(bot.get_updates(offset=3, timeout=5))
    await asyncio.sleep(0.05)
    fake.push_update(text_update(3, 42, "halo"))
    [update] = await asyncio.wait_for(poll, 1.0)
    assert update.update_id == 3


async def test_set_webhook_round_trip(bot: Bot, fake: FakeTelegramApi) -> None:
    url = "https://bot.example.id/telegram/webhook"
    assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])
    assert fake.calls_to("setWebhook")[0].params == {
        "url": url,
        "secret_token": "s3cret",
        "allowed_updates": ["message"],
    }
    info = await bot.get_webhook_info()
    assert (info.url, info.allowed_updates, info.pending_update_count) == (url, ("message",), 0)
    assert fake.webhook_secret_token == "s3cret"

    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""


async def test_application_polling_against_the_fake(fake: FakeTelegramApi) -> None:
    fake.max_poll_wait = 0.2

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Halo {context.args}")

    app = fake.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=1))
        await app.start()
        fake.push_update(text_update(10, 42, "/start kpm"))
        [reply] = await fake.wait_for("sendMessage", timeout=3)
        await app.updater.stop()
        await app.stop()
    assert reply.params["chat_id"] == 42
    assert reply.params["text"] == "Halo ['kpm']"


async def test_wait_for_reports_what_it_saw(bot: Bot, fake: FakeTelegramApi) -> None:
    await bot.send_message(42, "hi")
    with pytest.raises(AssertionError, match="sendPhoto.*sendMessage"):
        await fake.wait_for("sendPhoto", timeout=0.05)


# ------------------------------------------------------------------ update builders

OFFLINE_BOT = Bot(DEFAULT_TOKEN)  # de_json only links objects to it: it makes no request
BUILDERS: list[tuple[str, Callable[[], dict[str, Any]], Callable[[Update], None]]] = []


def _case(name: str, build: Callable[[], dict[str, Any]]) -> Callable[..., Any]:
    def register(check: Callable[[Update], None]) -> Callable[[Update], None]:
        BUILDERS.append((name, build, check))
        return check

    return register


@_case("text", lambda: text_update(1, 42, "/absen@PendampingTestBot 2026-01-05"))
def _check_text(update: Update) -> None:
    message = update.message
    assert message is not None and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.id == 42
    assert message.text == "/absen@PendampingTestBot 2026-01-05"
    assert message.parse_entities() == {message.entities[0]: "/absen@PendampingTestBot"}
    assert message.entities[0].type == "bot_command"


@_case("group text", lambda: text_update(2, -1001234, "halo", user_id=77, username="ani_pkh"))
def _check_group_text(update: Update) -> None:
    message = update.message
    assert message is not None and message.chat.type == "supergroup" and message.chat.title
    assert message.from_user is not None and message.from_user.username == "ani_pkh"
    assert not message.entities


@_case("callback", lambda: callback_update(3, 42, "att:7:hadir", message_id=5))
def _check_callback(update: Update) -> None:
    query = update.callback_query
    assert query is not None and query.data == "att:7:hadir"
    assert isinstance(query.message, Message) and query.message.message_id == 5
    assert query.message.from_user is not None and query.message.from_user.is_bot
    assert query.from_user.id == 42


@_case("photo", lambda: photo_update(4, 42, caption="KPM Siti", file_id="photo-abc"))
def _check_photo(update: Update) -> None:
    message = update.message
    assert message is not None and message.caption == "KPM Siti"
    assert message.photo[-1].file_id == "photo-abc"
    assert [p.width for p in message.photo] == sorted(p.width for p in message.photo)


@_case("contact", lambda: contact_update(5, 42, "6281234567890", contact_user_id=42))
def _check_contact(update: Update) -> None:
    message = update.message
    assert message is not None and message.contact is not None
    assert message.contact.phone_number == "6281234567890"
    assert message.contact.user_id == 42 == (message.from_user and message.from_user.id)


@_case("document", lambda: document_update(6, 42, file_name="daftar.xlsx"))
def _check_document(update: Update) -> None:
    message = update.message
    assert message is not None and message.document is not None
    assert message.document.file_name == "daftar.xlsx"
    assert message.document.mime_type is not None and "spreadsheetml" in message.document.mime_type


@_case("group added", lambda: group_added_update(7, -4001234, by_user_id=77))
def _check_group_added(update: Update) -> None:
    member = update.my_chat_member
    assert member is not None and member.chat.type == "group"
    assert member.from_user.id == 77
    assert (member.old_chat_member.status, member.new_chat_member.status) == ("left", "member")
    assert member.new_chat_member.user.id == BOT_ID
    assert update.effective_chat is not None and update.effective_chat.id == -4001234


@pytest.mark.parametrize(("name", "build", "check"), BUILDERS, ids=[b[0] for b in BUILDERS])
async def test_update_builders_round_trip(
    name: str,
    build: Callable[[], dict[str, Any]],
    check: Callable[[Update], None],
) -> None:
    data = build()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PTB warns on shapes it has to guess at
        update = Update.de_json(data, OFFLINE_BOT)
    assert update.update_id == data["update_id"]
    _no_unknown_fields(update)
    check(update)
