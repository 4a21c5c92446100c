"""The aiohttp request layer under python-telegram-bot: timeouts and broken connections
become PTB's own errors (which the channel retries), and a Bot works through it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram_http import AiohttpRequest
from tests.fakes.telegram_api import FakeTelegramApi


async def _silent_server() -> tuple[asyncio.Server, int]:
    """Accepts connections and reads the request, but never answers."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def request_layer() -> AsyncIterator[AiohttpRequest]:
    request = AiohttpRequest(timeout=0.3)
    async with request:
        yield request


async def test_an_unanswered_request_times_out_as_ptb_timed_out(
    request_layer: AiohttpRequest,
) -> None:
    server, port = await _silent_server()
    try:
        with pytest.raises(TimedOut):
            await request_layer.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")
    finally:
        server.close()


async def test_a_refused_connection_is_a_network_error(request_layer: AiohttpRequest) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NetworkError, match="aiohttp"):
        await request_layer.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")


async def test_a_request_before_initialize_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:1/", "POST")


async def test_a_bot_on_aiohttp_calls_the_bot_api_with_parameters_and_files() -> None:
    async with FakeTelegramApi() as fake:
        bot = Bot(
            fake.token,
            base_url=fake.base_url,
            base_file_url=fake.base_file_url,
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(connection_pool_size=1),
        )
        async with bot:
            me = await bot.get_me()
            sent = await bot.send_message(42, "Halo", read_timeout=5)
            await bot.send_document(42, b"PK\x03\x04data", filename="rekap.xlsx", caption="Rekap")
            await bot.send_document(42, b"%PDF", filename="Kehadiran Mawar – Nov.pdf")
        assert me.username == fake.bot_user["username"]
        assert sent.text == "Halo" and sent.chat.id == 42
        document, named = fake.calls_to("sendDocument")
        # the name as people wrote it (aiohttp would percent-encode it by default)
        assert named.params["document"]["filename"] == "Kehadiran Mawar – Nov.pdf"
        assert document.files["document"] == b"PK\x03\x04data"
        assert document.params["document"]["filename"] == "rekap.xlsx"
        assert document.params["caption"] == "Rekap"
        assert fake.calls_to("sendMessage")[0].params == {"chat_id": 42, "text": "Halo"}


async def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployments that reach the Bot API through HTTPS_PROXY/HTTP_PROXY keep working, as
    with PTB's httpx requests."""
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())
        body = b'{"ok": true, "result": true}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with AiohttpRequest(timeout=5) as request:
            status, body = await request.do_request(
                "http://api.telegram.test/bot1:x/logOut", "POST"
            )
    finally:
        server.close()
    assert (status, body) == (200, b'{"ok": true, "result": true}')
    assert seen == [b"POST http://api.telegram.test/bot1:x/logOut HTTP/1.1\r\n"]
