"""Benchmark: the outbox dispatcher against a provider limited to 80 messages/s.

The dispatcher runs in a worker process with the real Twilio sender (the ``twilio`` SDK)
against a local fake of Twilio's Messages API, which answers 429 beyond 80 messages in any
one second and records what it accepted. Run 1 sends 60 seconds' worth of messages; run 2
does the same but kills the worker with SIGKILL half-way and starts a new one, which takes
over the dead worker's claims once their lease runs out.

    python bench/dispatch.py [--quick] [--seconds N] [--limit N]

The last line is JSON: {"limit_per_s", "achieved_per_s", "fraction_of_limit",
"windows_over_limit", "lost", "duplicated", "lost_after_kill", "duplicated_after_kill"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/telegram.py is named like the `telegram` package: keep this folder off the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from sqlalchemy import func, select  # noqa: E402

from bot import event_loop  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402
from models.enums import Channel, OutboxStatus  # noqa: E402
from models.messaging.enqueue import Enqueue, Priority, enqueue  # noqa: E402
from models.messaging.tables import Outbox  # noqa: E402

SENDER = "+6281100000001"
LEASE_SECONDS = 5


async def worker(database_url: str, api_url: str, limit: float, account: str, token: str) -> None:
    """The dispatcher process: runs until killed or until nothing is left."""
    from bot.channels.whatsapp import TwilioChannel
    from bot.config import TwilioSettings
    from handlers.i18n import Translator
    from models.rules.clock import SystemClock
    from scheduler.dispatcher import Dispatcher

    engine = create_engine(database_url)
    sessions = session_factory(engine)
    settings = TwilioSettings(
        account_sid=account, auth_token=token, sms_sender=SENDER, api_base_url=api_url
    )
    clock = SystemClock()
    channel = TwilioChannel(settings, sessions, clock, Translator(), timeout=10)
    dispatcher = Dispatcher(
        sessions,
        {Channel.SMS: channel.send_claimed},
        {Channel.SMS: limit},
        clock,
        batch=200,
        lease=timedelta(seconds=LEASE_SECONDS),
        base_delay=0.5,
        max_delay=5,
        concurrency=64,
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop, idle=0.2))
    while True:
        await asyncio.sleep(0.5)
        async with sessions() as session:
            open_rows = await session.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            )
        if not open_rows:
            break
    stop.set()
    await runner
    await channel.http.close()
    await engine.dispose()


def spawn(database_url: str, fake: Any, limit: float) -> asyncio.subprocess.Process:
    return asyncio.create_subprocess_exec(  # type: ignore[return-value]
        sys.executable,
        __file__,
        "--worker",
        database_url,
        fake.base_url,
        str(limit),
        fake.account_sid,
        fake.auth_token,
    )


async def one_run(limit: float, seconds: float, kill_at: float | None) -> dict[str, Any]:
    from tests.fakes.twilio_api import FakeTwilioApi

    count = int(limit * seconds)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/dispatch.db"
        db = create_engine(url)
        await upgrade(db)
        sessions = session_factory(db)
        now = datetime.now(UTC)
        async with sessions.begin() as session:
            await enqueue(
                session,
                [
                    Enqueue(
                        channel=Channel.SMS,
                        address=f"sms:+62812{n:08d}",
                        kind="bench",
                        payload={"text": f"bench {n}"},
                        priority=Priority.REMINDER,
                    )
                    for n in range(count)
                ],
                now=now,
            )
        async with FakeTwilioApi() as fake:
            fake.limit(limit)
            started = time.perf_counter()
            process = await spawn(url, fake, limit)
            if kill_at is not None:
                await asyncio.sleep(kill_at)
                process.send_signal(signal.SIGKILL)
                await process.wait()
                process = await spawn(url, fake, limit)
            await process.wait()
            elapsed = time.perf_counter() - started
            accepted = Counter(m["body"] for m in fake.messages.values())
            per_second = fake.sends_per_second()
            window = fake.max_sends_in_window(1.0)
        async with sessions() as session:
            statuses = Counter(
                status.value for status in await session.scalars(select(Outbox.status))
            )
        await db.dispose()
    delivered = {body for body in accepted}
    lost = count - len(delivered)
    duplicated = sum(n - 1 for n in accepted.values() if n > 1)
    steady = sorted(per_second.values())[1:-1] or list(per_second.values())
    return {
        "messages": count,
        "elapsed_s": round(elapsed, 1),
        "achieved_per_s": round(sum(steady) / max(len(steady), 1), 1),
        "max_in_any_second": window,
        "windows_over_limit": sum(1 for n in per_second.values() if n > limit),
        "lost": lost,
        "duplicated": duplicated,
        "statuses": dict(statuses),
    }


async def main_async(limit: float, seconds: float) -> dict[str, Any]:
    plain = await one_run(limit, seconds, kill_at=None)
    killed = await one_run(limit, seconds, kill_at=seconds / 2)
    print(f"run 1: {plain}")
    print(f"run 2 (SIGKILL at {seconds / 2:.0f} s, restarted): {killed}")
    return {
        "limit_per_s": limit,
        "achieved_per_s": plain["achieved_per_s"],
        "fraction_of_limit": round(plain["achieved_per_s"] / limit, 3),
        "windows_over_limit": max(plain["windows_over_limit"], killed["windows_over_limit"]),
        "max_in_any_second": max(plain["max_in_any_second"], killed["max_in_any_second"]),
        "lost": plain["lost"],
        "duplicated": plain["duplicated"],
        "lost_after_kill": killed["lost"],
        "duplicated_after_kill": killed["duplicated"],
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        database_url, api_url, limit, account, token = sys.argv[2:7]
        event_loop.run(worker(database_url, api_url, float(limit), account, token))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10-second runs")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--limit", type=float, default=80)
    args = parser.parse_args()
    seconds = 10 if args.quick else args.seconds
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    print(json.dumps(event_loop.run(main_async(args.limit, seconds))))


if __name__ == "__main__":
    main()
