"""Benchmark: server time of the web console's pages for a coordinator of the digest world.

    .venv/bin/python bench/web.py                  # 60,000 KPM (bench/digest.py's world), SQLite
    .venv/bin/python bench/web.py --quick          # 6,000 KPM
    .venv/bin/python bench/web.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The world is bench/digest.py's (10 kabupaten, each a koordinator and 20 pendamping of 12
kelompok of 25 KPM, a year of meetings, attendance, cases and commitment checks), made the
same way. A coordinator signs in through a real one-time link (``models.web_access``), and
each page is asked ``--requests`` times (after one warm-up request) through the console's
whole ASGI app (routing, session check, queries, template, security headers) in this
process, as uvicorn would call it: the time from request to the last byte of the answer.
The first request of each page is timed apart (``first_ms``): the Ringkasan keeps a
viewer's figures for 30 s (its chart and a coordinator going back and forth share them),
so its first request is the one that reads the region; the later ones read it again only
when the 30 s have passed.
Pages: Ringkasan (``/dasbor``; and ``ringkasan_read_each_time``, with the figures read
anew for every request), Kasus (``/kasus``, open cases of the region, first page),
KPM (``/kpm?q=…``, a name search) and a KPM card (``/kpm/{id}``). Target: p95 < 300 ms.

SQLite runs on a temporary file; a PostgreSQL ``--database-url`` names a server, where a
database of its own is created and dropped at the end. The last line is JSON:
``{"database": ..., "kpm": ..., "pages": {"ringkasan": {"p50_ms": ..., "p95_ms": ...}, ...}}``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]
_spec = importlib.util.spec_from_file_location("bench_digest", BENCH / "digest.py")
assert _spec is not None and _spec.loader is not None
digest_bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_digest"] = digest_bench
_spec.loader.exec_module(digest_bench)

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import event_loop  # noqa: E402
from bot.bootstrap import build_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.dashboard import Console  # noqa: E402
from bot.dashboard.security import SESSION_COOKIE  # noqa: E402
from bot.web import create_web_app  # noqa: E402
from models.enums import KpmStatus, StaffRole  # noqa: E402
from models.rules.clock import FixedClock  # noqa: E402
from models.scope import kelompok_scope  # noqa: E402
from models.tables import Kpm, Staff  # noqa: E402
from models.web_access import create_login_link, redeem_login_link  # noqa: E402

TARGET_P95_MS = 300


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def bench_database(url: str, args: argparse.Namespace) -> dict[str, Any]:
    world_engine = digest_bench.create_engine(url)
    today = args.as_of.astimezone(digest_bench.ZONE).date()
    try:
        await digest_bench.prepare(world_engine, args.shape, today, args.seed)
    finally:
        await world_engine.dispose()
    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    settings = load_settings(
        environ={
            "PENDAMPING_DATABASE_URL": url,
            "PENDAMPING_WEB_SESSION_SECRET_FILE": str(folder / "secret"),
        }
    ).settings
    app = build_app(settings, clock=FixedClock(args.as_of))
    try:
        async with app.sessions.begin() as session:
            coordinator = await session.scalar(
                select(Staff).where(Staff.role == StaffRole.KOORDINATOR).order_by(Staff.id)
            )
            assert coordinator is not None
            token = await create_login_link(session, coordinator, now=args.as_of, actor="bench")
            opened = await redeem_login_link(session, token, now=args.as_of)
            scope = kelompok_scope(coordinator)
            kpm = (
                await session.execute(
                    select(Kpm.id, Kpm.nama_pengurus)
                    .where(Kpm.kelompok_id.in_(scope), Kpm.status == KpmStatus.AKTIF)
                    .order_by(Kpm.id)
                    .limit(1)
                )
            ).one()
            in_scope = await session.scalar(
                select(func.count()).select_from(Kpm).where(Kpm.kelompok_id.in_(scope))
            )
            total = await session.scalar(select(func.count()).select_from(Kpm))
        console = Console(app)
        web = create_web_app(console=console)
        unkept = create_web_app(console=Console(app, figures_fresh_seconds=0))
        cookie = console.cookies.signer.sign(opened.token).decode()  # type: ignore[union-attr]
        pages = {
            "ringkasan": "/dasbor",
            "kasus": "/kasus?status=open",
            "kpm_search": f"/kpm?q={kpm.nama_pengurus.split()[0]}",
            "kpm_card": f"/kpm/{kpm.id}",
        }
        figures: dict[str, Any] = {}
        for name, path, served in [
            *((name, path, web) for name, path in pages.items()),
            ("ringkasan_read_each_time", "/dasbor", unkept),
        ]:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=served), base_url="http://console",
                cookies={SESSION_COOKIE: cookie},
            ) as client:
                started = time.perf_counter()
                first = await client.get(path)
                first_ms = (time.perf_counter() - started) * 1000
                if first.status_code != 200:
                    print(f"{name}: {path} answered {first.status_code}: not measured", flush=True)
                    figures[name] = {"status": first.status_code}
                    continue
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    answer = await client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                figures[name] = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(percentile(times, 0.95), 1),
                    "first_ms": round(first_ms, 1),
                    "bytes": len(first.content),
                }
                print(
                    f"{name:<11} {path:<28} p50 {figures[name]['p50_ms']:7.1f} ms   "
                    f"p95 {figures[name]['p95_ms']:7.1f} ms   first {first_ms:7.1f} ms   "
                    f"({len(first.content):,} bytes)",
                    flush=True,
                )
        worst = max((f.get("p95_ms", 0) for f in figures.values()), default=0)
        return {
            "database": app.engine.dialect.name,
            "kpm": total,
            "kpm_in_scope": in_scope,
            "requests": args.requests,
            "pages": figures,
            "worst_p95_ms": worst,
            "target_p95_ms": TARGET_P95_MS,
            "met": worst < TARGET_P95_MS,
        }
    finally:
        await app.close()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    url = args.database_url
    if url and make_url(url).get_backend_name() == "postgresql":
        name = f"bench_web_{uuid.uuid4().hex[:10]}"
        await digest_bench.admin_execute(url, f'CREATE DATABASE "{name}"')
        try:
            own = make_url(url).set(database=name).render_as_string(hide_password=False)
            return await bench_database(own, args)
        finally:
            await digest_bench.admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if url:
        return await bench_database(url, args)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        return await bench_database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6,000 KPM")
    parser.add_argument("--database-url", help="a PostgreSQL server or a SQLite file")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=digest_bench.data.SEED)
    args = parser.parse_args(argv)
    args.as_of = datetime.now(UTC).replace(second=0, microsecond=0)
    args.shape = replace(digest_bench.data.QUICK if args.quick else digest_bench.data.FULL)
    result = event_loop.run(main_async(args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
