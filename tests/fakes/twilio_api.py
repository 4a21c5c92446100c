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
* Other domains (``client.messaging``, ``client.content``...) keep their own ``base_url``; only
  ``client.api`` is redirected here, which is all the Messages channel uses.
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
* Webhook builders (:func:`inbound_whatsapp_params`, :func:`inbound_sms_params`,
  :func:`status_callback_params`) produce the form fields Twilio posts to our app;
  :func:`twilio_signature` signs them like Twilio's ``X-Twilio-Signature``.
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

OUTSIDE_WINDOW = (
    "Failed to send freeform message because you are outside the allowed window. If you are "
    "using WhatsApp, please use a Message Template."
)
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
    63016: OUTSIDE_WINDOW,
}
# Twilio error code a status answers with when fail_next is given only a status.
_STATUS_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 502: 20500, 503: 20503}

Endpoint = Literal["messages", "account", "any"]

_ACCOUNT_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)\.json")
_MESSAGES_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json")
_MESSAGE_PATH = re.compile(
    rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json"
)
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
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
    (``MediaUrl``) is always a list. ``status`` is the HTTP status the fake answered (0: the
    connection was dropped). ``disconnected`` is set when the client hung up before a delayed
    answer. ``at`` is the wall-clock arrival time.
    """

    method: str
    path: str
    params: dict[str, Any]
    status: int = 0
    auth_ok: bool = False
    disconnected: bool = False
    at: float = field(default_factory=time.time)


class TwilioError(Exception):
    """A Twilio REST error answer: ``{"code", "message", "more_info", "status"}``."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)

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


class AsyncHttpClientWithTimeout(AsyncTwilioHttpClient):
    """``AsyncTwilioHttpClient`` that applies its constructor ``timeout`` to every request.

    The stock class stores ``timeout`` but passes the per-request value (always ``None`` from
    ``create_async``) to aiohttp, which then waits forever.
    """

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's HttpClient signature
        **kwargs: Any,
    ) -> TwilioResponse:
        return await super().request(
            method, url, *args, timeout=timeout if timeout is not None else self.timeout, **kwargs
        )


class FakeTwilioApi:
    """Twilio's Messages REST API on 127.0.0.1, recording calls and answering like Twilio.

    Use as ``async with FakeTwilioApi() as fake:`` (or ``await fake.start()`` /
    ``await fake.stop()``) inside the test's event loop, then talk to it with :meth:`client`
    (sync SDK) or :meth:`async_client`, or set ``client.api.base_url = fake.base_url`` on a
    client of your own.
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
        self.templates: dict[str, str] = {}
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
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def enforce_window(self, clock: Callable[[], datetime] | None = None) -> None:
        """From now on a free-form WhatsApp message to a user who has not written in the
        last 24 hours (by ``clock``) is refused with 63016, as Twilio does; templates
        (a ContentSid) always go. Tell the fake who wrote with :meth:`user_wrote`."""
        self.window_enforced = True
        if clock is not None:
            self.clock = clock

    def user_wrote(self, address: str, at: datetime | None = None) -> None:
        """A user's message reached Twilio (``whatsapp:+62...``): their window opens."""
        self.last_inbound[address] = at or self.clock()

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
        """For ``client.api.base_url``: replaces ``https://api.twilio.com``."""
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- SDK clients

    def point(self, client: Client) -> Client:
        """Redirect ``client``'s ``api`` domain (Messages, Accounts) to this fake."""
        client.api.base_url = self.base_url
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

        ``code`` defaults by status: 400 -> 21211 (invalid 'To' number), 401 -> 20003,
        429 -> 20429 "Too Many Requests", 500 -> 20500, 503 -> 20503; ``message`` defaults by
        code (:data:`ERROR_MESSAGES`: 63016 outside the 24 h window, 21610 unsubscribed
        recipient, 21408 region permission...). ``retry_after`` adds a ``Retry-After`` header.
        ``endpoint``: "messages" (creating a message), "account" (GET the account) or "any".
        Faults queue in order; each request uses at most one.
        """
        if code is None:
            code = _STATUS_CODES.get(status, 21211 if status == 400 else status * 100)
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
        call = Call(method=method, path=path, params=_parse_form(scope, body))
        call.auth_ok = _basic_auth(headers.get("authorization")) == (
            self.account_sid,
            self.auth_token,
        )
        self.calls.append(call)

        fault = self._take_fault(method, path)
        if fault is not None and fault.kind == "drop":
            await self._drop(scope, receive)
            return
        try:
            if fault is not None and fault.error is not None:
                raise fault.error
            status, payload = self._handle(call)
        except TwilioError as error:
            call.status = error.status
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

    def _handle(self, call: Call) -> tuple[int, dict[str, Any]]:
        path = call.path
        match = (
            _MESSAGES_PATH.fullmatch(path)
            or _MESSAGE_PATH.fullmatch(path)
            or _ACCOUNT_PATH.fullmatch(path)
        )
        if match is None:
            raise _not_found(path)
        if not call.auth_ok:
            raise TwilioError(
                401, 20003, "Authenticate", [(b"www-authenticate", b'Basic realm="Twilio API"')]
            )
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
        variables: dict[str, Any] = {}
        if content_variables:
            try:
                variables = json.loads(content_variables)
            except ValueError:
                variables = None  # type: ignore[assignment]
            if not isinstance(variables, dict):
                raise TwilioError(400, 21656, "The ContentVariables Parameter is invalid.")
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
        if self.window_enforced and whatsapp and not content_sid:
            opened = self.last_inbound.get(to)
            if opened is None or self.clock() - opened >= timedelta(hours=24):
                raise TwilioError(400, 63016, OUTSIDE_WINDOW)
        self._check_rate()

        if content_sid and not body:
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
        self.send_times.append(time.time())
        self._messages_changed.set()
        self._messages_changed = asyncio.Event()
        return message

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
    return method == "GET" and _ACCOUNT_PATH.fullmatch(path) is not None


def _allow(call: Call, *methods: str) -> None:
    if call.method not in methods:
        raise TwilioError(405, 20004, "Method not allowed")


def _not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


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
    send: _Send, status: int, payload: dict[str, Any], headers: Iterable[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(payload).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json;charset=utf-8"),
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
