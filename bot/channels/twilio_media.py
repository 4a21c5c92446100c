"""Files sent on WhatsApp (and MMS) through Twilio: fetched from their media URL with the
account's credentials (HTTP basic auth, as Twilio documents; a redirect to Twilio's file
host does not carry them), and Twilio's copy deleted afterwards through the SDK's Media
resource (``client.messages(sid).media(sid).delete_async()``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from bot.config import TwilioSettings
from bot.media_fetch import Download, FetchFailed

TWILIO_API = "https://api.twilio.com"
CHUNK = 1 << 16
_MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/(?P<message>[A-Z]{2}\w+)"
    r"/Media/(?P<media>ME\w+)"
)


class TwilioMediaSource:
    """Twilio ``MediaUrl``s: downloaded as a stream, deleted at Twilio when kept."""

    def __init__(self, settings: TwilioSettings, client: Client, *, timeout: float) -> None:
        assert settings.account_sid and settings.auth_token
        self._base = (settings.api_base_url or TWILIO_API).rstrip("/")
        self._client = client
        self._http = httpx.AsyncClient(
            auth=(settings.account_sid, settings.auth_token.get_secret_value()),
            timeout=timeout,
            follow_redirects=True,
            trust_env=True,
        )

    def _url(self, ref: str) -> str:
        """The URL to fetch: with ``twilio.api_base_url`` (a regional edge, a test fake)
        Twilio's own host is replaced, as the SDK's requests are."""
        if ref.startswith(TWILIO_API + "/"):
            return self._base + ref.removeprefix(TWILIO_API)
        if not ref.startswith(self._base + "/"):
            raise FetchFailed("not a Twilio media URL")  # credentials go to Twilio only
        return ref

    @asynccontextmanager
    async def open(self, ref: str, max_bytes: int) -> AsyncIterator[Download]:
        try:
            async with self._http.stream("GET", self._url(ref)) as response:
                if response.status_code != 200:
                    raise FetchFailed(f"HTTP {response.status_code}")
                length = response.headers.get("content-length")
                yield Download(
                    response.aiter_bytes(CHUNK),
                    response.headers.get("content-type"),
                    int(length) if length and length.isdigit() else None,
                )
        except httpx.HTTPError as error:
            raise FetchFailed(type(error).__name__) from None

    async def delete_at_provider(self, ref: str) -> None:
        """Delete Twilio's copy of a file (gone already is as good)."""
        match = _MEDIA_PATH.search(ref)
        if match is None:
            return
        try:
            await self._client.messages(match["message"]).media(match["media"]).delete_async()
        except TwilioRestException as error:
            if error.status != 404:
                raise

    async def close(self) -> None:
        await self._http.aclose()
