"""Benchmark: photos arriving at once on WhatsApp, fetched and kept by us.

The web app runs under uvicorn on 127.0.0.1 with the inbox workers and the media fetch
workers in the same process and event loop, as `pendamping run` has them. Simulated KPM
post signed Twilio webhooks, all at once (``--concurrency`` in flight), each carrying
one photo's ``MediaUrl``; a local media server answers those URLs like Twilio (basic auth,
``image/jpeg``, the bytes streamed in parts, made on the fly so the server holds none)
and takes the Media API's deletes. Two rounds on one SQLite database:
  1. baseline: the same number of text messages (no files), the fetch workers idle;
  2. photos: ``--photos`` photos of 1-3 MB (random sizes, a fixed seed).

    python bench/media.py [--quick] [--photos N] [--concurrency N] [--workers N]
                          [--fetch-after] [--fetch-process] [--database-url URL]

With ``--database-url`` naming a PostgreSQL server, a database of its own is made there
(and dropped) instead of the SQLite file: writers then do not wait for one another.

The last line is JSON: webhook answer times (p50/p99, both rounds), the time until every
photo was stored (from the first webhook), the megabytes stored and the peak resident
memory of the process (``peak_rss_mb``, and how much it grew during the photo round).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import event_loop  # noqa: E402
from bot.channels.twilio_media import TwilioMediaSource  # noqa: E402
from bot.channels.whatsapp import TwilioChannel, from_inbox  # noqa: E402
from bot.config import DEFAULT_MEDIA_TYPES, TwilioSettings  # noqa: E402
from bot.media_fetch import FetchPolicy, MediaFetcher  # noqa: E402
from bot.media_store import LocalMediaStore  # noqa: E402
from bot.runner import twilio_webhooks  # noqa: E402
from bot.web import TWILIO_SIGNATURE_HEADER, create_web_app  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.i18n import Translator  # noqa: E402
from handlers.inbox import InboxWorkers  # noqa: E402
from handlers.registry import COMMANDS, FLOWS  # noqa: E402
from handlers.settings import EngineSettings  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402
from models.enums import Channel, MediaStatus  # noqa: E402
from models.rules.clock import SystemClock  # noqa: E402
from models.rules.komponen import KomponenCatalog  # noqa: E402
from models.tables import MediaFile  # noqa: E402
from tests.fakes.local_server import LocalServer  # noqa: E402
from tests.fakes.twilio_api import inbound_whatsapp_params, twilio_signature  # noqa: E402

PUBLIC = "https://pkh.example.org"
ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "bench-auth-token"
BLOCK = random.Random(7).randbytes(1 << 16)
JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextlib.asynccontextmanager
async def database(server_url: str | None, folder: str) -> AsyncIterator[str]:
    """A SQLite file in ``folder``, or a PostgreSQL database of its own on ``server_url``."""
    if not server_url:
        yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    name = f"bench_media_{uuid.uuid4().hex[:10]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server_url: str, statement: str) -> None:
    admin = create_engine(server_url)
    try:
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class MediaServer:
    """Twilio's media URLs: ``GET .../Media/ME<n>`` streams photo ``n`` (its size from
    ``sizes``), ``DELETE .../Media/ME<n>.json`` answers 204."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        self.deleted = 0
        self.auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        if headers.get(b"authorization", b"").decode() != self.auth:
            await self._answer(send, 401)
            return
        name = scope["path"].rsplit("/", 1)[1]
        if scope["method"] == "DELETE":
            self.deleted += 1
            await self._answer(send, 204)
            return
        number = int(name.removeprefix("ME"), 16)
        size = self.sizes[number]
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"image/jpeg"), (b"content-length", str(size).encode())]})
        head = JPEG_START + number.to_bytes(8, "big")
        sent = 0
        while sent < size:
            part = (head + BLOCK)[: size - sent] if sent == 0 else BLOCK[: size - sent]
            sent += len(part)
            await send({"type": "http.response.body", "body": part, "more_body": sent < size})

    @staticmethod
    async def _answer(send: Any, status: int) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def serve_media(sizes: list[int], ports: multiprocessing.Queue[int]) -> None:
    """The media server's process: serve at a free port, say which."""

    async def serve() -> None:
        server = LocalServer(MediaServer(sizes), "bench-media")
        ports.put(await server.start())
        await asyncio.Event().wait()

    event_loop.run(serve())


def webhooks(count: int, base: str, *, photos: bool, first: int) -> list[tuple[dict[str, str],
                                                                              str]]:
    requests = []
    for n in range(count):
        sender = f"whatsapp:+62813{first + n:08d}"
        media: dict[str, Any] = {}
        if photos:
            url = f"{base}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{n:032x}/Media/ME{n:032x}"
            media = {"num_media": 1, "media_urls": [url], "media_types": ["image/jpeg"]}
        params = inbound_whatsapp_params(
            from_=sender, body="" if photos else "halo", message_sid=f"SM{first + n:032x}",
            account_sid=ACCOUNT, **media,
        )
        requests.append((params, twilio_signature(TOKEN, PUBLIC + "/twilio/whatsapp", params)))
    return requests


async def post_all(
    client: httpx.AsyncClient, requests: list[tuple[dict[str, str], str]], concurrency: int
) -> list[float]:
    times: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def post(params: dict[str, str], signature: str) -> None:
        async with gate:
            started = time.perf_counter()
            response = await client.post(
                "/twilio/whatsapp", data=params, headers={TWILIO_SIGNATURE_HEADER: signature}
            )
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code

    await asyncio.gather(*(post(params, signature) for params, signature in requests))
    return times


async def stored(sessions: Any) -> tuple[int, int]:
    async with sessions() as session:
        row = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(MediaFile.size_bytes), 0)).where(
                    MediaFile.status == MediaStatus.STORED
                )
            )
        ).one()
    return int(row[0]), int(row[1])


def fetch_elsewhere(url: str, folder: str, base: str, workers: int, photos: int) -> None:
    """The fetch workers in a process of their own (as `pendamping scheduler` runs them
    beside the `pendamping web` processes): until every photo is stored."""

    async def fetch() -> None:
        db = create_engine(url)
        sessions = session_factory(db)
        clock = SystemClock()
        settings = TwilioSettings(account_sid=ACCOUNT, auth_token=TOKEN,
                                  whatsapp_sender="+14155238886", api_base_url=base,
                                  public_base_url=PUBLIC)
        channel = TwilioChannel(settings, sessions, clock, Translator())
        store = LocalMediaStore(Path(folder) / "media").prepare()
        source = TwilioMediaSource(settings, channel.client, timeout=120)
        policy = FetchPolicy(max_bytes=16 * 1024 * 1024,
                             allowed_types=frozenset(DEFAULT_MEDIA_TYPES), timeout=120)
        fetcher = MediaFetcher(sessions, store, {Channel.WHATSAPP: source}, clock,
                               Translator(), policy, concurrency=workers, idle=0.05)
        stop = asyncio.Event()
        task = asyncio.create_task(fetcher.run(stop))
        while (await stored(sessions))[0] < photos:  # noqa: ASYNC110 (the database says)
            await asyncio.sleep(0.05)
        stop.set()
        fetcher.notify()
        await task
        await fetcher.close()
        await channel.stop()
        await db.dispose()

    event_loop.run(fetch())


async def run(
    photos: int, low: int, high: int, concurrency: int, workers: int, fetch_after: bool,
    fetch_process: bool = False, server_url: str | None = None,
) -> dict[str, Any]:
    rng = random.Random(42)
    sizes = [rng.randint(low, high) for _ in range(photos)]
    async with contextlib.AsyncExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        url = await stack.enter_async_context(database(server_url, folder))
        db = create_engine(url)
        await upgrade(db)
        sessions = session_factory(db)
        clock = SystemClock()
        catalog = KomponenCatalog.from_mapping({})
        engine = Engine(sessions, EngineSettings(catalog=catalog), clock, FLOWS, COMMANDS,
                        queued_channels=["whatsapp"])
        inbox = InboxWorkers(sessions, engine, {Channel.WHATSAPP: from_inbox}, clock,
                             Translator(), database_turns=1)
        # Twilio is another machine: its server runs in a process of its own
        ports: multiprocessing.Queue[int] = multiprocessing.Queue()
        media_server = multiprocessing.Process(target=serve_media, args=(sizes, ports),
                                               daemon=True)
        media_server.start()
        base = f"http://127.0.0.1:{ports.get(timeout=30)}"
        settings = TwilioSettings(account_sid=ACCOUNT, auth_token=TOKEN,
                                  whatsapp_sender="+14155238886", api_base_url=base,
                                  public_base_url=PUBLIC)
        channel = TwilioChannel(settings, sessions, clock, Translator(), inbox=inbox.store)
        store = LocalMediaStore(Path(folder) / "media").prepare()
        source = TwilioMediaSource(settings, channel.client, timeout=120)
        policy = FetchPolicy(max_bytes=16 * 1024 * 1024,
                             allowed_types=frozenset(DEFAULT_MEDIA_TYPES), timeout=120)
        fetcher = MediaFetcher(sessions, store, {Channel.WHATSAPP: source}, clock,
                               Translator(), policy, concurrency=workers, idle=0.05)
        engine.on_queued(fetcher.notify)
        web = LocalServer(create_web_app(twilio=twilio_webhooks(channel)), "bench-web")
        web_port = await web.start()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(inbox.run(stop))]
        elsewhere = None
        if fetch_process:
            elsewhere = multiprocessing.Process(
                target=fetch_elsewhere, args=(url, folder, base, workers, photos), daemon=True
            )
            elsewhere.start()
        elif not fetch_after:
            tasks.append(asyncio.create_task(fetcher.run(stop)))
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web_port}", limits=limits,
                                     timeout=60) as client:
            # 1. baseline: text messages only
            baseline = await post_all(client, webhooks(photos, base, photos=False, first=0),
                                      concurrency)
            await inbox.drain()
            rss_before = peak_rss_mb()
            # 2. the photos, all at once, while the workers fetch
            started = time.perf_counter()
            answers = await post_all(client, webhooks(photos, base, photos=True, first=photos),
                                     concurrency)
            answered = time.perf_counter() - started
            if fetch_after and not fetch_process:  # the downloads begin once all answered
                tasks.append(asyncio.create_task(fetcher.run(stop)))
            while (await stored(sessions))[0] < photos:  # noqa: ASYNC110 (the database says)
                await asyncio.sleep(0.05)
            all_stored = time.perf_counter() - started
        count, size = await stored(sessions)
        stop.set()
        inbox.notify()
        fetcher.notify()
        await asyncio.gather(*tasks)
        if elsewhere is not None:
            elsewhere.join(timeout=60)
        await fetcher.close()
        await channel.stop()
        await web.stop()
        media_server.terminate()
        media_server.join()
        await db.dispose()
    peak = peak_rss_mb()
    return {
        "database": "postgresql" if server_url else "sqlite",
        "photos": count,
        "photo_mb_total": round(size / 1e6, 1),
        "photo_mb_min_max": [round(low / 1e6, 2), round(high / 1e6, 2)],
        "concurrency": concurrency,
        "fetch_workers": workers,
        "fetch_after_answers": fetch_after,
        "fetch_in_own_process": fetch_process,
        "baseline_p50_ms": round(percentile(baseline, 0.50) * 1000, 1),
        "baseline_p99_ms": round(percentile(baseline, 0.99) * 1000, 1),
        "webhook_p50_ms": round(percentile(answers, 0.50) * 1000, 1),
        "webhook_p99_ms": round(percentile(answers, 0.99) * 1000, 1),
        "all_answered_s": round(answered, 2),
        "all_stored_s": round(all_stored, 2),
        "stored_mb_per_s": round(size / 1e6 / all_stored, 1),
        "rss_before_photos_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_growth_mb": round(peak - rss_before, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--fetch-after", action="store_true",
                        help="start the downloads only once every webhook was answered")
    parser.add_argument("--fetch-process", action="store_true",
                        help="the fetch workers in a process of their own (a scheduler's)")
    parser.add_argument("--database-url",
                        help="a PostgreSQL server (a database of its own is made and dropped)")
    args = parser.parse_args()
    photos = 20 if args.quick else args.photos
    result = event_loop.run(
        run(photos, 1_000_000, 3_000_000, min(args.concurrency, photos), args.workers,
            args.fetch_after, args.fetch_process, args.database_url)
    )
    print(f"{result['photos']} photos ({result['photo_mb_total']} MB) posted "
          f"{result['concurrency']} at a time: webhook p99 {result['webhook_p99_ms']} ms "
          f"(text only: {result['baseline_p99_ms']} ms); all stored in "
          f"{result['all_stored_s']} s; peak RSS {result['peak_rss_mb']} MB "
          f"(+{result['rss_growth_mb']} MB during the photos)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
