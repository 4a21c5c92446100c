"""Benchmark: `pendamping backup` and `pendamping restore` of the 60,000-KPM digest world,
with the bot's write load running beside the backup.

    .venv/bin/python bench/backup.py --quick      # 6,000 KPM (bench/digest.py --quick's world)
    .venv/bin/python bench/backup.py              # 60,000 KPM, ~720,000 attendance rows
    .venv/bin/python bench/backup.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The world is bench/digest.py's, generated and written the same way (not measured). Then:
1. the backup runs as the operator's cron runs it, as a process of its own (``pendamping
   backup FOLDER``: on PostgreSQL with its ``pg_dump``), while a task of this process
   writes as the bot does, transaction after transaction (a held meeting, a mark for each
   of the kelompok's 25 KPM and an outbox message, ``--pause-ms`` apart);
2. the restore (``pendamping restore FILE``) into a new, empty database (no load: the bot
   is stopped for a restore), then a check that the restored database holds every row
   committed before the backup began.

Measured per database: the wall time of each command, its peak resident memory (the
command's process and its children, pg_dump/pg_restore included: ``wait4`` in a small
launcher process), the backup's
size, and the load's transactions and rows committed while the backup ran; for scale, the
same for ``pendamping --help`` (the interpreter and the imports every command pays). SQLite runs on
a fresh file; PostgreSQL when ``--database-url`` or ``TEST_DATABASE_URL`` names a server, in
databases of its own, dropped at the end. The last line is one JSON object per database:
``{"sqlite": {"backup_s": ..., "backup_peak_rss_mb": ..., "restore_s": ...,
"restore_peak_rss_mb": ..., "backup_mb": ..., "rows_written_during_backup": ...}, ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/telegram.py is named like the `telegram` package: keep this folder off the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_digest", BENCH / "digest.py")
assert _spec is not None and _spec.loader is not None
digest_bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_digest"] = digest_bench
_spec.loader.exec_module(digest_bench)

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import event_loop  # noqa: E402
from models.db import create_engine, session_factory, transaction  # noqa: E402
from models.enums import AttendanceMark, Channel, MeetingStatus  # noqa: E402
from models.messaging.tables import Outbox  # noqa: E402
from models.tables import Attendance, Meeting  # noqa: E402

PG_ENV = "TEST_DATABASE_URL"
CLI = [sys.executable, "-c", "from bot.cli import main; main()"]
LAUNCHER = [sys.executable, "-c", (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)]
"""Runs a command and writes its peak RSS (KB, with its waited-for children) to a file. A
process forked from this one would count this one's memory (the generated world) as its
own peak: Linux carries the high-water mark across fork and exec. The launcher is small."""
LOAD_FIRST_DAY = date(2031, 1, 1)  # after the world's meetings


@dataclass
class Load:
    """The bot's writes: counted as they commit."""

    commits: int = 0
    rows: int = 0
    stop: bool = False
    running: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once a few transactions have committed."""


async def write_load(url: str, load: Load, pause_s: float) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with engine.connect() as connection:
            kelompok = await connection.scalar(text("SELECT min(id) FROM kelompok"))
            kpm = list(await connection.scalars(
                text("SELECT id FROM kpm WHERE kelompok_id = :k ORDER BY id"), {"k": kelompok}))
        while not load.stop:
            day = LOAD_FIRST_DAY + timedelta(days=load.commits)
            async with transaction(sessions) as session:
                meeting = Meeting(kelompok_id=kelompok, meeting_date=day, status=MeetingStatus.HELD,
                                  starts_at=datetime(day.year, day.month, day.day, 2, tzinfo=UTC))
                session.add(meeting)
                await session.flush()
                session.add_all(Attendance(meeting_id=meeting.id, kpm_id=kpm_id,
                                           mark=AttendanceMark.HADIR) for kpm_id in kpm)
                session.add(Outbox(channel=Channel.WHATSAPP, address="whatsapp:+6281200000000",
                                   kind="bench", dedupe_key=f"bench-backup:{load.commits}",
                                   payload={"key": "bench"}))
            load.commits += 1
            load.rows += len(kpm) + 2
            if load.commits == 5:
                load.running.set()
            await asyncio.sleep(pause_s)
    finally:
        await engine.dispose()


def run_and_wait(args: list[str], url: str, log: Path) -> tuple[float, float, str]:
    """Run the command line as its own process: wall seconds, peak RSS in MB (the process
    and its waited-for children, from ``wait4``), and what it printed."""
    env = {**os.environ, "PENDAMPING_DATABASE_URL": url, "PENDAMPING_CONFIG": "",
           "COLUMNS": "300"}
    peak = log.with_suffix(".rss")
    started = time.perf_counter()
    with log.open("w") as output:
        finished = subprocess.run([*LAUNCHER, str(peak), *CLI, *args], cwd=ROOT, env=env,
                                  stdout=output, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    printed = log.read_text()
    if finished.returncode != 0:
        raise SystemExit(f"`pendamping {' '.join(args)}` failed:\n{printed}")
    return seconds, int(peak.read_text()) / 1024, printed


async def run_command(args: list[str], url: str, log: Path) -> tuple[float, float, str]:
    """:func:`run_and_wait` in a thread, while the load goes on in this event loop."""
    return await asyncio.to_thread(run_and_wait, args, url, log)


async def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {table: int(await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                    for table in ("kpm", "meeting", "attendance", "outbox")}
    finally:
        await engine.dispose()


async def bench_database(label: str, url: str, target: str, folder: Path,
                         args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n== {label}", flush=True)
    engine = create_engine(url)
    today = datetime.now(UTC).astimezone(digest_bench.ZONE).date()
    try:
        generated = await digest_bench.prepare(engine, args.shape, today, digest_bench.data.SEED)
    finally:
        await engine.dispose()
    load = Load()
    writer = asyncio.create_task(write_load(url, load, args.pause_ms / 1000))
    await load.running.wait()  # the load is running before the backup starts
    before = await counts(url)
    commits_before, rows_before = load.commits, load.rows
    backups = folder / "backups"
    backups.mkdir()
    backup_s, backup_rss, printed = await run_command(["backup", str(backups)], url,
                                                      folder / "backup.log")
    commits_during, rows_during = load.commits - commits_before, load.rows - rows_before
    load.stop = True
    await writer
    print(printed.strip().splitlines()[0])
    [backup] = list(backups.iterdir())
    restore_s, restore_rss, printed = await run_command(["restore", str(backup)], target,
                                                        folder / "restore.log")
    print(printed.strip().splitlines()[-1])
    restored = await counts(target)
    missing = {table: before[table] - restored[table] for table in before
               if restored[table] < before[table]}
    if missing:
        raise SystemExit(f"rows committed before the backup are missing: {missing}")
    startup_s, startup_rss, _ = await run_command(["--help"], url, folder / "help.log")
    print(f"the command line's own start (`pendamping --help`): {startup_s:.1f} s, "
          f"{startup_rss:.0f} MB")
    print(f"backup {backup_s:.1f} s (peak {backup_rss:.0f} MB), "
          f"{backup.stat().st_size / 1e6:.0f} MB; {commits_during} load transactions "
          f"({rows_during:,} rows) committed meanwhile; restore {restore_s:.1f} s "
          f"(peak {restore_rss:.0f} MB)", flush=True)
    return {
        "backup_s": round(backup_s, 2),
        "backup_peak_rss_mb": round(backup_rss, 1),
        "restore_s": round(restore_s, 2),
        "restore_peak_rss_mb": round(restore_rss, 1),
        "backup_mb": round(backup.stat().st_size / 1e6, 1),
        "rows_written_during_backup": rows_during,
        "load_commits_per_s_during_backup": round(commits_during / backup_s, 1),
        "cli_startup_s": round(startup_s, 2),
        "cli_startup_rss_mb": round(startup_rss, 1),
        "kpm": restored["kpm"],
        "attendance_rows": restored["attendance"],
        "generate_s": generated.get("generate_s"),
    }


async def bench_postgresql(server_url: str, folder: Path, args: argparse.Namespace) -> Any:
    names = [f"bench_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for name in names:
        await digest_bench.admin_execute(server_url, f'CREATE DATABASE "{name}"')
    try:
        source, target = (make_url(server_url).set(database=name).render_as_string(
            hide_password=False) for name in names)
        return await bench_database("postgresql", source, target, folder, args)
    finally:
        for name in names:
            await digest_bench.admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" '
                                                         "WITH (FORCE)")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as folder:
        sqlite = Path(folder) / "sqlite"
        sqlite.mkdir()
        results["sqlite"] = await bench_database(
            "sqlite", f"sqlite+aiosqlite:///{sqlite / 'bench.db'}",
            f"sqlite+aiosqlite:///{sqlite / 'restored.db'}", sqlite, args)
    server = args.database_url or os.environ.get(PG_ENV)
    if not server:
        print(f"\n== postgresql: skipped (no --database-url and {PG_ENV} is not set)")
        results["postgresql"] = None
        return results
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as folder:
        results["postgresql"] = await bench_postgresql(server, Path(folder), args)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6,000 KPM instead of 60,000")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (postgresql+asyncpg)")
    parser.add_argument("--pause-ms", type=float, default=5.0,
                        help="the write load's pause between transactions")
    args = parser.parse_args(argv)
    args.shape = replace(digest_bench.data.QUICK if args.quick else digest_bench.data.FULL)
    results = event_loop.run(main_async(args))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
