"""python-telegram-bot's request layer on aiohttp.

PTB talks to the Bot API through a ``BaseRequest``; its default one is built on httpx. The
bot sends every reply through it, and measured per Bot API call (``bench/telegram.py``) httpx
costs about twice aiohttp's CPU: its connection pool asks anyio for the socket's details
on every request, and builds a response stream and a timeout scope each time. aiohttp is
already here for the Twilio SDK's async client.

The class only moves bytes: PTB still builds the parameters, parses the answer and raises
its own errors (``BadRequest``, ``RetryAfter``...). Transport failures become PTB's
``TimedOut`` and ``NetworkError``, as with the httpx request, so the channel's retries work
the same.
"""

from __future__ import annotations

import aiohttp
from aiohttp import BasicAuth
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue  # PTB's "not given" marker
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL


class AiohttpRequest(BaseRequest):
    """One aiohttp session (keep-alive connections, up to ``connection_pool_size``)."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        timeout: float = 15.0,
        media_write_timeout: float = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._timeout = timeout
        self._media_write_timeout = max(media_write_timeout, timeout)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None], tuple[URL | None, BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )
            self._proxies = {}

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _proxy(self, url: str) -> tuple[URL | None, BasicAuth | None]:
        """The proxy for ``url`` from HTTPS_PROXY, HTTP_PROXY, NO_PROXY and the like, as
        PTB's httpx requests honour them; read once per host while the session lives
        (aiohttp's ``trust_env`` reads the environment and ~/.netrc at every request)."""
        parsed = URL(url)
        key = (parsed.scheme, parsed.host)
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(parsed)
            except LookupError:
                self._proxies[key] = (None, None)
        return self._proxies[key]

    def _seconds(self, value: ODVInput[float], default: float) -> float | None:
        return default if isinstance(value, DefaultValue) else value

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        data: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            # File names as they are (UTF-8, spaces), as httpx sends them: Telegram shows
            # the name verbatim, so aiohttp's percent-encoding would show as "%20".
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, content_type) in files.items():
                form.add_field(name, content, filename=filename, content_type=content_type)
            data = form
        write_default = self._media_write_timeout if files else self._timeout
        # aiohttp has no separate write timeout: the read timeout covers the time from the
        # request being sent; the total bounds connecting, writing and reading together.
        read = self._seconds(read_timeout, self._timeout)
        write = self._seconds(write_timeout, write_default)
        connect = self._seconds(connect_timeout, self._timeout)
        pool = self._seconds(pool_timeout, self._timeout)
        parts = [t for t in (read, write, connect, pool) if t is not None]
        timeout = aiohttp.ClientTimeout(
            total=sum(parts) if len(parts) == 4 else None,
            connect=pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            proxy, proxy_auth = self._proxy(url)
            async with self._session.request(
                method, url, data=data, timeout=timeout, proxy=proxy, proxy_auth=proxy_auth
            ) as res:
                return res.status, await res.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
