"""Benchmark: what the Telegram layer adds to the engine's cost per update.

The same attendance conversations (20 chats, one pass each) run three ways on the same
database, in rounds that alternate, so a drift in the machine's speed touches all alike:
  1. the engine as ``bench/conversation.py`` measures it: plain messages, replies handed
     back (``conversation_engine_cpu_ms``);
  2. the same engine work a Telegram update needs: the message carries an update id to
     process once, and the replies are queued in the outbox with the step
     (``engine_cpu_ms_per_update``);
  3. Telegram: Update JSON posted to the web app's ``POST /telegram/webhook`` (secret
     checked; called as an ASGI app, the way a server does once it has read the request),
     dispatched by python-telegram-bot's Application, translated, and run through the same
     engine (``telegram_cpu_ms_per_update``).
``overhead_vs_engine`` is (3 - 2) / 2: the Telegram layer proper. ``overhead_vs_conversation
_engine`` is (3 - 1) / 1: it also counts the engine's dedupe and outbox work. Each is the
median over the rounds. Then the outbox dispatcher sends the queued replies through PTB to a
fake Bot API in another process: ``delivery_cpu_ms_per_reply`` (Telegram lets a bot send
about 30 messages a second; the dispatcher paces them). Telegram's quotas are lifted for
the run (the bench measures cost). CPU is this process's, per message, measured around
each call.

    python bench/telegram.py [--quick] [--chats N] [--passes N] [--rounds N]

The last line is JSON: {"updates_per_s", "p99_ms", "overhead_vs_engine", ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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

from bot import event_loop  # noqa: E402
from bot.channels.telegram import TelegramChannel, build_application, from_inbox  # noqa: E402
from bot.config import TelegramSettings  # noqa: E402
from bot.process import tune_garbage_collector  # noqa: E402
from bot.web import TELEGRAM_SECRET_HEADER, TelegramWebhook, create_web_app  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.i18n import Translator  # noqa: E402
from handlers.inbox import InboxWorkers  # noqa: E402
from handlers.messages import IncomingMessage  # noqa: E402
from handlers.registry import COMMANDS, FLOWS  # noqa: E402
from handlers.settings import EngineSettings  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402
from models.enums import Channel  # noqa: E402
from models.messaging.tables import Outbox  # noqa: E402
from models.rules.clock import SystemClock  # noqa: E402
from models.tables import ChannelIdentity, Staff  # noqa: E402
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


async def engine_only(
    engine: Engine, chats: list[int], passes: int, *, as_telegram: bool = True
) -> list[float]:
    """The same conversations straight into the engine; CPU seconds per message.

    ``as_telegram``: with the messages the Telegram layer would hand it (an update id to
    process once; the engine queues replies for the channel). Without: the engine as
    ``bench/conversation.py`` measures it (no id, replies handed back)."""
    clock = SystemClock()
    cpu: list[float] = []
    for _ in range(passes):
        for chat in chats:
            options: list[str] = []
            for kind, value in pass_script(None):
                chosen = value if kind == "text" else value(options)
                message = IncomingMessage(
                    channel="telegram" if as_telegram else "console",
                    address=f"telegram:{chat}",
                    received_at=clock.now(),
                    text=chosen if kind == "text" else "",
                    choice=None if kind == "text" else chosen,
                    external_id=f"engine:{uuid.uuid4()}" if as_telegram else None,
                )
                started = time.process_time()
                outcome = await engine.handle(message)
                cpu.append(time.process_time() - started)
                last = outcome.replies[-1]
                options = [o.value for o in last.options] + [t.value for t in last.toggles]
    return cpu


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


class TelegramSide:
    """The web app, python-telegram-bot's Application and the dispatcher, with a fake Bot
    API in another process (so only the bot's own CPU is counted in this one)."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions
        self.update_id = 0

    async def __aenter__(self) -> TelegramSide:
        self.server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            FAKE_SERVER,
            str(ROOT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.server.stdout is not None
        port = int((await self.server.stdout.readline()).decode())
        settings = TelegramSettings(
            token="123456:TEST-TOKEN",
            mode="webhook",
            api_base_url=f"http://127.0.0.1:{port}/bot",
            api_file_url=f"http://127.0.0.1:{port}/file/bot",
            webhook_secret=SECRET,
            messages_per_second=1e6,
            messages_per_second_per_chat=1e6,
            messages_per_minute_per_group=1e6,
        )
        self.engine = bench_engine(self.sessions, RecordingEngine)
        self.engine.last_options = {}
        self.application = build_application(settings)
        self.inbox = InboxWorkers(
            self.sessions,
            self.engine,
            {Channel.TELEGRAM: lambda row: from_inbox(row, None)},
            SystemClock(),
            Translator(),
        )
        channel = TelegramChannel(
            self.application, bot_username=None, answer_in_webhook=True, inbox=self.inbox.store
        )
        self.web = create_web_app(
            telegram=TelegramWebhook(SECRET, channel.feed, channel.webhook_response)
        )
        self.dispatcher = Dispatcher(
            self.sessions, {Channel.TELEGRAM: channel.send_claimed}, {}, SystemClock()
        )
        await self.application.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.application.shutdown()
        assert self.server.stdin is not None
        self.server.stdin.close()
        await self.server.wait()

    async def updates(self, chats: list[int], passes: int) -> tuple[list[float], list[float]]:
        """Each conversation's attendance pass as Update JSON through the webhook route;
        (CPU seconds, wall seconds) per update, from the POST to the engine's commit."""
        headers = {"content-type": "application/json", TELEGRAM_SECRET_HEADER: SECRET}
        cpu: list[float] = []
        wall: list[float] = []
        for _ in range(passes):
            for chat in chats:
                for kind, value in pass_script(None):
                    self.update_id += 1
                    if kind == "text":
                        update = text_update(self.update_id, chat, value)
                    else:
                        chosen = value(self.engine.last_options.get(chat, []))
                        update = callback_update(self.update_id, chat, chosen, message_id=1)
                    body = json.dumps(update).encode()
                    started, started_cpu = time.perf_counter(), time.process_time()
                    status, _ = await post_asgi(self.web, body, headers)
                    await self.inbox.drain()
                    cpu.append(time.process_time() - started_cpu)
                    wall.append(time.perf_counter() - started)
                    assert status == 200
        return cpu, wall

    async def deliver(self) -> tuple[int, float]:
        """Send every queued reply to the Bot API fake; (replies, CPU seconds)."""
        started = time.process_time()
        replies = 0
        while sent := (await self.dispatcher.run_once()).sent:
            replies += sent
        return replies, time.process_time() - started


@dataclass
class Round:
    plain_cpu: float  # CPU per message, the engine as bench/conversation.py runs it
    engine_cpu: float  # CPU per message, the engine with update ids and queued replies
    telegram_cpu: float  # CPU per update through the webhook route into the engine
    delivery_cpu: float  # CPU per reply sent by the dispatcher
    replies: int


async def run(chats: int, passes: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        db = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(db)
        sessions = session_factory(db)
        await seed(sessions, pendamping=chats, kelompok_each=1, members=25, today=date.today())
        chat_ids = await link_chats(sessions, chats)
        engine = bench_engine(sessions, Engine)
        plain = Engine(
            sessions, EngineSettings(catalog=default_catalog()), SystemClock(), FLOWS, COMMANDS
        )
        results: list[Round] = []
        walls: list[float] = []
        async with TelegramSide(sessions) as telegram:
            await engine_only(plain, chat_ids[:2], 1, as_telegram=False)  # warm-up
            await engine_only(engine, chat_ids[:2], 1)
            await telegram.updates(chat_ids[:2], 1)
            await telegram.deliver()
            tune_garbage_collector()  # as `pendamping run` does once it has started
            # The runs alternate, round by round, so a drift in the machine's speed
            # touches all of them alike; each figure is the median over the rounds.
            # Each run starts from a full collection, so that none of them happens to pay
            # for the garbage of another.
            for _ in range(rounds):
                gc.collect()
                plain_cpu = await engine_only(plain, chat_ids, passes, as_telegram=False)
                gc.collect()
                engine_cpu = await engine_only(engine, chat_ids, passes)
                async with sessions.begin() as session:  # only the Telegram run's replies
                    await session.execute(delete(Outbox))
                gc.collect()
                telegram_cpu, wall = await telegram.updates(chat_ids, passes)
                gc.collect()
                replies, delivery_cpu = await telegram.deliver()
                walls.extend(wall)
                results.append(
                    Round(
                        statistics.mean(plain_cpu),
                        statistics.mean(engine_cpu),
                        statistics.mean(telegram_cpu),
                        delivery_cpu / max(replies, 1),
                        replies,
                    )
                )
        await db.dispose()

    def median(values: list[float]) -> float:
        return statistics.median(values)

    plain = median([r.plain_cpu for r in results])
    engine_cpu = median([r.engine_cpu for r in results])
    update_cpu = median([r.telegram_cpu for r in results])
    delivery = median([r.delivery_cpu for r in results])
    replies_per_update = sum(r.replies for r in results) / len(walls)
    layer = median([(r.telegram_cpu - r.engine_cpu) / r.engine_cpu for r in results])
    vs_plain = median([(r.telegram_cpu - r.plain_cpu) / r.plain_cpu for r in results])
    with_delivery = median(
        [
            (r.telegram_cpu + r.delivery_cpu * replies_per_update - r.plain_cpu) / r.plain_cpu
            for r in results
        ]
    )
    return {
        "overhead_vs_engine": round(layer, 3),
        "overhead_vs_conversation_engine": round(vs_plain, 3),
        "overhead_with_delivery_vs_conversation_engine": round(with_delivery, 3),
        "conversation_engine_cpu_ms": round(plain * 1000, 3),
        "engine_cpu_ms_per_update": round(engine_cpu * 1000, 3),
        "telegram_cpu_ms_per_update": round(update_cpu * 1000, 3),
        "delivery_cpu_ms_per_reply": round(delivery * 1000, 3),
        "replies_per_update": round(replies_per_update, 2),
        "rounds": len(results),
        "round_overheads": [
            round((r.telegram_cpu - r.engine_cpu) / r.engine_cpu, 3) for r in results
        ],
        "updates": len(walls),
        "updates_per_s": round(len(walls) / sum(walls), 1),
        "p50_ms": round(percentile(walls, 0.50) * 1000, 2),
        "p99_ms": round(percentile(walls, 0.99) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--passes", type=int, default=1, help="passes per chat per round")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    chats, passes, rounds = (5, 1, 3) if args.quick else (args.chats, args.passes, args.rounds)
    r = event_loop.run(run(chats, passes, rounds))
    print(
        f"CPU per message, median of {r['rounds']} rounds: the engine as bench/conversation.py "
        f"runs it {r['conversation_engine_cpu_ms']} ms; with an update id and its replies "
        f"queued {r['engine_cpu_ms_per_update']} ms; through Telegram (webhook route, PTB, "
        f"engine, replies queued) {r['telegram_cpu_ms_per_update']} ms"
    )
    print(
        f"the Telegram layer adds {r['overhead_vs_engine']:.0%} to the same engine work "
        f"(rounds: {', '.join(f'{x:.0%}' for x in r['round_overheads'])}), "
        f"{r['overhead_vs_conversation_engine']:.0%} to the conversation bench's engine"
    )
    print(
        f"delivery: {r['replies_per_update']} replies per update, sent by the dispatcher "
        f"through PTB at {r['delivery_cpu_ms_per_reply']} ms CPU each; update and delivery "
        f"together add {r['overhead_with_delivery_vs_conversation_engine']:.0%} to the "
        f"conversation bench's engine"
    )
    print(
        f"{r['updates']} updates, {r['updates_per_s']}/s one after another, "
        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms"
    )
    print(json.dumps(r))


if __name__ == "__main__":
    main()
