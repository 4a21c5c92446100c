"""The requests under the Telegram channel's bot (python-telegram-bot's own ``HTTPXRequest``,
as ``build_application`` configures it): the configured timeout and broken connections
become PTB's own errors (which the channel retries), proxies come from the environment,
and files go up with their names as people wrote them."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application
from telegram.request import BaseRequest

from bot.channels.telegram import build_application
from bot.config import TelegramSettings
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramApi


def _settings(base: str = "http://127.0.0.1:1", timeout: float = 15) -> TelegramSettings:
    return TelegramSettings(
        token=DEFAULT_TOKEN,
        api_base_url=f"{base}/bot",
        api_file_url=f"{base}/file/bot",
        timeout_seconds=timeout,
    )


async def _silent_server() -> tuple[asyncio.Server, int]:
    """Accepts connections and reads the request, but never answers."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def request_layer() -> AsyncIterator[BaseRequest]:
    """The bot's request object, with a 0.3 s timeout."""
    request = build_application(_settings(timeout=0.3)).bot.request
    async with request:
        yield request


async def test_an_unanswered_request_times_out_after_the_configured_timeout(
    request_layer: BaseRequest,
) -> None:
    assert request_layer.read_timeout == 0.3
    server, port = await _silent_server()
    started = time.perf_counter()
    try:
        with pytest.raises(TimedOut):
            await request_layer.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")
    finally:
        server.close()
    assert time.perf_counter() - started < 5


async def test_a_refused_connection_is_a_network_error(request_layer: BaseRequest) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NetworkError) as raised:
        await request_layer.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")
    assert not isinstance(raised.value, TimedOut)


async def test_the_bot_calls_the_bot_api_with_parameters_and_files() -> None:
    async with FakeTelegramApi() as fake:
        application: Application = build_application(  # type: ignore[type-arg]
            _settings(fake.base_url.removesuffix("/bot"))
        )
        async with application:
            bot = application.bot
            me = await bot.get_me()
            sent = await bot.send_message(42, "Halo", read_timeout=5)
            await bot.send_document(42, b"PK\x03\x04data", filename="rekap.xlsx", caption="Rekap")
            await bot.send_document(42, b"%PDF", filename="Kehadiran Mawar – Nov.pdf")
        assert me.username == fake.bot_user["username"]
        assert sent.text == "Halo" and sent.chat.id == 42
        document, named = fake.calls_to("sendDocument")
        # the name as people wrote it (UTF-8, spaces; Telegram shows it verbatim)
        assert named.params["document"]["filename"] == "Kehadiran Mawar – Nov.pdf"
        assert document.files["document"] == b"PK\x03\x04data"
        assert document.params["document"]["filename"] == "rekap.xlsx"
        assert document.params["caption"] == "Rekap"
        assert fake.calls_to("sendMessage")[0].params == {"chat_id": 42, "text": "Halo"}


async def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployments that reach the Bot API through HTTP_PROXY / HTTPS_PROXY / ALL_PROXY keep
    working (read when the application is built)."""
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())
        body = b'{"ok": true, "result": true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        request = build_application(_settings(timeout=5)).bot.request
        async with request:
            status, body = await request.do_request(
                "http://api.telegram.test/bot1:x/logOut", "POST"
            )
    finally:
        server.close()
    assert (status, body) == (200, b'{"ok": true, "result": true}')
    assert seen == [b"POST http://api.telegram.test/bot1:x/logOut HTTP/1.1\r\n"]
