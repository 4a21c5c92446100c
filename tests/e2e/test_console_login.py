"""The console's way in, through the app's routes (httpx against the ASGI app), on both
databases: /web in chat gives a link; its GET only asks; its POST (with the form's token)
opens the session; cookies are HttpOnly, SameSite=Lax and Secure behind https; the link
and the session token never reach the logs; pages need a session and answer 404 for what
is not there."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import build_app, engine_settings
from bot.config import load_settings
from bot.dashboard import Console
from bot.web import create_web_app
from handlers.engine import Engine
from handlers.registry import COMMANDS, FLOWS
from models.rules.clock import FixedClock
from tests.cli_text import t
from tests.world import Chat, build_world

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LINK = re.compile(r"(https?://[^/\s]+)(/masuk/[A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _console(
    db_url: str, folder: Path, public_url: str
) -> tuple[Console, httpx.AsyncClient, Engine]:
    settings = load_settings(
        environ={
            "PENDAMPING_DATABASE_URL": db_url,
            "PENDAMPING_WEB_PUBLIC_URL": public_url,
            "PENDAMPING_WEB_SESSION_SECRET_FILE": str(folder / "secret"),
        }
    ).settings
    app = build_app(settings, clock=FixedClock(NOW))
    console = Console(app)
    engine = Engine(app.sessions, engine_settings(app), app.clock, FLOWS, COMMANDS)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_web_app(console=console)),
        base_url=public_url,
    )
    return console, client, engine


@pytest.mark.parametrize("public_url", ["https://pkh.example.org", "http://127.0.0.1:8080"])
async def test_a_link_from_chat_opens_a_session_with_safe_cookies_and_nothing_is_logged(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, public_url: str
) -> None:
    caplog.set_level(logging.DEBUG)
    console, client, engine = _console(db_url, tmp_path, public_url)
    try:
        await build_world(console.app.sessions)
        dewi = Chat(engine, FixedClock(NOW), "console:dewi")
        await dewi.send("/web")
        found = LINK.search(dewi.text)
        assert found and found.group(1) == public_url, dewi.text
        path = found.group(2)
        assert dewi.text.startswith(t("web.link_sent", minutes=10, url="")[:30])

        stranger = await client.get("/dasbor")
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/masuk")

        asked = await client.get(path)  # a preview's GET does not use the link
        assert asked.status_code == 200 and "Dewi Koordinator" in asked.text
        again = await client.get(path)
        assert again.status_code == 200
        token = CSRF.search(again.text)
        assert token
        refused = await client.post(path, data={"csrf": "x" * 64})
        assert refused.status_code == 403
        signed_in = await client.post(path, data={"csrf": token.group(1)})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/dasbor"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert ("Secure" in cookie) == public_url.startswith("https://")

        page = await client.get("/dasbor")
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert (await client.get("/dasbor/tidak-ada")).status_code == 404
        assert (await client.post(path, data={"csrf": token.group(1)})).status_code == 410

        secrets = {path.rsplit("/", 1)[1], client.cookies.get("pdm_session", "")}
        for record in caplog.records:
            if record.name.startswith(("httpx", "httpcore")):
                continue  # the test's own client (the browser's side)
            line = record.getMessage()
            assert not any(secret and secret in line for secret in secrets), record.name
    finally:
        await client.aclose()
        await console.app.close()
