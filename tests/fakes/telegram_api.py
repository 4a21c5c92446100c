"""A local HTTP fake of the Telegram Bot API, for tests that drive python-telegram-bot for real.

The fake is an ASGI app served by uvicorn on ``127.0.0.1`` (an ephemeral port) inside the running
event loop. It answers ``POST /bot<token>/<method>`` with the JSON shapes and status codes Telegram
uses, so the real request layer (``telegram.request.HTTPXRequest``) and PTB's error mapping run
in tests::

    async with FakeTelegramApi() as fake:
        bot = telegram.Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        async with bot:
            await bot.send_message(42, "Halo")
        assert fake.calls_to("sendMessage")[0].params == {"chat_id": 42, "text": "Halo"}

PTB sends parameters as ``application/x-www-form-urlencoded`` (``multipart/form-data`` when a
file is uploaded): string values go as they are and every other value is JSON-encoded (numbers,
booleans, ``reply_markup``, ``allowed_updates``...). The fake decodes them back, so ``Call.params``
holds ``{"chat_id": 42, "reply_markup": {"inline_keyboard": [...]}}``; uploaded files appear as
``{"filename": ..., "size": ..., "mime_type": ...}`` with their bytes in ``Call.files``.

The module also builds raw ``Update`` JSON the way Telegram sends it (:func:`text_update`,
:func:`callback_update`, ...), for ``push_update`` (polling) or ``Update.de_json`` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import ipaddress
import json
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from telegram import Bot
from telegram.ext import ApplicationBuilder
from telegram.request import HTTPXRequest

from tests.fakes.local_server import LocalServer

DEFAULT_TOKEN = "123456:TEST-TOKEN"
BOT_ID = 123456
BOT_FIRST_NAME = "Pendamping PKH"
BOT_USERNAME = "PendampingTestBot"

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
POLLING_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: POLLING_CONFLICT,
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# Bot API parameters of type String: PTB sends them unencoded, so they must not be JSON-decoded
# ("123" stays a string).
_STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "custom_title",
        "description",
        "emoji",
        "error_message",
        "explanation",
        "file_id",
        "first_name",
        "foursquare_id",
        "foursquare_type",
        "game_short_name",
        "google_place_id",
        "google_place_type",
        "inline_message_id",
        "inline_query_id",
        "invite_link",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "phone_number",
        "pre_checkout_query_id",
        "provider_token",
        "question",
        "secret_token",
        "shipping_query_id",
        "short_description",
        "start_parameter",
        "text",
        "title",
        "url",
        "vcard",
    }
)
# InputFile parameters: a file_id / URL / "attach://name" string, or an uploaded part.
_FILE_PARAMS = frozenset(
    {
        "animation",
        "audio",
        "certificate",
        "document",
        "photo",
        "sticker",
        "thumbnail",
        "video",
        "video_note",
        "voice",
    }
)
# Update types Telegram leaves out unless named in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_METHOD_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z_]\w*)/?")
_FILE_PATH = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)")
_TOKEN_SHAPE = re.compile(r"\d+:[\w-]+")
_HTML_TAG = re.compile(r"<[^>]*>")

_DROP_LOG = "ASGI callable returned without completing response."

DEFAULT_FILE_CONTENT = b"fakejpeg"


@dataclass
class Call:
    """One Bot API request the fake received.

    ``status`` is the HTTP status the fake answered (0: connection dropped). ``files`` maps an
    uploaded multipart field to its bytes (``params`` holds its filename, size and mime type).
    """

    method: str
    params: dict[str, Any]
    status: int = 200
    files: dict[str, bytes] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by a method handler (also custom ones given to :meth:`FakeTelegramApi.on`) to
    answer ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class _Fault:
    status: int  # 0: drop the connection
    description: str
    retry_after: int | None
    remaining: int


@dataclass
class _Described:
    """A successful result that Telegram answers with a top-level "description" too."""

    result: Any
    description: str


@dataclass
class _Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


Handler = Callable[[dict[str, Any]], Any]
_Receive = Callable[[], Awaitable[dict[str, Any]]]
_Send = Callable[[dict[str, Any]], Awaitable[None]]


class _DropLogFilter(logging.Filter):
    """Hides uvicorn's error line for the responses :meth:`FakeTelegramApi.drop_next` cuts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_LOG


class FakeTelegramApi:
    """A Telegram Bot API server on 127.0.0.1 that records calls and answers like Telegram.

    Use as ``async with FakeTelegramApi() as fake:`` (or ``await fake.start()`` /
    ``await fake.stop()``) inside the test's event loop, then give ``fake.base_url`` and
    ``fake.base_file_url`` to ``telegram.Bot`` or ``Application.builder()``.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, *, max_poll_wait: float = 1.0) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else BOT_ID
        self.max_poll_wait = max_poll_wait
        self.calls: list[Call] = []
        # Messages the bot sent or edited, as Telegram returned them, by (chat_id, message_id).
        self.messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        # Chat objects to answer for a chat_id instead of the default private/supergroup one.
        self.chats: dict[int | str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []  # queued, not yet confirmed by getUpdates
        self.webhook_url = ""
        self.webhook_secret_token: str | None = None
        self.allowed_updates: list[str] | None = None
        self.commands: list[dict[str, Any]] = []
        self.downloads: list[str] = []
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._faults: dict[str, list[_Fault]] = {}
        self._custom: dict[str, Handler] = {}
        self._edit_state: dict[tuple[int | str, int], tuple[Any, ...]] = {}
        self._next_message_id = 1
        self._next_file = 1
        self._updates_changed = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._server = LocalServer(self._app, "fake-telegram-api")
        self._port: int | None = None
        self._log_filter = _DropLogFilter()
        self._methods: dict[str, Callable[[Call], Awaitable[Any]]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._true,
            "leavechat": self._true,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "getfile": self._get_file,
        }

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegramApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve on 127.0.0.1 at a free port, as a task of the running event loop."""
        self._closing = False
        logging.getLogger("uvicorn.error").addFilter(self._log_filter)
        try:
            self._port = await self._server.start()
        except BaseException:
            logging.getLogger("uvicorn.error").removeFilter(self._log_filter)
            raise

    async def stop(self) -> None:
        """Stop serving; long polls still waiting answer ``[]`` first."""
        if not self._server.running:
            return
        self._closing = True
        self._wake_pollers()
        try:
            await self._server.stop()
        finally:
            logging.getLogger("uvicorn.error").removeFilter(self._log_filter)
            self._port = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramApi is not running: use `async with` or start()")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    # ----------------------------------------------------------------- clients

    def request(self, *, connection_pool_size: int = 256, **kwargs: Any) -> HTTPXRequest:
        """PTB's default request class, sharing one TLS context between tests.

        Building the TLS context costs ~50 ms per httpx client (a Bot has two); the fake is
        plain HTTP, so sharing it changes nothing but the test run time.
        """
        httpx_kwargs = {"verify": _shared_ssl_context(), **kwargs.pop("httpx_kwargs", {})}
        return HTTPXRequest(
            connection_pool_size=connection_pool_size, httpx_kwargs=httpx_kwargs, **kwargs
        )

    def bot(self) -> Bot:
        """A ``telegram.Bot`` talking to this fake (use ``async with fake.bot() as bot:``)."""
        return Bot(
            self.token,
            base_url=self.base_url,
            base_file_url=self.base_file_url,
            request=self.request(),
            get_updates_request=self.request(connection_pool_size=1),
        )

    def application_builder(self) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """``Application.builder()`` with token, URLs and requests set for this fake."""
        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
            .request(self.request())
            .get_updates_request(self.request(connection_pool_size=1))
        )

    # ----------------------------------------------------------------- test controls

    def calls_to(self, method: str) -> list[Call]:
        """Calls of ``method`` (Telegram method names are case-insensitive), in order."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def fail_next(
        self,
        method: str,
        *,
        retry_after: int | None = None,
        status: int = 429,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with a Bot API error.

        Status 429 (the default) carries ``parameters.retry_after`` (``retry_after`` or 1), as
        Telegram's flood control does; PTB raises ``RetryAfter``. Other statuses answer
        ``error_code``/``description`` only: 400 -> ``BadRequest``, 403 -> ``Forbidden`` (default
        description "Forbidden: bot was blocked by the user"), 409 -> ``Conflict``,
        5xx -> ``NetworkError``.
        """
        if status == 429:
            seconds = 1 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {seconds}"
            fault = _Fault(429, text, seconds, times)
        else:
            text = description or _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            fault = _Fault(status, text, retry_after, times)
        self._faults.setdefault(method.lower(), []).append(fault)

    def drop_next(self, method: str, times: int = 1, *, after: int = 0) -> None:
        """Cut the connection mid-answer for the next ``times`` calls of ``method`` (the
        first ``after`` calls are answered normally).

        The fake starts a 200 answer and closes the socket before the body is complete, so httpx
        raises ``RemoteProtocolError`` and PTB raises ``NetworkError``. The call is recorded with
        status 0 and has no effect (nothing is sent or stored).
        """
        queue = self._faults.setdefault(method.lower(), [])
        if after:
            queue.append(_Fault(200, "", None, after))  # answered as usual
        queue.append(_Fault(0, "", None, times))

    def on(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(params)`` as the result (overrides a built-in one).

        The handler may raise :class:`ApiError` to answer an error.
        """
        self._custom[method.lower()] = handler

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue raw Update JSON for getUpdates (and wake a waiting long poll)."""
        self.updates.append(update)
        self._wake_pollers()

    def add_file(self, file_id: str, content: bytes, *, file_path: str | None = None) -> str:
        """Make getFile know ``file_id`` and the file URL serve ``content``; returns the path."""
        path = file_path or _default_file_path(file_id)
        self._files[file_id] = (path, content)
        return path

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (and still stored, as last edited), oldest first."""
        return [
            message
            for (chat, _), message in sorted(self.messages.items(), key=lambda kv: kv[0][1])
            if chat_id is None or chat == chat_id
        ]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of this helper's API
    ) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` were received; returns them all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            if loop.time() >= deadline:
                seen = [(call.method, call.status, call.params) for call in self.calls]
                raise AssertionError(
                    f"expected {count} call(s) of {method} within {timeout}s, got {len(found)}; "
                    f"calls seen: {seen!r}"
                )
            await asyncio.sleep(0.01)

    async def deliver_to_webhook(self, update: dict[str, Any]) -> httpx.Response:
        """POST ``update`` to the webhook set with setWebhook, as Telegram does (with the
        ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set). Loopback URLs only."""
        if not self.webhook_url:
            raise AssertionError("no webhook is set (setWebhook was not called)")
        host = urlsplit(self.webhook_url).hostname or ""
        if host != "localhost":
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise AssertionError(f"refusing to deliver outside this machine: {host!r}")
        headers = {}
        if self.webhook_secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret_token
        async with httpx.AsyncClient() as client:
            return await client.post(self.webhook_url, json=update, headers=headers)

    # ----------------------------------------------------------------- ASGI app

    async def _app(self, scope: dict[str, Any], receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        path: str = scope["path"]

        file_match = _FILE_PATH.fullmatch(path)
        if file_match:
            await self._serve_file(file_match["token"], file_match["path"], send)
            return

        match = _METHOD_PATH.fullmatch(path)
        if not match:
            await _send_error(send, ApiError(404, "Not Found"))
            return
        if match["token"] != self.token:
            await _send_error(send, _token_error(match["token"]))
            return

        method = match["method"]
        try:
            params, files = _parse_params(scope, body)
        except ValueError as exc:
            await _send_error(send, ApiError(400, f"Bad Request: {exc}"))
            return
        call = Call(method=method, params=params, files=files)
        self.calls.append(call)

        fault = self._take_fault(method)
        if fault is not None and fault.status == 200:
            fault = None  # a call let through before the faults that follow it
        if fault is not None and fault.status == 0:
            call.status = 0
            await _drop(send)
            return
        try:
            if fault is not None:
                parameters = None
                if fault.retry_after is not None:
                    parameters = {"retry_after": fault.retry_after}
                raise ApiError(fault.status, fault.description, parameters)
            result = await self._answer(call)
        except ApiError as error:
            call.status = error.status
            await _send_error(send, error)
            return
        payload: dict[str, Any] = {"ok": True}
        if isinstance(result, _Described):
            payload["result"] = result.result
            payload["description"] = result.description
        else:
            payload["result"] = result
        await _send_json(send, 200, payload)

    async def _serve_file(self, token: str, path: str, send: _Send) -> None:
        if token != self.token:
            await _send_error(send, _token_error(token))
            return
        self.downloads.append(path)
        content = next(
            (data for file_path, data in self._files.values() if file_path == path),
            DEFAULT_FILE_CONTENT,
        )
        await _send_bytes(send, 200, content, b"application/octet-stream")

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method.lower())
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    async def _answer(self, call: Call) -> Any:
        key = call.method.lower()
        custom = self._custom.get(key)
        if custom is not None:
            result = custom(call.params)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        handler = self._methods.get(key)
        if handler is None:
            raise ApiError(404, "Not Found")
        return await handler(call)

    def _wake_pollers(self) -> None:
        event, self._updates_changed = self._updates_changed, asyncio.Event()
        event.set()

    # ----------------------------------------------------------------- Bot API methods

    async def _true(self, call: Call) -> bool:
        return True

    async def _get_me(self, call: Call) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _send_message(self, call: Call) -> dict[str, Any]:
        params = call.params
        chat_id = _chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain = _plain_text(text, params.get("parse_mode"))
        if _utf16_len(plain) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _inline_markup(params)
        state = (text, params.get("parse_mode"), markup)
        return self._new_message(chat_id, {"text": plain}, markup, state)

    async def _send_photo(self, call: Call) -> dict[str, Any]:
        params = call.params
        chat_id = _chat_id(params)
        photo = params.get("photo")
        if photo is None:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        n = self._next_file
        self._next_file += 1
        if isinstance(photo, str) and not photo.startswith(("http://", "https://", "attach://")):
            file_id = photo
        else:
            file_id = f"photo-{n}"
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{n}",
                    "width": 800,
                    "height": 600,
                    "file_size": photo["size"] if isinstance(photo, dict) else 45678,
                }
            ]
        }
        self._store_upload(file_id, call, "photo", f"photos/file_{n}.jpg")
        caption = self._caption(params, content)
        markup = _inline_markup(params)
        state = (caption, params.get("parse_mode"), markup)
        return self._new_message(chat_id, content, markup, state)

    async def _send_document(self, call: Call) -> dict[str, Any]:
        params = call.params
        chat_id = _chat_id(params)
        document = params.get("document")
        if document is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        n = self._next_file
        self._next_file += 1
        doc: dict[str, Any] = {"file_id": f"doc-{n}", "file_unique_id": f"d{n}"}
        if isinstance(document, dict):
            doc["file_name"] = document.get("filename") or "document"
            if document.get("mime_type"):
                doc["mime_type"] = document["mime_type"]
            doc["file_size"] = document.get("size", 0)
        elif not document.startswith(("http://", "https://", "attach://")):
            doc["file_id"] = document
        self._store_upload(doc["file_id"], call, "document", f"documents/file_{n}")
        content: dict[str, Any] = {"document": doc}
        caption = self._caption(params, content)
        markup = _inline_markup(params)
        state = (caption, params.get("parse_mode"), markup)
        return self._new_message(chat_id, content, markup, state)

    async def _edit_message_text(self, call: Call) -> dict[str, Any] | bool:
        params = call.params
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain = _plain_text(text, params.get("parse_mode"))
        if _utf16_len(plain) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _inline_markup(params)
        return self._edit(params, (text, params.get("parse_mode"), markup), {"text": plain}, markup)

    async def _edit_message_caption(self, call: Call) -> dict[str, Any] | bool:
        params = call.params
        content: dict[str, Any] = {"caption": None}
        caption = self._caption(params, content)
        markup = _inline_markup(params)
        return self._edit(params, (caption, params.get("parse_mode"), markup), content, markup)

    async def _edit_message_reply_markup(self, call: Call) -> dict[str, Any] | bool:
        params = call.params
        markup = _inline_markup(params)
        key = _message_key(params)
        if key is None:
            return True
        previous = self._edit_state.get(key)
        state = (*previous[:-1], markup) if previous else (None, None, markup)
        return self._edit(params, state, {}, markup)

    async def _delete_message(self, call: Call) -> bool:
        params = call.params
        key = _message_key(params)
        if key is not None:
            self.messages.pop(key, None)
            self._edit_state.pop(key, None)
        return True

    async def _answer_callback_query(self, call: Call) -> bool:
        params = call.params
        if not params.get("callback_query_id"):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        return True

    async def _set_my_commands(self, call: Call) -> bool:
        params = call.params
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        self.commands = commands
        return True

    async def _get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        return list(self.commands)

    async def _delete_my_commands(self, call: Call) -> bool:
        self.commands = []
        return True

    async def _set_webhook(self, call: Call) -> _Described:
        params = call.params
        url = params.get("url") or ""
        if params.get("drop_pending_updates"):
            self.updates.clear()
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"] or [])
        if not url:
            return await self._delete_webhook(Call("deleteWebhook", {}))
        already = url == self.webhook_url
        self.webhook_url = url
        self.webhook_secret_token = params.get("secret_token")
        self._wake_pollers()  # a waiting getUpdates now conflicts
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    async def _delete_webhook(self, call: Call) -> _Described:
        params = call.params
        if params.get("drop_pending_updates"):
            self.updates.clear()
        had = bool(self.webhook_url)
        self.webhook_url = ""
        self.webhook_secret_token = None
        return _Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def _get_webhook_info(self, call: Call) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
        if self.allowed_updates is not None:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    async def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        params = call.params
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"] or [])
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            del self.updates[: max(0, len(self.updates) + offset)]
        elif isinstance(offset, int) and offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        wait = min(float(timeout), self.max_poll_wait) if isinstance(timeout, int | float) else 0.0

        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # an older long poll still waiting is terminated (409)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            self.updates = [u for u in self.updates if self._is_allowed(u)]
            if self.updates or self._closing:
                return self.updates[:limit]
            if generation != self._poll_generation:
                raise ApiError(409, POLLING_CONFLICT)
            if self.webhook_url:
                raise ApiError(409, WEBHOOK_CONFLICT)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _get_file(self, call: Call) -> dict[str, Any]:
        params = call.params
        file_id = params.get("file_id")
        if not isinstance(file_id, str) or not file_id:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, content = self._files.get(
            file_id, (_default_file_path(file_id), DEFAULT_FILE_CONTENT)
        )
        return {
            "file_id": file_id,
            "file_unique_id": f"f-{_safe(file_id)}",
            "file_size": len(content),
            "file_path": path,
        }

    # ----------------------------------------------------------------- message store

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if isinstance(chat_id, str):
            return {
                "id": -1001000000001,
                "type": "channel",
                "title": chat_id.lstrip("@"),
                "username": chat_id.lstrip("@"),
            }
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Ani"}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _new_message(
        self,
        chat_id: int | str,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        state: tuple[Any, ...],
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._next_message_id += 1
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        self._edit_state[(chat_id, message["message_id"])] = state
        return message

    def _edit(
        self,
        params: dict[str, Any],
        state: tuple[Any, ...],
        content: dict[str, Any],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any] | bool:
        key = _message_key(params)
        if key is None:  # inline message: Telegram answers True
            return True
        if self._edit_state.get(key) == state:
            raise ApiError(400, NOT_MODIFIED)
        chat_id, message_id = key
        message = self.messages.get(key)
        if message is None:  # a message the fake never sent (e.g. from an update builder)
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self._chat(chat_id),
                "date": int(time.time()),
            }
        message = {**message, **content, "edit_date": int(time.time())}
        for name, value in content.items():
            if value is None:  # e.g. editMessageCaption without a caption removes it
                del message[name]
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        self.messages[key] = message
        self._edit_state[key] = state
        return message

    def _caption(self, params: dict[str, Any], content: dict[str, Any]) -> str | None:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None
        plain = _plain_text(str(caption), params.get("parse_mode"))
        if _utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        content["caption"] = plain
        return str(caption)

    def _store_upload(self, file_id: str, call: Call, field_name: str, path: str) -> None:
        params, files = call.params, call.files
        if isinstance(params.get(field_name), dict):
            self._files[file_id] = (path, files.get(field_name, b""))

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _OPT_IN_UPDATES


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


# --------------------------------------------------------------------- request parsing


async def _read_body(receive: _Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _parse_params(scope: dict[str, Any], body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Bot API parameters from the query string and a form, multipart or JSON body."""
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        params[name] = _decode_value(name, value)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    content_type = headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params, files
    if mime == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
    elif mime == "multipart/form-data":
        boundary = _header_param(content_type, "boundary")
        if not boundary:
            raise ValueError("multipart body without boundary")
        for part in _parse_multipart(body, boundary.encode("latin-1")):
            if part.filename is not None:
                params[part.name] = {
                    "filename": part.filename,
                    "size": len(part.data),
                    "mime_type": part.content_type,
                }
                files[part.name] = part.data
            else:
                params[part.name] = _decode_value(part.name, part.data.decode("utf-8"))
    else:  # application/x-www-form-urlencoded
        for name, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[name] = _decode_value(name, value)
    return params, files


def _decode_value(name: str, value: str) -> Any:
    if name in _STRING_PARAMS or name in _FILE_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _header_param(header: str, key: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{key}=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', header)
    if not match:
        return None
    return match[1] if match[1] is not None else match[2]


def _parse_multipart(body: bytes, boundary: bytes) -> list[_Part]:
    parts: list[_Part] = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("malformed multipart part")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        field_name = _header_param(disposition, "name")
        if field_name is None:
            raise ValueError("multipart part without a name")
        filename = _header_param(disposition, "filename")
        if filename is not None:
            filename = filename.replace("%22", '"').replace("\\\\", "\\")
        parts.append(
            _Part(
                name=field_name,
                filename=filename,
                content_type=headers.get("content-type"),
                data=data.removesuffix(b"\r\n"),
            )
        )
    return parts


def _chat_id(params: dict[str, Any]) -> int | str:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int | str):
        raise ApiError(400, "Bad Request: chat not found")
    if isinstance(chat_id, str) and not chat_id.startswith("@"):
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def _message_key(params: dict[str, Any]) -> tuple[int | str, int] | None:
    if params.get("inline_message_id"):
        return None
    chat_id = _chat_id(params)
    message_id = params.get("message_id")
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise ApiError(400, "Bad Request: message identifier is not specified")
    return chat_id, message_id


def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """The reply_markup a sent Message carries: Telegram only echoes inline keyboards."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: field "
            '"inline_keyboard" must be an Array of Arrays',
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _plain_text(text: str, parse_mode: Any) -> str:
    """The text Telegram stores: HTML markup removed (Markdown is left as sent)."""
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        return html.unescape(_HTML_TAG.sub("", text))
    return text


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _safe(file_id: str) -> str:
    return re.sub(r"[^\w.-]", "_", file_id)


def _default_file_path(file_id: str) -> str:
    if file_id.startswith("doc"):
        return f"documents/{_safe(file_id)}"
    return f"photos/{_safe(file_id)}.jpg"


def _token_error(token: str) -> ApiError:
    # Telegram: a well-formed but unknown token is 401, anything else 404.
    if _TOKEN_SHAPE.fullmatch(token):
        return ApiError(401, "Unauthorized")
    return ApiError(404, "Not Found")


# --------------------------------------------------------------------- responses


async def _send_bytes(send: _Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: _Send, status: int, payload: dict[str, Any]) -> None:
    await _send_bytes(send, status, json.dumps(payload).encode("utf-8"), b"application/json")


async def _send_error(send: _Send, error: ApiError) -> None:
    payload: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    if error.parameters:
        payload["parameters"] = error.parameters
    await _send_json(send, error.status, payload)


async def _drop(send: _Send) -> None:
    """Promise a body, send part of it and return: uvicorn closes the socket mid-response."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"ok":', "more_body": True})


# --------------------------------------------------------------------- update builders

_NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: fixed, so builders are deterministic


def _user(user_id: int, first_name: str, username: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": "id",
    }
    if username:
        user["username"] = username
    return user


def _bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


def _chat_for(
    chat_id: int,
    chat_type: str | None,
    *,
    first_name: str = "Ani",
    username: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    kind = chat_type or ("private" if chat_id > 0 else "supergroup")
    if kind == "private":
        chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        return chat
    return {"id": chat_id, "type": kind, "title": title or "PKH Kecamatan"}


def _sender_id(chat_id: int, user_id: int | None) -> int:
    if user_id is not None:
        return user_id
    return chat_id if chat_id > 0 else 700_001


def _message(
    update_id: int,
    chat_id: int,
    *,
    user_id: int | None,
    first_name: str,
    username: str | None = None,
    chat_type: str | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    return {
        "message_id": message_id if message_id is not None else update_id,
        "from": _user(_sender_id(chat_id, user_id), first_name, username),
        "chat": _chat_for(chat_id, chat_type, first_name=first_name, username=username),
        "date": _NOW,
    }


def text_update(
    update_id: int,
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    chat_type: str | None = None,
    username: str | None = None,
    first_name: str = "Ani",
    message_id: int | None = None,
) -> dict[str, Any]:
    """A text message; "/cmd args" gets the bot_command entity Telegram adds.

    ``chat_type`` defaults to "private" for a positive chat_id and "supergroup" otherwise; the
    sender defaults to the chat_id in private chats. ``message_id`` defaults to ``update_id``.
    """
    message = _message(
        update_id,
        chat_id,
        user_id=user_id,
        first_name=first_name,
        username=username,
        chat_type=chat_type,
        message_id=message_id,
    )
    message["text"] = text
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    *,
    message_id: int,
    message_text: str = "...",
    user_id: int | None = None,
    first_name: str = "Ani",
    reply_markup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A press on an inline button of the bot's message ``message_id`` in ``chat_id``."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": _bot_user(),
        "chat": _chat_for(chat_id, None, first_name=first_name),
        "date": _NOW - 60,
        "text": message_text,
    }
    if reply_markup is not None:
        message["reply_markup"] = reply_markup
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(4_000_000_000_000_000_000 + update_id),
            "from": _user(_sender_id(chat_id, user_id), first_name),
            "message": message,
            "chat_instance": str(-5_000_000_000_000_000_000 - abs(chat_id)),
            "data": data,
        },
    }


def photo_update(
    update_id: int,
    chat_id: int,
    *,
    caption: str | None = None,
    file_id: str = "photo-abc",
    user_id: int | None = None,
    first_name: str = "Ani",
) -> dict[str, Any]:
    """A photo message: three sizes, the largest (last) one with ``file_id``."""
    message = _message(update_id, chat_id, user_id=user_id, first_name=first_name)
    message["photo"] = [
        {
            "file_id": f"{file_id}-s",
            "file_unique_id": f"{file_id}-us",
            "file_size": 1_234,
            "width": 90,
            "height": 68,
        },
        {
            "file_id": f"{file_id}-m",
            "file_unique_id": f"{file_id}-um",
            "file_size": 15_678,
            "width": 320,
            "height": 240,
        },
        {
            "file_id": file_id,
            "file_unique_id": f"{file_id}-u",
            "file_size": 98_765,
            "width": 1280,
            "height": 960,
        },
    ]
    if caption is not None:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def contact_update(
    update_id: int,
    chat_id: int,
    phone_number: str,
    *,
    contact_user_id: int | None,
    user_id: int | None = None,
    first_name: str = "Siti",
) -> dict[str, Any]:
    """A shared contact (own contact: ``contact_user_id == user_id``).

    Telegram passes ``phone_number`` as the client gave it: often without "+" ("628...").
    """
    message = _message(update_id, chat_id, user_id=user_id, first_name=first_name)
    contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    message["contact"] = contact
    return {"update_id": update_id, "message": message}


def document_update(
    update_id: int,
    chat_id: int,
    *,
    file_name: str = "daftar.xlsx",
    mime_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    file_id: str = "doc-abc",
    file_size: int = 8_192,
    caption: str | None = None,
    user_id: int | None = None,
    first_name: str = "Ani",
) -> dict[str, Any]:
    """A file sent as a document (e.g. an Excel roster)."""
    message = _message(update_id, chat_id, user_id=user_id, first_name=first_name)
    message["document"] = {
        "file_name": file_name,
        "mime_type": mime_type,
        "file_id": file_id,
        "file_unique_id": f"{file_id}-u",
        "file_size": file_size,
    }
    if caption is not None:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def group_added_update(
    update_id: int,
    chat_id: int,
    *,
    by_user_id: int,
    title: str = "PKH Kecamatan",
    chat_type: str = "group",
    first_name: str = "Ani",
) -> dict[str, Any]:
    """``my_chat_member``: the bot was added to a group by ``by_user_id`` (left -> member)."""
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": chat_id, "title": title, "type": chat_type},
            "from": _user(by_user_id, first_name),
            "date": _NOW,
            "old_chat_member": {"user": _bot_user(), "status": "left"},
            "new_chat_member": {"user": _bot_user(), "status": "member"},
        },
    }
