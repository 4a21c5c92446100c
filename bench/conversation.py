"""Benchmark: simulated pendamping record attendance by chat, many at once, through the
engine and the database (no channel, no network).

    .venv/bin/python bench/conversation.py --quick     # 5 s, 20 pendamping
    .venv/bin/python bench/conversation.py             # 20 s, 50 pendamping, 50 at once
    .venv/bin/python bench/conversation.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Each simulated pendamping owns a few kelompok of 25 KPM with a planned meeting today and
walks the whole attendance flow again and again: /hadir, the meeting, the P2K2 session, two
members tapped absent, done, a reason for each, skip the photo, save. Saving twice flips the
same two members back, so every pass writes a full attendance list (new marks, then edits).

Per database, four phases (the same Engine the bot builds, a system clock):
1. warm-up: one pass per conversation, not measured;
2. engine cost: one conversation alone; the mean ms per step is what a channel adds to;
   also the SQL statements each step issues; then the same as provider messages (an id to
   process once, replies queued in the outbox), which is what a WhatsApp or Telegram
   message costs the engine (``engine_ms_per_provider_message``);
3. capacity: ``--concurrency`` conversations, each sending its next step the moment the
   reply is back; ``steps_per_s`` is the throughput. Latency here is only queueing (Little's
   law: mean latency = concurrency / throughput), so it is printed but not the target;
4. latency under load: the same conversations paced to ``--rate`` steps/s in all, as
   people typing: each starts at a random point of a pass and thinks an exponential time
   between steps, so together they send a Poisson stream (with its bursts) and are not
   all at the same step at once; ``p50_ms``/``p99_ms`` come from this phase.

A step's latency runs from the moment its message arrives (is due) to the reply: waiting
for the process counts wherever it happens, inside the engine or before the step began.
Every message comes in through the event loop, as a real one does.

SQLite runs on a fresh file in a temporary folder. PostgreSQL runs when ``--database-url``
names a server (or ``TEST_DATABASE_URL`` is set): a database of its own is created there
and dropped at the end. The last line printed is one JSON object:
``{"sqlite": {"steps_per_s": ..., "p50_ms": ..., "p99_ms": ..., ...}, "postgresql": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import event_loop
from bot.config import load_settings
from bot.process import tune_garbage_collector
from handlers.engine import Engine
from handlers.messages import IncomingMessage, Reply
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings
from models.db import create_engine, session_factory
from models.db.migrate import upgrade
from models.enums import AttendanceMark, Channel, MeetingStatus, StaffRole
from models.regions import RegionIndex
from models.rules.clock import SystemClock
from models.rules.komponen import KomponenCatalog
from models.rules.text import name_key
from models.tables import Attendance, ChannelIdentity, Kelompok, Kpm, Meeting, Staff

SEED = 20261122
ZONE = ZoneInfo("Asia/Jakarta")
PG_ENV = "TEST_DATABASE_URL"
HELD_BEFORE = 3  # past meetings with attendance per kelompok, one week apart
REASONS = ("izin", "sakit", "alpa")
FIRST = ["Siti", "Sri", "Nur", "Dewi", "Wati", "Ani", "Rina", "Yuli", "Tuti", "Eni", "Ratna"]
LAST = ["Aminah", "Rahayu", "Wahyuni", "Lestari", "Handayani", "Susanti", "Purwanti", "Maryati"]
STEP_ORDER = ("hadir", "meeting", "sesi", "toggle", "done", "reason", "photo", "save")


def default_catalog() -> KomponenCatalog:
    """The komponen rules of the default settings."""
    komponen = load_settings(environ={}).settings.programme.komponen
    return KomponenCatalog.from_mapping({key: rule.model_dump() for key, rule in komponen.items()})


# --- seeding ---------------------------------------------------------------------------------


async def _insert_ids(
    session: AsyncSession, table: Any, rows: list[dict[str, Any]], key: str
) -> list[int]:
    """Insert rows in a few statements; return their ids in the order given (by a unique key)."""
    statement = insert(table).returning(table.id, getattr(table, key))
    result = await session.execute(statement, rows, execution_options={"render_nulls": True})
    ids = {found[1]: found[0] for found in result}
    return [ids[row[key]] for row in rows]


async def seed(
    sessions: async_sessionmaker[AsyncSession],
    *,
    pendamping: int,
    kelompok_each: int,
    members: int,
    today: date,
) -> list[str]:
    """Write the simulated pendamping and their groups; return their chat addresses."""
    rng = random.Random(SEED)
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        path = ["Jawa Tengah", "Kab. Bangku Uji", "Kec. Simulasi"]
        kecamatan = await index.ensure_path(path)
        desa = await index.ensure_path([*path, "Desa Simulasi"])
        staff_rows = [
            {
                "role": StaffRole.PENDAMPING,
                "name": f"Pendamping Uji {n:03d}",
                "name_key": name_key(f"Pendamping Uji {n:03d}"),
                "region_id": kecamatan,
                "supervisor_id": None,
                "active": True,
            }
            for n in range(pendamping)
        ]
        staff_ids = await _insert_ids(session, Staff, staff_rows, "name_key")
        groups = [
            {
                "name": f"Kelompok Uji {p:03d}-{k}",
                "name_key": name_key(f"Kelompok Uji {p:03d}-{k}"),
                "desa_id": desa,
                "pendamping_id": staff_id,
                "rule_weekday": today.weekday(),
                "rule_week_of_month": 1,
                "rule_time": clock_time(9, 0),
                "place": "Balai Desa",
            }
            for p, staff_id in enumerate(staff_ids)
            for k in range(kelompok_each)
        ]
        group_ids = await _insert_ids(session, Kelompok, groups, "name_key")
        kpm_rows = []
        for group_id in group_ids:
            for _ in range(members):
                serial = len(kpm_rows) + 1
                kpm_rows.append(
                    {
                        "id_pkh": f"BENCH{serial:07d}",
                        "nik": f"3399{serial:012d}",
                        "nama_pengurus": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        "phone": None,
                        "preferred_channel": Channel.NONE,
                        "kelompok_id": group_id,
                    }
                )
        kpm_ids = await _insert_ids(session, Kpm, kpm_rows, "id_pkh")
        by_group: dict[int, list[int]] = defaultdict(list)
        for row, kpm_id in zip(kpm_rows, kpm_ids, strict=True):
            by_group[row["kelompok_id"]].append(kpm_id)
        meetings = []
        for number, group_id in enumerate(group_ids):
            for weeks in range(HELD_BEFORE, 0, -1):
                day, sesi = today - timedelta(weeks=weeks), HELD_BEFORE - weeks + 1
                meetings.append(_meeting(group_id, day, sesi, f"held-{weeks}"))
            if number % kelompok_each == 0:  # each pendamping's first group meets today
                meetings.append(_meeting(group_id, today, None, today.strftime("%Y-%m")))
        meeting_ids = await _meeting_ids(session, meetings)
        marks = []
        for meeting, meeting_id in zip(meetings, meeting_ids, strict=True):
            if meeting["status"] is not MeetingStatus.HELD:
                continue
            for kpm_id in by_group[meeting["kelompok_id"]]:
                mark = AttendanceMark.HADIR if rng.random() < 0.85 else rng.choice(REASONS)
                marks.append(
                    {
                        "meeting_id": meeting_id,
                        "kpm_id": kpm_id,
                        "mark": AttendanceMark(mark),
                        "recorded_by_id": None,
                        "recorded_at": meeting["starts_at"] + timedelta(hours=2),
                    }
                )
        await session.execute(insert(Attendance), marks)
        addresses = [f"console:bench{n:03d}" for n in range(pendamping)]
        await session.execute(
            insert(ChannelIdentity),
            [
                {"address": address, "channel": Channel.CONSOLE, "staff_id": staff_id}
                for address, staff_id in zip(addresses, staff_ids, strict=True)
            ],
        )
    return addresses


def _meeting(kelompok_id: int, day: date, sesi: int | None, plan_key: str) -> dict[str, Any]:
    starts = datetime.combine(day, clock_time(9, 0), ZONE).astimezone(UTC)
    held = sesi is not None
    return {
        "kelompok_id": kelompok_id,
        "meeting_date": day,
        "starts_at": starts,
        "place": "Balai Desa",
        "modul": 1 if held else None,
        "sesi": sesi,
        "status": MeetingStatus.HELD if held else MeetingStatus.PLANNED,
        "plan_key": plan_key,
        "attendance_recorded_at": starts + timedelta(hours=2) if held else None,
    }


async def _meeting_ids(session: AsyncSession, meetings: list[dict[str, Any]]) -> list[int]:
    statement = insert(Meeting).returning(Meeting.id, Meeting.kelompok_id, Meeting.plan_key)
    result = await session.execute(statement, meetings, execution_options={"render_nulls": True})
    ids = {(found[1], found[2]): found[0] for found in result}
    return [ids[(m["kelompok_id"], m["plan_key"])] for m in meetings]


# --- simulated pendamping --------------------------------------------------------------------


class PhaseOver(Exception):
    """The phase's time is up."""


class Drift(Exception):
    """The flow did not offer what the next step of a pass needs."""


class FailureTally(logging.Handler):
    """Counts what the engine logs (a swallowed exception, a refused request) by exception
    type and the first line of its message, instead of printing every traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.logger = logging.getLogger("handlers.engine")

    def __enter__(self) -> FailureTally:
        self.logger.addHandler(self)
        self.logger.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.propagate = True

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            first = (str(error).splitlines() or [""])[0][:90]  # SQL and parameters come later
            self.counts[f"{type(error).__name__}: {first}"] += 1
        else:
            self.counts[record.getMessage()[:90]] += 1


class StatementCounter:
    """Counts SQL statements sent to the database (BEGIN included, COMMIT not)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self.texts: list[str] | None = None  # collected while a list is set
        event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *args: Any) -> None:
        self.count += 1
        if self.texts is not None:
            self.texts.append(" ".join(str(args[2]).split())[:120])  # SQL only, no parameters


@dataclass
class Recorder:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statements: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    sql: dict[str, list[str]] = field(default_factory=dict)  # one pass, when asked
    drifts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    passes: int = 0

    def all_ms(self) -> list[float]:
        return [ms for values in self.latencies_ms.values() for ms in values]


STEPS_PER_PASS = 9


@dataclass
class Pendamping:
    """One simulated pendamping walking the attendance flow again and again."""

    engine: Engine
    address: str
    recorder: Recorder
    rng: random.Random
    deadline: float
    interval_s: float = 0.0  # start-to-start time between two steps; 0 = no think time
    statements: StatementCounter | None = None  # per-step counts: only when alone
    show_sql: bool = False
    max_passes: int | None = None
    provider_ids: bool = False  # messages carry a provider id, as from WhatsApp or Telegram
    clock: SystemClock = field(default_factory=SystemClock)
    next_at: float = 0.0  # when the next message arrives (it is sent then)

    async def run(self) -> None:
        self.next_at = time.perf_counter()
        if self.interval_s:  # start anywhere in a pass, so that people are not in step
            pass_s = STEPS_PER_PASS * self.interval_s
            self.next_at += self.rng.uniform(0, pass_s)
        done = 0
        while self.max_passes is None or done < self.max_passes:
            try:
                await self.one_pass()
            except PhaseOver:
                return
            except Drift as drift:
                self.recorder.drifts[str(drift)] += 1
            self.recorder.passes += 1
            done += 1

    async def one_pass(self) -> None:
        reply = await self.send("hadir", text="/hadir")
        meeting = next((o.value for o in reply.options if o.value.startswith("m:")), None)
        reply = await self.send("meeting", choice=_need(meeting, "hadir"))
        reply = await self.send("sesi", choice=_offered(reply, f"s:{self.rng.randint(1, 14)}"))
        for index in range(2):  # the same two members each pass: absent, then present again
            if len(reply.toggles) < 2:
                raise Drift("toggle")
            reply = await self.send("toggle", choice=reply.toggles[index].value)
        reply = await self.send("done", choice=_offered(reply, "done"))
        while any(o.value == "sakit" for o in reply.options):
            reply = await self.send("reason", choice=self.rng.choice(REASONS))
        reply = await self.send("photo", choice=_offered(reply, "skip"))
        reply = await self.send("save", choice=_offered(reply, "save"))
        if reply.options or reply.toggles:
            raise Drift("save")

    async def send(self, step: str, *, text: str = "", choice: str | None = None) -> Reply:
        """One message, arriving at ``next_at``. Its latency runs from that arrival to the
        reply, so time spent waiting for the process (behind other people's steps) counts,
        wherever it is spent: in the engine, or before this coroutine got to run at all."""
        arrived = self.next_at
        if arrived >= self.deadline:
            raise PhaseOver
        # A message comes in through the event loop (here: a timer, or a turn of it when
        # already due), behind whatever else is ready: a step that runs to its end without
        # waiting for I/O (SQLite) must not let this person go on without one.
        await asyncio.sleep(max(arrived - time.perf_counter(), 0.0))
        message = IncomingMessage(
            channel="console",
            address=self.address,
            received_at=self.clock.now(),
            text=text,
            choice=choice,
            external_id=f"bench:{uuid.uuid4()}" if self.provider_ids else None,
        )
        counter = self.statements
        before = counter.count if counter else 0
        if counter and self.show_sql and step not in self.recorder.sql:
            counter.texts = []
        outcome = await self.engine.handle(message)
        replied = time.perf_counter()
        self.recorder.latencies_ms[step].append((replied - arrived) * 1000)
        # Think times are exponential: together the conversations send as a Poisson stream
        # of ``rate`` steps/s, bursts included (harsher than even spacing); nobody writes
        # again before the reply. Without think time the next message follows the reply.
        think = self.rng.expovariate(1 / self.interval_s) if self.interval_s else 0.0
        self.next_at = max(arrived + think, replied)
        if counter:
            self.recorder.statements[step].append(counter.count - before)
            if counter.texts is not None:
                self.recorder.sql[step] = counter.texts
                counter.texts = None
        if not outcome.replies:
            raise Drift(step)
        return outcome.replies[-1]


def _need(value: str | None, step: str) -> str:
    if value is None:
        raise Drift(step)
    return value


def _offered(reply: Reply, value: str) -> str:
    if not any(o.value == value for o in reply.options):
        raise Drift(f"no {value.split(':')[0]!r} option")
    return value


# --- phases and figures ----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


@dataclass
class Phase:
    recorder: Recorder
    seconds: float
    statements: int
    cpu_s: float

    @property
    def steps(self) -> int:
        return len(self.recorder.all_ms())

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    def p(self, q: float, step: str | None = None) -> float:
        values = self.recorder.latencies_ms[step] if step else self.recorder.all_ms()
        return percentile(values, q)


async def run_phase(
    engine: Engine,
    addresses: Sequence[str],
    counter: StatementCounter,
    *,
    seconds: float,
    rate: float = 0.0,
    alone: bool = False,
    show_sql: bool = False,
    max_passes: int | None = None,
    profile: cProfile.Profile | None = None,
    provider_ids: bool = False,
) -> Phase:
    recorder = Recorder()
    deadline = time.perf_counter() + seconds
    walkers = [
        Pendamping(
            engine,
            address,
            recorder,
            random.Random(f"{SEED}-{address}"),
            deadline,
            interval_s=len(addresses) / rate if rate else 0.0,
            statements=counter if alone else None,
            show_sql=show_sql,
            max_passes=max_passes,
            provider_ids=provider_ids,
        )
        for address in addresses
    ]
    statements, cpu = counter.count, time.process_time()
    started = time.perf_counter()
    if profile:
        profile.enable()
    await asyncio.gather(*(walker.run() for walker in walkers))
    if profile:
        profile.disable()
    return Phase(
        recorder,
        time.perf_counter() - started,
        counter.count - statements,
        time.process_time() - cpu,
    )


@dataclass(frozen=True)
class Options:
    pendamping: int
    kelompok_each: int
    members: int
    concurrency: int
    seconds: float
    engine_seconds: float
    rate: float
    show_sql: bool
    profile: str | None


async def bench_database(
    label: str, url: str, options: Options, catalog: KomponenCatalog
) -> dict[str, Any]:
    database = create_engine(url)
    try:
        with FailureTally() as tally:
            return await _bench(label, database, options, catalog, tally)
    finally:
        await database.dispose()


async def _bench(
    label: str,
    database: AsyncEngine,
    options: Options,
    catalog: KomponenCatalog,
    tally: FailureTally,
) -> dict[str, Any]:
    await upgrade(database)
    sessions = session_factory(database)
    started = time.perf_counter()
    addresses = await seed(
        sessions,
        pendamping=options.pendamping,
        kelompok_each=options.kelompok_each,
        members=options.members,
        today=datetime.now(ZONE).date(),
    )
    seeded_s = time.perf_counter() - started
    counter = StatementCounter(database)
    engine = Engine(sessions, EngineSettings(catalog=catalog), SystemClock(), FLOWS, COMMANDS)
    walkers = addresses[: options.concurrency]
    print(
        f"\n== {label}: {options.pendamping} pendamping x {options.kelompok_each} kelompok x "
        f"{options.members} KPM, seeded in {seeded_s:.1f} s; {len(walkers)} conversations",
        flush=True,
    )
    await run_phase(engine, walkers, counter, seconds=60, max_passes=1)  # warm-up
    tune_garbage_collector()  # as `pendamping run` does once it has started
    engine.failures, tally.counts = 0, Counter()
    alone = await run_phase(
        engine, walkers[:1], counter, seconds=options.engine_seconds, alone=True,
        show_sql=options.show_sql,
    )
    # What a message from WhatsApp or Telegram costs the engine besides: its provider id
    # recorded to process it once, and its replies queued in the outbox for the dispatcher.
    provider_engine = Engine(
        sessions,
        EngineSettings(catalog=catalog),
        SystemClock(),
        FLOWS,
        COMMANDS,
        queued_channels=["console"],
    )
    provider = await run_phase(
        provider_engine, walkers[:1], counter, seconds=options.engine_seconds, alone=True,
        provider_ids=True,
    )
    profile = cProfile.Profile() if options.profile == label else None
    capacity = await run_phase(
        engine, walkers, counter, seconds=options.seconds, profile=profile
    )
    paced = await run_phase(engine, walkers, counter, seconds=options.seconds, rate=options.rate)
    report(alone, capacity, paced, options)
    provider_ms = sum(provider.recorder.all_ms()) / max(provider.steps, 1)
    print(
        f"engine cost, one conversation alone, as provider messages (an id to process once, "
        f"replies queued for the dispatcher): {provider_ms:.2f} ms/step, "
        f"{provider.statements / max(provider.steps, 1):.1f} statements/step"
    )
    for kind, count in tally.counts.most_common():
        print(f"  engine logged {count} x {kind}")
    if profile:
        print_profile(profile)
    drifts = {**capacity.recorder.drifts, **paced.recorder.drifts}
    return {
        "steps_per_s": round(capacity.steps_per_s, 1),
        "p50_ms": round(paced.p(0.50), 2),
        "p99_ms": round(paced.p(0.99), 2),
        "concurrency": len(walkers),
        "steps": capacity.steps + paced.steps,
        "offered_steps_per_s": options.rate,
        "paced_steps_per_s": round(paced.steps_per_s, 1),
        "saturated_p50_ms": round(capacity.p(0.50), 2),
        "saturated_p99_ms": round(capacity.p(0.99), 2),
        "engine_ms_per_step": round(sum(alone.recorder.all_ms()) / max(alone.steps, 1), 3),
        "engine_ms_per_provider_message": round(provider_ms, 3),
        "statements_per_step": round(capacity.statements / max(capacity.steps, 1), 2),
        "cpu_ms_per_step": round(capacity.cpu_s * 1000 / max(capacity.steps, 1), 3),
        "failures": engine.failures + provider_engine.failures,
        "drifts": sum(drifts.values()),
    }


def report(alone: Phase, capacity: Phase, paced: Phase, options: Options) -> None:
    engine_mean = sum(alone.recorder.all_ms()) / max(alone.steps, 1)
    print(
        f"engine cost, one conversation alone: {engine_mean:.2f} ms/step mean "
        f"(p50 {alone.p(0.5):.2f}, p99 {alone.p(0.99):.2f}), "
        f"{alone.statements / max(alone.steps, 1):.1f} statements/step, "
        f"{alone.steps / max(alone.recorder.passes, 1):.1f} steps/pass"
    )
    print(
        f"capacity, no think time: {capacity.steps_per_s:.0f} steps/s "
        f"({capacity.recorder.passes / capacity.seconds:.1f} passes/s), "
        f"p50 {capacity.p(0.5):.1f} ms, p99 {capacity.p(0.99):.1f} ms, "
        f"{capacity.statements / max(capacity.steps, 1):.1f} statements/step, "
        f"{capacity.cpu_s * 1000 / max(capacity.steps, 1):.2f} ms CPU/step (this process)"
    )
    print(
        f"under load, {options.rate:.0f} steps/s offered: {paced.steps_per_s:.0f} steps/s done, "
        f"p50 {paced.p(0.5):.2f} ms, p99 {paced.p(0.99):.2f} ms, max {paced.p(1.0):.1f} ms"
    )
    print(
        f"  {'step':<8}{'alone ms':>9}{'stmts':>6} |{'saturated p50':>14}{'p99':>9} |"
        f"{'under load n':>13}{'p50 ms':>9}{'p99 ms':>10}"
    )
    for step in STEP_ORDER:
        times = alone.recorder.latencies_ms.get(step) or [float("nan")]
        counts = alone.recorder.statements.get(step) or [0]
        print(
            f"  {step:<8}{sum(times) / len(times):>9.2f}{sum(counts) / len(counts):>6.1f} |"
            f"{capacity.p(0.5, step):>14.1f}{capacity.p(0.99, step):>9.1f} |"
            f"{len(paced.recorder.latencies_ms.get(step, [])):>13}"
            f"{paced.p(0.5, step):>9.1f}{paced.p(0.99, step):>10.1f}"
        )
    for name, phase in (("capacity", capacity), ("under load", paced)):
        if phase.recorder.drifts:
            print(f"  {name}: passes that went off script: {dict(phase.recorder.drifts)}")
    for step, statements in alone.recorder.sql.items():
        print(f"  -- SQL of step {step!r} ({len(statements)} statements):")
        for statement in statements:
            print(f"       {statement}")


def print_profile(profile: cProfile.Profile) -> None:
    """Functions by own time in the event-loop thread (cumulative times are not shown: with
    coroutines and greenlets they include the time spent waiting)."""
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    print("  -- cProfile of the capacity phase, event-loop thread, by own time:")
    print("\n".join(f"     {line.replace(str(Path.cwd()) + '/', '')}" for line in lines[3:]))


# --- PostgreSQL: a database of the run's own -------------------------------------------------


async def admin(server_url: str, statement: str) -> None:
    engine = create_engine(server_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """The URL of a new database on the PostgreSQL server ``server_url``, dropped after."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    await admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bench_postgresql(
    server_url: str, options: Options, catalog: KomponenCatalog
) -> dict[str, Any]:
    async with scratch_database(server_url) as url:
        return await bench_database("postgresql", url, options, catalog)


async def main_async(args: argparse.Namespace, options: Options) -> dict[str, Any]:
    catalog = default_catalog()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-conversation-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        results["sqlite"] = await bench_database("sqlite", url, options, catalog)
    server = args.database_url or os.environ.get(PG_ENV)
    if server:
        results["postgresql"] = await bench_postgresql(server, options, catalog)
    else:
        print(f"\n== postgresql: skipped (no --database-url and {PG_ENV} is not set)")
        results["postgresql"] = None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s phases, 20 pendamping")
    parser.add_argument("--pendamping", type=int, help="simulated pendamping (default 50)")
    parser.add_argument("--concurrency", type=int, default=50, help="conversations at once")
    parser.add_argument("--seconds", type=float, help="length of each load phase (default 20)")
    parser.add_argument("--rate", type=float, default=500.0, help="steps/s offered, phase 4")
    parser.add_argument("--kelompok", type=int, default=3, help="kelompok per pendamping")
    parser.add_argument("--members", type=int, default=25, help="KPM per kelompok")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (postgresql+asyncpg)")
    parser.add_argument("--show-sql", action="store_true", help="print each step's statements")
    parser.add_argument(
        "--profile", choices=["sqlite", "postgresql"], help="cProfile the capacity phase"
    )
    args = parser.parse_args(argv)
    pendamping = args.pendamping or (20 if args.quick else 50)
    options = Options(
        pendamping=pendamping,
        kelompok_each=args.kelompok,
        members=args.members,
        concurrency=min(args.concurrency, pendamping),
        seconds=args.seconds or (5.0 if args.quick else 20.0),
        engine_seconds=1.0 if args.quick else 3.0,
        rate=args.rate,
        show_sql=args.show_sql,
        profile=args.profile,
    )
    results = event_loop.run(main_async(args, options))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
