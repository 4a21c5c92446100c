"""Benchmark: what the Telegram layer adds to the engine's cost per update.

The same attendance conversations run twice on the same database:
  1. engine only: ``Engine.handle`` with the messages the Telegram layer would hand it (an
     update id to process once, replies queued in the outbox with the step);
  2. Telegram: Update JSON posted to the web app's ``POST /telegram/webhook`` (secret
     checked; called as an ASGI app, the way a server does once it has read the request),
     parsed by python-telegram-bot, dispatched by its Application, translated, and run
     through the same engine. The difference is the Telegram layer.
Then the outbox dispatcher sends the queued replies with python-telegram-bot's Bot API
client to a local fake of the Bot API in another process: the delivery cost per reply is
printed on its own (Telegram lets a bot send about 30 messages a second; the dispatcher
paces them). Telegram's quotas are lifted for the run (the bench measures cost).

    python bench/telegram.py [--quick] [--chats N] [--passes N]

The last line is JSON: {"updates_per_s", "p99_ms", "overhead_vs_engine", ...};
``overhead_vs_engine`` compares CPU time per update in this process,
``wall_overhead_vs_engine`` compares wall time, ``delivery_cpu_ms_per_reply`` is the
dispatcher's cost of sending one reply.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# This file is named like the `telegram` package: keep its folder off the import path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_conversation", BENCH / "conversation.py")
assert _spec is not None and _spec.loader is not None
conversation = importlib.util.module_from_spec(_spec)
sys.modules["bench_conversation"] = conversation
_spec.loader.exec_module(conversation)
default_catalog, seed = conversation.default_catalog, conversation.seed

from sqlalchemy import delete, select  # noqa: E402

from bot.channels.telegram import TelegramChannel, build_application  # noqa: E402
from bot.config import TelegramSettings  # noqa: E402
from bot.process import tune_garbage_collector  # noqa: E402
from bot.web import TELEGRAM_SECRET_HEADER, TelegramWebhook, create_web_app  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.messages import IncomingMessage  # noqa: E402
from handlers.registry import COMMANDS, FLOWS  # noqa: E402
from handlers.settings import EngineSettings  # noqa: E402
from models.clock import SystemClock  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.tables import Channel, ChannelIdentity, Outbox, Staff  # noqa: E402
from scheduler.dispatcher import Dispatcher  # noqa: E402
from tests.fakes.telegram_api import callback_update, text_update  # noqa: E402

SECRET = "bench-secret"
E = TypeVar("E", bound=Engine)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def link_chats(sessions: Any, chats: int) -> list[int]:
    """Give each simulated pendamping a Telegram chat id."""
    async with sessions.begin() as session:
        staff_ids = list(await session.scalars(select(Staff.id).order_by(Staff.id).limit(chats)))
        for n, staff_id in enumerate(staff_ids):
            session.add(
                ChannelIdentity(
                    address=f"telegram:{10_000 + n}", channel=Channel.TELEGRAM, staff_id=staff_id
                )
            )
    return [10_000 + n for n in range(len(staff_ids))]


def pass_script(markup_of: Any) -> list[tuple[str, Any]]:
    """The attendance pass as (kind, value-or-chooser) steps, shared by both runs."""
    return [
        ("text", "/hadir"),
        ("choice", lambda options: next(v for v in options if v.startswith("m:"))),
        ("choice", lambda options: "s:3"),
        ("choice", lambda options: next(v for v in options if v.startswith("t:"))),
        ("choice", lambda options: "done"),
        ("choice", lambda options: "izin"),
        ("choice", lambda options: "skip"),
        ("choice", lambda options: "save"),
    ]


async def engine_only(engine: Engine, chats: list[int], passes: int) -> list[float]:
    """The same conversations straight into the engine, with the messages the Telegram
    layer would hand it (an update id to process once; replies queued in the outbox)."""
    clock = SystemClock()
    timings: list[float] = []
    for _ in range(passes):
        for chat in chats:
            options: list[str] = []
            for kind, value in pass_script(None):
                chosen = value if kind == "text" else value(options)
                message = IncomingMessage(
                    channel="telegram",
                    address=f"telegram:{chat}",
                    received_at=clock.now(),
                    text=chosen if kind == "text" else "",
                    choice=None if kind == "text" else chosen,
                    external_id=f"engine:{uuid.uuid4()}",
                )
                started = time.perf_counter()
                outcome = await engine.handle(message)
                timings.append(time.perf_counter() - started)
                last = outcome.replies[-1]
                options = [o.value for o in last.options] + [t.value for t in last.toggles]
    return timings


FAKE_SERVER = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.telegram_api import FakeTelegramApi

async def main():
    async with FakeTelegramApi() as fake:
        print(fake.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def bench_engine(sessions: Any, kind: type[E]) -> E:
    """The engine both runs use, queuing Telegram replies as `pendamping run` does."""
    return kind(
        sessions,
        EngineSettings(catalog=default_catalog()),
        SystemClock(),
        FLOWS,
        COMMANDS,
        queued_channels=["telegram"],
    )


class RecordingEngine(Engine):
    """The real engine; it also remembers the options it last offered in each chat."""

    last_options: dict[int, list[str]]

    async def handle(self, message: IncomingMessage) -> Any:
        outcome = await super().handle(message)
        if outcome.replies:
            last = outcome.replies[-1]
            chat = int(message.address.split(":", 1)[1])
            self.last_options[chat] = [o.value for o in last.options] + [
                t.value for t in last.toggles
            ]
        return outcome


async def post_asgi(app: Any, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST to the ASGI app directly, as a server does once it has parsed the request: no
    HTTP client in this process, so its CPU is the bot's own work."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/telegram/webhook",
        "raw_path": b"/telegram/webhook",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("149.154.167.220", 443),
        "server": ("127.0.0.1", 8080),
    }
    request = {"type": "http.request", "body": body, "more_body": False}
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        return request

    async def send(event: dict[str, Any]) -> None:
        nonlocal status
        if event["type"] == "http.response.start":
            status = event["status"]
        elif event["type"] == "http.response.body":
            chunks.append(event.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


@dataclass
class TelegramRun:
    timings: list[float]  # per update: posted, parsed, through the engine, replies queued
    update_cpu_s: float  # CPU of this process for all updates
    replies: int  # messages the dispatcher then sent to the Bot API fake
    delivery_cpu_s: float  # CPU of this process for sending them


async def through_telegram(sessions: Any, chats: list[int], passes: int) -> TelegramRun:
    """Updates through the webhook route and PTB into the engine, which queues the replies
    in the outbox (as `pendamping run` does); then the dispatcher sends them to the fake
    Bot API in another process. Only this process's CPU is counted, in two parts."""
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FAKE_SERVER,
        str(ROOT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdin is not None
    port = int((await server.stdout.readline()).decode())
    token = "123456:TEST-TOKEN"
    settings = TelegramSettings(
        token=token,
        mode="webhook",
        api_base_url=f"http://127.0.0.1:{port}/bot",
        api_file_url=f"http://127.0.0.1:{port}/file/bot",
        webhook_secret=SECRET,
        messages_per_second=1e6,
        messages_per_second_per_chat=1e6,
        messages_per_minute_per_group=1e6,
    )
    engine = bench_engine(sessions, RecordingEngine)
    engine.last_options = {}
    application = build_application(settings, polling=False)
    channel = TelegramChannel(
        application, engine, bot_username=None, error_text="error", answer_in_webhook=True
    )
    web = create_web_app(telegram=TelegramWebhook(SECRET, channel.feed, channel.webhook_response))
    headers = {"content-type": "application/json", TELEGRAM_SECRET_HEADER: SECRET}
    timings: list[float] = []
    update_id = 0
    try:
        async with application:
            await application.start()
            cpu = time.process_time()
            for _ in range(passes):
                for chat in chats:
                    for kind, value in pass_script(None):
                        update_id += 1
                        if kind == "text":
                            update = text_update(update_id, chat, value)
                        else:
                            chosen = value(engine.last_options.get(chat, []))
                            update = callback_update(update_id, chat, chosen, message_id=1)
                        body = json.dumps(update).encode()
                        started = time.perf_counter()
                        status, _ = await post_asgi(web, body, headers)
                        await application.update_queue.join()
                        timings.append(time.perf_counter() - started)
                        assert status == 200
            update_cpu = time.process_time() - cpu
            dispatcher = Dispatcher(
                sessions, {Channel.TELEGRAM: channel.send_claimed}, {}, SystemClock()
            )
            cpu = time.process_time()
            replies = 0
            while sent := (await dispatcher.run_once()).sent:
                replies += sent
            delivery_cpu = time.process_time() - cpu
            await application.stop()
    finally:
        server.stdin.close()
        await server.wait()
    return TelegramRun(timings, update_cpu, replies, delivery_cpu)


async def run(chats: int, passes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        db = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(db)
        sessions = session_factory(db)
        await seed(sessions, pendamping=chats, kelompok_each=1, members=25, today=date.today())
        chat_ids = await link_chats(sessions, chats)
        engine = bench_engine(sessions, Engine)
        await engine_only(engine, chat_ids[:2], 1)  # warm-up
        tune_garbage_collector()  # as `pendamping run` does once it has started
        cpu = time.process_time()
        base = await engine_only(engine, chat_ids, passes)
        engine_cpu = (time.process_time() - cpu) / len(base)
        async with sessions.begin() as session:  # only the Telegram run's replies to send
            await session.execute(delete(Outbox))
        telegram = await through_telegram(sessions, chat_ids, passes)
        await db.dispose()
    layer = telegram.timings
    update_cpu = telegram.update_cpu_s / len(layer)
    delivery_cpu = telegram.delivery_cpu_s / max(telegram.replies, 1)
    with_delivery = update_cpu + telegram.delivery_cpu_s / len(layer)
    engine_ms = statistics.mean(base) * 1000
    telegram_ms = statistics.mean(layer) * 1000
    return {
        "overhead_vs_engine": round((update_cpu - engine_cpu) / engine_cpu, 3),
        "engine_cpu_ms_per_update": round(engine_cpu * 1000, 3),
        "telegram_cpu_ms_per_update": round(update_cpu * 1000, 3),
        "replies_sent": telegram.replies,
        "delivery_cpu_ms_per_reply": round(delivery_cpu * 1000, 3),
        "overhead_with_delivery_vs_engine": round((with_delivery - engine_cpu) / engine_cpu, 3),
        "wall_overhead_vs_engine": round((telegram_ms - engine_ms) / engine_ms, 3),
        "updates": len(layer),
        "updates_per_s": round(len(layer) / sum(layer), 1),
        "p50_ms": round(percentile(layer, 0.50) * 1000, 2),
        "p99_ms": round(percentile(layer, 0.99) * 1000, 2),
        "engine_ms_per_update": round(engine_ms, 2),
        "telegram_ms_per_update": round(telegram_ms, 2),
        "engine_p99_ms": round(percentile(base, 0.99) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    chats, passes = (5, 2) if args.quick else (args.chats, args.passes)
    result = asyncio.run(run(chats, passes))
    print(
        f"CPU per update: engine only {result['engine_cpu_ms_per_update']} ms, through "
        f"Telegram {result['telegram_cpu_ms_per_update']} ms (webhook route, PTB, engine, "
        f"replies queued): the layer adds {result['overhead_vs_engine']:.0%} to the engine's cost"
    )
    print(
        f"delivery: {result['replies_sent']} replies sent by the dispatcher through PTB, "
        f"{result['delivery_cpu_ms_per_reply']} ms CPU each; update path and delivery together "
        f"add {result['overhead_with_delivery_vs_engine']:.0%} to the engine's cost"
    )
    print(
        f"wall per update: engine only {result['engine_ms_per_update']} ms, through Telegram "
        f"{result['telegram_ms_per_update']} ms (p50 {result['p50_ms']} ms, p99 "
        f"{result['p99_ms']} ms)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
