"""Benchmark: the CPU an idle `pendamping run` takes.

`pendamping init --demo` makes the demo database in a temporary folder and 300 WhatsApp
reminders are put in its outbox, due now; the server then runs with Telegram only
(polling a local fake of the Bot API, which holds each long poll as Telegram does), so
nothing can send the WhatsApp rows: the operator's set-up of issue 19. After the start-up
sweeps have settled, the CPU time of the server process is read from /proc over an idle
window in which nobody writes.

    python bench/idle.py [--quick] [--settle S] [--window S]

The last line is JSON: {"idle_cpu_percent", "idle_cpu_s", "window_s", "settle_s",
"whatsapp_pending", "telegram_polls_per_min"}. The target is under 2 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/telegram.py is named like the `telegram` package: keep this folder off the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from bot import event_loop  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.enums import Channel  # noqa: E402
from models.messaging.enqueue import Enqueue, Priority, enqueue  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramApi  # noqa: E402

PENDAMPING = Path(sys.executable).with_name("pendamping")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far (/proc/PID/stat fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed_unsendable(url: str, count: int) -> None:
    """WhatsApp reminders due now, which a Telegram-only server has no sender for."""
    engine = create_engine(url)
    try:
        now = datetime.now(UTC)
        async with session_factory(engine).begin() as session:
            await enqueue(
                session,
                [
                    Enqueue(
                        Channel.WHATSAPP,
                        f"whatsapp:+62812{n:08d}",
                        "meeting_reminder",
                        {"text": "Pengingat pertemuan"},
                        Priority.REMINDER,
                        dedupe_key=f"bench-idle:{n}",
                    )
                    for n in range(count)
                ],
                now=now,
            )
    finally:
        await engine.dispose()


async def measure(settle: float, window: float) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="pendamping-idle-") as folder:
        database = Path(folder) / "idle.db"
        url = f"sqlite+aiosqlite:///{database}"
        async with FakeTelegramApi(max_poll_wait=10.0) as fake:
            env = {
                **os.environ,
                "PENDAMPING_CONFIG": "",
                "PENDAMPING_DATABASE_URL": url,
                "PENDAMPING_TELEGRAM_TOKEN": fake.token,
                "PENDAMPING_TELEGRAM_BOT_USERNAME": "PendampingTestBot",
                "PENDAMPING_TELEGRAM_MODE": "polling",
                "PENDAMPING_TELEGRAM_API_BASE_URL": fake.base_url,
                "PENDAMPING_TELEGRAM_API_FILE_URL": fake.base_file_url,
                "PENDAMPING_WEB_PORT": str(free_port()),
            }
            init = await asyncio.create_subprocess_exec(
                str(PENDAMPING), "init", "--demo", env=env, stdout=subprocess.DEVNULL
            )
            if await init.wait() != 0:
                raise SystemExit("pendamping init --demo failed")
            await seed_unsendable(url, 300)
            server = await asyncio.create_subprocess_exec(
                str(PENDAMPING), "run", env=env, stdout=subprocess.DEVNULL
            )
            try:
                await asyncio.sleep(settle)
                if server.returncode is not None:
                    raise SystemExit(f"pendamping run exited with {server.returncode}")
                polls_before = len(fake.calls_to("getUpdates"))
                before = cpu_seconds(server.pid)
                await asyncio.sleep(window)
                used = cpu_seconds(server.pid) - before
                polls = len(fake.calls_to("getUpdates")) - polls_before
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(server.wait(), timeout=15)
                except TimeoutError:
                    server.kill()
                    await server.wait()
        with sqlite3.connect(database) as db:
            (pending,) = db.execute(
                "SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status = 'pending'"
            ).fetchone()
    return {
        "idle_cpu_percent": round(100 * used / window, 2),
        "idle_cpu_s": round(used, 3),
        "window_s": window,
        "settle_s": settle,
        "whatsapp_pending": pending,
        "telegram_polls_per_min": round(polls * 60 / window, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="settle 10 s, measure 5 s")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds after start-up")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured")
    args = parser.parse_args()
    settle, window = (10.0, 5.0) if args.quick else (args.settle, args.window)
    print(json.dumps(event_loop.run(measure(settle, window))))


if __name__ == "__main__":
    main()
