"""`pendamping web`: the web app without sweeps or dispatcher, of which several may run on
PostgreSQL. Telegram allows one poller per bot: exactly one process polls (an advisory
lock), a second says so and serves webhooks only, and takes over when the poller is killed.
On SQLite one process serves a database, and a second refuses to start."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.e2e.test_inbox_crash import PENDAMPING, free_port
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramApi

POLLING = "telegram: polling"
NOT_POLLING = "telegram: another process polls"
NO_SWEEPS = "sweeps and dispatcher: not in this process"


def _env(db_url: str, port: int, fake: FakeTelegramApi) -> dict[str, str]:
    return {
        **os.environ,
        "PENDAMPING_CONFIG": "",
        "PENDAMPING_DATABASE_URL": db_url,
        "PENDAMPING_TELEGRAM_TOKEN": fake.token,
        "PENDAMPING_TELEGRAM_BOT_USERNAME": BOT_USERNAME,
        "PENDAMPING_TELEGRAM_MODE": "polling",
        "PENDAMPING_TELEGRAM_API_BASE_URL": fake.base_url,
        "PENDAMPING_TELEGRAM_API_FILE_URL": fake.base_file_url,
        "PENDAMPING_TELEGRAM_POLL_TAKEOVER_SECONDS": "0.3",
        "PENDAMPING_WEB_PORT": str(port),
    }


@asynccontextmanager
async def web(
    env: dict[str, str], log: Path, *, healthy: bool = True
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A `pendamping web` process, its log written to ``log``; once it answers /health."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            str(PENDAMPING), "web", env=env, stdout=sink, stderr=sink
        )
    try:
        if healthy:
            port = env["PENDAMPING_WEB_PORT"]
            async with httpx.AsyncClient() as client:
                for _ in range(300):
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert process.returncode is None, _text(log)
                    await asyncio.sleep(0.05)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


def _text(log: Path) -> str:
    return log.read_text(errors="replace")


async def _said(log: Path, text: str, seconds: float = 15) -> bool:
    for _ in range(int(seconds / 0.05)):
        if text in _text(log):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_one_web_process_polls_and_another_takes_over_when_it_is_killed(
    db_url: str, tmp_path: Path
) -> None:
    async with FakeTelegramApi(max_poll_wait=5) as fake:
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        if db_url.startswith("sqlite"):  # one process serves a SQLite database
            async with web(_env(db_url, free_port(), fake), first_log):
                assert await _said(first_log, POLLING) and await _said(first_log, NO_SWEEPS)
                async with web(_env(db_url, free_port(), fake), second_log,
                               healthy=False) as second:
                    assert await asyncio.wait_for(second.wait(), timeout=30) == 1
            assert "pendamping web" in _text(second_log)  # who holds it is named
            return
        async with web(_env(db_url, free_port(), fake), first_log) as first:
            assert await _said(first_log, POLLING)
            await fake.wait_for("getUpdates", 1, timeout=15)
            async with web(_env(db_url, free_port(), fake), second_log):
                assert await _said(second_log, NOT_POLLING)
                assert POLLING not in _text(second_log)
                first.send_signal(signal.SIGKILL)
                await first.wait()
                polls = len(fake.calls_to("getUpdates"))
                assert await _said(second_log, POLLING)  # the lock went with the process
                await fake.wait_for("getUpdates", polls + 1, timeout=15)
            assert await _said(first_log, NO_SWEEPS)
