"""Benchmark: commitment checks (verifikasi komitmen) on a year of results, and the digest.

    .venv/bin/python bench/komitmen.py                 # 60,000 KPM, SQLite
    .venv/bin/python bench/komitmen.py --quick         # 6,000 KPM
    .venv/bin/python bench/komitmen.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The world of bench/digest.py (bench/digest_data.py: 10 kabupaten, 200 pendamping, 2,400
kelompok, 60,000 KPM with their komponen), with ``--months`` monthly verification periods
of commitment results ending with the current one (bench/digest_data.add_commitment_checks:
what ``models.commitments`` says is due, ~93 % verified, some members not meeting theirs
period after period). It runs on SQLite (a temporary file) and on PostgreSQL as well when
``--database-url`` or ``TEST_DATABASE_URL`` names a server (a database of its own is created
there and dropped at the end).

Measured, for the period of the reference day (medians of ``--runs``):
(a) what is due: one kelompok's /komitmen list (``due_items``), the pairs due in one
    coordinator's scope and in all (a count over ``due_pairs``), and the digest's
    commitment figures (``commitment_counts``) for one coordinator's scope, for each
    coordinator in turn (as the weekly digests do) and for every kelompok at once;
(b) the full digests with those figures: one coordinator's and all (targets of
    bench/digest.py: one under 300 ms, all under 5 s).
The last line is JSON: ``{"databases": {"sqlite": {...}, "postgresql": {...}}, "kpm": ...,
"commitment_checks": ...}``, names carrying their units.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_digest", BENCH / "digest.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_digest"] = bench
_spec.loader.exec_module(bench)
data = bench.data

from sqlalchemy import case, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot import event_loop  # noqa: E402
from models.commitments import commitment_counts, due_items, due_pairs  # noqa: E402
from models.db import create_engine, read_only_factory  # noqa: E402
from models.enums import CommitmentResult, StaffRole  # noqa: E402
from models.rules.commitments import CommitmentRules  # noqa: E402
from models.scope import kelompok_scope  # noqa: E402
from models.tables import CommitmentCheck, Kelompok, Kpm, Staff  # noqa: E402

COUNTS_TARGET_MS = 100  # one coordinator's commitment figures: a part of the 300 ms digest


async def median_ms(call: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, Any]:
    """The median time of ``runs`` calls after one warm-up call, and the last result."""
    result = await call()
    times = []
    for _ in range(runs):
        ms, result = await bench.timed(call)
        times.append(ms)
    return statistics.median(times), result


async def checks_by_period(engine: AsyncEngine) -> list[tuple[date, int, int]]:
    """(period start, checks, not met) per period, oldest first."""
    not_met = func.sum(case((CommitmentCheck.result == CommitmentResult.TIDAK_MEMENUHI, 1),
                            else_=0))
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(CommitmentCheck.period_start, func.count(), not_met)
            .group_by(CommitmentCheck.period_start)
            .order_by(CommitmentCheck.period_start)
        )
        return [(start, count, int(missed or 0)) for start, count, missed in rows]


async def measure(engine: AsyncEngine, as_of: datetime, args: argparse.Namespace,
                  today: date) -> dict[str, Any]:
    from handlers.i18n import Translator
    from reporting import digest as digest_module
    from reporting import figures as figures_module

    rules = CommitmentRules()
    period = rules.period_of(today)
    sessions = read_only_factory(engine)
    async with sessions() as session:
        coordinators = list((await session.scalars(
            select(Staff).where(Staff.role == StaffRole.KOORDINATOR).order_by(Staff.id))).all())
        coordinator = coordinators[0]
        kelompok_id = await session.scalar(
            select(func.min(Kelompok.id)).where(Kelompok.id.in_(kelompok_scope(coordinator))))
    runs = args.runs

    async def due_list() -> Any:
        async with sessions() as session:
            return await due_items(session, rules, period, kelompok_id=kelompok_id)

    def due_count(scope: Any) -> Callable[[], Awaitable[Any]]:
        where = [Kpm.kelompok_id.in_(scope)] if scope is not None else []

        async def run() -> Any:
            pairs = due_pairs(rules, period, where).subquery()
            async with sessions() as session:
                return await session.scalar(select(func.count()).select_from(pairs))

        return run

    def counts(scope: Any) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            async with sessions() as session:
                return await commitment_counts(session, rules, period, scope)

        return run

    async def counts_each() -> Any:
        found = {}
        for member in coordinators:
            found.update(await counts(kelompok_scope(member))())
        return found

    scope = kelompok_scope(coordinator)
    list_ms, items = await median_ms(due_list, runs)
    due_one_ms, due_one = await median_ms(due_count(scope), runs)
    due_all_ms, due_all = await median_ms(due_count(None), runs)
    with bench.StatementCounter(engine) as counter:
        cold_ms, one = await bench.timed(counts(scope))
    counts_one_ms, one = await median_ms(counts(scope), runs)
    counts_each_ms, each = await median_ms(counts_each, max(1, runs // 2))
    counts_all_ms, everything = await median_ms(counts(None), max(1, runs // 2))
    assert each == everything, "each coordinator's figures add up to the whole"

    def total(found: dict[int, Any], name: str) -> int:
        return sum(getattr(value, name) for value in found.values())

    print(f"\n(a) what is due in {period.label()} and the digest's commitment figures")
    print(f"  one kelompok's /komitmen list: {len(items)} items, {list_ms:.1f} ms")
    print(f"  pairs due, one coordinator ({coordinator.name}): {due_one:,} in {due_one_ms:.0f} ms;"
          f" all: {due_all:,} in {due_all_ms:.0f} ms")
    print(f"  commitment_counts, one coordinator: {counts_one_ms:.0f} ms (cold {cold_ms:.0f} ms,"
          f" {counter.total} statements): due {total(one, 'due'):,}, verified "
          f"{total(one, 'done'):,}, KPM not met {total(one, 'not_met'):,}; "
          f"target < {COUNTS_TARGET_MS} ms")
    for statement, ms in counter.ms.most_common():
        print(f"    {ms:6.1f} ms  {statement}")
    print(f"  commitment_counts, each of {len(coordinators)} coordinators in turn: "
          f"{counts_each_ms:.0f} ms; all kelompok at once: {counts_all_ms:.0f} ms (due "
          f"{total(everything, 'due'):,}, verified {total(everything, 'done'):,}, KPM not met "
          f"{total(everything, 'not_met'):,})")

    translate = Translator("id")
    options = digest_module.DigestOptions(commitments=rules)

    async def one_digest() -> Any:
        async with sessions() as session:
            return await digest_module.build_digest(session, coordinator, as_of=as_of,
                                                    options=options, translate=translate)

    async def all_digests() -> Any:
        return await digest_module.build_all_digests(sessions, as_of=as_of, options=options,
                                                     translate=translate)

    with bench.Phases(figures_module, ("commitment_counts",)) as phase:
        digest_ms, digest = await median_ms(one_digest, runs)
    in_digest = statistics.median(phase.calls["commitment_counts"])
    all_ms, digests = await median_ms(all_digests, max(1, args.all_runs - 1))
    line = next((x for x in digest.text.splitlines() if x.startswith("Verifikasi komitmen")), "")
    print(f"(b) one digest: {digest_ms:.0f} ms (target < {bench.ONE_TARGET_MS} ms), of which "
          f"commitment figures {in_digest:.0f} ms; all {len(digests)} digests: {all_ms:.0f} ms "
          f"(target < {bench.ALL_TARGET_MS} ms)")
    print(f"  | {line}")
    return {
        "due_list_one_kelompok_ms": round(list_ms, 1),
        "due_pairs_one_coordinator_ms": round(due_one_ms, 1),
        "due_pairs_all_ms": round(due_all_ms, 1),
        "commitment_counts_one_coordinator_ms": round(counts_one_ms, 1),
        "commitment_counts_one_coordinator_cold_ms": round(cold_ms, 1),
        "commitment_counts_each_coordinator_ms": round(counts_each_ms, 1),
        "commitment_counts_all_ms": round(counts_all_ms, 1),
        "commitment_counts_in_digest_ms": round(in_digest, 1),
        "statements_per_commitment_counts": counter.total,
        "one_digest_ms": round(digest_ms, 1),
        "all_digests_ms": round(all_ms, 1),
        "pairs_due_one_coordinator": due_one,
        "pairs_due_all": due_all,
        "pairs_verified_all": total(everything, "done"),
        "kpm_not_met_all": total(everything, "not_met"),
        "coordinators": len(digests),
    }


async def bench_database(url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(url)
    today = args.as_of.astimezone(bench.ZONE).date()
    try:
        result: dict[str, Any] = {"database": engine.dialect.name}
        result.update(await bench.prepare(engine, args.shape, today, args.seed))
        async with engine.connect() as connection:
            kpm = await connection.scalar(text("SELECT count(*) FROM kpm"))
            komponen = await connection.scalar(text("SELECT count(*) FROM komponen"))
        periods = await checks_by_period(engine)
        checks = sum(count for _, count, _ in periods)
        print(f"{engine.dialect.name}: {kpm:,} KPM, {komponen:,} komponen, {checks:,} commitment"
              f" checks in {len(periods)} periods")
        print("  " + ", ".join(f"{start:%Y-%m} {count:,} ({missed:,} not met)"
                               for start, count, missed in periods))
        result.update(kpm=kpm, komponen=komponen, commitment_checks=checks,
                      periods=len(periods))
        result.update(await measure(engine, args.as_of, args, today))
        return result
    finally:
        await engine.dispose()


async def on_server(server_url: str, args: argparse.Namespace) -> dict[str, Any]:
    name = f"bench_komitmen_{uuid.uuid4().hex[:10]}"
    await bench.admin_execute(server_url, f'CREATE DATABASE "{name}"')
    try:
        own = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        return await bench_database(own, args)
    finally:
        await bench.admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main_async(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-komitmen-") as folder:
        found["sqlite"] = await bench_database(
            f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", args)
    server = args.database_url or os.environ.get("TEST_DATABASE_URL")
    if server and make_url(server).get_backend_name() == "postgresql":
        found["postgresql"] = await on_server(server, args)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pendamping, 6,000 KPM")
    parser.add_argument("--database-url", help="a PostgreSQL server (also TEST_DATABASE_URL)")
    parser.add_argument("--as-of", type=bench.parse_as_of, default=None,
                        help="the reference moment: YYYY-MM-DD (10.00 WIB) or ISO; default now")
    parser.add_argument("--seed", type=int, default=data.SEED)
    parser.add_argument("--months", type=int, default=12, help="months of meetings and checks")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each measure")
    parser.add_argument("--all-runs", type=int, default=3, help="timed runs of all digests")
    args = parser.parse_args(argv)
    args.as_of = args.as_of or datetime.now(UTC).replace(second=0, microsecond=0)
    args.shape = replace(data.QUICK if args.quick else data.FULL, months=args.months)
    started = time.perf_counter()
    found = event_loop.run(main_async(args))
    first = next(iter(found.values()))
    print(json.dumps({
        "databases": found,
        "kpm": first.get("kpm"),
        "commitment_checks": first.get("commitment_checks"),
        "total_s": round(time.perf_counter() - started, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
