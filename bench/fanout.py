"""Benchmark: plan a week's meetings and enqueue every KPM reminder, all at once.

    .venv/bin/python bench/fanout.py --quick      # 10,000 KPM in 400 kelompok
    .venv/bin/python bench/fanout.py              # 100,000 KPM in 4,000 kelompok
    .venv/bin/python bench/fanout.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The world: kelompok of 25 KPM in three time zones, each meeting once in the coming week (three to
seven days ahead, so both the 3-day and the 1-day reminder are still to come), a linked
group chat each; KPM on WhatsApp (most), Telegram, SMS, without a phone, a few opted out or
no longer active; some on a phone shared with the member before them (one reminder names
both); each kelompok's ketua is its first member on WhatsApp, who gets the list of members
no reminder reaches (measured after step 2: ``ketua_seconds``).
Seeded in bulk with core inserts (not measured); then the garbage collector
is tuned as the services tune it (:func:`bot.process.tune_garbage_collector`), since the
sweeps run in those processes.

Measured, per database, with the time injected (a fixed ``now``):
1. ``plan_meetings``: the meetings of the next 45 days for every kelompok;
2. ``enqueue_reminders``: every reminder of the meetings within 8 days, capacity checked at
   the default provider rates;
3. the same two again (a restart: everything is there already, nothing is added);
4. the baseline: a plain bulk insert of the very rows steps 1-2 wrote (meetings and outbox),
   after emptying those tables, in the same run and database.

``ratio`` is (1 + 2) over (4). SQLite runs on a fresh file; PostgreSQL when
``--database-url`` or ``TEST_DATABASE_URL`` names a server, in a database of its own,
dropped at the end. The last line is one JSON object per database:
``{"sqlite": {"reminders": ..., "seconds": ..., "raw_insert_seconds": ..., "ratio": ...}, ...}``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import event_loop
from bot.process import tune_garbage_collector
from models.db import create_engine, session_factory
from models.db.migrate import upgrade
from models.enums import Channel, KpmStatus, StaffRole
from models.messaging.tables import Outbox
from models.regions import RegionIndex
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting, Staff
from scheduler.ketua_relay import enqueue_ketua_relays
from scheduler.planner import PlanReport, plan_meetings
from scheduler.reminders import ReminderReport, enqueue_reminders

SEED = 20261201
PG_ENV = "TEST_DATABASE_URL"
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 1 December 2026, 10.00 WIB
PATHS = (
    ["Jawa Tengah", "Kab. Bangku Uji", "Kec. Simulasi", "Desa Simulasi"],
    ["Bali", "Kab. Bangku Uji", "Kec. Simulasi", "Desa Simulasi"],
    ["Papua", "Kab. Bangku Uji", "Kec. Simulasi", "Desa Simulasi"],
)
KELOMPOK_PER_PENDAMPING = 12
SHARED = 0.08  # of WhatsApp KPM, those on the phone of the member before them (a neighbour's)
STAFF_TELEGRAM = 10_000_000_000  # staff chat ids, apart from the KPM ones (their serials)
RATES = {Channel.WHATSAPP: 80.0, Channel.TELEGRAM: 30.0, Channel.SMS: 10.0}
SETTINGS: dict[str, Any] = {
    "offsets_days": [3, 1],
    "reminder_time": clock_time(16, 0),
    "quiet_start": clock_time(21, 0),
    "quiet_end": clock_time(6, 0),
}


def _rule_for(day: date) -> tuple[int, int]:
    """The (weekday, week of month) rule whose date in ``day``'s month is ``day``."""
    week = (day.day - 1) // 7 + 1
    return day.weekday(), week if week <= 4 else -1


async def seed(
    sessions: async_sessionmaker[AsyncSession], *, kelompok: int, members: int,
    shared: float = SHARED,
) -> None:
    """Write the pendamping, kelompok, KPM and identities in a few bulk statements."""
    rng = random.Random(SEED)
    if kelompok * members >= STAFF_TELEGRAM:  # KPM chat ids are their serials
        raise ValueError(f"at most {STAFF_TELEGRAM - 1:,} KPM: staff chat ids start there")
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        desa = [await index.ensure_path(path) for path in PATHS]
        pendamping = max(1, kelompok // KELOMPOK_PER_PENDAMPING)
        await session.execute(
            insert(Staff),
            [
                {"id": n + 1, "role": StaffRole.PENDAMPING, "name": f"Pendamping {n}",
                 "name_key": f"pendamping {n}", "active": True}
                for n in range(pendamping)
            ],
        )
        await session.execute(
            insert(ChannelIdentity),
            [
                {"address": f"telegram:{STAFF_TELEGRAM + n}", "channel": Channel.TELEGRAM,
                 "staff_id": n + 1}
                for n in range(pendamping)
            ],
        )
        groups = []
        for n in range(kelompok):
            day = NOW.date() + timedelta(days=3 + n % 5)  # next week, Friday to Tuesday
            weekday, week = _rule_for(day)
            groups.append(
                {"id": n + 1, "name": f"Kelompok Uji {n}", "name_key": f"kelompok uji {n}",
                 "desa_id": desa[n % len(desa)], "pendamping_id": n % pendamping + 1,
                 "rule_weekday": weekday, "rule_week_of_month": week,
                 "rule_time": clock_time(9, 0) if n % 2 else clock_time(13, 30),
                 "place": "Balai Desa", "group_chat_address": f"telegram:-100{n:07d}"}
            )
        await session.execute(insert(Kelompok), groups)
        rows: list[dict[str, Any]] = []
        identities: list[dict[str, Any]] = []
        for serial in range(1, kelompok * members + 1):
            roll = rng.random()
            channel = (Channel.WHATSAPP if roll < 0.8 else Channel.TELEGRAM if roll < 0.9
                       else Channel.SMS if roll < 0.95 else Channel.NONE)
            phone: Any = None if channel is Channel.NONE else f"+62812{serial:08d}"
            before = rows[-1] if rows and (serial - 1) % members else None
            if (channel is Channel.WHATSAPP and before and before["phone"]
                    and before["preferred_channel"] is Channel.WHATSAPP
                    and rng.random() < shared):
                phone = before["phone"]  # a neighbour's phone: one reminder names both
            rows.append(
                {"id": serial, "id_pkh": f"F{serial:08d}", "nik": f"3399{serial:012d}",
                 "nama_pengurus": f"Pengurus {serial}",
                 "phone": phone,
                 "preferred_channel": channel, "kelompok_id": (serial - 1) // members + 1,
                 "status": KpmStatus.KELUAR if rng.random() < 0.02 else KpmStatus.AKTIF,
                 "opted_out_at": NOW if rng.random() < 0.02 else None}
            )
            if channel is Channel.TELEGRAM:
                identities.append({"address": f"telegram:{serial}", "channel": channel,
                                   "kpm_id": serial})
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Kpm), rows[start : start + 5000])
        await session.execute(insert(ChannelIdentity), identities)
        ketua: dict[int, int] = {}  # each kelompok's ketua: its first active member on WhatsApp
        for row in rows:
            if (row["preferred_channel"] is Channel.WHATSAPP and row["phone"]
                    and row["status"] is KpmStatus.AKTIF and row["opted_out_at"] is None):
                ketua.setdefault(row["kelompok_id"], row["id"])
        await (await session.connection()).execute(  # core: an executemany, no ORM sync
            update(Kelompok.__table__).where(Kelompok.__table__.c.id == bindparam("b_id"))
            .values(ketua_kpm_id=bindparam("b_ketua")),
            [{"b_id": group, "b_ketua": kpm} for group, kpm in ketua.items()],
        )


async def plan_and_enqueue(
    sessions: async_sessionmaker[AsyncSession], now: datetime = NOW
) -> tuple[PlanReport, ReminderReport, float]:
    """The measured sweep: plan the meetings, then enqueue every reminder due (capacity
    checked at ``RATES``); returns both reports and when planning finished
    (``time.perf_counter``). bench/scale.py runs the same on its world."""
    plan = await plan_meetings(sessions, now=now)
    planned = time.perf_counter()
    report = await enqueue_reminders(sessions, now=now, rates=RATES, **SETTINGS)
    return plan, report, planned


async def shared_reminders(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Reminders enqueued to a phone several KPM share (one names them all)."""
    async with sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Outbox)
            .where(Outbox.dedupe_key.like("reminder:%+%"))
        ) or 0


async def written_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The meeting and outbox rows as they are stored, for the baseline insert."""
    async with sessions() as session:
        meetings = (await session.execute(select(Meeting.__table__))).mappings().all()
        outbox = (
            await session.execute(  # the reminders steps 1-2 wrote, not the ketua relays
                select(Outbox.__table__).where(Outbox.dedupe_key.like("reminder:%"))
            )
        ).mappings().all()
    return [dict(row) for row in meetings], [dict(row) for row in outbox]


async def raw_insert(
    sessions: async_sessionmaker[AsyncSession],
    meetings: Sequence[dict[str, Any]],
    outbox: Sequence[dict[str, Any]],
) -> float:
    """Empty the two tables, then time a plain bulk insert of the same rows."""
    async with sessions.begin() as session:
        await session.execute(delete(Outbox.__table__))
        await session.execute(delete(Meeting.__table__))
    started = time.perf_counter()
    async with sessions.begin() as session:
        for table, rows in ((Meeting.__table__, meetings), (Outbox.__table__, outbox)):
            for start in range(0, len(rows), 1000):
                await session.execute(insert(table), list(rows[start : start + 1000]))
    return time.perf_counter() - started


async def bench_database(label: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        started = time.perf_counter()
        await seed(sessions, kelompok=args.kelompok, members=args.members)
        print(f"\n== {label}: {args.kelompok} kelompok x {args.members} KPM seeded in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        tune_garbage_collector()  # as `pendamping run` and `pendamping scheduler` do at start
        profile = cProfile.Profile() if args.profile == label else None
        if profile:
            profile.enable()
        started = time.perf_counter()
        plan, report, planned = await plan_and_enqueue(sessions)
        finished = time.perf_counter()
        if profile:
            profile.disable()
        relays = await enqueue_ketua_relays(  # when every first reminder but the past is due
            sessions, now=NOW + timedelta(days=4), **SETTINGS
        )
        relayed = time.perf_counter()
        shared = await shared_reminders(sessions)
        await plan_meetings(sessions, now=NOW + timedelta(minutes=5))
        again = await enqueue_reminders(
            sessions, now=NOW + timedelta(minutes=5), rates=RATES, **SETTINGS
        )
        rerun = time.perf_counter() - relayed
        meetings, outbox = await written_rows(sessions)
        raw = await raw_insert(sessions, meetings, outbox)
    finally:
        await engine.dispose()
    seconds = finished - started
    print(f"plan: {plan.created} meetings in {planned - started:.2f} s; reminders: "
          f"{report.enqueued} enqueued for {report.meetings} meetings in "
          f"{finished - planned:.2f} s ({report.unreachable} unreachable, "
          f"{report.moved_earlier} started earlier, shortfall {report.shortfall})")
    print(f"ketua relays: {relays.lists} lists naming {relays.listed} members and "
          f"{relays.forwards} texts to forward in {relayed - finished:.2f} s; "
          f"{shared} reminders to a shared phone")
    print(f"again (nothing new: {again.enqueued} added): {rerun:.2f} s; plain insert of the "
          f"same {len(meetings)} meetings and {len(outbox)} outbox rows: {raw:.2f} s")
    if profile:
        print_profile(profile)
    return {
        "reminders": report.enqueued,
        "meetings": plan.created,
        "seconds": round(seconds, 3),
        "plan_seconds": round(planned - started, 3),
        "reminder_seconds": round(finished - planned, 3),
        "rerun_seconds": round(rerun, 3),
        "raw_insert_seconds": round(raw, 3),
        "ratio": round(seconds / raw, 2) if raw else None,
        "reminders_per_s": round(report.enqueued / (finished - planned)),
        "shared_phone_reminders": shared,
        "ketua_lists": relays.lists,
        "ketua_listed_members": relays.listed,
        "ketua_forwards": relays.forwards,
        "ketua_seconds": round(relayed - finished, 3),
    }


def print_profile(profile: cProfile.Profile) -> None:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(20)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    print("  -- cProfile of plan + reminders, by own time:")
    print("\n".join(f"     {line.replace(str(Path.cwd()) + '/', '')}" for line in lines[3:]))


async def _admin(server_url: str, statement: str) -> None:
    engine = create_engine(server_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def bench_postgresql(server_url: str, args: argparse.Namespace) -> dict[str, Any]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        return await bench_database("postgresql", url, args)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        results["sqlite"] = await bench_database("sqlite", url, args)
    server = args.database_url or os.environ.get(PG_ENV)
    if server:
        results["postgresql"] = await bench_postgresql(server, args)
    else:
        print(f"\n== postgresql: skipped (no --database-url and {PG_ENV} is not set)")
        results["postgresql"] = None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 kelompok instead of 4,000")
    parser.add_argument("--kelompok", type=int, help="kelompok (default 4000)")
    parser.add_argument("--members", type=int, default=25, help="KPM per kelompok")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (postgresql+asyncpg)")
    parser.add_argument("--profile", choices=["sqlite", "postgresql"], help="cProfile steps 1-2")
    args = parser.parse_args(argv)
    args.kelompok = args.kelompok or (400 if args.quick else 4000)
    results = event_loop.run(main_async(args))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
