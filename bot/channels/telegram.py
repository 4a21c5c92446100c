"""Telegram, through python-telegram-bot's ``Application`` as the transport.

Every update becomes one :class:`IncomingMessage` for the engine; every :class:`Reply` is
drawn with the Bot API: inline keyboards for options and toggles (toggles redrawn in place),
photos and documents as files, long texts split at Telegram's limit. One rate limiter keeps
to Telegram's limits and waits out ``RetryAfter``; network errors are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType, MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application
from telegram.request import HTTPXRequest
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.channels.text import payload_text
from bot.channels.text import split_text as split_at
from bot.config import TelegramSettings
from handlers.i18n import Translator
from handlers.messages import Document, IncomingMessage, Media, Reply
from handlers.outgoing import REPLY_KIND, reply_of
from models.enums import Channel, OutboxStatus
from models.messaging.inbox import Arrival
from models.messaging.inbox import Claimed as InboxRow
from models.messaging.outbox import Claimed
from models.messaging.sending import SendResult

log = logging.getLogger(__name__)
CHANNEL = "telegram"
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit
T = TypeVar("T")
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
Store = Callable[[Sequence[Arrival]], Awaitable[int]]
"""Keeps arrivals in the inbox (``handlers.inbox.InboxWorkers.store``)."""
FileLoader = Callable[[int], Awaitable[tuple[str, str, bytes] | None]]
"""A stored file by id: (filename, content type, bytes), or None when gone."""


class TelegramRateLimiter(AIORateLimiter):
    """PTB's limiter (overall and per-group limits) plus a per-private-chat limit, which
    PTB's own limiter leaves to the bot. A ``RetryAfter`` is not retried here: it goes back
    to the dispatcher, which waits the time Telegram asked for (``max_retries`` 0)."""

    def __init__(self, settings: TelegramSettings, max_retries: int = 0) -> None:
        super().__init__(
            overall_max_rate=settings.messages_per_second,
            overall_time_period=1,
            group_max_rate=settings.messages_per_minute_per_group,
            group_time_period=60,
            max_retries=max_retries,
        )
        self._per_chat_rate = settings.messages_per_second_per_chat
        self._chat_limiters: dict[int, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._chat_limiters) > 4096:
            self._chat_limiters = {
                key: limiter
                for key, limiter in self._chat_limiters.items()
                if not limiter.has_capacity(limiter.max_rate)
            }
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            # A short burst of three (a note and a prompt) is fine; on average 1/s.
            limiter = AsyncLimiter(max_rate=3 * self._per_chat_rate, time_period=3)
            self._chat_limiters[chat_id] = limiter
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Any],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        if isinstance(chat_id, int) and chat_id > 0:
            async with self._chat_limiter(chat_id):
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


def _request(settings: TelegramSettings, *, connection_pool_size: int) -> HTTPXRequest:
    """PTB's own request class (httpx): ``timeout_seconds`` bounds each of connecting,
    waiting for a pooled connection, writing and reading; a file upload may write for at
    least 20 s. Proxies come from the environment (HTTPS_PROXY, ALL_PROXY, NO_PROXY...), as
    httpx reads them."""
    seconds = settings.timeout_seconds
    return HTTPXRequest(
        connection_pool_size=connection_pool_size,
        read_timeout=seconds,
        write_timeout=seconds,
        connect_timeout=seconds,
        pool_timeout=seconds,
        media_write_timeout=max(20.0, seconds),
    )


def build_application(settings: TelegramSettings) -> Application:
    """The PTB application: PTB's requests with our timeouts, our rate limiter and the Bot
    API URLs. Its bot sends; nothing is received through it (updates go to the inbox: the
    webhook route stores them, :meth:`TelegramChannel.poll` polls them), so it has no
    updater."""
    assert settings.token is not None
    builder = (
        Application.builder()
        .token(settings.token.get_secret_value())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .request(_request(settings, connection_pool_size=256))
        .get_updates_request(_request(settings, connection_pool_size=1))
        .rate_limiter(TelegramRateLimiter(settings))
        .updater(None)
    )
    return builder.build()


def _address(chat_id: int) -> str:
    return f"{CHANNEL}:{chat_id}"


def _chat_id(address: str) -> int:
    """The chat of an address made by :func:`_address`."""
    return int(address.split(":", 1)[1])


def _is_group(chat_type: object) -> bool:
    return chat_type in (ChatType.GROUP, ChatType.SUPERGROUP)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id(owner: User | Chat | None) -> int | None:
    """A user's or chat's id, when it is a number (PTB keeps the JSON's values as sent)."""
    return _int(owner.id) if owner is not None else None


def parse_update(data: dict[str, Any]) -> Update | None:
    """Bot API JSON as python-telegram-bot's :class:`~telegram.Update`, or None when PTB
    cannot read it (a required field missing, a value of the wrong shape). ``data`` is left
    as it was. No bot is attached: the objects are only read, never used to call the API."""
    try:
        return Update.de_json(data, None)
    except Exception:  # any JSON Telegram would not send: ignored, never raised
        return None


def to_incoming(
    update: dict[str, Any], bot_username: str | None, now: datetime
) -> IncomingMessage | None:
    """The engine's message for an update (Bot API JSON), or None for updates the bot
    ignores, including any whose shape it does not know."""
    parsed = parse_update(update)
    return incoming_of(parsed, bot_username, now) if parsed is not None else None


def incoming_of(update: Update, bot_username: str | None, now: datetime) -> IncomingMessage | None:
    """The engine's message for a parsed update, or None for updates the bot ignores."""
    external_id = f"update:{update.update_id}"
    query = update.callback_query
    if query is not None:
        sender = _id(query.from_user)
        origin = query.message
        chat_id = (_id(origin.chat) if origin is not None else None) or sender
        if chat_id is None or sender is None:
            return None
        # A message too old for the bot to see comes with date 0 ("inaccessible").
        seen = origin if isinstance(origin, Message) and origin.is_accessible else None
        message_id = _int(seen.message_id) if seen is not None else None
        return IncomingMessage(
            channel=CHANNEL,
            address=_address(chat_id),
            received_at=now,
            choice=_str(query.data) or "",
            external_id=external_id,
            sender_address=_address(sender),
            origin_ref=str(message_id) if message_id is not None else None,
            origin_text=_str(seen.text) if seen is not None else None,
        )
    member = update.my_chat_member
    if member is not None:
        chat = member.chat
        sender = _id(member.from_user)
        chat_id = _id(chat)
        status = member.new_chat_member.status if member.new_chat_member is not None else None
        added = status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
        group = chat is not None and _is_group(chat.type)
        if not (added and group) or chat_id is None or sender is None:
            return None
        return IncomingMessage(
            channel=CHANNEL,
            address=_address(chat_id),
            received_at=now,
            text="/bantuan",
            external_id=external_id,
            group=True,
            sender_address=_address(sender),
        )
    message = update.message  # an edit (edited_message) or a channel post is not one
    if message is None:
        return None
    sender = _id(message.from_user)
    chat_id = _id(message.chat)
    if sender is None or chat_id is None:
        return None
    group = _is_group(message.chat.type)
    text = (_str(message.text) or _str(message.caption) or "").strip()
    if group and not _addressed_to_us(text, bot_username):
        return None
    contact = message.contact
    contact_phone = None
    if contact is not None and contact.user_id == sender:
        contact_phone = _str(contact.phone_number)  # only one's own number counts
    return IncomingMessage(
        channel=CHANNEL,
        address=_address(chat_id),
        received_at=now,
        text=text,
        media=_media_of(message),
        contact_phone=contact_phone,
        external_id=external_id,
        group=group,
        sender_address=_address(sender),
    )


def from_inbox(row: InboxRow, bot_username: str | None) -> IncomingMessage | None:
    """A stored update (Bot API JSON) as the engine's message, at its arrival time."""
    return to_incoming(row.payload, bot_username, row.received_at)


def _addressed_to_us(text: str, bot_username: str | None) -> bool:
    """In groups: a command without ``@bot`` (Telegram's privacy mode routes those), or
    with our own name; never another bot's command or plain chatter."""
    if not text.startswith("/"):
        return False
    command = text.split(maxsplit=1)[0]
    if "@" not in command:
        return True
    return (
        bot_username is not None and command.split("@", 1)[1].casefold() == bot_username.casefold()
    )


def _media_of(message: Message) -> tuple[Media, ...]:
    """The largest photo (by width x height), else a voice note or audio file, else the
    document (its mime type, or octet-stream when Telegram gives none)."""
    sizes = [size for size in message.photo if _str(size.file_id)]
    if sizes:
        largest = max(sizes, key=lambda size: (_int(size.width) or 0) * (_int(size.height) or 0))
        return (Media(ref=f"telegram-file:{largest.file_id}", content_type="image/jpeg"),)
    for sound in (message.voice, message.audio):
        if sound is not None and _str(sound.file_id):
            kind = _str(sound.mime_type) or "audio/ogg"
            return (Media(ref=f"telegram-file:{sound.file_id}", content_type=kind),)
    document = message.document
    if document is not None and _str(document.file_id):
        return (
            Media(
                ref=f"telegram-file:{document.file_id}",
                content_type=_str(document.mime_type) or "application/octet-stream",
            ),
        )
    return ()


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split at Telegram's message length limit."""
    return split_at(text, limit)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Inline buttons for toggles (one per row) and options (two per row when short)."""
    if reply.request_contact:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(reply.request_contact, request_contact=True)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
    rows: list[list[InlineKeyboardButton]] = []
    for toggle in reply.toggles:
        mark = "⬜" if toggle.on is None else "✅" if toggle.on else "❌"
        rows.append([InlineKeyboardButton(f"{mark} {toggle.label}", callback_data=toggle.value)])
    buttons = [
        InlineKeyboardButton(option.label, callback_data=option.value) for option in reply.options
    ]
    per_row = 2 if buttons and all(len(b.text) <= 18 for b in buttons) else 1
    rows.extend(buttons[i : i + per_row] for i in range(0, len(buttons), per_row))
    for row in rows:
        for button in row:
            data = button.callback_data
            if isinstance(data, str) and len(data.encode()) > CALLBACK_DATA_LIMIT:
                raise ValueError("callback data over Telegram's 64-byte limit")
    return InlineKeyboardMarkup(rows) if rows else None


def _retryable_part(error: BaseException) -> bool:
    """A later part of a message is retried on a network error or a ``retry_after``."""
    network = isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    return network or isinstance(error, RetryAfter)


@dataclass(frozen=True)
class Origin:
    """The message whose button was tapped: a redrawn list edits it in place."""

    message_id: int
    text: str | None


class TelegramChannel:
    """Keeps updates in the inbox (webhook or polling) and sends the engine's replies."""

    def __init__(
        self,
        application: Application,
        *,
        bot_username: str | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_attempts: int = 4,
        retry_wait: float = 0.5,
        answer_in_webhook: bool = False,
        translator: Translator | None = None,
        files: FileLoader | None = None,
        inbox: Store | None = None,
        poll_timeout: int = 50,
    ) -> None:
        self.application = application
        self._store = inbox
        self._poll_timeout = poll_timeout
        self._answering: set[asyncio.Task[None]] = set()
        self._files = files
        self._bot_username = bot_username
        self._clock = clock
        self._retry_attempts = retry_attempts
        self._retry_wait = retry_wait
        self._answer_in_webhook = answer_in_webhook
        self._translator = translator or Translator()

    async def _keep(self, updates: Sequence[tuple[dict[str, Any], Update | None]]) -> None:
        """Store updates, (JSON, parsed), in the inbox (what the bot ignores is not stored)."""
        assert self._store is not None, "a Telegram channel that receives needs an inbox"
        now = self._clock()
        arrivals = []
        for data, update in updates:
            message = incoming_of(update, self._bot_username, now) if update is not None else None
            if message is not None and message.external_id is not None:
                arrivals.append(
                    Arrival(Channel.TELEGRAM, message.external_id, message.address, data)
                )
        await self._store(arrivals)

    async def feed(self, data: dict[str, Any]) -> None:
        """A webhook update: stored before the webhook answers 200."""
        await self._keep([(data, parse_update(data))])

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll ``getUpdates`` until ``stop``: each batch is stored in the inbox
        before the next call confirms it to Telegram (its ``offset``), so an update is
        never confirmed before it is kept (a batch kept but not yet confirmed when the
        process stops comes again, and the inbox keeps it once); a tapped button is
        answered at once."""
        bot = self.application.bot
        offset: int | None = None
        failures = 0
        with contextlib.suppress(TelegramError):  # polling and a webhook exclude each other
            await bot.delete_webhook()
        while not stop.is_set():
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=self._poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except asyncio.CancelledError:
                raise
            except TelegramError as error:
                failures += 1
                log.warning("telegram: getUpdates failed: %s", type(error).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(30.0, 0.5 * 2**failures))
                continue
            if not updates:
                continue
            await self._keep([(update.to_dict(), update) for update in updates])
            offset = updates[-1].update_id + 1
            for update in updates:
                query_id = _str(update.callback_query.id) if update.callback_query else None
                if query_id is not None:
                    task = asyncio.create_task(self._answer(query_id))
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)

    async def send(
        self, chat_id: int, replies: Sequence[Reply], *, origin: Origin | None = None
    ) -> int | None:
        """Draw replies in a chat; a redrawn toggle list edits the tapped message.
        Returns the id of the last message sent or edited."""
        bot = self.application.bot
        last_id = None
        for reply in replies:
            markup = keyboard(reply)
            if (
                reply.edit_previous
                and origin is not None
                and isinstance(markup, InlineKeyboardMarkup)
            ):
                await self._edit(chat_id, origin, reply, markup, again=last_id is not None)
                last_id = origin.message_id
                continue
            document = reply.document
            captioned = (
                document is not None
                and markup is None
                and len(reply.text) <= MessageLimit.CAPTION_LENGTH
            )
            if not captioned:
                chunks = split_text(reply.text)
                for index, chunk in enumerate(chunks):
                    last = index == len(chunks) - 1
                    sent = await self._call(
                        bot.send_message,
                        again=last_id is not None,
                        chat_id=chat_id,
                        text=chunk,
                        reply_markup=markup if last else None,
                    )
                    last_id = sent.message_id
            for media in reply.media:
                sent = await self._call(
                    bot.send_photo, again=last_id is not None, chat_id=chat_id, photo=media.ref
                )
                last_id = sent.message_id
            if document is not None:
                caption = (reply.text or None) if captioned else None
                if document.content_type.startswith("image/"):
                    sent = await self._call(
                        bot.send_photo,
                        again=last_id is not None,
                        chat_id=chat_id,
                        photo=document.content,
                        filename=document.filename,
                        caption=caption,
                    )
                else:
                    sent = await self._call(
                        bot.send_document,
                        again=last_id is not None,
                        chat_id=chat_id,
                        document=document.content,
                        filename=document.filename,
                        caption=caption,
                    )
                last_id = sent.message_id
        return last_id

    async def _edit(
        self,
        chat_id: int,
        origin: Origin,
        reply: Reply,
        markup: InlineKeyboardMarkup,
        *,
        again: bool,
    ) -> None:
        bot = self.application.bot
        try:
            if reply.text == origin.text:
                await self._call(
                    bot.edit_message_reply_markup,
                    again=again,
                    chat_id=chat_id,
                    message_id=origin.message_id,
                    reply_markup=markup,
                )
            else:
                await self._call(
                    bot.edit_message_text,
                    again=again,
                    chat_id=chat_id,
                    message_id=origin.message_id,
                    text=reply.text[:4096],
                    reply_markup=markup,
                )
        except BadRequest as error:
            if "not modified" not in str(error).casefold():
                raise

    async def _answer(self, query_id: str) -> None:
        """Answer a tapped button. A failure only leaves the spinner turning (a tap polled
        long after it was made is "too old" to answer): the step and its replies go on."""
        try:
            await self._call(self.application.bot.answer_callback_query, callback_query_id=query_id)
        except TelegramError as error:
            log.warning("telegram: could not answer a tapped button: %s", type(error).__name__)

    async def _call(
        self, method: Callable[..., Awaitable[T]], *, again: bool = False, **params: Any
    ) -> T:
        """One Bot API call. The dispatcher owns retries: a failure goes back to it, and
        its next attempt sends the whole message again. Only a later part of a message
        (``again``: a part of it already went out) is retried here, on a network error or
        after Telegram's ``retry_after``, since the dispatcher would repeat the parts sent."""
        if not again:
            return await method(**params)
        backoff = wait_exponential_jitter(
            multiplier=self._retry_wait, max=8 * self._retry_wait, jitter=self._retry_wait
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            if isinstance(error, RetryAfter):
                after = error.retry_after
                return after.total_seconds() if isinstance(after, timedelta) else float(after)
            return backoff(state)

        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable_part),
            stop=stop_after_attempt(self._retry_attempts),
            wait=wait,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await method(**params)
        raise AssertionError("unreachable")

    async def send_claimed(self, message: Claimed) -> SendResult:
        """For the outbox dispatcher: one attempt at a queued message (it owns retries).
        A reply is drawn as in a conversation (buttons, a list edited in place, media);
        a ``file_id`` sends that stored file with the text as its caption."""
        chat_id = _chat_id(message.address)
        payload = message.payload
        reply = reply_of(payload, payload_text(payload, self._translator))
        if payload.get("file_id") is not None:
            found = await self._files(int(payload["file_id"])) if self._files else None
            if found is None:
                return SendResult(OutboxStatus.FAILED, error="file expired or missing")
            filename, content_type, content = found
            text = reply.text
            if message.kind != REPLY_KIND:  # a digest's file: its text is a short caption
                text = text[: MessageLimit.CAPTION_LENGTH]
            reply = replace(reply, text=text, document=Document(filename, content, content_type))
        origin = None
        if payload.get("edit") is not None:
            same = bool(payload.get("edit_same_text"))
            origin = Origin(int(payload["edit"]), reply.text if same else None)
        try:
            sent_id = await self.send(chat_id, [reply], origin=origin)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return SendResult(
                OutboxStatus.FAILED,
                error_code="429",
                error="RetryAfter",
                temporary=True,
                retry_after=seconds,
            )
        except (Forbidden, BadRequest) as exc:
            return SendResult(
                OutboxStatus.FAILED, error_code=type(exc).__name__, error=str(exc)[:500]
            )
        except NetworkError as exc:
            return SendResult(
                OutboxStatus.FAILED, error_code="network", error=type(exc).__name__, temporary=True
            )
        return SendResult(OutboxStatus.SENT, provider_id=f"{chat_id}:{sent_id}")

    def webhook_response(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The Bot API call to return in the webhook's HTTP response, saving a request:
        a tapped button is answered there."""
        query = data.get("callback_query")
        if self._answer_in_webhook and isinstance(query, dict) and "id" in query:
            return {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
        return None

    async def check(self) -> tuple[str, str]:
        """For `doctor`: the bot's username and the webhook state."""
        bot = self.application.bot
        me = await bot.get_me()
        webhook = await bot.get_webhook_info()
        state = f"webhook {webhook.url}" if webhook.url else "no webhook (polling)"
        if webhook.last_error_message:
            state += f", last error: {webhook.last_error_message}"
        return f"@{me.username}", state
