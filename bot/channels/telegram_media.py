"""Files sent on Telegram: ``getFile`` through python-telegram-bot (``Bot.get_file``), then
the file streamed from the URL it gives (``File.file_path``, which carries the bot token:
never logged) so that a large file is never held whole in memory. Telegram lets bots
download files up to 20 MB; a larger one is refused as too large."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.media_fetch import Download, FetchFailed, Refused

PREFIX = "telegram-file:"
CHUNK = 1 << 16


class TelegramMediaSource:
    """``telegram-file:<file_id>`` references."""

    def __init__(self, bot: Bot, *, timeout: float) -> None:
        self._bot = bot
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=True)

    @asynccontextmanager
    async def open(self, ref: str, max_bytes: int) -> AsyncIterator[Download]:
        if not ref.startswith(PREFIX):
            raise FetchFailed("not a Telegram file reference")
        try:
            file = await self._bot.get_file(ref.removeprefix(PREFIX))
        except BadRequest as error:
            if "too big" in str(error).casefold():
                raise Refused("too_large") from None
            raise FetchFailed(f"getFile: {type(error).__name__}") from None
        except TelegramError as error:
            raise FetchFailed(f"getFile: {type(error).__name__}") from None
        if file.file_size is not None and file.file_size > max_bytes:
            raise Refused("too_large")
        location = file.file_path
        if not location:
            raise FetchFailed("getFile gave no file path")
        if not location.startswith(("http://", "https://")):  # a local Bot API server
            async with _local(Path(location)) as download:
                yield download
            return
        try:
            async with self._http.stream("GET", location) as response:
                if response.status_code != 200:
                    raise FetchFailed(f"HTTP {response.status_code}")
                yield Download(response.aiter_bytes(CHUNK), None, file.file_size)
        except httpx.HTTPError as error:
            raise FetchFailed(type(error).__name__) from None

    async def delete_at_provider(self, ref: str) -> None:
        return None  # the Bot API has no way to delete a file

    async def close(self) -> None:
        await self._http.aclose()


@asynccontextmanager
async def _local(path: Path) -> AsyncIterator[Download]:
    try:
        handle = await asyncio.to_thread(path.open, "rb")
    except OSError as error:
        raise FetchFailed(type(error).__name__) from None
    with handle:

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := handle.read(CHUNK):
                yield chunk

        yield Download(chunks())
