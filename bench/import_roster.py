"""Benchmark: import a generated 100,000-row KPM roster into a fresh database.

    .venv/bin/python bench/import_roster.py            # 100,000 rows, SQLite
    .venv/bin/python bench/import_roster.py --quick    # 5,000 rows
    .venv/bin/python bench/import_roster.py --rows 20000 --database-url postgresql+asyncpg://...

The roster is deterministic (seeded): a few kabupaten of two provinces, ~300 pendamping,
~4,000 kelompok, phones written every way people write them, 0-3 komponen per row with
birth dates. The last line printed is one JSON object:
``{"rows": ..., "seconds": ..., "rows_per_s": ..., "peak_rss_mb": ...}``.
With ``--database-url`` use an empty database: it is migrated, not emptied.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bot import event_loop
from bot.config import load_settings
from models.db import create_engine, session_factory
from models.db.migrate import upgrade
from models.roster.importer import ImportReport, import_roster
from models.rules.komponen import KomponenCatalog

SEED = 20250101
KPM_PER_KELOMPOK = 25
KELOMPOK_PER_PENDAMPING = 13
DESA_PER_KECAMATAN = 10
KELOMPOK_PER_DESA = 8
KECAMATAN_PER_KABUPATEN = 9
KABUPATEN = [
    ("Jawa Tengah", "Kab. Banyumas"), ("Jawa Tengah", "Kabupaten Cilacap"),
    ("Jateng", "Purbalingga"), ("Jawa Tengah", "Kota Semarang"),
    ("Jawa Barat", "Kab. Garut"), ("Jabar", "Tasikmalaya"),
]
FIRST_NAMES = ["Siti", "Sri", "Nur", "Dewi", "Wati", "Ani", "Rina", "Yuli", "Tuti", "Eni",
               "Lestari", "Suparmi", "Kartini", "Aminah", "Fatimah", "Ratna", "Endang", "Sumini"]
LAST_NAMES = ["Aminah", "Rahayu", "Wahyuni", "Lestari", "Handayani", "Susanti", "Purwanti",
              "Sulastri", "Maryati", "Suryani", "Hidayah", "Ningsih", "Rohmah", "Fitriani"]
FLOWERS = ["Mawar", "Melati", "Anggrek", "Kenanga", "Dahlia", "Cempaka", "Kamboja"]
KOMPONEN_WRITTEN = ["SD", "anak sd", "SMP", "smp", "SMA", "balita", "Anak usia dini", "bumil",
                    "lansia", "disabilitas"]
HEADERS = ["No", "ID PKH", "Nama KPM", "NIK", "No HP", "Nama Kelompok", "Desa/Kelurahan",
           "Kecamatan", "Kabupaten/Kota", "Provinsi", "Nama Pendamping", "Komponen"]



def default_catalog() -> KomponenCatalog:
    """The komponen rules of the default settings."""
    komponen = load_settings(environ={}).settings.programme.komponen
    return KomponenCatalog.from_mapping({key: rule.model_dump() for key, rule in komponen.items()})


def _phone(rng: random.Random) -> str:
    digits = f"8{rng.choice('1235789')}{rng.randrange(10**8, 10**9)}"  # 8xx + 9 digits
    form = rng.randrange(10)
    if form < 3:
        return f"0{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if form < 5:
        return f"0{digits}"
    if form == 5:
        return f"+62 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if form == 6:
        return f"62{digits}"
    if form == 7:
        return digits  # a spreadsheet dropped the leading 0
    if form == 8:
        return f"(0{digits[:3]}) {digits[3:]}"
    return ""


def _komponen(rng: random.Random) -> str:
    items = []
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        written = rng.choice(KOMPONEN_WRITTEN)
        if written in ("lansia", "disabilitas") and any(written in item for item in items):
            continue
        born = date(2008, 1, 1) + timedelta(days=rng.randrange(0, 365 * 17))
        style = rng.randrange(4)
        if style == 0:
            items.append(f"{written}:{born.isoformat()}")
        elif style == 1:
            items.append(f"{written}={born:%d-%m-%Y}")
        elif style == 2:
            items.append(f"{written}:{born:%d/%m/%Y}")
        else:
            items.append(written)
    return "; ".join(items)


def generate(path: Path, rows: int, seed: int = SEED) -> None:
    """Write a deterministic roster of ``rows`` KPM to ``path``."""
    rng = random.Random(seed)
    kelompok_count = max(1, -(-rows // KPM_PER_KELOMPOK))
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        number = 0
        for kelompok in range(kelompok_count):
            desa = kelompok // KELOMPOK_PER_DESA
            kecamatan = desa // DESA_PER_KECAMATAN
            provinsi, kabupaten = KABUPATEN[(kecamatan // KECAMATAN_PER_KABUPATEN) % len(KABUPATEN)]
            pendamping = kelompok // KELOMPOK_PER_PENDAMPING
            for _ in range(min(KPM_PER_KELOMPOK, rows - number)):
                number += 1
                writer.writerow([
                    number,
                    f"P{3300000000 + number * 7:011d}",
                    f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    f"33{rng.randrange(10**13, 10**14)}",
                    _phone(rng),
                    f"Kelompok {FLOWERS[kelompok % len(FLOWERS)]} {kelompok + 1}",
                    f"Desa {desa + 1}",
                    f"Kecamatan {kecamatan + 1}",
                    kabupaten,
                    provinsi,
                    f"Pendamping {pendamping + 1}",
                    _komponen(rng),
                ])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_import(database_url: str, roster: Path) -> tuple[ImportReport, float]:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        started = time.perf_counter()
        report = await import_roster(session_factory(engine), roster, catalog=default_catalog())
        return report, time.perf_counter() - started
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows")
    parser.add_argument("--rows", type=int, default=None, help="rows to generate")
    parser.add_argument("--database-url", default=None, help="an empty database (default: "
                        "a fresh SQLite file in a temporary directory)")
    args = parser.parse_args(argv)
    rows = args.rows or (5_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as folder:
        roster = Path(folder) / "roster.csv"
        generate(roster, rows)
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        report, seconds = event_loop.run(run_import(database_url, roster))
    print(
        f"read {report.rows_read}, imported {report.imported}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {len(report.rejected)}"
    )
    print(json.dumps({
        "rows": report.rows_read,
        "seconds": round(seconds, 2),
        "rows_per_s": round(report.rows_read / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))
    return 0 if report.written and not report.rejected else 1


if __name__ == "__main__":
    sys.exit(main())
