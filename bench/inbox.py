"""Benchmark: the webhook's answer time with the durable inbox, and messages handled per
second end to end, on a real `pendamping run`.

A database is seeded with N simulated pendamping (one kelompok of 25 KPM each, meeting
today), each linked to a WhatsApp number. `pendamping run` serves it (its own process,
uvicorn, the inbox workers and the dispatcher, replies through the `twilio` SDK to a local
fake of the Messages API). N senders then type the whole attendance flow at once ("hadir",
"1", "3", "2", "selesai", "1", "lewati", "simpan"), each message a signed webhook
(signatures computed before timing: that is Twilio's work), each sender waiting for the
webhook's 200 and a think time (exponential, mean ``--think`` seconds) before its next
message, as a person does; ``--think 0`` is a closed loop, every sender posting as fast as
the server answers.

Measured: the webhook answer time (p50/p99, from the client: stored in the inbox and
acknowledged, the request does nothing else) while the workers handle the backlog in the
same process, and the messages handled per second from the first request to the last inbox
row done (every reply an outbox row, sent to the fake).

    python bench/inbox.py [--quick] [--senders N] [--passes N] [--think S]
    python bench/inbox.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

SQLite runs on a fresh file; PostgreSQL runs when ``--database-url`` names a server (or
``TEST_DATABASE_URL`` is set), in a database of its own dropped at the end. The last line
is JSON, one object per database: {"messages", "p50_ms", "p99_ms", "handled_per_s", ...}.
The target is p99 < 50 ms at 200 concurrent senders on both.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/telegram.py is named like the `telegram` package: keep this folder off the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]


def _load(name: str, file: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, BENCH / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


whatsapp = _load("bench_whatsapp", "whatsapp.py")  # loads bench/conversation.py too
conversation = sys.modules["bench_conversation"]
idle = _load("bench_idle", "idle.py")

from sqlalchemy import func, select  # noqa: E402

from bot import event_loop  # noqa: E402
from bot.web import TWILIO_SIGNATURE_HEADER  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402
from models.enums import InboxStatus, OutboxStatus  # noqa: E402
from models.messaging.tables import Inbox, Outbox  # noqa: E402
from tests.e2e.test_inbox_crash import server as serving  # noqa: E402
from tests.fakes.twilio_api import FakeTwilioApi  # noqa: E402

PG_ENV = "TEST_DATABASE_URL"
SENT = [OutboxStatus.QUEUED, OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ]


KEEP_ALIVE_S = 4.0
"""A connection idle longer than this is opened again (uvicorn closes one idle 5 s)."""


class KeepAlive:
    """One sender's HTTP/1.1 connection with requests encoded before timing (a load
    generator as cheap as wrk's: httpx cost the client a whole core at 200 senders, on a
    machine with two, which the server and the database then waited for)."""

    def __init__(self, public: str) -> None:
        parts = urlsplit(public)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    @staticmethod
    def encode(path: str, host: str, params: dict[str, str], signature: str) -> bytes:
        body = urlencode(params).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"{TWILIO_SIGNATURE_HEADER}: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def post(self, request: bytes) -> int:
        """Send one encoded request; the response's status (its body is read and dropped)."""
        now = time.perf_counter()
        if self._writer is not None and now - self._used > KEEP_ALIVE_S:
            await self.close()  # the server closes a connection idle for 5 s (uvicorn's)
        self._used = now
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self._reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
            await writer.wait_closed()


async def counts(sessions: Any) -> tuple[int, int, int]:
    """(inbox rows done, outbox rows sent, outbox rows still to send)."""
    async with sessions() as session:
        done = await session.scalar(
            select(func.count()).select_from(Inbox).where(Inbox.status == InboxStatus.DONE)
        )
        sent = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status.in_(SENT))
        )
        unsent = await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(
                Outbox.kind == "reply",  # not the reminders the sweeps queue for later
                Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
            )
        )
    return int(done or 0), int(sent or 0), int(unsent or 0)


async def bench_database(label: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n== {label}: {args.senders} senders x {args.passes} passes of the attendance flow")
    database = create_engine(url)
    await upgrade(database)
    sessions = session_factory(database)
    await conversation.seed(
        sessions, pendamping=args.senders, kelompok_each=1, members=25, today=date.today()
    )
    addresses = await whatsapp.link_numbers(sessions, args.senders)
    port = idle.free_port()
    public = f"http://127.0.0.1:{port}"
    rng = random.Random(7)
    try:
        async with FakeTwilioApi() as fake:
            env = {
                **os.environ,
                "PENDAMPING_CONFIG": "",
                "PENDAMPING_DATABASE_URL": url,
                "PENDAMPING_TWILIO_ACCOUNT_SID": fake.account_sid,
                "PENDAMPING_TWILIO_AUTH_TOKEN": fake.auth_token,
                "PENDAMPING_TWILIO_WHATSAPP_SENDER": "+14155238886",
                "PENDAMPING_TWILIO_API_BASE_URL": fake.base_url,
                "PENDAMPING_TWILIO_PUBLIC_BASE_URL": public,
                "PENDAMPING_WEB_PORT": str(port),
            }
            async with serving(env, port) as server:
                requests = whatsapp.signed_requests(
                    fake.auth_token, addresses, args.passes, first=0, public=public
                )
                host = urlsplit(public).netloc
                by_sender: dict[str, list[bytes]] = {}
                for params, signature in requests:
                    encoded = KeepAlive.encode("/twilio/whatsapp", host, params, signature)
                    by_sender.setdefault(params["From"], []).append(encoded)
                answers: list[float] = []

                async def sender(own: list[bytes]) -> None:
                    client = KeepAlive(public)
                    try:
                        if args.think:  # people do not start typing in the same millisecond
                            await asyncio.sleep(rng.uniform(0, args.think))
                        for request in own:
                            started = time.perf_counter()
                            status = await client.post(request)
                            answers.append(time.perf_counter() - started)
                            if status != 200:
                                raise SystemExit(f"webhook answered {status}")
                            if args.think:
                                await asyncio.sleep(rng.expovariate(1 / args.think))
                    finally:
                        await client.close()

                started = time.perf_counter()
                cpu_before = idle.cpu_seconds(server.pid), time.process_time()
                await asyncio.gather(*(sender(own) for own in by_sender.values()))
                posted = time.perf_counter() - started
                done = sent = unsent = 0
                while done < len(requests):
                    if server.returncode is not None:
                        raise SystemExit(f"pendamping run exited with {server.returncode}")
                    done, sent, unsent = await counts(sessions)
                    await asyncio.sleep(0.1)
                handled = time.perf_counter() - started
                server_cpu = idle.cpu_seconds(server.pid) - cpu_before[0]
                bench_cpu = time.process_time() - cpu_before[1]
                deadline = time.perf_counter() + 120
                while unsent and time.perf_counter() < deadline:
                    await asyncio.sleep(0.05)
                    done, sent, unsent = await counts(sessions)
                replied = time.perf_counter() - started
    finally:
        await database.dispose()
    result = {
        "messages": len(requests),
        "senders": args.senders,
        "think_s": args.think,
        "offered_per_s": round(len(requests) / posted, 1),
        "p50_ms": round(whatsapp.percentile(answers, 0.50) * 1000, 2),
        "p99_ms": round(whatsapp.percentile(answers, 0.99) * 1000, 2),
        "max_ms": round(max(answers) * 1000, 2),
        "handled_per_s": round(len(requests) / handled, 1),
        "server_cpu_percent": round(100 * server_cpu / handled, 1),
        "load_cpu_percent": round(100 * bench_cpu / handled, 1),
        "replies_sent": sent,
        "replies_sent_per_s": round(sent / replied, 1),
    }
    print(
        f"  webhook answer p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms "
        f"(max {result['max_ms']} ms) at {result['offered_per_s']} requests/s offered"
    )
    print(
        f"  end to end: {result['handled_per_s']} messages handled/s; "
        f"{sent} replies sent to the fake, {result['replies_sent_per_s']}/s"
    )
    return result


async def bench_postgresql(server_url: str, args: argparse.Namespace) -> dict[str, Any]:
    async with conversation.scratch_database(server_url) as url:
        return await bench_database("postgresql", url, args)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"sqlite": None}
    if args.skip_sqlite:
        print("\n== sqlite: skipped (--skip-sqlite)")
    else:
        with tempfile.TemporaryDirectory(prefix="bench-inbox-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            results["sqlite"] = await bench_database("sqlite", url, args)
    server = args.database_url or os.environ.get(PG_ENV)
    if server:
        results["postgresql"] = await bench_postgresql(server, args)
    else:
        print(f"\n== postgresql: skipped (no --database-url and {PG_ENV} is not set)")
        results["postgresql"] = None
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 senders, one pass")
    parser.add_argument("--senders", type=int, default=200, help="concurrent senders")
    parser.add_argument("--passes", type=int, default=2, help="attendance flows per sender")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between messages")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (postgresql+asyncpg)")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    if args.quick:
        args.senders, args.passes = 50, 1
    print(json.dumps(event_loop.run(main_async(args))))


if __name__ == "__main__":
    main()
