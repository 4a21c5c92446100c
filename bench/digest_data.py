"""The world of bench/digest.py, generated in memory and written in bulk.

One real province (Jawa Tengah, Asia/Jakarta) with fictional kabupaten (codes 33.80 on, which
do not exist), each with its kecamatan and desa, a koordinator and two supervisors, and its
pendamping; each pendamping runs kelompok of KPM. Twelve monthly meetings per kelompok end in
the month of ``today``: held with attendance (~85 % hadir), a few cancelled, this month's
partly still planned; some KPM end on two or three alpa in a row. Komponen (some ending within
90 days, some ended), ~2 % graduated this year, ~1 % keluar, case notes for ~5 % of KPM and
graduation assessments for ~3 %. The same seed and ``today`` always give the same rows.
:func:`add_commitment_checks` then records the commitment checks (verifikasi komitmen) of
the months of meetings, period by period, for what :mod:`models.commitments` says is due.

Rows are plain tuples with explicit ids; :func:`load` writes them with one ``executemany``
per table on SQLite and ``COPY`` on PostgreSQL (asyncpg).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Enum, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.commitments import due_pairs
from models.demo import names
from models.regions import find_province
from models.rules.calendar import nth_weekday
from models.rules.commitments import CommitmentRules
from models.rules.komponen import KomponenCatalog
from models.rules.p2k2 import default_sessions
from models.rules.text import name_key
from models.tables import Base, Kelompok

SEED = 20261215
CATEGORIES = ("kks_bermasalah", "bansos_belum_cair", "pemutakhiran_data", "kesehatan_rujukan",
              "pendidikan", "perlindungan_anak", "lainnya")
CATEGORY_WEIGHTS = (3, 4, 4, 3, 3, 1, 2)
DRAWN = ("penghasilan_umk", "usaha_berjalan", "kube_pena", "bansos_komplementer",
         "anak_sekolah", "bersedia")  # the indicators drawn for (as before: the same world)
INDICATORS = {"penghasilan_umk": 3, "usaha_berjalan": 2, "kube_pena": 1, "anak_sekolah": 1,
              "bersedia": 0}  # the default weights of bot.config; "bersedia" is the gate
PROGRAMMES = ("kis_pbi_jkn", "kip_pip", "sembako_bpnt", "kks_aktif")
PROGRAMME_STATUSES = (("punya", 6), ("butuh", 1), ("tidak_perlu", 2))
THRESHOLD, ATTENDANCE_WEIGHT = 7.0, 2.0
FLOWERS = ("Melati", "Mawar", "Anggrek", "Kenanga", "Dahlia", "Cempaka", "Teratai", "Seruni")
AGES = {"anak_usia_dini": (0, 7), "anak_sd": (7, 13), "anak_smp": (13, 16), "anak_sma": (16, 21)}
TIMES = (time(8, 30), time(9), time(9), time(10), time(13), time(14))
TABLES = ("region", "staff", "kelompok", "kpm", "komponen", "meeting", "attendance",
          "case_note", "case_update", "graduation_assessment", "kpm_programme")
COLUMNS = {
    "region": ("id", "level", "code", "name", "name_key", "parent_id", "timezone"),
    "staff": ("id", "role", "name", "name_key", "region_id", "supervisor_id", "active",
              "created_at"),
    "kelompok": ("id", "name", "name_key", "desa_id", "pendamping_id", "rule_weekday",
                 "rule_week_of_month", "rule_time", "place", "created_at"),
    "kpm": ("id", "id_pkh", "nik", "nama_pengurus", "phone", "preferred_channel", "kelompok_id",
            "status", "consent_at", "graduated_on", "created_at", "updated_at"),
    "komponen": ("id", "kpm_id", "type", "birth_date", "end_date"),
    "meeting": ("id", "kelompok_id", "meeting_date", "starts_at", "place", "modul", "sesi",
                "status", "plan_key", "attendance_recorded_at", "created_by_id", "created_at",
                "updated_at"),
    "attendance": ("id", "meeting_id", "kpm_id", "mark", "note", "recorded_by_id", "recorded_at"),
    "case_note": ("id", "kpm_id", "staff_id", "category", "description", "severity", "status",
                  "follow_up_date", "escalated_to_id", "escalated_at", "created_at",
                  "updated_at", "closed_at"),
    "case_update": ("id", "case_id", "staff_id", "status", "note", "created_at"),
    "graduation_assessment": ("id", "kpm_id", "staff_id", "indicators", "score", "threshold",
                              "gates_met", "assessed_at", "alerted_at"),
    "kpm_programme": ("kpm_id", "programme", "status", "updated_at", "updated_by_id"),
    "commitment_check": ("id", "komponen_id", "kpm_id", "commitment", "period_start", "result",
                         "reason", "evidence_ref", "recorded_by_id", "recorded_at"),
}


P2K2_SESSIONS = [(s.modul, s.number) for s in default_sessions()]
"""(modul, sesi) in the order groups work through them."""


@dataclass(frozen=True)
class Shape:
    kabupaten: int = 10
    kecamatan: int = 5  # per kabupaten
    desa: int = 6  # per kecamatan
    pendamping: int = 20  # per kabupaten
    kelompok: int = 12  # per pendamping
    kpm: int = 25  # per kelompok
    months: int = 12


FULL, QUICK = Shape(), Shape(kabupaten=2, pendamping=10)  # 200 / 20 pendamping


@dataclass
class World:
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def add(self, table: str, *values: Any) -> int:
        rows = self.rows[table]
        rows.append((len(rows) + 1, *values))
        return len(rows)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class _Generator:
    def __init__(self, shape: Shape, today: date, seed: int, catalog: KomponenCatalog) -> None:
        self.shape, self.today, self.catalog = shape, today, catalog
        self.rng = random.Random(seed)
        self.bansos_rng = random.Random(seed + 26)  # its own: the rest of the world stays
        self.w = World()
        self.zone = ZoneInfo(find_province("Jawa Tengah").timezone)
        self.long_ago = self.at(today - timedelta(days=700), time(8))

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)

    def run(self) -> World:
        province = find_province("Jawa Tengah")
        prov = self.w.add("region", "provinsi", province.code, province.name,
                          name_key(province.name), None, province.timezone)
        for k in range(self.shape.kabupaten):
            self.kabupaten(prov, f"{province.code}.{80 + k}", k)
        return self.w

    def kabupaten(self, prov: int, code: str, k: int) -> None:
        s, w, rng = self.shape, self.w, self.rng
        label = f"Bangku Uji {k + 1:02d}"
        kab = w.add("region", "kabupaten", code, label, name_key(label), prov, None)
        desa: list[tuple[int, int]] = []  # (desa id, kecamatan id)
        for c in range(s.kecamatan):
            kec_name = f"Uji {k + 1}-{c + 1}"
            kec = w.add("region", "kecamatan", f"{code}.{c + 1:02d}", kec_name,
                        name_key(kec_name), kab, None)
            for d in range(s.desa):
                name = f"Uji {k + 1}-{c + 1}-{d + 1}"
                desa.append((w.add("region", "desa", f"{code}.{c + 1:02d}.{2001 + d}", name,
                                   name_key(name), kec, None), kec))
        coordinator = self.staff("koordinator", f"Koordinator Bangku Uji {k + 1:02d}", kab, None)
        bosses = [self.staff("supervisor", f"Supervisor Uji {k + 1:02d}-{n + 1}", kab, None)
                  for n in range(2)]
        groups = s.pendamping * s.kelompok
        for p in range(s.pendamping):
            own = [desa[(p * s.kelompok + g) * len(desa) // groups] for g in range(s.kelompok)]
            first, second = rng.choice(names.FIRST_NAMES), rng.choice(names.SECOND_NAMES)
            name = f"{first} {second} {k + 1}.{p + 1}"
            pendamping = self.staff("pendamping", name, own[0][1], bosses[p * 2 // s.pendamping])
            for desa_id, _ in own:
                self.kelompok(desa_id, pendamping, coordinator)

    def staff(self, role: str, name: str, region: int, boss: int | None) -> int:
        return self.w.add("staff", role, name, name_key(name), region, boss, True, self.long_ago)

    def kelompok(self, desa_id: int, pendamping: int, coordinator: int) -> None:
        w, rng = self.w, self.rng
        number = len(w.rows["kelompok"]) + 1
        name = f"Kelompok {FLOWERS[number % len(FLOWERS)]} {number}"
        weekday, week, clock = rng.randrange(6), rng.choice((1, 2, 3, 4, -1)), rng.choice(TIMES)
        place = f"Balai Desa {desa_id}"
        kelompok = w.add("kelompok", name, name_key(name), desa_id, pendamping, weekday, week,
                         clock, place, self.long_ago)
        members = [self.kpm(kelompok) for _ in range(self.shape.kpm)]
        meetings = self.meetings(kelompok, weekday, week, clock, place, pendamping)
        held = [(m, day, recorded) for m, day, recorded in meetings if recorded is not None]
        for kpm_id, status, left, presence in members:
            attended = [(m, recorded) for m, day, recorded in held if left is None or day < left]
            marks = self.attendance(kpm_id, attended, presence, pendamping,
                                    streak=rng.random() < 0.03)
            if rng.random() < 0.05:
                self.case(kpm_id, pendamping, coordinator)
            if status == "aktif" and rng.random() < 0.03:
                self.assessment(kpm_id, pendamping, marks[-6:])
            self.programmes(kpm_id, pendamping)

    def kpm(self, kelompok: int) -> tuple[int, str, date | None, float]:
        rng, today = self.rng, self.today
        serial = len(self.w.rows["kpm"]) + 1
        roll = rng.random()
        status, left, graduated_on = "aktif", None, None
        if roll < 0.012:
            status = "graduasi_alamiah"
        elif roll < 0.02:
            status = "graduasi_mandiri"
        elif roll < 0.03:
            status, left = "keluar", today - timedelta(days=rng.randint(20, 300))
        if status.startswith("graduasi"):
            start = date(today.year, 1, 1)
            graduated_on = start + timedelta(days=rng.randint(0, (today - start).days))
            left = graduated_on
        channel = rng.choices(("whatsapp", "telegram", "none"), (85, 8, 7))[0]
        phone = None if channel == "none" else f"+62812{serial:08d}"
        consent = self.long_ago if phone and rng.random() < 0.9 else None
        nik = f"33{80 + serial % 10:02d}{rng.randrange(10**8):08d}{serial % 10000:04d}"
        updated = self.at(left, time(12)) if left else self.long_ago
        kpm_id = self.w.add(
            "kpm", f"PKH-BENCH-{serial:07d}", nik,
            f"{rng.choice(names.FIRST_NAMES)} {rng.choice(names.SECOND_NAMES)}", phone,
            channel, kelompok, status, consent, graduated_on, self.long_ago, updated)
        self.komponen(kpm_id, status, graduated_on)
        presence = rng.choices((0.93, 0.8, 0.55), (60, 30, 10))[0]
        return kpm_id, status, left, presence

    def komponen(self, kpm_id: int, status: str, graduated_on: date | None) -> None:
        rng, today = self.rng, self.today
        roll = rng.random()
        if status == "graduasi_alamiah" and graduated_on:  # everything ended before graduating
            ends = [graduated_on - timedelta(days=rng.randint(1, 30))]
        elif status == "aktif" and roll < 0.05:  # a candidate: the only komponen ends soon
            ends = [today + timedelta(days=rng.randint(1, 90))]
        elif roll < 0.08:  # one komponen ended this year, another still runs
            ends = [today - timedelta(days=rng.randint(1, 180)), None]
        else:
            ends = [None] * rng.choice((1, 1, 2, 2, 3))
        for end in ends:
            kind = rng.choice(tuple(AGES) if end is not None else
                              (*AGES, *AGES, "ibu_hamil", "disabilitas_berat", "lansia"))
            self.w.add("komponen", kpm_id, kind, *self.born(kind, end))

    def born(self, kind: str, end: date | None) -> tuple[date | None, date | None]:
        rng, today = self.rng, self.today
        if kind in ("disabilitas_berat", "lansia"):
            return None, None
        if kind == "ibu_hamil":  # the delivery date; ends 42 days after
            birth = today + timedelta(days=rng.randint(50, 250))
            return birth, self.catalog[kind].end_date(birth)
        low, high = AGES[kind]
        if end is None:  # ends more than 90 days from today
            end = today + timedelta(days=rng.randint(91, (high - low) * 365))
        birth = _years_before(end, high)
        return birth, self.catalog[kind].end_date(birth)

    def meetings(self, kelompok: int, weekday: int, week: int, clock: time, place: str,
                 pendamping: int) -> list[tuple[int, date, datetime | None]]:
        rng, today, found = self.rng, self.today, []
        first = rng.randrange(len(P2K2_SESSIONS))
        index = today.year * 12 + today.month - 1
        for n, month in enumerate(range(index - self.shape.months + 1, index + 1)):
            day = nth_weekday(month // 12, month % 12 + 1, weekday, week)
            starts = self.at(day, clock)
            if month == index:  # this month: held once recorded, planned until then
                status = "held" if day < today and rng.random() < 0.6 else "planned"
            else:
                status = "cancelled" if rng.random() < 0.02 else "held"
            recorded = starts + timedelta(hours=2) if status == "held" else None
            modul, sesi = P2K2_SESSIONS[(first + n) % len(P2K2_SESSIONS)]
            created = starts - timedelta(days=30)
            meeting = self.w.add(
                "meeting", kelompok, day, starts, place, modul, sesi, status,
                f"{day.year:04d}-{day.month:02d}", recorded, None, created, recorded or created)
            found.append((meeting, day, recorded))
        return found

    def attendance(self, kpm_id: int, held: list[tuple[int, datetime]], presence: float,
                   pendamping: int, *, streak: bool) -> list[str]:
        random_ = self.rng.random
        marks = []
        for _ in held:
            roll = random_()
            marks.append("hadir" if roll < presence else "izin" if roll < presence + 0.4 * (
                1 - presence) else "sakit" if roll < presence + 0.7 * (1 - presence) else "alpa")
        if streak and len(marks) >= 3:
            n = self.rng.choice((2, 2, 3))
            marks[-n:] = ["alpa"] * n
        elif marks[-2:] == ["alpa", "alpa"]:  # only the chosen ones end on a streak
            marks[-1] = "izin"
        rows, number = self.w.rows["attendance"], len(self.w.rows["attendance"])
        for (meeting, recorded), mark in zip(held, marks, strict=True):
            number += 1
            rows.append((number, meeting, kpm_id, mark, None, pendamping, recorded))
        return marks

    def case(self, kpm_id: int, pendamping: int, coordinator: int) -> None:
        rng, today = self.rng, self.today
        category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
        urgent = category == "perlindungan_anak" or rng.random() < 0.15
        opened_on = today - timedelta(days=rng.randint(1, 330))
        opened = self.at(opened_on, time(9, 30))
        status = rng.choices(("baru", "tindak_lanjut", "selesai"), (35, 35, 30))[0]
        follow_up = max(opened_on, today + timedelta(days=rng.randint(-25, 30)))  # ~40 % late
        closed = None
        if status == "selesai":
            closed = min(opened + timedelta(days=rng.randint(3, 60)),
                         self.at(today, time(0)) - timedelta(hours=1))
        escalated = opened + timedelta(days=1) if urgent and rng.random() < 0.5 else None
        followed = opened + timedelta(days=(self.at(today, time(0)) - opened).days // 2)
        updated = closed or (followed if status == "tindak_lanjut" else opened)
        case = self.w.add(
            "case_note", kpm_id, pendamping, category, f"Catatan {category} (bangku uji)",
            "mendesak" if urgent else "biasa", status, None if closed else follow_up,
            coordinator if escalated else None, escalated, opened, updated, closed)
        if status != "baru":
            self.w.add("case_update", case, pendamping, "tindak_lanjut", "Sudah dikunjungi",
                       min(followed, closed or followed))
        if closed:
            self.w.add("case_update", case, pendamping, "selesai", "Selesai", closed)

    def assessment(self, kpm_id: int, pendamping: int, marks: list[str]) -> None:
        """One assessment (a fifth of them with an older one too), scored as
        models.graduation does: indicator weights plus weight x attendance."""
        rng, today = self.rng, self.today
        present, recorded = marks.count("hadir"), len(marks)
        for older in ((True, False) if rng.random() < 0.2 else (False,)):
            drawn = {key: rng.random() < 0.55 for key in DRAWN}
            indicators: dict[str, Any] = {key: drawn[key] for key in INDICATORS}
            score = sum(INDICATORS[key] for key, yes in indicators.items() if yes)
            score = round(score + ATTENDANCE_WEIGHT * present / max(1, recorded), 2)
            indicators["_kehadiran"] = {"present": present, "recorded": recorded}
            days = rng.randint(120, 300) if older else rng.randint(1, 110)
            assessed = self.at(today - timedelta(days=days), time(11))
            ready = score >= THRESHOLD and indicators["bersedia"]
            alerted = assessed + timedelta(minutes=5) if ready else None
            self.w.add("graduation_assessment", kpm_id, pendamping, indicators, score,
                       THRESHOLD, indicators["bersedia"], assessed, alerted)

    def programmes(self, kpm_id: int, pendamping: int) -> None:
        """A third of the families with their complementary programmes recorded, about one
        programme in nine of those needed but lacking (the advocacy list)."""
        rng = self.bansos_rng
        if rng.random() >= 1 / 3:
            return
        updated = self.at(self.today - timedelta(days=rng.randint(1, 200)), time(10))
        statuses, weights = zip(*PROGRAMME_STATUSES, strict=True)
        for programme in PROGRAMMES:
            status = rng.choices(statuses, weights)[0]
            self.w.rows["kpm_programme"].append((kpm_id, programme, status, updated, pendamping))


def generate(shape: Shape, today: date, catalog: KomponenCatalog, seed: int = SEED) -> World:
    """The whole world as rows, deterministic for a seed and ``today`` (a local date)."""
    return _Generator(shape, today, seed, catalog).run()


def _converters(table: str, dialect: Any) -> list[tuple[int, Any]]:
    """(column index, memoised bind processor) for the columns that need converting."""
    found = []
    columns = Base.metadata.tables[table].c
    for index, name in enumerate(COLUMNS[table]):
        column_type = columns[name].type
        process = (None if isinstance(column_type, Enum)
                   else column_type.dialect_impl(dialect).bind_processor(dialect))
        if process is None:
            continue
        memo: dict[Any, Any] = {}

        def convert(value: Any, process: Any = process, memo: dict[Any, Any] = memo) -> Any:
            if value is None or isinstance(value, dict):
                return None if value is None else process(value)
            if value not in memo:
                memo[value] = process(value)
            return memo[value]

        found.append((index, convert))
    return found


def _ready(table: str, rows: list[tuple[Any, ...]], dialect: Any) -> list[tuple[Any, ...]]:
    converters = _converters(table, dialect)
    if not converters:
        return rows
    ready = []
    for row in rows:
        values = list(row)
        for index, convert in converters:
            values[index] = convert(values[index])
        ready.append(tuple(values))
    return ready


async def add_commitment_checks(engine: AsyncEngine, rules: CommitmentRules, today: date,
                                months: int, seed: int = SEED) -> int:
    """Record the verifications of the ``months`` periods ending with the one of ``today``,
    oldest first (a yearly commitment met is not due again): ~93 % of what is due verified
    in a past period, a share as large as the part of the period gone in the current one;
    ~3 % not met, ~50 % for the one member in twenty who keeps struggling (streaks), with a
    reason; recorded by the kelompok's pendamping. Returns the number of rows written."""
    rng = random.Random(seed + 16)
    zone = ZoneInfo(find_province("Jawa Tengah").timezone)
    reasons = [key for key, _ in rules.reasons]
    struggling: dict[int, bool] = {}
    async with engine.connect() as connection:
        pendamping = dict((await connection.execute(
            select(Kelompok.id, Kelompok.pendamping_id))).tuples().all())
    current = rules.period_of(today)
    periods = [current]
    while len(periods) * rules.period_months < months:
        periods.insert(0, rules.before(periods[0]))
    written = 0
    for period in periods:
        pairs = due_pairs(rules, period, []).subquery()
        async with engine.connect() as connection:  # in order: the same rows on every database
            due = (await connection.execute(select(pairs).order_by(
                pairs.c.komponen_id, pairs.c.position))).tuples().all()
        gone = (min(today, period.last_day) - period.start).days + 1
        share = 0.93 if period != current else 0.93 * gone / (period.end - period.start).days
        last = min(today, period.last_day) - period.start
        rows = []
        for komponen_id, kpm_id, kelompok_id, commitment, _ in due:
            if rng.random() >= share:
                continue
            if komponen_id not in struggling:
                struggling[komponen_id] = rng.random() < 0.05
            not_met = rng.random() < (0.5 if struggling[komponen_id] else 0.03)
            day = period.start + timedelta(days=rng.randint(0, last.days))
            recorded = datetime.combine(day, time(10), tzinfo=zone).astimezone(UTC)
            rows.append((komponen_id, kpm_id, commitment, period.start,
                         "tidak_memenuhi" if not_met else "memenuhi",
                         rng.choice(reasons) if not_met else None, None,
                         pendamping.get(kelompok_id), recorded))
        first_id = written + 1
        await write_rows(engine, "commitment_check",
                         [(first_id + n, *row) for n, row in enumerate(rows)])
        written += len(rows)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text(
                "SELECT setval(pg_get_serial_sequence('commitment_check', 'id'), "
                "(SELECT coalesce(max(id), 1) FROM commitment_check))"))
            await connection.execute(text("ANALYZE commitment_check"))
    return written


async def write_rows(engine: AsyncEngine, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Append rows (with their ids) to one table: ``COPY`` on PostgreSQL, ``executemany``
    on SQLite."""
    dialect = engine.dialect
    ready = _ready(table, rows, dialect)
    if dialect.name == "postgresql":
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            async with raw.transaction():
                await raw.copy_records_to_table(table, records=ready,
                                                columns=list(COLUMNS[table]))
        return
    columns = COLUMNS[table]
    statement = (f"INSERT INTO {table} ({', '.join(columns)}) "
                 f"VALUES ({', '.join('?' for _ in columns)})")
    async with engine.begin() as connection:
        for start in range(0, len(ready), 100_000):
            await connection.exec_driver_sql(statement, ready[start:start + 100_000])


KETUA = ("UPDATE kelompok SET ketua_kpm_id = first.id FROM (SELECT kelompok_id, min(id) AS id "
         "FROM kpm GROUP BY kelompok_id) AS first WHERE first.kelompok_id = kelompok.id")


async def load(engine: AsyncEngine, world: World) -> None:
    """Write every row: ``executemany`` on SQLite, ``COPY`` on PostgreSQL (then ANALYZE,
    as autovacuum would soon after a load of this size)."""
    dialect = engine.dialect
    if dialect.name == "postgresql":
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            async with raw.transaction():
                for table in TABLES:
                    records = _ready(table, world.rows[table], dialect)
                    await raw.copy_records_to_table(table, records=records,
                                                    columns=list(COLUMNS[table]))
        async with engine.begin() as connection:
            await connection.execute(text(KETUA))
            for table in (t for t in TABLES if "id" in COLUMNS[t]):
                await connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
            await connection.execute(text("ANALYZE"))
        return
    async with engine.begin() as connection:
        for table in TABLES:
            columns = COLUMNS[table]
            statement = (f"INSERT INTO {table} ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' for _ in columns)})")
            rows = _ready(table, world.rows[table], dialect)
            for start in range(0, len(rows), 100_000):
                await connection.exec_driver_sql(statement, rows[start:start + 100_000])
        await connection.execute(text(KETUA))
