"""Benchmark: the housekeeping sweep keeps the outbox bounded without stalling the writers.

    .venv/bin/python bench/housekeeping.py --quick     # 50,000 old rows
    .venv/bin/python bench/housekeeping.py             # 500,000 old rows
    .venv/bin/python bench/housekeeping.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The outbox holds ``--rows`` settled messages older than ``[retention] outbox_row_months``
(13) and as many recent ones. While :func:`models.retention.apply_retention` deletes the old
rows in its batches (``batch_rows``, 2,000 by default), a writer keeps enqueueing as the
sweeps and the inbox do (one message per transaction); its slowest enqueue shows how long
a batch holds the table (on SQLite: the one write lock). Seeding is not measured.

The last line is JSON per database: rows deleted, seconds, rows per second, the writer's
enqueues during the sweep and its p99 and slowest enqueue in milliseconds, and the
outbox's rows before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import event_loop  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402
from models.enums import Channel, OutboxStatus  # noqa: E402
from models.messaging.enqueue import Enqueue, Priority, enqueue  # noqa: E402
from models.messaging.tables import Outbox  # noqa: E402
from models.retention import Retention, apply_retention  # noqa: E402

PG_ENV = "TEST_DATABASE_URL"
NOW = datetime(2026, 12, 6, 3, tzinfo=UTC)
CHUNK = 10_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def seed(sessions: Any, rows: int) -> None:
    """``rows`` settled messages 14 months old and as many from last week."""
    for created, tag in ((NOW - timedelta(days=430), "old"), (NOW - timedelta(days=7), "new")):
        for start in range(0, rows, CHUNK):
            async with sessions.begin() as session:
                await session.execute(insert(Outbox), [
                    {"channel": Channel.WHATSAPP, "address": f"whatsapp:+62812{n:08d}",
                     "kind": "meeting_reminder", "payload": {}, "priority": Priority.REMINDER,
                     "status": OutboxStatus.DELIVERED, "dedupe_key": f"{tag}:{n}",
                     "created_at": created, "updated_at": created, "next_attempt_at": created,
                     "segments": None}
                    for n in range(start, min(start + CHUNK, rows))
                ])


async def count(sessions: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Outbox)) or 0)


async def writer(sessions: Any, stop: asyncio.Event, waits: list[float]) -> None:
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        async with sessions.begin() as session:
            await enqueue(session, [Enqueue(Channel.WHATSAPP, f"whatsapp:+62813{n:08d}",
                                            "reply", {"text": "-"}, Priority.REPLY)], now=NOW)
        waits.append(time.perf_counter() - started)
        n += 1
        await asyncio.sleep(0.005)


async def bench(url: str, rows: int, batch: int) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        await seed(sessions, rows)
        before = await count(sessions)
        waits: list[float] = []
        stop = asyncio.Event()
        writing = asyncio.create_task(writer(sessions, stop, waits))
        await asyncio.sleep(0.5)  # the writer's pace before the sweep
        quiet = list(waits)
        started = time.perf_counter()
        done = await apply_retention(
            sessions, Retention(0, 0, 0, 0, 0, batch_rows=batch, outbox_row_months=13), now=NOW
        )
        seconds = time.perf_counter() - started
        during = waits[len(quiet):]
        stop.set()
        await writing
        after = await count(sessions)
    finally:
        await engine.dispose()
    deleted = done.get("outbox_rows", 0)
    return {
        "deleted": deleted,
        "seconds": round(seconds, 2),
        "rows_per_s": round(deleted / seconds) if seconds else None,
        "batch_rows": batch,
        "writer_enqueues_during": len(during),
        "writer_p99_ms_quiet": round(percentile(quiet, 0.99) * 1000, 1),
        "writer_p99_ms_during": round(percentile(during, 0.99) * 1000, 1),
        "writer_max_ms_during": round(max(during, default=0.0) * 1000, 1),
        "rows_before": before,
        "rows_after": after,
    }


async def on_postgresql(server_url: str, rows: int, batch: int) -> dict[str, Any]:
    name = f"bench_housekeeping_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url)
    try:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        return await bench(url, rows, batch)
    finally:
        async with admin.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    rows = 50_000 if args.quick else args.rows
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = await bench(f"sqlite+aiosqlite:///{folder}/bench.db", rows, args.batch)
        print(f"sqlite: {results['sqlite']}", flush=True)
    server = args.database_url or os.environ.get(PG_ENV)
    results["postgresql"] = await on_postgresql(server, rows, args.batch) if server else None
    if server:
        print(f"postgresql: {results['postgresql']}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 old rows")
    parser.add_argument("--rows", type=int, default=500_000, help="old rows (and as many new)")
    parser.add_argument("--batch", type=int, default=2000, help="rows per transaction")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (postgresql+asyncpg)")
    print(json.dumps(event_loop.run(main_async(parser.parse_args()))))


if __name__ == "__main__":
    main()
