"""The jobs bench/scale.py measures on its world, and the child processes it runs them in.

Run by bench/scale.py; as a script it is one of its child processes:

    python bench/scale_jobs.py sweep DATABASE_URL
    python bench/scale_jobs.py dispatch DATABASE_URL API_URL ACCOUNT_SID AUTH_TOKEN

A child's peak memory is its own, measured by a bare interpreter that forks it (its
``ru_maxrss``), not the parent's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/telegram.py is named like the `telegram` package: keep this folder off the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot import event_loop  # noqa: E402
from bot.config import load_settings  # noqa: E402
from models.db import create_engine, session_factory  # noqa: E402
from models.db.statements import upsert_insert  # noqa: E402
from models.enums import Channel, OutboxStatus  # noqa: E402
from models.messaging.enqueue import Enqueue, Priority, enqueue  # noqa: E402
from models.messaging.tables import Outbox  # noqa: E402
from models.retention import months_before  # noqa: E402
from models.rules.clock import FixedClock  # noqa: E402
from models.tables import ChannelIdentity  # noqa: E402

SENDERS = {Channel.WHATSAPP: "+6281100000001", Channel.SMS: "+6281100000002"}
SENDER_RATE = 80  # messages per second, each sender ([twilio] messages_per_second)
DISPATCH_KIND = "bench_scale"


def load_bench(name: str) -> ModuleType:
    """A sibling benchmark as a module (bench/ is not a package)."""
    key = f"bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def settings_env(url: str, **more: str) -> dict[str, str]:
    """The environment of a `pendamping` process on ``url`` (no configuration file)."""
    env = {"PENDAMPING_CONFIG": "", "PENDAMPING_DATABASE_URL": url}
    env.update({f"PENDAMPING_{key.upper()}": value for key, value in more.items()})
    return env


_MEASURED = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump([os.waitstatus_to_exitcode(status), usage.ru_maxrss,
               usage.ru_utime + usage.ru_stime], out)
"""
"""Runs a command as the child of a small process, which reports its peak RSS and CPU.
A child forked straight from this process would count this process's memory as its own
(``ru_maxrss`` spans the fork until ``exec``); forked from a bare interpreter, it counts
some 10 MB of it."""


def run_child(command: list[str], env: dict[str, str] | None = None
              ) -> tuple[str, float, float, float]:
    """Run a child process to its end; its output, seconds, peak RSS in MB and CPU
    seconds."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "usage.json"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _MEASURED, str(report), *command],
                              stdout=subprocess.PIPE, env={**os.environ, **(env or {})},
                              cwd=ROOT, check=False)
        seconds = time.perf_counter() - started
        code, peak_kb, cpu = json.loads(report.read_text())
    output = done.stdout.decode()
    if code:
        raise RuntimeError(f"{command[1:3]} exited with {code}:\n{output[-2000:]}")
    return output, seconds, peak_kb / 1024, cpu


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- 1. the reminder sweep of a busy day (child) ---------------------------------------------


async def sweep_child(url: str) -> None:
    from bot.process import tune_garbage_collector

    fanout = load_bench("fanout")
    engine = create_engine(url)
    sessions = session_factory(engine)
    tune_garbage_collector()  # as `pendamping scheduler` does at start
    before = rss_mb()
    started = time.perf_counter()
    plan, report, planned = await fanout.plan_and_enqueue(sessions)
    finished = time.perf_counter()
    await engine.dispose()
    print(json.dumps({"meetings_planned": plan.created, "reminders": report.enqueued,
                      "plan_s": round(planned - started, 2),
                      "enqueue_s": round(finished - planned, 2),
                      "rss_at_start_mb": round(before)}))


def sweep(url: str) -> dict[str, Any]:
    output, _, peak, cpu = run_child([sys.executable, __file__, "sweep", url])
    found = json.loads(output.strip().splitlines()[-1])
    found["seconds"] = round(found["plan_s"] + found["enqueue_s"], 2)
    found["peak_rss_mb"] = round(peak)
    found["cpu_s"] = round(cpu, 1)  # the whole child's, start-up included
    return found


# --- 2. the coordinators' weekly digests -----------------------------------------------------


async def digests(engine: AsyncEngine, as_of: datetime) -> dict[str, Any]:
    from reporting import digest as digest_module

    bench = load_bench("digest")
    args = argparse.Namespace(runs=1, all_runs=1, show_sql=0, text_lines=0, profile=False)
    found = await bench.measure(engine, as_of, args, digest_module)
    return {"seconds": round(found["all_digests_ms"] / 1000, 2),
            "coordinators": found["coordinators"],
            "one_digest_s": round(found["one_digest_ms"] / 1000, 2)}


# --- 4. dispatch against a fake Twilio: two senders, 1 to 4 processes ------------------------


def _creates(fake: Any) -> list[tuple[float, str, str, int]]:
    """The fake's message creates: (arrival, sender, body, HTTP status)."""
    return [(call.at, str(call.params.get("From", "")).removeprefix("whatsapp:"),
             str(call.params.get("Body", "")), call.status)
            for call in fake.calls
            if call.method == "POST" and call.path.endswith("/Messages.json")]


def _refused(arrivals: list[float], per_second: float) -> int:
    """How many of one sender's creates Twilio's limit would refuse (429): those beyond
    ``per_second`` in the rolling second before them."""
    recent: collections.deque[float] = collections.deque()
    refused = 0
    for at in sorted(arrivals):
        while recent and at - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) + 1 > per_second:
            refused += 1
        else:
            recent.append(at)
    return refused


async def _enqueue_dispatch_load(engine: AsyncEngine, label: str, per_sender: int) -> None:
    """The messages, as replies to KPM who wrote within the hour (a WhatsApp message
    outside the 24-hour window would need an approved template)."""
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    wrote = upsert_insert(engine.dialect.name)(ChannelIdentity)
    wrote = wrote.on_conflict_do_update(index_elements=["address"],
                                        set_={"last_inbound_at": wrote.excluded.last_inbound_at})
    for start in range(0, per_sender, 500):
        async with sessions.begin() as session:
            await session.execute(wrote.values([
                {"address": f"whatsapp:+62813{n:08d}", "channel": Channel.WHATSAPP,
                 "linked_at": now, "last_inbound_at": now - timedelta(hours=1)}
                for n in range(start, min(start + 500, per_sender))]))
    messages = [
        Enqueue(channel, f"{channel.value}:+62813{n:08d}", DISPATCH_KIND,
                {"text": f"scale {label} {channel.value} {n}"}, Priority.REMINDER)
        for channel in SENDERS for n in range(per_sender)
    ]
    for start in range(0, len(messages), 5000):
        async with sessions.begin() as session:
            await enqueue(session, messages[start:start + 5000], now=now)


async def dispatch(engine: AsyncEngine, url: str, processes: int, seconds: float
                   ) -> dict[str, Any]:
    """``seconds`` of work for two senders at their rate, sent by ``processes`` dispatcher
    processes; what the fake accepted, refused and when."""
    per_sender = int(SENDER_RATE * seconds)
    label = f"p{processes}-{time.time_ns()}"
    await _enqueue_dispatch_load(engine, label, per_sender)
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-dispatch-"))
    times = [folder / f"{n}.json" for n in range(processes)]
    from tests.fakes.twilio_api import FakeTwilioApi

    async with FakeTwilioApi() as fake:
        started = time.perf_counter()
        workers = [await asyncio.create_subprocess_exec(
            sys.executable, __file__, "dispatch", url, fake.base_url, fake.account_sid,
            fake.auth_token, str(path)) for path in times]
        try:
            await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)),
                                   timeout=seconds * 4 + 60)
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
        elapsed = time.perf_counter() - started
    sends = [(at, sender) for path in times if path.exists()
             for at, sender in json.loads(path.read_text())]
    shutil.rmtree(folder)
    return _dispatch_figures(fake, processes, per_sender, label, elapsed, sends)


def _dispatch_figures(fake: Any, processes: int, per_sender: int, label: str,
                      elapsed: float, sends: list[tuple[float, str]]) -> dict[str, Any]:
    """``windows_over_rate``, ``most_in_a_rolling_second``: by when the dispatchers
    began each send (what the shared pace decides); ``..._at_fake`` and ``refused_429``
    (the creates Twilio's limit of 80 in any rolling second per sender would refuse): as
    the fake saw the requests arrive, which adds the HTTP path's and the fake's own
    delays (on a loaded machine, requests queued while a process waited for the CPU
    arrive together)."""
    creates = _creates(fake)
    accepted = [(at, sender, body) for at, sender, body, status in creates if status == 201]
    bodies = Counter(body for _, _, body in accepted if body.startswith(f"scale {label} "))
    per_second: dict[str, Counter[int]] = defaultdict(Counter)
    for moment, sender, _ in accepted:
        per_second[sender][int(moment)] += 1
    tried: dict[str, Counter[int]] = defaultdict(Counter)
    for moment, sender in sends:
        tried[sender][int(moment)] += 1
    arrived: dict[str, list[float]] = defaultdict(list)
    for moment, sender, _, _ in creates:
        arrived[sender].append(moment)
    arrived_per_second = {sender: Counter(int(at) for at in moments)
                          for sender, moments in arrived.items()}
    achieved = 0.0  # steady: each sender's seconds but the first and last two (ramps)
    for counts in per_second.values():
        steady = [counts[second] for second in sorted(counts)][2:-2] or list(counts.values())
        achieved += sum(steady) / max(len(steady), 1)
    limit = SENDER_RATE * len(SENDERS)
    times = sorted(moment for moment, _, _ in accepted)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rolling = max((_most_in_a_second([m for m, s in sends if s == sender])
                   for sender in tried), default=0)
    rolling_at_fake = max((_most_in_a_second(moments) for moments in arrived.values()),
                          default=0)
    return {
        "processes": processes,
        "messages": per_sender * len(SENDERS),
        "elapsed_s": round(elapsed, 1),
        "achieved_per_s": round(achieved, 1),
        "share_of_limit": round(achieved / limit, 3),
        "lost": per_sender * len(SENDERS) - len(bodies),
        "sent_twice": sum(n - 1 for n in bodies.values()),
        "windows_over_rate": sum(1 for counts in tried.values() for n in counts.values()
                                 if n > SENDER_RATE),
        "most_in_a_rolling_second": rolling,
        "windows_over_rate_at_fake": sum(1 for counts in arrived_per_second.values()
                                         for n in counts.values() if n > SENDER_RATE),
        "most_in_a_rolling_second_at_fake": rolling_at_fake,
        "refused_429": sum(_refused(moments, SENDER_RATE) for moments in arrived.values()),
        "first_to_last_s": round(span, 1),
        "overall_share": round(len(times) / span / limit, 3) if span else None,
    }


def _most_in_a_second(moments: list[float]) -> int:
    ordered, best, start = sorted(moments), 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def dispatch_child(url: str, api_url: str, account: str, token: str,
                         times_file: str) -> None:
    """A `pendamping scheduler` process without its sweeps: the dispatcher as
    bot.jobs.build_dispatcher wires it (shared pace per sender on PostgreSQL), the
    real Twilio channel; it stops when no message of the bench is left to send."""
    from bot.bootstrap import build_app, build_twilio
    from bot.jobs import build_dispatcher

    env = settings_env(url, twilio_account_sid=account, twilio_auth_token=token,
                       twilio_whatsapp_sender=SENDERS[Channel.WHATSAPP],
                       twilio_sms_sender=SENDERS[Channel.SMS], twilio_api_base_url=api_url,
                       twilio_messages_per_second=str(SENDER_RATE))
    app = build_app(load_settings(environ=env).settings)
    twilio = build_twilio(app)
    assert twilio is not None
    started: list[tuple[float, str]] = []  # when each send began, here: the pace's own work
    send = twilio.send_claimed

    async def timed_send(message: Any) -> Any:
        started.append((time.time(), SENDERS[message.channel]))
        return await send(message)

    twilio.send_claimed = timed_send  # type: ignore[method-assign]
    dispatcher = build_dispatcher(app, None, twilio)
    assert dispatcher is not None
    stop = asyncio.Event()
    runner = asyncio.create_task(dispatcher.run(stop, idle=0.2))
    # The bench's messages are the only ones not settled (dispatch runs first, on the
    # world's history): counted on the status index alone. With ``kind`` in the
    # condition SQLite's planner scanned the whole outbox (230 ms at 100,000 KPM, on this
    # process's event loop every half second: a third of the sending time lost).
    open_rows = (select(func.count()).select_from(Outbox)
                 .where(Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])))
    while True:
        await asyncio.sleep(0.5)
        async with app.sessions() as session:
            if not await session.scalar(open_rows):
                break
    stop.set()
    await runner
    await twilio.http.close()
    await app.close()
    Path(times_file).write_text(json.dumps(started))  # noqa: ASYNC240 (once, at the end)


# --- 5. housekeeping -------------------------------------------------------------------------


class _SweepLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.report: Any = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "sweep %s: %s" and record.args:
            self.report = record.args[1]  # type: ignore[index]


async def housekeeping(engine: AsyncEngine, url: str, folder: Path) -> dict[str, Any]:
    """bot.jobs.housekeeping_sweep on the day the oldest day of the outbox's history
    passes [retention] outbox_payload_months (6): one day's texts to clear, as each
    day's runs find."""
    from bot.bootstrap import build_app
    from bot.jobs import housekeeping_sweep

    async with engine.connect() as connection:
        oldest = await connection.scalar(select(func.min(Outbox.created_at)))
    assert oldest is not None
    now = months_before(oldest, -6) + timedelta(days=1)
    settings = load_settings(environ=settings_env(url, media_folder=str(folder))).settings
    app = build_app(settings, clock=FixedClock(now))
    handler = _SweepLog()
    jobs_log = logging.getLogger("bot.jobs")
    jobs_log.addHandler(handler)
    jobs_log.setLevel(logging.INFO)
    try:
        started = time.perf_counter()
        await housekeeping_sweep(app)
        seconds = time.perf_counter() - started
    finally:
        jobs_log.removeHandler(handler)
        await app.close()
    done = handler.report or {}
    return {"seconds": round(seconds, 2), "as_of": now.date().isoformat(),
            "outbox_payloads_cleared": done.get("outbox_payloads", 0)}


# --- 6. the export of one kabupaten (child: the real command) --------------------------------


async def export(engine: AsyncEngine, url: str, code: str, first: date, last: date,
                 folder: Path) -> dict[str, Any]:
    pendamping = Path(sys.executable).with_name("pendamping")
    out = folder / "kabupaten.xlsx"
    command = [str(pendamping), "export", "attendance", "--out", str(out), "--from",
               first.isoformat(), "--to", last.isoformat(), "--region", code]
    output, seconds, peak, cpu = await asyncio.to_thread(run_child, command, settings_env(url))
    written = re.search(r"\d[\d.,]*", output)
    size = out.stat().st_size
    out.unlink()
    rows = int(re.sub(r"\D", "", written.group())) if written else None
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak), "cpu_s": round(cpu, 1),
            "rows": rows,
            "xlsx_mb": round(size / 2**20, 1)}


# --- 7. the database's size ------------------------------------------------------------------


async def database_mb(engine: AsyncEngine) -> float:
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
        else:
            pages = await connection.scalar(text("PRAGMA page_count"))
            size = pages * await connection.scalar(text("PRAGMA page_size"))
            database = engine.url.database
            wal = Path(f"{database}-wal") if database else None
            size += wal.stat().st_size if wal and wal.exists() else 0
    return round(size / 2**20)


async def world_rows(engine: AsyncEngine) -> int:
    """The rows of a kept world, as its last ANALYZE counted them (PostgreSQL)."""
    async with engine.connect() as connection:
        rows = await connection.scalar(text(
            "SELECT sum(greatest(reltuples, 0))::bigint FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"))
    return int(rows or 0)


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "sweep":
        event_loop.run(sweep_child(*args))
    elif command == "dispatch":
        event_loop.run(dispatch_child(*args))
    else:
        raise SystemExit(f"unknown child {command!r}")


if __name__ == "__main__":
    main()
