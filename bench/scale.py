"""Benchmark: national scale, measured. Every recurring job on a world of N KPM, N from
10,000 up, and the cost curve.

    .venv/bin/python bench/scale.py --quick                      # 10,000 KPM, 10 s dispatch
    .venv/bin/python bench/scale.py --kpm 10000,100000           # PostgreSQL
    .venv/bin/python bench/scale.py                              # 10k, 100k and 1M KPM
    .venv/bin/python bench/scale.py --sqlite --kpm 10000,100000  # the same on SQLite

The world (bench/scale_world.py) is generated and written with ``COPY`` into a database of
its own (``bench_scale_<pid>_<N>`` on the server of ``--database-url``, ``TEST_DATABASE_URL``
or postgresql+asyncpg://postgres@127.0.0.1:5432/test), created by the real migrations and
dropped at the end; on SQLite (``--sqlite``, or a sqlite ``--database-url``) into a fresh
file in a temporary folder with ``executemany``, up to 100,000 KPM. Then, in this order:

4. dispatch (first, while the outbox holds only settled history): 2 x 80/s x
   ``--dispatch-seconds`` messages (30 s) to two senders, sent by 1, 2 and 4 dispatcher
   processes (real OS processes, each wired as `pendamping scheduler` wires it by
   bot.jobs.build_dispatcher, without the sweeps) against the local fake of Twilio
   (tests/fakes/twilio_api.py). The two
   senders: one Twilio account's WhatsApp number and its SMS number, each paced at
   ``[twilio] messages_per_second`` = 80 by its own row of the shared pace (send_pace,
   bot.jobs.shared_pacers) -- the two distinct senders the code configures today (a
   Messaging Service's pool is paced by Twilio as one sender). Figures: the combined
   rate over the steady seconds as a share of 160/s, messages lost and sent twice (by
   body), the seconds and the most in any rolling second of any sender's sends, as the
   dispatchers began them (the shared pace's decisions) and as the fake received them
   (after the HTTP path), and the creates Twilio's limit of 80 in any rolling second per
   sender would refuse (429). SQLite runs one process only (one process serves a SQLite
   database).
1. the reminder sweep of a busy day, plan + enqueue (bench/fanout.py's
   ``plan_and_enqueue``): every kelompok meets in three to seven days, so every KPM gets
   both reminders; in a child process, whose peak RSS is the figure;
2. the weekly digests of every coordinator (bench/digest.py's ``measure``: the median of
   one run of all of them);
5. the housekeeping sweep (bot.jobs.housekeeping_sweep) on the day the oldest day of the
   outbox history passes six months;
6. `pendamping export attendance` of one kabupaten (a tenth of the KPM) for the twelve
   months, as a child process: seconds and its peak RSS;
3. one chat step p50/p99: bench/conversation.py (its own 50 pendamping, 500 steps/s
   offered) on this database;
7. the database's size after the load.

``--keep-world`` keeps each world built as a template database
(``bench_scale_world_<N>``), and ``--reuse-world`` copies it instead of building it again
(1M: a minute instead of eight; the migrations added since are run on the copy).

It prints a table, writes a log-log PNG of each job's seconds against N to
var/bench/scale.png, the ratio of each job's cost per KPM to its figure at 10,000, and
the last line is one JSON object: per database, per N, every figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# bench/telegram.py is named like the `telegram` package: keep this folder off the path.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_scale_jobs", BENCH / "scale_jobs.py")
assert _spec is not None and _spec.loader is not None
jobs = importlib.util.module_from_spec(_spec)
sys.modules["bench_scale_jobs"] = jobs
_spec.loader.exec_module(jobs)
world = jobs.load_bench("scale_world")

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import event_loop  # noqa: E402
from models.db import create_engine  # noqa: E402
from models.db.migrate import upgrade  # noqa: E402

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SIZES = (10_000, 100_000, 1_000_000)
SQLITE_MAX = 100_000
PROCESSES = (1, 2, 4)
PNG = ROOT / "var" / "bench" / "scale.png"
TIMED = ("world_build_s", "sweep_s", "digests_s", "housekeeping_s", "export_s")
TARGETS_1M = {"sweep_s": 60, "sweep_peak_rss_mb": 500, "digests_s": 60, "chat_p99_ms": 25}


def world_name(kpm: int) -> str:
    """The database a world of ``kpm`` KPM is kept in by ``--keep-world``."""
    return f"bench_scale_world_{kpm}"


@asynccontextmanager
async def database(server: str | None, kpm: int, folder: Path, *, from_world: bool = False
                   ) -> AsyncIterator[str]:
    """A database of the run's own: created on the PostgreSQL server (a copy of the kept
    world, with ``from_world``) and dropped after, or a SQLite file in ``folder``."""
    if server is None:
        path = folder / f"scale-{kpm}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            for leftover in folder.glob(f"scale-{kpm}.db*"):  # noqa: ASYNC240
                leftover.unlink()
        return
    name = f"bench_scale_{os.getpid()}_{kpm}"
    template = f' TEMPLATE "{world_name(kpm)}"' if from_world else ""
    await _admin(server, f'CREATE DATABASE "{name}"{template}')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server: str, statement: str) -> None:
    engine = create_engine(server)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _exists(server: str, name: str) -> bool:
    engine = create_engine(server)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name})
    finally:
        await engine.dispose()
    return bool(found)


def _say(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message} (load {os.getloadavg()[0]:.1f})",
          flush=True)


async def one_size(url: str, kpm: int, args: argparse.Namespace, folder: Path,
                   *, from_world: bool = False) -> dict[str, Any]:
    figures: dict[str, Any] = {"kpm": kpm}
    engine = create_engine(url)
    try:
        await upgrade(engine)  # a kept world gets the migrations added since
        shape = world.Shape(kpm)
        if from_world:
            figures["world_rows"] = await jobs.world_rows(engine)
            figures["db_size_mb"] = await jobs.database_mb(engine)
            _say(f"{kpm:,} KPM: the kept world {world_name(kpm)}, "
                 f"{figures['world_rows']:,} rows, {figures['db_size_mb']:,} MB")
        else:
            started = time.perf_counter()
            catalog = jobs.load_bench("digest").default_catalog()
            counts = await world.build(engine, shape, catalog)
            figures["world_build_s"] = round(time.perf_counter() - started, 1)
            figures["world_rows"] = sum(counts.values())
            figures["db_size_mb"] = await jobs.database_mb(engine)
            _say(f"{kpm:,} KPM: {figures['world_rows']:,} rows in {figures['world_build_s']} s, "
                 f"{figures['db_size_mb']:,} MB: "
                 + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
            if args.keep_world and args.server is not None:
                await engine.dispose()  # a template has no one connected
                await _admin(args.server, f'DROP DATABASE IF EXISTS "{world_name(kpm)}"')
                await _admin(args.server, f'CREATE DATABASE "{world_name(kpm)}" TEMPLATE '
                             f'"{make_url(url).database}"')
                _say(f"world kept as {world_name(kpm)} (--reuse-world copies it)")
        postgresql = engine.dialect.name == "postgresql"
        for processes in PROCESSES if postgresql else (1,):
            found = await jobs.dispatch(engine, url, processes, args.dispatch_seconds)
            _say(f"dispatch, {processes} process(es): {found}")
            for key in ("share_of_limit", "overall_share", "achieved_per_s", "lost",
                        "sent_twice", "windows_over_rate", "most_in_a_rolling_second",
                        "windows_over_rate_at_fake", "most_in_a_rolling_second_at_fake",
                        "refused_429", "elapsed_s"):
                figures[f"dispatch_p{processes}_{key}"] = found[key]
        figures["load_1m_before_sweep"] = round(os.getloadavg()[0], 1)
        found = jobs.sweep(url)
        _say(f"reminder sweep: {found}")
        figures.update(sweep_s=found["seconds"], sweep_peak_rss_mb=found["peak_rss_mb"],
                       sweep_cpu_s=found["cpu_s"],
                       sweep_reminders=found["reminders"],
                       sweep_meetings_planned=found["meetings_planned"])
        found = await jobs.digests(engine, world.NOW)
        _say(f"digests: {found}")
        figures.update(digests_s=found["seconds"], digest_coordinators=found["coordinators"])
        found = await jobs.housekeeping(engine, url, folder)
        _say(f"housekeeping: {found}")
        figures.update(housekeeping_s=found["seconds"],
                       housekeeping_payloads_cleared=found["outbox_payloads_cleared"])
        first = date(world.TODAY.year - 1, world.TODAY.month, 1)  # the twelve months held
        last = world.TODAY.replace(day=1) - timedelta(days=1)
        found = await jobs.export(engine, url, world.kabupaten_code(shape), first, last,
                                  folder)
        _say(f"export of one kabupaten: {found}")
        figures.update(export_s=found["seconds"], export_peak_rss_mb=found["peak_rss_mb"],
                       export_cpu_s=found["cpu_s"],
                       export_rows=found["rows"], export_xlsx_mb=found["xlsx_mb"])
    finally:
        await engine.dispose()
    figures["load_1m_before_chat"] = round(os.getloadavg()[0], 1)
    found = await chat(url, args)
    figures.update(chat_p50_ms=found["p50_ms"], chat_p99_ms=found["p99_ms"],
                   chat_steps_per_s=found["steps_per_s"],
                   chat_offered_steps_per_s=found["offered_steps_per_s"],
                   chat_engine_ms_per_step=found["engine_ms_per_step"],
                   chat_cpu_ms_per_step=found["cpu_ms_per_step"],
                   chat_statements_per_step=found["statements_per_step"])
    return figures


async def chat(url: str, args: argparse.Namespace) -> dict[str, Any]:
    conversation = jobs.load_bench("conversation")
    pendamping = 20 if args.quick else 50
    options = conversation.Options(
        pendamping=pendamping, kelompok_each=3, members=25, concurrency=pendamping,
        seconds=5.0 if args.quick else 20.0, engine_seconds=1.0 if args.quick else 3.0,
        rate=args.chat_rate, show_sql=False, profile=None)
    label = make_url(url).get_backend_name()
    return await conversation.bench_database(label, url, options,
                                             conversation.default_catalog())


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        for kpm in args.kpm:
            _say(f"== {args.label}: {kpm:,} KPM")
            reuse = args.reuse_world and args.server is not None and await _exists(
                args.server, world_name(kpm))
            async with database(args.server, kpm, Path(folder), from_world=reuse) as url:
                results[str(kpm)] = await one_size(url, kpm, args, Path(folder),
                                                   from_world=reuse)
    return results


# --- the report ------------------------------------------------------------------------------


def add_ratios(results: dict[str, Any]) -> None:
    """Each job's cost per KPM against its figure at the smallest size (10,000)."""
    sizes = sorted(results, key=int)
    base = results[sizes[0]]
    for size in sizes:
        figures = results[size]
        for key in TIMED:
            if figures.get(key) and base.get(key):
                figures[f"{key}_per_kpm_ratio"] = round(
                    (figures[key] / int(size)) / (base[key] / int(sizes[0])), 2)
        for key in ("export_peak_rss_mb", "chat_p99_ms", "sweep_peak_rss_mb"):
            if figures.get(key) and base.get(key):
                figures[f"{key}_ratio"] = round(figures[key] / base[key], 2)


ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("world_rows", "rows written", "{:,}".format),
    ("world_build_s", "world built (COPY), s", "{:.1f}".format),
    ("db_size_mb", "database size, MB", "{:,}".format),
    ("sweep_reminders", "reminders enqueued", "{:,}".format),
    ("sweep_s", "reminder sweep, s", "{:.1f}".format),
    ("sweep_peak_rss_mb", "reminder sweep peak RSS, MB", "{:,}".format),
    ("digest_coordinators", "coordinators", "{:,}".format),
    ("digests_s", "all digests, s", "{:.1f}".format),
    ("chat_p50_ms", "chat step p50, ms", "{:.1f}".format),
    ("chat_p99_ms", "chat step p99, ms", "{:.1f}".format),
    *((f"dispatch_p{n}_share_of_limit", f"dispatch, {n} process(es), share of 160/s",
       "{:.1%}".format) for n in PROCESSES),
    *((f"dispatch_p{n}_{what}", f"dispatch, {n} process(es), {what.replace('_', ' ')}",
       "{:,}".format) for n in PROCESSES for what in ("lost", "sent_twice",
                                                        "windows_over_rate")),
    ("housekeeping_s", "housekeeping sweep, s", "{:.1f}".format),
    ("export_rows", "export of one kabupaten, rows", "{:,}".format),
    ("export_s", "export, s", "{:.1f}".format),
    ("export_peak_rss_mb", "export peak RSS, MB", "{:,}".format),
    *((f"{key}_per_kpm_ratio", f"{key.removesuffix('_s')} cost per KPM vs 10k",
       "{:.2f}x".format) for key in TIMED),
    ("export_peak_rss_mb_ratio", "export memory vs 10k", "{:.2f}x".format),
)


def print_table(label: str, results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    sizes = sorted(results, key=int)
    table = Table(title=f"bench/scale.py on {label}")
    table.add_column("figure")
    for size in sizes:
        table.add_column(f"{int(size):,} KPM", justify="right")
    for key, name, shown in ROWS:
        values = [results[size].get(key) for size in sizes]
        if all(value is None for value in values):
            continue
        table.add_row(name, *("-" if value is None else shown(value) for value in values))
    Console(width=140).print(table)


def plot(label: str, results: dict[str, Any], path: Path) -> None:
    """Seconds of each job against N, both axes logarithmic, with a line of slope one
    (linear cost) through the sweep's first point for reference."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[dev]'): no PNG")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results, key=int)
    xs = [int(size) for size in sizes]
    figure, axes = plt.subplots(figsize=(8, 5.5), dpi=100)
    for key in TIMED:
        ys = [results[size].get(key) for size in sizes]
        points = [(x, y) for x, y in zip(xs, ys, strict=True) if y]
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", label=key.removesuffix("_s"))
    first = results[sizes[0]].get("sweep_s")
    if first and len(xs) > 1:
        axes.plot(xs, [first * x / xs[0] for x in xs], linestyle=":", color="grey",
                  label="linear (slope 1)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("KPM")
    axes.set_ylabel("seconds per run of the job")
    axes.set_title(f"pendamping: cost per job against N ({label})")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
    print(f"wrote {path.relative_to(ROOT)}")


def parse_sizes(values: list[str] | None) -> list[int]:
    sizes = [int(part.replace("_", "")) for value in values or [] for part in value.split(",")
             if part.strip()]
    return sorted(set(sizes)) or list(SIZES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kpm", action="append", help="sizes (repeatable or a comma list)")
    parser.add_argument("--database-url", help="a PostgreSQL server, or sqlite+aiosqlite:///")
    parser.add_argument("--sqlite", action="store_true", help="SQLite, up to 100,000 KPM")
    parser.add_argument("--quick", action="store_true", help="10,000 KPM, short dispatch and chat")
    parser.add_argument("--dispatch-seconds", type=float, help="work per dispatch run (30)")
    parser.add_argument("--keep-world", action="store_true",
                        help="PostgreSQL: keep each world built as bench_scale_world_<N>")
    parser.add_argument("--reuse-world", action="store_true",
                        help="PostgreSQL: copy a kept world instead of building it")
    parser.add_argument("--chat-rate", type=float, default=500.0,
                        help="chat steps/s offered (bench/conversation.py's 500)")
    args = parser.parse_args(argv)
    args.kpm = [10_000] if args.quick and not args.kpm else parse_sizes(args.kpm)
    args.dispatch_seconds = args.dispatch_seconds or (10.0 if args.quick else 30.0)
    url = args.database_url or os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER
    if args.sqlite or make_url(url).get_backend_name() == "sqlite":
        args.server, args.label = None, "sqlite"
        skipped = [kpm for kpm in args.kpm if kpm > SQLITE_MAX]
        if skipped:
            print(f"SQLite: sizes above {SQLITE_MAX:,} skipped: {skipped}")
        args.kpm = [kpm for kpm in args.kpm if kpm <= SQLITE_MAX]
    else:
        args.server, args.label = url, "postgresql"
    results = event_loop.run(main_async(args))
    add_ratios(results)
    print_table(args.label, results)
    name = PNG if args.label == "postgresql" else PNG.with_name(f"scale-{args.label}.png")
    plot(args.label, results, name)
    if "1000000" in results:
        big = results["1000000"]
        met = {key: big.get(key) is not None and big[key] < limit
               for key, limit in TARGETS_1M.items()}
        print(f"targets at 1,000,000 KPM: {met}")
    print(json.dumps({args.label: results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
