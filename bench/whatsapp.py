"""Benchmark: what signed Twilio webhooks add to the engine's cost per message.

Simulated pendamping type the whole attendance flow on WhatsApp ("hadir", "1", "3", "2",
"selesai", "1", "lewati", "simpan"). Three measurements on one database:
  1. engine only: ``Engine.handle`` with the same messages;
  2. the webhook route: ``POST /twilio/whatsapp`` with a real ``X-Twilio-Signature``,
     checked by Twilio's ``RequestValidator``, parsed and queued (signatures are computed
     before timing: that is Twilio's work);
  3. end to end: route, workers, engine, replies through the ``twilio`` SDK to a local fake
     of the Messages API, each reply an outbox row.

    python bench/whatsapp.py [--quick] [--chats N] [--passes N]

The last line is JSON: {"requests_per_s", "p99_ms", "overhead_vs_engine", ...};
``overhead_vs_engine`` is the route's cost (signature check and parsing) per message over
the engine's cost per message.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_conversation", BENCH / "conversation.py")
assert _spec is not None and _spec.loader is not None
conversation = importlib.util.module_from_spec(_spec)
sys.modules["bench_conversation"] = conversation
_spec.loader.exec_module(conversation)

from sqlalchemy import select  # noqa: E402

from bot import event_loop  # noqa: E402
from bot.channels.whatsapp import TwilioChannel, from_inbox  # noqa: E402
from bot.config import TwilioSettings  # noqa: E402
from bot.runner import twilio_webhooks  # noqa: E402
from bot.web import TWILIO_SIGNATURE_HEADER, create_web_app  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.i18n import Translator  # noqa: E402
from handlers.inbox import InboxWorkers  # noqa: E402
from handlers.messages import IncomingMessage  # noqa: E402
from handlers.registry import COMMANDS, FLOWS  # noqa: E402
from handlers.settings import EngineSettings  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402
from models.enums import Channel  # noqa: E402
from models.rules.clock import SystemClock  # noqa: E402
from models.tables import ChannelIdentity, Staff  # noqa: E402
from tests.fakes.twilio_api import (  # noqa: E402
    FakeTwilioApi,
    inbound_whatsapp_params,
    twilio_signature,
)

PUBLIC = "https://pkh.example.org"
PASS = ["hadir", "1", "3", "2", "selesai", "1", "lewati", "simpan"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def link_numbers(sessions: Any, chats: int) -> list[str]:
    async with sessions.begin() as session:
        staff_ids = list(await session.scalars(select(Staff.id).order_by(Staff.id).limit(chats)))
        addresses = [f"whatsapp:+62812{7000000 + n:07d}" for n in range(len(staff_ids))]
        for address, staff_id in zip(addresses, staff_ids, strict=True):
            session.add(ChannelIdentity(address=address, channel=Channel.WHATSAPP,
                                        staff_id=staff_id))
    return addresses


async def engine_only(engine: Engine, addresses: list[str], passes: int) -> list[float]:
    clock, timings = SystemClock(), []
    for _ in range(passes):
        for address in addresses:
            for text in PASS:
                message = IncomingMessage(channel="whatsapp", address=address,
                                          received_at=clock.now(), text=text)
                started = time.perf_counter()
                await engine.handle(message)
                timings.append(time.perf_counter() - started)
    return timings


def signed_requests(auth_token: str, addresses: list[str], passes: int, first: int,
                    public: str = PUBLIC) -> list[tuple[dict[str, str], str]]:
    requests = []
    sequence = first
    for _ in range(passes):
        for address in addresses:
            for text in PASS:
                sequence += 1
                params = inbound_whatsapp_params(from_=address, body=text,
                                                 message_sid=f"SM{sequence:032x}")
                requests.append((params, twilio_signature(auth_token,
                                                          public + "/twilio/whatsapp", params)))
    return requests


async def run(chats: int, passes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        db = create_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(db)
        sessions = session_factory(db)
        await conversation.seed(sessions, pendamping=chats, kelompok_each=1, members=25,
                                today=date.today())
        addresses = await link_numbers(sessions, chats)
        clock = SystemClock()
        engine = Engine(sessions, EngineSettings(catalog=conversation.default_catalog()), clock,
                        FLOWS, COMMANDS)
        await engine_only(engine, addresses[:2], 1)  # warm-up
        cpu = time.process_time()
        base = await engine_only(engine, addresses, passes)
        engine_cpu = (time.process_time() - cpu) / len(base)
        async with FakeTwilioApi() as fake:
            settings = TwilioSettings(account_sid=fake.account_sid, auth_token=fake.auth_token,
                                      whatsapp_sender="+14155238886",
                                      api_base_url=fake.base_url, public_base_url=PUBLIC)
            inbox = InboxWorkers(
                sessions, engine, {Channel.WHATSAPP: from_inbox}, clock, Translator()
            )
            channel = TwilioChannel(settings, sessions, clock, Translator(), inbox=inbox.store)
            web = create_web_app(twilio=twilio_webhooks(channel))
            requests = signed_requests(fake.auth_token, addresses, passes, first=0)
            route: list[float] = []
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web),
                                         base_url="http://10.0.0.5:8080") as client:
                # 2. the route alone: workers not started, messages only stored in the inbox
                cpu = time.process_time()
                for params, signature in requests:
                    started = time.perf_counter()
                    response = await client.post("/twilio/whatsapp", data=params,
                                                 headers={TWILIO_SIGNATURE_HEADER: signature})
                    route.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.status_code
                route_cpu = (time.process_time() - cpu) / len(requests)
                # 3. end to end: the workers handle the stored messages
                started = time.perf_counter()
                await inbox.drain()
                drained = time.perf_counter() - started
                await channel.stop()
            sent = len(fake.messages)
        await db.dispose()
    engine_ms = statistics.mean(base) * 1000
    return {
        "requests": len(requests),
        "requests_per_s": round(len(requests) / drained, 1),
        "p50_ms": round(percentile(route, 0.50) * 1000, 3),
        "p99_ms": round(percentile(route, 0.99) * 1000, 3),
        "overhead_vs_engine": round(route_cpu / engine_cpu, 3),
        "route_cpu_ms_per_request": round(route_cpu * 1000, 3),
        "engine_cpu_ms_per_message": round(engine_cpu * 1000, 2),
        "engine_ms_per_message": round(engine_ms, 2),
        "replies_sent": sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    chats, passes = (5, 2) if args.quick else (args.chats, args.passes)
    result = event_loop.run(run(chats, passes))
    print(f"engine only: {result['engine_cpu_ms_per_message']} ms CPU per message; webhook "
          f"route (signature check, parsing, queueing): {result['route_cpu_ms_per_request']} "
          f"ms CPU per request (p99 {result['p99_ms']} ms): +{result['overhead_vs_engine']:.0%}")
    print(f"end to end, replies through the Twilio SDK to a local fake: "
          f"{result['requests_per_s']} requests/s, {result['replies_sent']} replies sent")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
