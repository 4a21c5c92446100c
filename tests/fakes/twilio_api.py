"""A local HTTP fake of Twilio's Messages REST API, for tests that drive the ``twilio`` SDK.

The fake is an ASGI app served by uvicorn on ``127.0.0.1`` (an ephemeral port) inside the running
event loop. It answers the 2010-04-01 API the way Twilio does (status codes, JSON resources, the
``{"code", "message", "more_info", "status"}`` error body), so the SDK's own request building,
form encoding, Basic auth and error mapping (``TwilioRestException``) all run in tests::

    async with FakeTwilioApi() as fake:
        client = fake.client()  # a twilio.rest.Client pointed at the fake
        message = await asyncio.to_thread(
            client.messages.create, to="whatsapp:+6281234567890",
            from_="whatsapp:+14155238886", body="Halo",
        )
        assert message.status == "queued"
        assert fake.calls[0].params["Body"] == "Halo"

Pointing the SDK at another base URL (twilio 9.x, read from the installed source)
---------------------------------------------------------------------------------
Every REST call goes ``MessageList.create`` -> ``Version`` -> ``Domain.request`` ->
``Client.request`` -> ``http_client.request(method, url, ...)``. The absolute URL is built in
``twilio.base.domain.Domain.absolute_url`` from the *instance attribute* ``Domain.base_url``, which
``twilio.rest.api.ApiBase`` sets to ``"https://api.twilio.com"`` when ``client.api`` is first
touched (it is cached on the client). So the cleanest way, for the sync and the async path alike,
is one assignment after building the client::

    client = twilio.rest.Client(account_sid, auth_token, http_client=http_client)
    client.api.base_url = "http://127.0.0.1:PORT"   # Messages, Accounts: the whole "api" domain
    client.edge = client.region = None              # see below

``client.messages`` is ``client.api.account.messages`` and ``client.api.account.fetch()`` /
``client.api.v2010.accounts(sid).fetch()`` use the same domain, so all of them follow.
Things to know:

* ``edge``/``region`` (arguments, or the ``TWILIO_EDGE``/``TWILIO_REGION`` environment variables,
  which ``ClientBase`` reads from ``os.environ`` even when ``environment={}`` is passed, as an empty
  dict is falsy) make ``ClientBase.get_hostname`` rewrite the URL's host
  (``api.<edge>.<region>.twilio.com``): with a base URL override they must be ``None``, so
  :meth:`FakeTwilioApi.client` clears them.
* Other domains keep their own ``base_url``: :meth:`FakeTwilioApi.point` redirects ``client.api``
  (Messages, Accounts) and ``client.content`` (the Content API, ``https://content.twilio.com``,
  same assignment: ``client.content.base_url = ...``); ``client.messaging`` etc. stay real.
* The alternative is a custom ``http_client`` (the SDK's documented extension point): subclass
  ``TwilioHttpClient`` / ``AsyncTwilioHttpClient`` and, in ``request()``, replace the scheme and
  host of ``url`` (``https://api.twilio.com``, or ``https://api.<edge>.<region>.twilio.com``)
  with the fake's before calling ``super().request``. It works, but needs two subclasses; the
  ``base_url`` assignment needs none.
* ``edge``/``region`` cannot point at another host: they only insert labels into
  ``*.twilio.com``.

Sync and async
--------------
* Sync: the default ``TwilioHttpClient`` (``requests``). ``TwilioHttpClient(timeout=...)`` is
  honoured. The client blocks, so tests call it via ``await asyncio.to_thread(...)`` while the fake
  serves in the loop. ``requests.Session`` trusts proxy environment variables; :meth:`client`
  turns that off so ``127.0.0.1`` is never sent to a proxy.
* Async: supported. Give ``twilio.http.async_http_client.AsyncTwilioHttpClient()`` as
  ``http_client`` (it must be created inside a running loop: it opens an ``aiohttp.ClientSession``
  in ``__init__``) and call ``await client.messages.create_async(...)`` /
  ``await client.api.account.fetch_async()``; the base URL is set the same way. Close it with
  ``await http_client.close()`` (:meth:`FakeTwilioApi.stop` closes the ones it made).
  **Caveat:** ``AsyncTwilioHttpClient`` ignores its constructor's ``timeout`` (it passes the
  per-request ``timeout=None`` to aiohttp, which means *no* timeout at all, not aiohttp's 300 s
  default) and ``create_async`` takes no timeout; wrap the call in ``asyncio.timeout(...)`` or
  subclass it to default ``timeout`` to ``self.timeout``, as :meth:`async_client` does
  (:class:`AsyncHttpClientWithTimeout`).

Exceptions the SDK raises for the fake's answers
-------------------------------------------------
* any 4xx/5xx JSON error: ``twilio.base.exceptions.TwilioRestException`` with ``.status`` (HTTP
  status), ``.code`` (Twilio error code, e.g. 20003, 20429, 21211, 63016) and ``.msg``
  (``"Unable to create record: <message>"``). The response headers (``Retry-After``) are *not*
  on the exception; the SDK keeps the last response on
  ``http_client._test_only_last_response.headers`` only.
* :meth:`FakeTwilioApi.drop_next` (connection closed without an answer): sync
  ``requests.exceptions.ConnectionError`` ("Connection aborted", ``RemoteDisconnected``);
  async ``aiohttp.ServerDisconnectedError`` (an ``aiohttp.ClientConnectionError``).
* :meth:`FakeTwilioApi.delay_next` past the client's timeout: sync
  ``requests.exceptions.ReadTimeout`` (a ``requests.exceptions.Timeout``); async
  ``TimeoutError`` (aiohttp's total timeout; ``asyncio.TimeoutError`` is the same class).

Behaviour notes
---------------
* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` validates like Twilio (required fields,
  E.164 numbers, WhatsApp channel pairing, ContentSid/ContentVariables, 1600-character body) and
  answers 201 with the message resource, status ``queued`` (``accepted`` when only a
  ``MessagingServiceSid`` is given). ``GET .../Messages/{Sid}.json`` and ``GET .../Messages.json``
  read them back; ``GET /2010-04-01/Accounts/{AccountSid}.json`` answers the account resource.
* Real Twilio usually reports WhatsApp's 24-hour-window error 63016 *asynchronously*: the create
  call answers 201 ``queued`` and a status callback later says ``failed`` with ``ErrorCode=63016``
  (see :func:`status_callback_params`). ``fail_next(code=63016)`` simulates the synchronous 400
  variant; a channel should cope with both.
* A number that is not on WhatsApp (:meth:`FakeTwilioApi.not_on_whatsapp`): as Twilio does
  for an unregistered WhatsApp number, a WhatsApp create to it is accepted (201 ``queued``)
  and the message then fails with ``ErrorCode=63003`` (by default; 63024, "invalid message
  recipient", is the other code Meta gives): the fake stores the message as ``failed`` and
  queues the status callback Twilio would post (:meth:`FakeTwilioApi.take_callbacks`, to be
  signed and posted by the test). ``at_once=True`` refuses the create with a 400 of the same
  code instead, as Twilio can for an address it rejects outright. SMS to the number go.
* ``POST /v1/Content`` (JSON body) creates a Content resource (a WhatsApp template) and
  ``GET /v1/Content``, ``GET``/``DELETE /v1/Content/{Sid}`` read and delete them: see
  "Content API" below.
* Webhook builders (:func:`inbound_whatsapp_params`, :func:`inbound_sms_params`,
  :func:`status_callback_params`) produce the form fields Twilio posts to our app;
  :func:`twilio_signature` signs them like Twilio's ``X-Twilio-Signature``.

Content API (templates)
-----------------------
``client.content.v1.contents.create(ContentList.ContentCreateRequest({...}))`` POSTs JSON to
``/v1/Content``; the SDK drops every ``None`` (also inside ``types``) before sending. The fake
validates and answers 201 with the resource as Twilio documents it (``sid`` ``HX...``,
``types`` as sent without nulls, ISO 8601 dates, ``url``/``links`` on
``https://content.twilio.com``), keeps it in :attr:`FakeTwilioApi.contents` and registers its
body in :attr:`FakeTwilioApi.templates`. Supported types: ``twilio/text`` {body},
``twilio/media`` {body, media: [one URL]}, ``twilio/quick-reply`` {body, actions: 1-3 of
{title <= 20 chars, id}}; the other SDK type keys are stored unchecked. Refusals are 400 with
code :data:`CONTENT_ERROR` (20001) and a message naming the problem:

* friendly_name missing, not a string, or longer than 64 characters; language missing or not a
  language code (``id``, ``en``, ``pt_BR``); ``types`` missing or without a non-null type; an
  unknown type key; a body missing or longer than 1024 characters; a twilio/media ``media`` not
  a list of one http(s) URL; twilio/quick-reply ``actions`` not 1-3 of {title, id};
* ``variables`` not numbered "1".."n" without gaps, a sample value empty, a ``{{n}}``
  placeholder not declared in ``variables`` or a declared variable never used, a malformed
  placeholder (``{{ 1 }}``, ``{{name}}``, ``{1}}``);
* WhatsApp's approval rules, which Twilio itself checks only when the template is submitted
  for approval (``approval_create``), are checked at create time so that what the fake accepts
  is also approvable: a body may not start or end with a placeholder, and two placeholders may
  not be adjacent (``{{1}}{{2}}``, also with only whitespace between them).

A duplicate ``friendly_name`` is *accepted*: Twilio documents no uniqueness rule for it (the
WhatsApp template name is given to the approval request), so the fake does not invent one.
A body that is not a JSON object is refused with 400 / 20001 "Request input may be invalid", as
Twilio does: that is what the *stock* ``AsyncTwilioHttpClient`` (twilio 9.x) causes, since it
form-encodes JSON bodies (twilio/twilio-python#932); :class:`AsyncHttpClientWithTimeout`
serializes them, so :meth:`FakeTwilioApi.async_client` can create contents.

Sending a message with the ContentSid of a content created here checks ``ContentVariables``
against its ``variables``: keys must match exactly (see ``strict_content_variables``), values
must be non-empty strings (numbers are accepted) without a newline, a tab or more than four
consecutive spaces (21656 "The ContentVariables Parameter is invalid.") and at most 1024
characters, the limit of the body field they fill (21658 "Parameter exceeded character
limit"). The body of the content's richest type (quick-reply, media, text) is rendered; for
``twilio/media`` the rendered media URL makes ``num_media`` "1" (sid ``MM...``) and is kept in
:attr:`FakeTwilioApi.message_media`. A deleted content's sid is refused with 21655; a
well-formed ContentSid the fake never created renders from ``fake.templates`` (or stays empty)
without checks, as before.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextlib
import email.utils
import json
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.local_server import LocalServer

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "test-auth-token"
API_VERSION = "2010-04-01"
WHATSAPP_SANDBOX_NUMBER = "whatsapp:+14155238886"
DEFAULT_SMS_NUMBER = "+6281100000001"
ACCOUNT_FRIENDLY_NAME = "Pendamping PKH (test)"
MAX_BODY_LENGTH = 1600
CONTENT_BASE_URL = "https://content.twilio.com"
CONTENT_ERROR = 20001  # the code of the fake's Content API validation errors
MAX_FRIENDLY_NAME_LENGTH = 64
MAX_TEMPLATE_BODY_LENGTH = 1024  # a WhatsApp template body; also a variable value in one
MAX_QUICK_REPLIES = 3
MAX_QUICK_REPLY_TITLE_LENGTH = 20
# The type keys of ContentList.Types (twilio 9.x); the first three are validated.
CONTENT_TYPES = (
    "twilio/quick-reply",
    "twilio/media",
    "twilio/text",
    "twilio/location",
    "twilio/list-picker",
    "twilio/call-to-action",
    "twilio/card",
    "twilio/catalog",
    "twilio/carousel",
    "twilio/flows",
    "twilio/schedule",
    "whatsapp/card",
    "whatsapp/authentication",
    "whatsapp/flows",
)
CONTENT_VARIABLES_INVALID = "The ContentVariables Parameter is invalid."

OUTSIDE_WINDOW = (
    "Failed to send freeform message because you are outside the allowed window. If you are "
    "using WhatsApp, please use a Message Template."
)
NOT_ON_WHATSAPP = "Channel could not find To address"
# Default message per Twilio error code, for fail_next(code=...) without a message.
ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service is unavailable. Please try again",
    21211: "The 'To' number is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' "
    "number",
    21610: "Attempt to send to unsubscribed recipient",
    21655: "The ContentSid is Invalid.",
    21656: CONTENT_VARIABLES_INVALID,
    21658: "Parameter exceeded character limit",
    63003: NOT_ON_WHATSAPP,
    63016: OUTSIDE_WINDOW,
    63024: "Invalid message recipient",
}
# Twilio error code a status answers with when fail_next is given only a status.
_STATUS_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 502: 20500, 503: 20503}

# "messages": creating a message; "account": GET the account; "content": any Content API call.
Endpoint = Literal["messages", "account", "content", "media", "any"]

_ACCOUNT_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)\.json")
_MESSAGES_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json")
_MEDIA_PATH = re.compile(
    rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<message>[^/]+)"
    rf"/Media/(?P<sid>ME[0-9a-f]+)(?P<json>\.json)?"
)
_MESSAGE_PATH = re.compile(
    rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json"
)
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
_CONTENTS_PATH = re.compile(r"/v1/Content")
_CONTENT_PATH = re.compile(r"/v1/Content/(?P<sid>[^/]+)")
_TEMPLATE_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_VARIABLE_KEY = re.compile(r"[1-9]\d*")
_ADJACENT_PLACEHOLDERS = re.compile(r"\}\}\s*\{\{")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,4})?")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_REPEATABLE = frozenset({"MediaUrl", "PersistentAction"})
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass
class Call:
    """One request the fake received.

    ``params`` holds the form fields (query parameters for a GET) as strings; a repeatable field
    (``MediaUrl``) is always a list. For a JSON body (the Content API) ``params`` holds the
    query parameters and the decoded JSON object's keys, values as decoded. ``body`` is the raw
    request body. ``status`` is the HTTP status the fake answered (0: the connection was
    dropped). ``error`` says why a 4xx was answered, in the fake's words (Twilio's message can be
    vaguer, e.g. 21656). ``disconnected`` is set when the client hung up before a delayed
    answer. ``at`` is the wall-clock arrival time.
    """

    method: str
    path: str
    params: dict[str, Any]
    status: int = 0
    auth_ok: bool = False
    disconnected: bool = False
    at: float = field(default_factory=time.time)
    body: bytes = field(default=b"", repr=False)
    error: str = ""


class TwilioError(Exception):
    """A Twilio REST error answer: ``{"code", "message", "more_info", "status"}``."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        headers: Sequence[tuple[bytes, bytes]] = (),
        *,
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)
        self.reason = reason or message  # recorded as Call.error, not sent

    def payload(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class _Fault:
    kind: Literal["fail", "drop", "delay"]
    endpoint: Endpoint
    remaining: int
    error: TwilioError | None = None
    seconds: float = 0.0


_Receive = Callable[[], Awaitable[dict[str, Any]]]
_Send = Callable[[dict[str, Any]], Awaitable[None]]


_JSON_CONTENT_TYPES = frozenset({"application/json", "application/scim+json"})


class AsyncHttpClientWithTimeout(AsyncTwilioHttpClient):
    """``AsyncTwilioHttpClient`` that applies its constructor ``timeout`` to every request and
    sends JSON bodies as JSON.

    The stock class stores ``timeout`` but passes the per-request value (always ``None`` from
    ``create_async``) to aiohttp, which then waits forever. It also hands a JSON request's dict
    (``Content-Type: application/json``, e.g. the Content API's create) to aiohttp as ``data``,
    which form-encodes it under the JSON header, and Twilio answers 400 (twilio/twilio-python
    #932; the sync ``TwilioHttpClient`` sends ``json=``). This class serializes such a body.
    """

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's HttpClient signature
        **kwargs: Any,
    ) -> TwilioResponse:
        headers = kwargs.get("headers") or {}
        data = kwargs.get("data")
        if headers.get("Content-Type") in _JSON_CONTENT_TYPES and isinstance(data, dict | list):
            kwargs["data"] = json.dumps(data)
        return await super().request(
            method, url, *args, timeout=timeout if timeout is not None else self.timeout, **kwargs
        )


class FakeTwilioApi:
    """Twilio's Messages and Content REST APIs on 127.0.0.1, recording calls and answering like
    Twilio.

    Use as ``async with FakeTwilioApi() as fake:`` (or ``await fake.start()`` /
    ``await fake.stop()``) inside the test's event loop, then talk to it with :meth:`client`
    (sync SDK) or :meth:`async_client`, or :meth:`point` a client of your own at it.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.calls: list[Call] = []
        # Message resources as answered (and later updated by set_status), by sid, in order.
        self.messages: dict[str, dict[str, Any]] = {}
        # ContentSid -> template text with {{1}}-style placeholders, to render a sent body.
        # Contents created through the Content API register their body here too.
        self.templates: dict[str, str] = {}
        # Content resources created through POST /v1/Content (as answered), by sid, in order.
        self.contents: dict[str, dict[str, Any]] = {}
        self._deleted_contents: set[str] = set()
        # Sending a created content: ContentVariables must have exactly its variables' keys
        # (21656 otherwise). False: Twilio's documented leniency, a missing key falls back to
        # the sample value in `variables` and an unknown key is ignored.
        self.strict_content_variables = True
        # Message sid -> media URLs it carries (MediaUrl, or a twilio/media content's URL).
        self.message_media: dict[str, list[str]] = {}
        self.send_times: list[float] = []  # wall-clock times of accepted creates
        self._faults: list[_Fault] = []
        self._per_second: float | None = None
        self._window: collections.deque[float] = collections.deque()  # monotonic accept times
        self._messages_changed = asyncio.Event()
        self._async_http_clients: list[AsyncTwilioHttpClient] = []
        self._server = LocalServer(self._app, "fake-twilio-api")
        self._port: int | None = None
        self._account_created = _rfc2822(datetime(2025, 1, 6, 3, 0, 0, tzinfo=UTC))
        # WhatsApp's 24-hour window, when enforced: the last message each user sent.
        self.window_enforced = False
        self.last_inbound: dict[str, datetime] = {}
        self.wrote_to: dict[str, str] = {}  # user -> the business number they wrote to
        self._per_sender: float | None = None
        self._sender_windows: dict[str, collections.deque[float]] = {}
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        # Numbers (E.164) that are not on WhatsApp -> (error code, refused at once?).
        self._not_on_whatsapp: dict[str, tuple[int, bool]] = {}
        # Status callbacks Twilio would post: (StatusCallback URL, form fields), in order.
        self._callbacks: list[tuple[str, dict[str, str]]] = []
        # Inbound media Twilio keeps (a MediaUrl's file), by Media sid: (content type, bytes).
        self.media: dict[str, tuple[str, bytes]] = {}
        self.media_deleted: list[str] = []  # Media sids deleted through the Media API

    def add_media(
        self, content: bytes, content_type: str = "image/jpeg", *, message_sid: str | None = None
    ) -> str:
        """Keep a file as Twilio keeps an inbound message's media; returns its ``MediaUrl``
        (on api.twilio.com, as Twilio sends it: point ``twilio.api_base_url`` at the fake).
        ``GET`` answers the bytes with their type to the account's basic auth, 401 without
        it, 404 once deleted or for a sid never added; ``DELETE .../Media/{sid}.json``
        deletes it (204), as the SDK's ``media(sid).delete()`` asks."""
        media_sid = _sid("ME")
        self.media[media_sid] = (content_type, content)
        message = message_sid or _sid("MM")
        return (
            f"https://api.twilio.com/{API_VERSION}/Accounts/{self.account_sid}/Messages/"
            f"{message}/Media/{media_sid}"
        )

    def not_on_whatsapp(self, *numbers: str, code: int = 63003, at_once: bool = False) -> None:
        """From now on WhatsApp messages to ``numbers`` (E.164) fail as Twilio's do for a
        number without WhatsApp: accepted, then failed with ``code`` through the status
        callback (:meth:`take_callbacks`); with ``at_once``, refused with a 400 of that
        code."""
        for number in numbers:
            self._not_on_whatsapp[number] = (code, at_once)

    def take_callbacks(self) -> list[tuple[str, dict[str, str]]]:
        """The status callbacks Twilio would have posted since the last call, as (URL,
        form fields); the test signs and posts them to the app."""
        taken, self._callbacks = self._callbacks, []
        return taken

    def enforce_window(self, clock: Callable[[], datetime] | None = None) -> None:
        """From now on a free-form WhatsApp message to a user who has not written in the
        last 24 hours (by ``clock``) is refused with 63016, as Twilio does; templates
        (a ContentSid) always go. Tell the fake who wrote with :meth:`user_wrote`."""
        self.window_enforced = True
        if clock is not None:
            self.clock = clock

    def user_wrote(
        self, address: str, at: datetime | None = None, *, to: str | None = None
    ) -> None:
        """A user's message reached Twilio (``whatsapp:+62...``): their window opens, with
        the business number they wrote to (``to``, ``whatsapp:+62...``) when given: the
        window is per business number and user, so free text from another number is
        refused (63016)."""
        self.last_inbound[address] = at or self.clock()
        if to is not None:
            self.wrote_to[address] = to
        else:
            self.wrote_to.pop(address, None)

    def limit_per_sender(self, per_second: float | None) -> None:
        """Like :meth:`limit`, for each sender (``From``, or ``MessagingServiceSid``) on its
        own: Twilio's rate is per sender."""
        self._per_sender = per_second
        self._sender_windows.clear()

    def max_sends_in_window_by_sender(self, window: float = 1.0) -> dict[str, int]:
        """Per sender, the most accepted creates within any ``window`` seconds."""
        times: dict[str, list[float]] = collections.defaultdict(list)
        for call in self.calls_to("messages"):
            if call.method == "POST" and call.status == 201:
                sender = call.params.get("From") or call.params.get("MessagingServiceSid")
                times[str(sender)].append(call.at)
        found = {}
        for sender, ats in times.items():
            ats.sort()
            best = start = 0
            for end, at in enumerate(ats):
                while at - ats[start] >= window:
                    start += 1
                best = max(best, end - start + 1)
            found[sender] = best
        return found

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTwilioApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve on 127.0.0.1 at a free port, as a task of the running event loop."""
        self._port = await self._server.start()

    async def stop(self) -> None:
        """Close the async HTTP clients made by :meth:`async_client`, then stop serving."""
        clients, self._async_http_clients = self._async_http_clients, []
        for http_client in clients:
            await http_client.close()
        await self._server.stop()
        self._port = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTwilioApi is not running: use `async with` or start()")
        return self._port

    @property
    def base_url(self) -> str:
        """For ``client.api.base_url`` and ``client.content.base_url``: replaces
        ``https://api.twilio.com`` and ``https://content.twilio.com``."""
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- SDK clients

    def point(self, client: Client) -> Client:
        """Redirect ``client``'s ``api`` domain (Messages, Accounts) and its ``content`` domain
        (the Content API) to this fake."""
        client.api.base_url = self.base_url
        client.content.base_url = self.base_url
        client.edge = None
        client.region = None
        return client

    def client(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        timeout: float | None = 5.0,
    ) -> Client:
        """A sync ``twilio.rest.Client`` (``TwilioHttpClient``, requests) talking to this fake.

        It blocks: call it through ``asyncio.to_thread`` while the fake serves in the loop.
        """
        http_client = TwilioHttpClient(timeout=timeout)
        if http_client.session is not None:
            http_client.session.trust_env = False  # never send 127.0.0.1 to an env proxy
        return self.point(
            Client(
                account_sid or self.account_sid,
                auth_token or self.auth_token,
                http_client=http_client,
            )
        )

    def async_client(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        timeout: float | None = 5.0,
    ) -> Client:
        """A ``twilio.rest.Client`` on aiohttp, for ``create_async``/``fetch_async``.

        Call it inside the running loop; :meth:`stop` closes its HTTP session. The HTTP client is
        :class:`AsyncHttpClientWithTimeout` so that ``timeout`` applies (the stock
        ``AsyncTwilioHttpClient`` ignores it).
        """
        http_client = AsyncHttpClientWithTimeout(timeout=timeout)
        self._async_http_clients.append(http_client)
        return self.point(
            Client(
                account_sid or self.account_sid,
                auth_token or self.auth_token,
                http_client=http_client,
            )
        )

    # ----------------------------------------------------------------- test controls

    def fail_next(
        self,
        *,
        status: int = 400,
        code: int | None = None,
        message: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
        endpoint: Endpoint = "messages",
    ) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with a Twilio error.

        ``code`` defaults by status: 400 -> 21211 (invalid 'To' number; 20001 for the
        "content" endpoint), 401 -> 20003, 429 -> 20429 "Too Many Requests", 500 -> 20500,
        503 -> 20503; ``message`` defaults by
        code (:data:`ERROR_MESSAGES`: 63016 outside the 24 h window, 21610 unsubscribed
        recipient, 21408 region permission...). ``retry_after`` adds a ``Retry-After`` header.
        ``endpoint``: "messages" (creating a message), "account" (GET the account), "content"
        (any Content API request) or "any".
        Faults queue in order; each request uses at most one.
        """
        if code is None:
            invalid = CONTENT_ERROR if endpoint == "content" else 21211
            code = _STATUS_CODES.get(status, invalid if status == 400 else status * 100)
        if message is None:
            message = ERROR_MESSAGES.get(code, f"Error {code}")
        headers = []
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        error = TwilioError(status, code, message, headers)
        self._faults.append(_Fault("fail", endpoint, times, error=error))

    def drop_next(self, times: int = 1, *, endpoint: Endpoint = "messages") -> None:
        """Close the connection without any answer for the next ``times`` requests.

        Nothing is created; the call is recorded with status 0. The sync SDK raises
        ``requests.exceptions.ConnectionError``, the async one ``aiohttp.ServerDisconnectedError``.
        """
        self._faults.append(_Fault("drop", endpoint, times))

    def delay_next(
        self, seconds: float, times: int = 1, *, endpoint: Endpoint = "messages"
    ) -> None:
        """Answer the next ``times`` requests ``seconds`` late, for timeout tests.

        The request is handled at once (a message is created, as Twilio would have queued it)
        and only the answer waits; if the client hangs up first the call gets
        ``disconnected=True``.
        """
        self._faults.append(_Fault("delay", endpoint, times, seconds=seconds))

    def limit(self, per_second: float | None) -> None:
        """Answer 429 / 20429 to creates beyond ``per_second`` accepted messages in any rolling
        one-second window (``None`` lifts the limit)."""
        self._per_second = per_second
        self._window.clear()

    def sends_per_second(self) -> dict[int, int]:
        """Accepted message creates per unix second (wall clock)."""
        return dict(sorted(collections.Counter(int(t) for t in self.send_times).items()))

    def max_sends_in_window(self, window: float = 1.0) -> int:
        """The most accepted creates within any ``window`` seconds (rolling, not per second)."""
        times = sorted(self.send_times)
        best = start = 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def calls_to(self, endpoint: Endpoint = "messages") -> list[Call]:
        """The recorded calls of ``endpoint``, in order."""
        return [call for call in self.calls if _matches(endpoint, call.method, call.path)]

    def set_status(
        self, sid: str, status: str, *, error_code: int | None = None, error_message: str = ""
    ) -> dict[str, Any]:
        """Update a stored message (what ``GET .../Messages/{sid}.json`` then answers)."""
        message = self.messages[sid]
        now = _rfc2822()
        message["status"] = status
        message["date_updated"] = now
        if status in {"sent", "delivered", "read"} and message["date_sent"] is None:
            message["date_sent"] = now
        if error_code is not None:
            message["error_code"] = error_code
            message["error_message"] = error_message or ERROR_MESSAGES.get(error_code)
        return message

    async def wait_for_messages(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of this helper's API
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages were created; returns them all, in order."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [(c.method, c.path, c.status, c.params) for c in self.calls]
                raise AssertionError(
                    f"expected {count} message(s) within {timeout}s, got {len(self.messages)}; "
                    f"calls seen: {seen!r}"
                )
            event = self._messages_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return list(self.messages.values())

    # ----------------------------------------------------------------- ASGI app

    async def _app(self, scope: dict[str, Any], receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        method: str = scope["method"]
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        call = Call(method=method, path=path, params=_parse_params(scope, headers, body), body=body)
        call.auth_ok = _basic_auth(headers.get("authorization")) == (
            self.account_sid,
            self.auth_token,
        )
        self.calls.append(call)

        media = _MEDIA_PATH.fullmatch(path)
        if media is not None:
            await self._serve_media(call, media, scope, receive, send)
            return
        fault = self._take_fault(method, path)
        if fault is not None and fault.kind == "drop":
            await self._drop(scope, receive)
            return
        response: tuple[int, dict[str, Any] | None, list[tuple[bytes, bytes]]]
        try:
            if fault is not None and fault.error is not None:
                raise fault.error
            host = headers.get("host") or f"127.0.0.1:{self.port}"
            status, payload = self._handle(call, f"http://{host}")
        except TwilioError as error:
            call.status = error.status
            call.error = error.reason
            response = (error.status, error.payload(), error.headers)
        else:
            call.status = status
            response = (status, payload, [])
        if fault is not None and fault.kind == "delay":
            client_left = await _client_left_within(receive, fault.seconds)
            if client_left:
                call.disconnected = True
                return
        await _send_json(send, *response)

    async def _serve_media(
        self,
        call: Call,
        match: re.Match[str],
        scope: dict[str, Any],
        receive: _Receive,
        send: _Send,
    ) -> None:
        """A media file: GET its bytes (streamed in parts), DELETE its resource."""
        fault = self._take_fault(call.method, call.path)
        if fault is not None and fault.kind == "drop":
            await self._drop(scope, receive)
            return
        delay = fault.seconds if fault is not None and fault.kind == "delay" else 0.0
        if delay and await _client_left_within(receive, delay):
            call.disconnected = True
            return
        try:
            if fault is not None and fault.error is not None:
                raise fault.error
            if not call.auth_ok:
                raise _authenticate()
            if match["account"] != self.account_sid or match["sid"] not in self.media:
                raise _not_found(call.path)
            if call.method == "DELETE" and match["json"]:
                del self.media[match["sid"]]
                self.media_deleted.append(match["sid"])
                call.status = 204
                await _send_json(send, 204, None, [])
                return
            _allow(call, "GET")
        except TwilioError as error:
            call.status = error.status
            call.error = error.reason
            await _send_json(send, error.status, error.payload(), error.headers)
            return
        content_type, content = self.media[match["sid"]]
        call.status = 200
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        step = 1 << 16
        for start in range(0, len(content), step):
            part = content[start : start + step]
            more = start + step < len(content)
            await send({"type": "http.response.body", "body": part, "more_body": more})
        if not content:
            await send({"type": "http.response.body", "body": b""})

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if _matches(fault.endpoint, method, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[index]
                return fault
        return None

    async def _drop(self, scope: dict[str, Any], receive: _Receive) -> None:
        """Close the socket before any answer (uvicorn hides the transport: find it by peer)."""
        client = tuple(scope.get("client") or ())
        for connection in self._server.connections:
            if getattr(connection, "client", None) == client:
                connection.transport.close()  # type: ignore[attr-defined]
                break
        else:
            raise RuntimeError(f"no connection from {client!r} to drop")
        await receive()  # returns http.disconnect once uvicorn saw the close: no 500 is sent

    def _handle(self, call: Call, origin: str) -> tuple[int, dict[str, Any] | None]:
        """Answer ``call``; ``origin`` is the fake's scheme and host as the client addressed
        it, for the Content API's absolute paging URLs."""
        path = call.path
        content_match = _CONTENTS_PATH.fullmatch(path) or _CONTENT_PATH.fullmatch(path)
        if content_match is not None:
            if not call.auth_ok:
                raise _authenticate()
            return self._handle_content(call, content_match, origin)
        match = (
            _MESSAGES_PATH.fullmatch(path)
            or _MESSAGE_PATH.fullmatch(path)
            or _ACCOUNT_PATH.fullmatch(path)
        )
        if match is None:
            raise _not_found(path)
        if not call.auth_ok:
            raise _authenticate()
        if match["account"] != self.account_sid:
            raise _not_found(path)
        if match.re is _ACCOUNT_PATH:
            _allow(call, "GET", "POST")
            return 200, self.account_resource()
        if match.re is _MESSAGE_PATH:
            _allow(call, "GET")
            message = self.messages.get(match["sid"])
            if message is None:
                raise _not_found(path)
            return 200, message
        _allow(call, "GET", "POST")
        if call.method == "GET":
            return 200, self._message_page(call)
        return 201, self._create_message(call.params)

    def _create_message(self, params: dict[str, Any]) -> dict[str, Any]:
        to = _field(params, "To")
        from_ = _field(params, "From")
        body = _field(params, "Body")
        content_sid = _field(params, "ContentSid")
        content_variables = _field(params, "ContentVariables")
        service_sid = _field(params, "MessagingServiceSid")
        status_callback = _field(params, "StatusCallback")
        media_urls: list[str] = [url for url in params.get("MediaUrl", []) if url]

        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service_sid:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if not body and not content_sid and not media_urls:
            raise TwilioError(400, 21619, "A text message body or media urls must be specified.")
        if service_sid and not _SERVICE_SID.fullmatch(service_sid):
            raise TwilioError(400, 21701, f"The Messaging Service Sid {service_sid} is invalid.")
        if content_sid and not _CONTENT_SID.fullmatch(content_sid):
            raise TwilioError(400, 21655, "The ContentSid is Invalid.")
        if content_sid in self._deleted_contents:
            raise TwilioError(
                400, 21655, "The ContentSid is Invalid.", reason=f"{content_sid} was deleted"
            )
        variables: dict[str, Any] = {}
        if content_variables:
            try:
                variables = json.loads(content_variables)
            except ValueError:
                variables = None  # type: ignore[assignment]
            if not isinstance(variables, dict):
                raise TwilioError(
                    400, 21656, CONTENT_VARIABLES_INVALID, reason="not a JSON object"
                )
        whatsapp = to.startswith("whatsapp:")
        if from_ and whatsapp != from_.startswith("whatsapp:"):
            raise TwilioError(
                400, 21910, "Invalid From and To pair. From and To should be of the same channel"
            )
        if not _E164.fullmatch(to.removeprefix("whatsapp:")):
            raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if from_ and not _valid_sender(from_):
            raise TwilioError(
                400,
                21212,
                f"The 'From' number {from_} is not a valid phone number, shortcode, or "
                "alphanumeric sender ID.",
            )
        if len(body) > MAX_BODY_LENGTH:
            raise TwilioError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if status_callback and not _http_url(status_callback):
            raise TwilioError(400, 21609, "Invalid 'StatusCallback'")
        content = self.contents.get(content_sid) if content_sid else None
        if content is not None:
            variables = _content_variables(
                content["variables"], variables, strict=self.strict_content_variables
            )
        unreachable = self._not_on_whatsapp.get(to.removeprefix("whatsapp:")) if whatsapp else None
        if unreachable is not None and unreachable[1]:
            code = unreachable[0]
            raise TwilioError(400, code, ERROR_MESSAGES.get(code, f"Error {code}"))
        if self.window_enforced and whatsapp and not content_sid and unreachable is None:
            opened = self.last_inbound.get(to)
            if opened is None or self.clock() - opened >= timedelta(hours=24):
                raise TwilioError(400, 63016, OUTSIDE_WINDOW)
            if from_ and self.wrote_to.get(to, from_) != from_:  # another number's window
                raise TwilioError(400, 63016, OUTSIDE_WINDOW)
        self._check_rate()
        self._check_sender_rate(from_ or service_sid)

        if content is not None:
            kind, spec = _sent_type(content["types"])
            if not body:
                body = _render(spec.get("body") or "", variables)
            if kind == "twilio/media":
                media_urls += [_render(url, variables) for url in spec.get("media", [])]
        elif content_sid and not body:
            body = _render(self.templates.get(content_sid, ""), variables)
        sid = ("MM" if media_urls else "SM") + uuid.uuid4().hex
        now = _rfc2822()
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        message: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_ or None,
            "messaging_service_sid": service_sid or None,
            "num_media": str(len(media_urls)),
            "num_segments": "1" if whatsapp else str(_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            "to": to,
            "uri": uri,
        }
        self.messages[sid] = message
        if unreachable is not None:  # accepted, then failed: Meta found no WhatsApp user
            answered = dict(message)  # the create's answer is still "queued"
            self.set_status(sid, "failed", error_code=unreachable[0])
            message = answered
            if status_callback:
                self._callbacks.append(
                    (
                        status_callback,
                        status_callback_params(
                            message_sid=sid,
                            status="failed",
                            to=to,
                            from_=from_ or None,
                            error_code=unreachable[0],
                            account_sid=self.account_sid,
                        ),
                    )
                )
        if media_urls:
            self.message_media[sid] = media_urls
        self.send_times.append(time.time())
        self._messages_changed.set()
        self._messages_changed = asyncio.Event()
        return message

    def _check_sender_rate(self, sender: str) -> None:
        if self._per_sender is None:
            return
        now = time.monotonic()
        window = self._sender_windows.setdefault(sender, collections.deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) + 1 > self._per_sender:
            raise TwilioError(429, 20429, "Too Many Requests")
        window.append(now)

    def _check_rate(self) -> None:
        if self._per_second is None:
            return
        now = time.monotonic()
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) + 1 > self._per_second:
            raise TwilioError(429, 20429, "Too Many Requests")
        self._window.append(now)

    def _message_page(self, call: Call) -> dict[str, Any]:
        wanted = {key: call.params[key] for key in ("To", "From") if call.params.get(key)}
        found = [
            message
            for message in reversed(self.messages.values())
            if all(message[key.lower()] == value for key, value in wanted.items())
        ]
        size = int(call.params.get("PageSize") or 50)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json?PageSize={size}&Page=0"
        return {
            "end": max(min(size, len(found)) - 1, 0),
            "first_page_uri": uri,
            "messages": found[:size],
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    # ----------------------------------------------------------------- Content API

    def create_content(self, request: Any) -> dict[str, Any]:
        """Create a Content resource from a ``POST /v1/Content`` JSON body (the dict the SDK's
        ``ContentCreateRequest.to_dict()`` builds) and return it; raises :class:`TwilioError`
        (400, :data:`CONTENT_ERROR`) as the endpoint answers. Also usable directly to seed
        contents without an SDK call.

        A duplicate ``friendly_name`` is accepted: Twilio documents no uniqueness rule for it.
        """
        if not isinstance(request, dict):
            raise _invalid_input("the body is not a JSON object")
        friendly_name, language, variables, types = _validate_content(request)
        sid = _sid("HX")
        now = _iso8601()
        url = f"{CONTENT_BASE_URL}/v1/Content/{sid}"
        content: dict[str, Any] = {
            "account_sid": self.account_sid,
            "date_created": now,
            "date_updated": now,
            "friendly_name": friendly_name,
            "language": language,
            "links": {
                "approval_create": f"{url}/ApprovalRequests/whatsapp",
                "approval_fetch": f"{url}/ApprovalRequests",
            },
            "sid": sid,
            "types": types,
            "url": url,
            "variables": variables,
        }
        self.contents[sid] = content
        self.templates[sid] = _sent_type(types)[1].get("body") or ""
        return content

    def delete_content(self, sid: str) -> None:
        """Delete a content (``DELETE /v1/Content/{sid}``): sending its sid then answers 21655."""
        del self.contents[sid]
        self.templates.pop(sid, None)
        self._deleted_contents.add(sid)

    def _handle_content(
        self, call: Call, match: re.Match[str], origin: str
    ) -> tuple[int, dict[str, Any] | None]:
        if match.re is _CONTENTS_PATH:
            _allow(call, "GET", "POST")
            if call.method == "GET":
                return 200, self._content_page(call, origin)
            return 201, self.create_content(_json_body(call.body))
        _allow(call, "GET", "DELETE")
        sid = match["sid"]
        if sid not in self.contents:
            raise _not_found(call.path)
        if call.method == "GET":
            return 200, self.contents[sid]
        self.delete_content(sid)
        return 204, None

    def _content_page(self, call: Call, origin: str) -> dict[str, Any]:
        """A page as Twilio's Content API answers it: ``{"contents", "meta"}``, with absolute
        paging URLs (on the fake, so that the SDK's ``list``/``stream`` can follow them)."""
        size_text = _field(call.params, "PageSize") or "50"
        size = int(size_text) if size_text.isdigit() else 0
        if not 1 <= size <= 1000:
            raise TwilioError(400, CONTENT_ERROR, "PageSize must be between 1 and 1000")
        page_text = _field(call.params, "Page") or "0"
        page = int(page_text) if page_text.isdigit() else 0
        token = _field(call.params, "PageToken")
        if token and not re.fullmatch(r"PT\d+", token):
            raise TwilioError(400, CONTENT_ERROR, f"Invalid PageToken {token!r}")
        offset = int(token[2:]) if token else page * size
        contents = list(self.contents.values())

        def url(index: int, start: int) -> str:
            query = f"PageSize={size}&Page={index}" + (f"&PageToken=PT{start}" if start else "")
            return f"{origin}/v1/Content?{query}"

        has_next = offset + size < len(contents)
        return {
            "contents": contents[offset : offset + size],
            "meta": {
                "first_page_url": url(0, 0),
                "key": "contents",
                "next_page_url": url(page + 1, offset + size) if has_next else None,
                "page": page,
                "page_size": size,
                "previous_page_url": url(page - 1, max(offset - size, 0)) if offset else None,
                "url": url(page, offset),
            },
        }

    def account_resource(self) -> dict[str, Any]:
        base = f"/{API_VERSION}/Accounts/{self.account_sid}"
        return {
            "auth_token": self.auth_token,
            "date_created": self._account_created,
            "date_updated": self._account_created,
            "friendly_name": ACCOUNT_FRIENDLY_NAME,
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": "active",
            "subresource_uris": {
                "messages": f"{base}/Messages.json",
                "balance": f"{base}/Balance.json",
                "incoming_phone_numbers": f"{base}/IncomingPhoneNumbers.json",
            },
            "type": "Full",
            "uri": f"{base}.json",
        }


# --------------------------------------------------------------------- request helpers


def _matches(endpoint: Endpoint, method: str, path: str) -> bool:
    if endpoint == "any":
        return True
    if endpoint == "messages":
        return method == "POST" and _MESSAGES_PATH.fullmatch(path) is not None
    if endpoint == "content":
        return bool(_CONTENTS_PATH.fullmatch(path) or _CONTENT_PATH.fullmatch(path))
    if endpoint == "media":
        return _MEDIA_PATH.fullmatch(path) is not None
    return method == "GET" and _ACCOUNT_PATH.fullmatch(path) is not None


def _allow(call: Call, *methods: str) -> None:
    if call.method not in methods:
        raise TwilioError(405, 20004, "Method not allowed")


def _not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def _authenticate() -> TwilioError:
    return TwilioError(
        401, 20003, "Authenticate", [(b"www-authenticate", b'Basic realm="Twilio API"')]
    )


# --------------------------------------------------------------------- Content API helpers


def _content_error(message: str) -> TwilioError:
    return TwilioError(400, CONTENT_ERROR, message)


def _invalid_input(reason: str) -> TwilioError:
    """What Twilio answers to a body it cannot read as JSON."""
    return TwilioError(400, CONTENT_ERROR, "Request input may be invalid", reason=reason)


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _invalid_input(f"the body is not JSON: {body[:80]!r}") from None


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value if item is not None]
    return value


def _iso8601(moment: datetime | None = None) -> str:
    """The Content API's date format: ``2015-07-30T19:00:00Z``."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sent_type(types: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The type Twilio sends of a content (the richest a WhatsApp sender supports, among the
    validated ones), else the first; ``("", {})`` when there is none."""
    for kind in ("twilio/quick-reply", "twilio/media", "twilio/text"):
        if isinstance(types.get(kind), dict):
            return kind, types[kind]
    for kind, spec in types.items():
        if isinstance(spec, dict):
            return kind, spec
    return "", {}


def _validate_content(
    request: dict[str, Any],
) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """Check a create request as described in the module docstring; returns
    ``(friendly_name, language, variables, types)`` with the null types left out."""
    name = request.get("friendly_name")
    if name is None or name == "":
        raise _content_error("Missing required parameter friendly_name in the post body")
    if not isinstance(name, str):
        raise _content_error("friendly_name must be a string")
    if len(name) > MAX_FRIENDLY_NAME_LENGTH:
        raise _content_error(
            f"friendly_name is {len(name)} characters long: at most "
            f"{MAX_FRIENDLY_NAME_LENGTH} are allowed"
        )
    language = request.get("language")
    if language is None or language == "":
        raise _content_error("Missing required parameter language in the post body")
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise _content_error(f"Invalid language {language!r}: use a code such as 'id' or 'en'")
    variables = _check_variables(request.get("variables"))

    types = request.get("types")
    if types is None:
        raise _content_error("Missing required parameter types in the post body")
    if not isinstance(types, dict):
        raise _content_error("types must be an object keyed by content type, e.g. twilio/text")
    unknown = [kind for kind in types if kind not in CONTENT_TYPES]
    if unknown:
        raise _content_error(f"Unsupported content type {unknown[0]!r}")
    kept: dict[str, Any] = {
        kind: _drop_nulls(spec) for kind, spec in types.items() if spec is not None
    }
    if not kept:
        raise _content_error("types must contain at least one content type, e.g. twilio/text")
    for kind, spec in kept.items():
        if not isinstance(spec, dict):
            raise _content_error(f"{kind} must be an object")

    bodies: list[tuple[str, str]] = []
    texts: list[str] = []  # every string whose placeholders count
    media: list[str] = []
    for kind in ("twilio/text", "twilio/media", "twilio/quick-reply"):
        if kind not in kept:
            continue
        spec = kept[kind]
        body = _check_body(kind, spec.get("body"))
        bodies.append((kind, body))
        texts.append(body)
        if kind == "twilio/media":
            media = _check_media(spec.get("media"))
            texts += media
        if kind == "twilio/quick-reply":
            texts += _check_actions(spec.get("actions"))

    used: set[str] = set()
    for text in texts:
        used |= _placeholders(text)
    undeclared = sorted(used - set(variables), key=int)
    if undeclared:
        raise _content_error(
            f"Variable {{{{{undeclared[0]}}}}} is used but not declared in variables (with a "
            "sample value)"
        )
    unused = sorted(set(variables) - used, key=int)
    if unused:
        raise _content_error(f"Variable '{unused[0]}' is declared in variables but never used")
    for url in media:
        sample = _render(url, variables)
        if not _http_url(sample) or any(char.isspace() for char in sample):
            raise _content_error(f"twilio/media media URL {url!r} is not a valid http(s) URL")
    for kind, body in bodies:
        _check_whatsapp_body(kind, body)
    return name, language, variables, kept


def _check_variables(variables: Any) -> dict[str, str]:
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise _content_error("variables must be an object mapping '1', '2'... to sample values")
    for key, value in variables.items():
        if not _VARIABLE_KEY.fullmatch(key):
            raise _content_error(
                f"Invalid variable name {key!r}: variables are numbered '1', '2'..."
            )
        if not isinstance(value, str) or not value.strip():
            raise _content_error(f"Variable '{key}' needs a non-empty sample value")
    numbers = sorted(int(key) for key in variables)
    if numbers != list(range(1, len(numbers) + 1)):
        raise _content_error(
            f"Variables must be numbered from 1 without gaps: got {', '.join(map(str, numbers))}"
        )
    return dict(variables)


def _check_body(kind: str, body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise _content_error(f"{kind} requires a non-empty body")
    if len(body) > MAX_TEMPLATE_BODY_LENGTH:
        raise _content_error(
            f"{kind} body is {len(body)} characters long: at most {MAX_TEMPLATE_BODY_LENGTH} "
            "are allowed"
        )
    return body


def _check_media(media: Any) -> list[str]:
    if not isinstance(media, list) or not media:
        raise _content_error("twilio/media requires media: a list with one URL")
    if len(media) > 1:
        raise _content_error(f"twilio/media takes one media URL on WhatsApp, got {len(media)}")
    if not all(isinstance(url, str) for url in media):
        raise _content_error("twilio/media media must be a list of URL strings")
    return list(media)


def _check_actions(actions: Any) -> list[str]:
    if not isinstance(actions, list) or not actions:
        raise _content_error("twilio/quick-reply requires actions: a list of {title, id}")
    if len(actions) > MAX_QUICK_REPLIES:
        raise _content_error(
            f"twilio/quick-reply has {len(actions)} actions: at most {MAX_QUICK_REPLIES} are "
            "allowed"
        )
    texts: list[str] = []
    for index, action in enumerate(actions):
        if not isinstance(action, dict):
            raise _content_error(f"twilio/quick-reply action {index} must be an object")
        title, action_id = action.get("title"), action.get("id")
        if not isinstance(title, str) or not title.strip():
            raise _content_error(f"twilio/quick-reply action {index} requires a title")
        if len(title) > MAX_QUICK_REPLY_TITLE_LENGTH:
            raise _content_error(
                f"twilio/quick-reply action title {title!r} is {len(title)} characters long: "
                f"at most {MAX_QUICK_REPLY_TITLE_LENGTH} are allowed"
            )
        if not isinstance(action_id, str) or not action_id.strip():
            raise _content_error(f"twilio/quick-reply action {index} requires an id")
        if action.get("type", "QUICK_REPLY") != "QUICK_REPLY":
            raise _content_error(f"twilio/quick-reply action {index} type must be QUICK_REPLY")
        texts += [title, action_id]
    return texts


def _placeholders(text: str) -> set[str]:
    """The variable numbers ``{{n}}`` in ``text``; refuses malformed placeholders."""
    found: set[str] = set()
    for match in _TEMPLATE_PLACEHOLDER.finditer(text):
        if not _VARIABLE_KEY.fullmatch(match[1]):
            raise _content_error(
                f"Invalid placeholder {match[0]!r}: use {{{{1}}}}, {{{{2}}}}... without spaces"
            )
        found.add(match[1])
    rest = _TEMPLATE_PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        raise _content_error(f"Malformed placeholder in {text[:60]!r}: '{{{{' without '}}}}'")
    return found


def _check_whatsapp_body(kind: str, body: str) -> None:
    """WhatsApp's approval rules for a template body (see the module docstring)."""
    text = body.strip()
    if text.startswith("{{"):
        raise _content_error(
            f"{kind} body may not start with a variable: WhatsApp rejects such templates"
        )
    if text.endswith("}}"):
        raise _content_error(
            f"{kind} body may not end with a variable: WhatsApp rejects such templates"
        )
    if _ADJACENT_PLACEHOLDERS.search(text):
        raise _content_error(
            f"{kind} body has two adjacent variables: WhatsApp rejects such templates"
        )


def _content_variables(
    declared: dict[str, str], given: dict[str, Any], *, strict: bool
) -> dict[str, str]:
    """The values to render a created content with, checked like Twilio (21656, 21658)."""

    def invalid(reason: str) -> TwilioError:
        return TwilioError(400, 21656, CONTENT_VARIABLES_INVALID, reason=reason)

    if strict:
        missing = sorted(set(declared) - set(given))
        extra = sorted(set(given) - set(declared))
        if missing or extra:
            raise invalid(
                f"ContentVariables keys do not match the content's variables "
                f"{sorted(declared)}: missing {missing}, extra {extra}"
            )
        values = dict(given)
    else:  # Twilio's documented fallback: the sample value of a missing variable
        values = declared | {key: value for key, value in given.items() if key in declared}
    checked: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(f"variable {key!r} is {value!r}, not a string")
        text = str(value)
        if not text.strip():
            raise invalid(f"variable {key!r} is empty")
        if any(char in text for char in "\n\r\t") or " " * 5 in text:
            raise invalid(
                f"variable {key!r} has a newline, a tab or more than 4 consecutive spaces"
            )
        if len(text) > MAX_TEMPLATE_BODY_LENGTH:
            raise TwilioError(
                400,
                21658,
                "Parameter exceeded character limit",
                reason=f"variable {key!r} is {len(text)} characters long: at most "
                f"{MAX_TEMPLATE_BODY_LENGTH} fit a template body",
            )
        checked[key] = text
    return checked


def _field(params: dict[str, Any], name: str) -> str:
    value = params.get(name, "")
    return value if isinstance(value, str) else ""


def _valid_sender(sender: str) -> bool:
    if sender.startswith("whatsapp:"):
        return _E164.fullmatch(sender.removeprefix("whatsapp:")) is not None
    return bool(
        _E164.fullmatch(sender)
        or _ALPHANUMERIC_SENDER.fullmatch(sender)
        or re.fullmatch(r"\d{5,6}", sender)  # short code
    )


def _http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _segments(body: str) -> int:
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in body):
        length = sum(2 if char in _GSM_EXTENDED else 1 for char in body)
        single, multi = 160, 153
    else:
        length = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if length <= single else math.ceil(length / multi)


def _render(template: str, variables: dict[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(variables.get(m[1], m[0])), template)


def _rfc2822(moment: datetime | None = None) -> str:
    """Twilio's date format: ``Thu, 30 Jul 2015 20:12:31 +0000``."""
    return email.utils.format_datetime((moment or datetime.now(UTC)).replace(microsecond=0))


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


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


def _parse_params(scope: dict[str, Any], headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Form fields and query parameters; for a JSON object body, the query parameters and the
    object's keys (a body that is not one is parsed as a form, to show what was sent)."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _JSON_CONTENT_TYPES:
        try:
            decoded = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            decoded = None
        if isinstance(decoded, dict):
            return _parse_form(scope, b"") | decoded
    return _parse_form(scope, body)


def _parse_form(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    params: dict[str, Any] = {}
    for name, value in pairs:
        if name in _REPEATABLE:
            params.setdefault(name, []).append(value)
        else:
            params[name] = value
    return params


async def _client_left_within(receive: _Receive, seconds: float) -> bool:
    """Wait ``seconds``; True as soon as the client disconnects instead."""
    try:
        message = await asyncio.wait_for(receive(), seconds)
    except TimeoutError:
        return False
    return message["type"] == "http.disconnect"


async def _send_json(
    send: _Send,
    status: int,
    payload: dict[str, Any] | None,
    headers: Iterable[tuple[bytes, bytes]],
) -> None:
    """Answer ``payload`` as JSON; ``None``: no body (204 No Content)."""
    body = b"" if payload is None else json.dumps(payload).encode("utf-8")
    content_type = [] if payload is None else [(b"content-type", b"application/json;charset=utf-8")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *content_type,
                (b"content-length", str(len(body)).encode()),
                (b"twilio-request-id", ("RQ" + uuid.uuid4().hex).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------- webhook builders

_COUNTRY_PREFIXES = (("+62", "ID"), ("+1", "US"), ("+44", "GB"), ("+61", "AU"), ("+65", "SG"))
_CHANNEL_INSTALL_SID = "XE" + "0" * 31 + "1"


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _country(number: str) -> str:
    bare = number.removeprefix("whatsapp:")
    return next((code for prefix, code in _COUNTRY_PREFIXES if bare.startswith(prefix)), "")


def _media_type_name(content_type: str) -> str:
    kind = content_type.split("/", 1)[0]
    return kind if kind in {"image", "video", "audio"} else "document"


def inbound_whatsapp_params(
    *,
    from_: str = "whatsapp:+6281234567890",
    to: str = WHATSAPP_SANDBOX_NUMBER,
    body: str | None = None,
    message_sid: str | None = None,
    num_media: int = 0,
    media_urls: Sequence[str] = (),
    media_types: Sequence[str] = ("image/jpeg",),
    button_payload: str | None = None,
    button_text: str | None = None,
    profile_name: str = "Ani",
    wa_id: str | None = None,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    original_replied_message_sid: str | None = None,
) -> dict[str, str]:
    """The form fields Twilio posts to the incoming-message webhook for a WhatsApp message.

    ``body`` defaults to "halo" for text, the button text for a quick-reply tap and "" for media.
    Media: ``num_media`` (or ``len(media_urls)``) items, with ``MediaUrl{i}`` (generated Twilio
    media URLs when not given) and ``MediaContentType{i}`` (``media_types`` cycled).
    """
    count = max(num_media, len(media_urls))
    sid = message_sid or _sid("MM" if count else "SM")
    if body is None:
        body = button_text if button_text is not None else ("" if count else "halo")
    if button_payload is not None or button_text is not None:
        message_type = "button"
    elif count:
        message_type = _media_type_name(media_types[0] if media_types else "image/jpeg")
    else:
        message_type = "text"
    params = {
        "SmsMessageSid": sid,
        "NumMedia": str(count),
        "ProfileName": profile_name,
        "MessageType": message_type,
        "SmsSid": sid,
        "WaId": wa_id or from_.removeprefix("whatsapp:").lstrip("+"),
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for index in range(count):
        url = (
            media_urls[index]
            if index < len(media_urls)
            else f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
            f"/Media/{_sid('ME')}"
        )
        params[f"MediaUrl{index}"] = url
        types = media_types or ("image/jpeg",)
        params[f"MediaContentType{index}"] = types[index % len(types)]
    if button_payload is not None:
        params["ButtonPayload"] = button_payload
    if button_text is not None:
        params["ButtonText"] = button_text
    if original_replied_message_sid is not None:
        params["OriginalRepliedMessageSid"] = original_replied_message_sid
        params["OriginalRepliedMessageSender"] = to
    return params


def inbound_sms_params(
    *,
    from_: str = "+6281234567890",
    to: str = DEFAULT_SMS_NUMBER,
    body: str = "halo",
    message_sid: str | None = None,
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> dict[str, str]:
    """The form fields Twilio posts to the incoming-message webhook for an SMS."""
    sid = message_sid or _sid("SM")
    return {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(_segments(body)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


def status_callback_params(
    *,
    message_sid: str,
    status: str,
    to: str = "whatsapp:+6281234567890",
    from_: str | None = None,
    error_code: str | int | None = None,
    channel: str = "whatsapp",
    account_sid: str = DEFAULT_ACCOUNT_SID,
) -> dict[str, str]:
    """The form fields Twilio posts to a message's StatusCallback URL.

    ``status``: queued, sending, sent, delivered, read, failed, undelivered. ``failed`` and
    ``undelivered`` always carry an ``ErrorCode`` (``error_code``, default 30008 "unknown error";
    63016 for WhatsApp's 24-hour window).
    """
    if from_ is None:
        from_ = WHATSAPP_SANDBOX_NUMBER if channel == "whatsapp" else DEFAULT_SMS_NUMBER
    params = {
        "ApiVersion": API_VERSION,
        "MessageStatus": status,
        "SmsSid": message_sid,
        "SmsStatus": status,
        "To": to,
        "From": from_,
        "MessageSid": message_sid,
        "AccountSid": account_sid,
    }
    if channel == "whatsapp":
        params.update(
            {
                "ChannelPrefix": "whatsapp",
                "ChannelInstallSid": _CHANNEL_INSTALL_SID,
                "ChannelToAddress": to.removeprefix("whatsapp:"),
                "StructuredMessage": "false",
            }
        )
        if status in {"delivered", "read"}:
            params["EventType"] = status.upper()
    if error_code is None and status in {"failed", "undelivered"}:
        error_code = 30008
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


def twilio_signature(
    auth_token: str, url: str, params: dict[str, str], *, algorithm: str | None = None
) -> str:
    """The ``X-Twilio-Signature`` Twilio sends with a webhook POST of ``params`` to ``url``."""
    return RequestValidator(auth_token).compute_signature(url, params, algorithm)
