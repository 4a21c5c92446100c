"""Benchmark: the coordinators' weekly digest (figures, chart and workbook) on a year of data.

    .venv/bin/python bench/digest.py                  # 200 pendamping, 60,000 KPM, SQLite
    .venv/bin/python bench/digest.py --quick          # 20 pendamping, 6,000 KPM
    .venv/bin/python bench/digest.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/digest.py --generate-only  # the data and its row counts only

The world (bench/digest_data.py, seeded): 10 kabupaten of Jawa Tengah, each with a
koordinator and 20 pendamping of 12 kelompok of 25 KPM; twelve monthly meetings per kelompok
ending this month (~720,000 attendance rows), komponen, graduations, cases, graduation
assessments and the commitment checks of those months (~1 million rows). It is written in
bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL) into a fresh database, created by
migration.

Measured with ``reporting.digest``: one coordinator's digest (the first run, cold; then the
median of ``--runs`` runs), all coordinators' digests (median of ``--all-runs``), and the SQL
statements one digest issues (transaction control not counted). Targets: one digest under
300 ms, all under 5 s. SQLite runs on a temporary file unless ``--database-url`` names one
(kept; an existing bench world in it is reused). A PostgreSQL ``--database-url`` names a
server: a database of its own is created there and dropped at the end. The last line is JSON:
``{"one_digest_ms": ..., "all_digests_ms": ..., "statements_per_digest": ..., "database": ...,
"attendance_rows": ..., "kpm": ..., "generate_s": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import importlib.util
import io
import json
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/telegram.py is named like the `telegram` package: keep this folder off the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_digest_data", BENCH / "digest_data.py")
assert _spec is not None and _spec.loader is not None
data = importlib.util.module_from_spec(_spec)
sys.modules["bench_digest_data"] = data
_spec.loader.exec_module(data)

from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot import event_loop  # noqa: E402
from bot.config import load_settings  # noqa: E402
from models.db import create_engine, read_only_factory  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402
from models.enums import AttendanceMark, CaseStatus, KpmStatus, MeetingStatus, StaffRole  # noqa: E402
from models.rules.commitments import CommitmentRules  # noqa: E402
from models.rules.komponen import KomponenCatalog  # noqa: E402
from models.tables import Attendance, CaseNote, GraduationAssessment, Kpm, Meeting, Region, Staff  # noqa: E402

ZONE = ZoneInfo("Asia/Jakarta")
ONE_TARGET_MS, ALL_TARGET_MS = 300, 5000


def default_catalog() -> KomponenCatalog:
    """The komponen rules of the default settings."""
    komponen = load_settings(environ={}).settings.programme.komponen
    return KomponenCatalog.from_mapping({key: rule.model_dump() for key, rule in komponen.items()})


class StatementCounter:
    """Counts and times the statements sent to the database while active (BEGIN and the
    like aside); the time runs from sending to the rows fetched (both drivers fetch all)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.statements = engine, Counter[str]()
        self.ms: Counter[str] = Counter()
        self._started: dict[int, float] = {}

    @staticmethod
    def _key(statement: str) -> str | None:
        if statement.split(None, 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
            return None
        return " ".join(statement.split())[:100]

    def _before(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if (key := self._key(statement)) is not None:
            self.statements[key] += 1
            self._started[id(cursor)] = time.perf_counter()

    def _after(self, _conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started = self._started.pop(id(cursor), None)
        if started is not None and (key := self._key(statement)) is not None:
            self.ms[key] += (time.perf_counter() - started) * 1000

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(self.engine.sync_engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._before)
        event.remove(self.engine.sync_engine, "after_cursor_execute", self._after)

    @property
    def total(self) -> int:
        return sum(self.statements.values())

    @property
    def total_ms(self) -> float:
        return sum(self.ms.values())


async def prepare(engine: AsyncEngine, shape: Any, today: date, seed: int) -> dict[str, Any]:
    """Migrate, then generate and load the world unless it is there already."""
    await upgrade(engine)
    async with engine.connect() as connection:
        present = await connection.scalar(select(Region.id).where(Region.code == "33.80"))
    if present is not None:
        print("the database holds a bench world already: reused, not generated", flush=True)
        return {"generate_s": None}
    started = time.perf_counter()
    world = data.generate(shape, today, default_catalog(), seed)
    generated = time.perf_counter()
    await data.load(engine, world)
    loaded = time.perf_counter()
    checks = await data.add_commitment_checks(engine, CommitmentRules(), today, shape.months,
                                              seed)
    checked = time.perf_counter()
    print(f"generated in {generated - started:.1f} s, written in {loaded - generated:.1f} s, "
          f"{checks:,} commitment checks in {checked - loaded:.1f} s ({engine.dialect.name})",
          flush=True)
    await settle(engine, world)
    return {"generate_s": round(checked - started, 1)}


async def settle(engine: AsyncEngine, world: Any) -> None:
    """Leave the database and the process as a running one would be, not as a bulk load
    leaves them: the WAL written back into the SQLite file, the generated rows freed."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        def checkpoint(path: str) -> None:
            with contextlib.closing(sqlite3.connect(path)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()

        await asyncio.to_thread(checkpoint, engine.url.database)
    world.rows.clear()
    gc.collect()


async def counts(engine: AsyncEngine, today: date) -> dict[str, Any]:
    """What the database holds, counted in SQL."""
    found: dict[str, Any] = {}
    async with engine.connect() as connection:
        for table in (*data.TABLES, "commitment_check"):
            found[table] = await connection.scalar(text(f"SELECT count(*) FROM {table}"))
        for column, key in ((Meeting.status, "meeting"), (Attendance.mark, "attendance"),
                            (Kpm.status, "kpm"), (CaseNote.status, "case_note")):
            rows = await connection.execute(select(column, func.count()).group_by(column))
            found[f"{key}_by_status"] = {str(value): n for value, n in rows}
        found["graduated_this_year"] = await connection.scalar(select(func.count()).where(
            Kpm.graduated_on >= date(today.year, 1, 1)))
        found["overdue_cases"] = await connection.scalar(select(func.count()).where(
            CaseNote.status != CaseStatus.SELESAI, CaseNote.follow_up_date < today))
        found["assessed_above_threshold"] = await connection.scalar(select(func.count()).where(
            GraduationAssessment.score >= GraduationAssessment.threshold))
    hadir = found["attendance_by_status"].get(AttendanceMark.HADIR.value, 0)
    found["hadir_share"] = round(hadir / max(1, found["attendance"]), 3)
    found["meetings_planned"] = found["meeting_by_status"].get(MeetingStatus.PLANNED.value, 0)
    found["kpm_aktif"] = found["kpm_by_status"].get(KpmStatus.AKTIF.value, 0)
    return found


def print_counts(found: dict[str, Any]) -> None:
    print("rows: " + ", ".join(f"{table} {found[table]:,}"
                               for table in (*data.TABLES, "commitment_check")))
    for key in ("meeting", "attendance", "kpm", "case_note"):
        by = found[f"{key}_by_status"]
        print(f"  {key} by status: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by.items())))
    print(f"  hadir share {found['hadir_share']:.1%}; graduated this year "
          f"{found['graduated_this_year']:,}; overdue open cases {found['overdue_cases']:,}; "
          f"assessments at or above threshold {found['assessed_above_threshold']:,}")


class Phases:
    """Times the digest's parts by wrapping the functions ``reporting.digest`` calls."""

    NAMES = ("digest_figures", "attendance_chart", "digest_workbook")

    def __init__(self, module: Any, names: tuple[str, ...] = NAMES) -> None:
        self.module, self.ms, self.calls = module, Counter[str](), dict[str, list[float]]()
        self.saved = {name: getattr(module, name) for name in names if hasattr(module, name)}

    def _wrap(self, name: str, function: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = function(*args, **kwargs)
            if not asyncio.iscoroutine(result):
                self._add(name, started)
                return result

            async def finish() -> Any:
                value = await result
                self._add(name, started)
                return value

            return finish()

        return run

    def _add(self, name: str, started: float) -> None:
        ms = (time.perf_counter() - started) * 1000
        self.ms[name] += ms
        self.calls.setdefault(name, []).append(ms)

    def __enter__(self) -> Phases:
        for name, function in self.saved.items():
            setattr(self.module, name, self._wrap(name, function))
        return self

    def __exit__(self, *_: object) -> None:
        for name, function in self.saved.items():
            setattr(self.module, name, function)


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return (time.perf_counter() - started) * 1000, result


async def measure(engine: AsyncEngine, as_of: datetime, args: argparse.Namespace,
                  digest_module: Any) -> dict[str, Any]:
    from handlers.i18n import Translator

    translate = Translator("id")
    options = digest_module.DigestOptions()
    sessions = read_only_factory(engine)
    async with sessions() as session:
        coordinators = list((await session.scalars(
            select(Staff).where(Staff.role == StaffRole.KOORDINATOR).order_by(Staff.id))).all())
    coordinator = coordinators[0]

    async def one() -> Any:
        async with sessions() as session:
            return await digest_module.build_digest(session, coordinator, as_of=as_of,
                                                    options=options, translate=translate)

    async def every() -> Any:
        return await digest_module.build_all_digests(sessions, as_of=as_of, options=options,
                                                     translate=translate)

    cold_ms, digest = await timed(one)
    with StatementCounter(engine) as counter, Phases(digest_module) as phases:
        counted_ms = (await timed(one))[0]
    profile = cProfile.Profile() if args.profile else None
    runs = []
    for _ in range(args.runs):
        if profile:
            profile.enable()
        runs.append((await timed(one))[0])
        if profile:
            profile.disable()
    all_runs = []
    with StatementCounter(engine) as all_counter, Phases(digest_module, ("build_digest",)) as each:
        for number in range(args.all_runs):
            ms, digests = await timed(every)
            all_runs.append(ms)
            if number == 0:
                all_statements = all_counter.total
    each_ms = each.calls.get("build_digest", [])[: len(digests)]
    print(f"\none digest ({coordinator.name}): cold {cold_ms:.0f} ms, then median "
          f"{statistics.median(runs):.0f} ms of {args.runs} (min {min(runs):.0f}, max "
          f"{max(runs):.0f}); target < {ONE_TARGET_MS} ms")
    print(f"  {counter.total} SQL statements per digest, {counter.total_ms:.0f} ms in SQL of "
          f"{counted_ms:.0f} ms (a counted run); text {len(digest.text):,} chars, "
          f"PNG {len(digest.chart_png):,} bytes, XLSX {len(digest.workbook):,} bytes")
    print(f"  of which {', '.join(f'{name} {ms:.0f} ms' for name, ms in phases.ms.items())}")
    for statement, ms in counter.ms.most_common(args.show_sql):
        print(f"    {counter.statements[statement]:>3} x {ms:6.1f} ms  {statement}")
    print(f"all {len(digests)} digests: median {statistics.median(all_runs):.0f} ms of "
          f"{args.all_runs} ({', '.join(f'{ms:.0f}' for ms in all_runs)}); {all_statements} "
          f"statements, {all_statements / max(1, len(digests)):.1f} per coordinator; "
          f"target < {ALL_TARGET_MS} ms")
    print(f"  each coordinator's (first run): {', '.join(f'{ms:.0f}' for ms in each_ms)} ms")
    if args.text_lines:
        print("  -- digest text, first lines:")
        print("\n".join(f"  | {line}" for line in digest.text.splitlines()[: args.text_lines]))
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        print("\n".join(f"  {line}" for line in out.getvalue().splitlines()[3:] if line))
    return {
        "one_digest_ms": round(statistics.median(runs), 1),
        "one_digest_cold_ms": round(cold_ms, 1),
        "all_digests_ms": round(statistics.median(all_runs), 1),
        "statements_per_digest": counter.total,
        "sql_ms_per_digest": round(counter.total_ms, 1),
        **{f"{name}_ms": round(ms, 1) for name, ms in phases.ms.items()},
        "statements_all_digests": all_statements,
        "coordinators": len(digests),
        "text_chars": len(digest.text),
        "png_bytes": len(digest.chart_png),
        "xlsx_bytes": len(digest.workbook),
    }


async def bench_database(url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(url)
    today = args.as_of.astimezone(ZONE).date()
    try:
        result: dict[str, Any] = {"database": engine.dialect.name}
        result.update(await prepare(engine, args.shape, today, args.seed))
        found = await counts(engine, today)
        print_counts(found)
        result.update(kpm=found["kpm"], attendance_rows=found["attendance"],
                      commitment_checks=found["commitment_check"])
        if args.generate_only:
            return result
        try:
            from reporting import digest as digest_module
        except ImportError as error:
            print(f"reporting.digest is not there yet ({error}): nothing to measure")
            return result
        result.update(await measure(engine, args.as_of, args, digest_module))
        return result
    finally:
        await engine.dispose()


async def admin_execute(server_url: str, statement: str) -> None:
    engine = create_engine(server_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    url = args.database_url
    if url and make_url(url).get_backend_name() == "postgresql":
        name = f"bench_digest_{uuid.uuid4().hex[:10]}"
        await admin_execute(url, f'CREATE DATABASE "{name}"')
        try:
            own = make_url(url).set(database=name).render_as_string(hide_password=False)
            return await bench_database(own, args)
        finally:
            await admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if url:
        return await bench_database(url, args)
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as folder:
        return await bench_database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", args)


def parse_as_of(written: str) -> datetime:
    """A date (10.00 WIB that day) or an ISO datetime (UTC when no offset is given)."""
    if len(written) == 10:
        return datetime.combine(date.fromisoformat(written), datetime.min.time().replace(
            hour=10), tzinfo=ZONE).astimezone(UTC)
    moment = datetime.fromisoformat(written)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pendamping, 6,000 KPM")
    parser.add_argument("--database-url", help="a PostgreSQL server or a SQLite file")
    parser.add_argument("--generate-only", action="store_true", help="data and counts only")
    parser.add_argument("--as-of", type=parse_as_of, default=None,
                        help="the digest's moment: YYYY-MM-DD (10.00 WIB) or ISO; default now")
    parser.add_argument("--seed", type=int, default=data.SEED)
    parser.add_argument("--months", type=int, default=12, help="months of meetings")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of one digest")
    parser.add_argument("--all-runs", type=int, default=3, help="timed runs of all digests")
    parser.add_argument("--show-sql", type=int, default=0, metavar="N",
                        help="print the N most frequent statements of one digest")
    parser.add_argument("--text-lines", type=int, default=12, help="digest text lines shown")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed runs")
    args = parser.parse_args(argv)
    args.as_of = args.as_of or datetime.now(UTC).replace(second=0, microsecond=0)
    args.shape = replace(data.QUICK if args.quick else data.FULL, months=args.months)
    result = event_loop.run(main_async(args))
    print(json.dumps({key: result.get(key) for key in (
        "one_digest_ms", "all_digests_ms", "statements_per_digest", "database",
        "attendance_rows", "kpm", "generate_s")} | result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
