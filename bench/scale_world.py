"""The world of bench/scale.py: N KPM of one province, generated a slice at a time and
written in bulk (``COPY`` on PostgreSQL through asyncpg, ``executemany`` on SQLite).

Jawa Tengah (Asia/Jakarta) with ten fictional kabupaten (codes 33.80 on, which do not
exist), each with a koordinator, a supervisor per ten pendamping, kecamatan of 40 kelompok
and desa of 4; a pendamping per 12 kelompok (300 KPM), kelompok of 25 KPM. KPM as
bench/fanout.py makes them: WhatsApp (80 %), Telegram (10 %, a linked identity), SMS (5 %),
no phone (5 %), 8 % of WhatsApp KPM on the phone of the member before them, 2 % keluar, 2 %
opted out; the ketua is each kelompok's first member; 30 % of kelompok have a linked
Telegram group. One to three komponen per KPM, a case note (and its updates) for 5 %.

Time: ``NOW`` is bench/fanout.py's (Tuesday 1 December 2026, 10.00 WIB), and each kelompok's
rule puts its December meeting three to seven days ahead, as in bench/fanout.py: the day's
reminder sweep plans and reminds every kelompok at once (a busy day). Twelve monthly
meetings before it (December 2025 to November 2026) are held (2 % cancelled) with the
attendance of every member; the six months of June to November left their reminders in
the outbox (3 and 1 day before, delivered, read or failed, with provider ids).

Generation is deterministic (seeded) and streamed: ``SLICE`` kelompok at a time are
generated, written and dropped, so memory stays flat whatever N. On PostgreSQL the load
runs with foreign-key triggers off (``session_replication_role = replica``: the rows are
consistent by construction) and the tables' secondary indexes dropped and built again at
the end (one sort each instead of a million inserts); then ``ANALYZE``.
"""

from __future__ import annotations

import json
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.regions import find_province
from models.rules.calendar import nth_weekday
from models.rules.komponen import KomponenCatalog
from models.rules.p2k2 import default_sessions
from models.rules.text import name_key
from models.tables import Base

SEED = 20270101
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # bench/fanout.py's: Tuesday, 10.00 WIB
ZONE = ZoneInfo("Asia/Jakarta")
TODAY = NOW.astimezone(ZONE).date()
KABUPATEN = 10
KELOMPOK_PER_PENDAMPING = 12
PENDAMPING_PER_SUPERVISOR = 10
KELOMPOK_PER_KECAMATAN = 40
KELOMPOK_PER_DESA = 4
MEMBERS = 25
MONTHS = 12  # held meetings before this month's
OUTBOX_MONTHS = 6  # of those, the last ones whose reminders are in the outbox
SLICE = 2000  # kelompok generated and written at a time
STAFF_TELEGRAM = 10_000_000_000  # staff chat ids, apart from the KPM ones (their ids)
CATEGORIES = ("kks_bermasalah", "bansos_belum_cair", "pemutakhiran_data", "kesehatan_rujukan",
              "pendidikan", "perlindungan_anak", "lainnya")
KINDS = ("anak_usia_dini", "anak_sd", "anak_smp", "anak_sma", "anak_sd", "anak_smp",
         "ibu_hamil", "lansia", "disabilitas_berat")
AGES = {"anak_usia_dini": (0, 6), "anak_sd": (7, 12), "anak_smp": (13, 15), "anak_sma": (16, 20)}
P2K2 = [(s.modul, s.number) for s in default_sessions()]
COLUMNS = {
    "region": ("id", "level", "code", "name", "name_key", "parent_id", "timezone"),
    "staff": ("id", "role", "name", "name_key", "region_id", "supervisor_id", "active",
              "created_at"),
    "kelompok": ("id", "name", "name_key", "desa_id", "pendamping_id", "rule_weekday",
                 "rule_week_of_month", "rule_time", "place", "group_chat_address",
                 "created_at"),
    "kpm": ("id", "id_pkh", "nik", "nama_pengurus", "phone", "preferred_channel",
            "kelompok_id", "status", "consent_at", "opted_out_at", "created_at", "updated_at"),
    "channel_identity": ("id", "address", "channel", "staff_id", "kpm_id", "linked_at"),
    "komponen": ("id", "kpm_id", "type", "birth_date", "end_date"),
    "meeting": ("id", "kelompok_id", "meeting_date", "starts_at", "place", "modul", "sesi",
                "status", "plan_key", "attendance_recorded_at", "created_at", "updated_at"),
    "attendance": ("id", "meeting_id", "kpm_id", "mark", "recorded_by_id", "recorded_at"),
    "case_note": ("id", "kpm_id", "staff_id", "category", "description", "severity",
                  "status", "follow_up_date", "escalated_to_id", "escalated_at", "created_at",
                  "updated_at", "closed_at"),
    "case_update": ("id", "case_id", "staff_id", "status", "note", "created_at"),
    "outbox": ("id", "channel", "address", "kind", "dedupe_key", "payload", "priority",
               "status", "attempts", "next_attempt_at", "deadline_at", "provider_id",
               "created_at", "sent_at", "updated_at", "segments"),
}
TABLES = tuple(COLUMNS)
JSON_COLUMNS = {("outbox", "payload")}
REACH_CODES = {"whatsapp": 1, "sms": 2, "telegram": 3}
REACH_CHANNELS = {code: channel for channel, code in REACH_CODES.items()}


@dataclass(frozen=True)
class Shape:
    """How many of everything for ``kpm`` KPM."""

    kpm: int

    @property
    def kelompok(self) -> int:
        return max(1, self.kpm // MEMBERS)

    @property
    def pendamping(self) -> int:
        return -(-self.kelompok // KELOMPOK_PER_PENDAMPING)

    def kabupaten_of(self, kelompok: int) -> int:
        """The kabupaten (0-based) of the 0-based kelompok: ten even shares."""
        return kelompok * min(KABUPATEN, self.kelompok) // self.kelompok


def rule_for(n: int) -> tuple[int, int]:
    """Kelompok n's (weekday, week of month): its December meeting is 3-7 days ahead."""
    day = TODAY + timedelta(days=3 + n % 5)
    week = (day.day - 1) // 7 + 1
    return day.weekday(), week if week <= 4 else -1


def _local(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=ZONE).astimezone(UTC)


@dataclass
class Rows:
    by_table: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table in TABLES})

    def clear(self) -> None:
        for rows in self.by_table.values():
            rows.clear()


@dataclass
class Ids:
    next: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))

    def __call__(self, table: str) -> int:
        self.next[table] += 1
        return self.next[table]


class Generator:
    """Rows for the world, region and staff first, then ``SLICE`` kelompok at a time."""

    def __init__(self, shape: Shape, catalog: KomponenCatalog, seed: int = SEED) -> None:
        self.shape, self.catalog = shape, catalog
        self.rng = random.Random(seed)
        self.ids = Ids()
        self.rows = Rows()
        self.long_ago = _local(TODAY - timedelta(days=700), time(8))
        self.desa: list[int] = []
        self.pendamping: list[int] = []
        # per kabupaten: its first kelompok, desa and pendamping (indexes of those lists)
        self.firsts: list[tuple[int, int, int]] = []
        self.coordinator: list[int] = []  # by kabupaten
        self.kabupaten_codes: list[str] = []
        self.months = [(y, m) for y, m in (divmod(TODAY.year * 12 + TODAY.month - 1 - back, 12)
                                           for back in range(MONTHS, 0, -1))]
        self.outbox_from = len(self.months) - OUTBOX_MONTHS
        self.reach = bytearray(shape.kpm + 1)  # by KPM id: REACH_CODES of those reached
        self.phone = array("q", bytes(8 * (shape.kpm + 1)))  # their phone's last digits
        self.held = bytearray(shape.kelompok * MONTHS + 1)  # by meeting id

    def add(self, table: str, *values: Any) -> int:
        row_id = self.ids(table)
        self.rows.by_table[table].append((row_id, *values))
        return row_id

    def frame(self) -> dict[str, list[tuple[Any, ...]]]:
        """Regions and staff (whole: a few thousand rows at a million KPM)."""
        shape, rng = self.shape, self.rng
        province = find_province("Jawa Tengah")
        prov = self.add("region", "provinsi", province.code, province.name,
                        name_key(province.name), None, province.timezone)
        kelompok_of = [0] * KABUPATEN
        for n in range(shape.kelompok):
            kelompok_of[shape.kabupaten_of(n)] += 1
        for k, count in enumerate(kelompok_of):
            if not count:
                continue
            code = f"{province.code}.{80 + k}"
            label = f"Skala {k + 1:02d}"
            kab = self.add("region", "kabupaten", code, label, name_key(label), prov, None)
            self.firsts.append((sum(kelompok_of[:k]), len(self.desa), len(self.pendamping)))
            self.kabupaten_codes.append(code)
            self.coordinator.append(self.staff("koordinator", f"Koordinator Skala {k + 1:02d}",
                                               kab, None))
            # at most 99 kecamatan (two digits of the code): bigger ones in a big kabupaten
            per_kecamatan = max(KELOMPOK_PER_KECAMATAN, -(-count // 99))
            per_kecamatan += -per_kecamatan % KELOMPOK_PER_DESA
            kecamatan = -(-count // per_kecamatan)
            pendamping = -(-count // KELOMPOK_PER_PENDAMPING)
            bosses = [self.staff("supervisor", f"Supervisor Skala {k + 1:02d}-{b + 1}", kab,
                                 None) for b in range(-(-pendamping // PENDAMPING_PER_SUPERVISOR))]
            kec_ids = []
            for c in range(kecamatan):
                name = f"Skala {k + 1}-{c + 1}"
                kec_ids.append(self.add("region", "kecamatan", f"{code}.{c + 1:02d}", name,
                                        name_key(name), kab, None))
                for d in range(per_kecamatan // KELOMPOK_PER_DESA):
                    desa = f"Skala {k + 1}-{c + 1}-{d + 1}"
                    self.desa.append(self.add("region", "desa", f"{code}.{c + 1:02d}.{2001 + d}",
                                              desa, name_key(desa), kec_ids[-1], None))
            for p in range(pendamping):
                name = f"Pendamping Skala {k + 1}.{p + 1} {rng.randrange(10**6):06d}"
                kec = kec_ids[min(len(kec_ids) - 1,
                                  p * KELOMPOK_PER_PENDAMPING // per_kecamatan)]
                self.pendamping.append(self.staff("pendamping", name, kec,
                                                  bosses[p // PENDAMPING_PER_SUPERVISOR]))
        for staff_id, *_ in self.rows.by_table["staff"]:
            self.add("channel_identity", f"telegram:{STAFF_TELEGRAM + staff_id}", "telegram",
                     staff_id, None, self.long_ago)
        return self.rows.by_table

    def staff(self, role: str, name: str, region: int, boss: int | None) -> int:
        return self.add("staff", role, name, name_key(name), region, boss, True, self.long_ago)

    def slices(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        """The kelompok and all under them, ``SLICE`` kelompok at a time (the same lists,
        emptied before each slice)."""
        self.rows.clear()
        # Kelompok are numbered per kabupaten in order: desa and pendamping lists follow it.
        for start in range(0, self.shape.kelompok, SLICE):
            self.rows.clear()
            for n in range(start, min(start + SLICE, self.shape.kelompok)):
                self.kelompok(n)
            yield self.rows.by_table

    def kelompok(self, n: int) -> None:
        rng = self.rng
        weekday, week = rule_for(n)
        clock = time(9) if n % 2 else time(13, 30)
        kabupaten = self.shape.kabupaten_of(n)
        first, desa, pendamping_at = self.firsts[kabupaten]
        desa += (n - first) // KELOMPOK_PER_DESA
        place = f"Balai Desa {desa}"
        pendamping = self.pendamping[pendamping_at + (n - first) // KELOMPOK_PER_PENDAMPING]
        chat = f"telegram:-100{n:010d}" if rng.random() < 0.3 else None
        name = f"Kelompok Skala {n + 1}"
        kelompok = self.add("kelompok", name, name_key(name), self.desa[desa], pendamping,
                            weekday, week, clock, place, chat, self.long_ago)
        members = [self.kpm(kelompok, before) for before in range(MEMBERS)]
        coordinator = self.coordinator[kabupaten]
        for index, (y, m) in enumerate(self.months):
            self.meeting(kelompok, members, pendamping, nth_weekday(y, m + 1, weekday, week),
                         clock, place, index)
        for kpm_id, *_ in members:
            if rng.random() < 0.05:
                self.case(kpm_id, pendamping, coordinator)

    def kpm(self, kelompok: int, position: int) -> tuple[int, str | None, str, float]:
        rng = self.rng
        serial = self.ids.next["kpm"] + 1
        roll = rng.random()
        channel = ("whatsapp" if roll < 0.8 else "telegram" if roll < 0.9
                   else "sms" if roll < 0.95 else "none")
        phone = None if channel == "none" else f"+62812{serial:08d}"
        last = self.rows.by_table["kpm"][-1] if position else None
        if channel == "whatsapp" and last and last[5] == "whatsapp" and rng.random() < 0.08:
            phone = last[4]  # a neighbour's phone: one reminder names both
        status = "keluar" if rng.random() < 0.02 else "aktif"
        opted_out = NOW - timedelta(days=40) if rng.random() < 0.02 else None
        nik = f"33{80 + serial % 10:02d}{rng.randrange(10**8):08d}{serial % 10000:04d}"
        kpm_id = self.add("kpm", f"PKH-SKALA-{serial:08d}", nik, f"Pengurus Skala {serial}",
                          phone, channel, kelompok, status,
                          self.long_ago if phone else None, opted_out, self.long_ago,
                          self.long_ago)
        if channel == "telegram":
            self.add("channel_identity", f"telegram:{kpm_id}", "telegram", None, kpm_id,
                     self.long_ago)
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            self.komponen(kpm_id)
        if status == "aktif" and not opted_out and channel != "none":
            self.reach[kpm_id] = REACH_CODES[channel]
            self.phone[kpm_id] = int(phone[6:]) if phone else 0
        return kpm_id, phone, channel, rng.choice((0.93, 0.93, 0.8, 0.55))

    def komponen(self, kpm_id: int) -> None:
        rng = self.rng
        kind = rng.choice(KINDS)
        birth: date | None = None
        if kind == "ibu_hamil":
            birth = TODAY + timedelta(days=rng.randint(30, 250))
        elif kind in AGES:
            low, high = AGES[kind]
            birth = TODAY - timedelta(days=rng.randint(low * 365, high * 365 + 364))
        self.add("komponen", kpm_id, kind, birth, self.catalog[kind].end_date(birth))

    def meeting(self, kelompok: int, members: list[tuple[int, str | None, str, float]],
                pendamping: int, day: date, clock: time, place: str, index: int) -> None:
        rng = self.rng
        starts = _local(day, clock)
        held = rng.random() >= 0.02
        recorded = starts + timedelta(hours=2) if held else None
        modul, sesi = P2K2[index % len(P2K2)]
        created = starts - timedelta(days=30)
        meeting = self.add("meeting", kelompok, day, starts, place, modul, sesi,
                           "held" if held else "cancelled", f"{day.year:04d}-{day.month:02d}",
                           recorded, created, recorded or created)
        if not held:
            return
        random_ = rng.random
        attendance = self.rows.by_table["attendance"]
        ids = self.ids.next
        for kpm_id, _, _, presence in members:
            roll = random_()
            mark = ("hadir" if roll < presence else "izin" if roll < presence + 0.03
                    else "sakit" if roll < presence + 0.06 else "alpa")
            ids["attendance"] += 1
            attendance.append((ids["attendance"], meeting, kpm_id, mark, pendamping, recorded))
        self.held[meeting] = 1

    def outbox(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        """The reminders the last ``OUTBOX_MONTHS`` months' held meetings left, 3 and 1
        day before at 16.00, to every member they reached, long settled: in the order
        they were made (outbox ids grow with time, as a real outbox's do), ``SLICE * 50``
        rows at a time."""
        random_ = random.Random(SEED + 1).random
        for index in range(self.outbox_from, len(self.months)):
            year, month = self.months[index]
            due = []
            for n in range(self.shape.kelompok):
                meeting = n * len(self.months) + index + 1  # ids as kelompok() gave them
                if not self.held[meeting]:
                    continue
                weekday, week = rule_for(n)
                starts = _local(nth_weekday(year, month + 1, weekday, week),
                                time(9) if n % 2 else time(13, 30))
                for offset in (3, 1):
                    day = starts.astimezone(ZONE).date() - timedelta(days=offset)
                    due.append((_local(day, time(16)), n, offset, meeting, starts))
            due.sort()
            for start in range(0, len(due), SLICE * 2):
                self.rows.clear()
                for at, n, offset, meeting, starts in due[start:start + SLICE * 2]:
                    self.reminders(at, n, offset, meeting, starts, random_)
                yield self.rows.by_table

    def reminders(self, at: datetime, n: int, offset: int, meeting: int, starts: datetime,
                  random_: Any) -> None:
        outbox = self.rows.by_table["outbox"]
        ids = self.ids.next
        payload = json.dumps({"key": "reminder.kpm", "meeting_id": meeting, "rsvp": True,
                              "zone": "Asia/Jakarta", "values": {"hari": offset}})
        sent = at + timedelta(seconds=30)
        done = sent + timedelta(minutes=1)
        for kpm_id in range(n * MEMBERS + 1, n * MEMBERS + MEMBERS + 1):
            code = self.reach[kpm_id]
            if not code:
                continue
            channel = REACH_CHANNELS[code]
            address = (f"telegram:{kpm_id}" if code == 3
                       else f"{channel}:+62812{self.phone[kpm_id]:08d}")
            ids["outbox"] += 1
            roll = random_()
            status = "read" if roll < 0.6 else "delivered" if roll < 0.98 else "failed"
            outbox.append((
                ids["outbox"], channel, address, "meeting_reminder",
                f"reminder:{meeting}:h:{offset}:{kpm_id}", payload, 30, status, 1, at, starts,
                f"SM{ids['outbox']:032x}", at, sent, done, 1 if code == 2 else None))

    def case(self, kpm_id: int, pendamping: int, coordinator: int) -> None:
        rng = self.rng
        category = rng.choice(CATEGORIES)
        urgent = category == "perlindungan_anak" or rng.random() < 0.15
        opened = _local(TODAY - timedelta(days=rng.randint(1, 330)), time(9, 30))
        status = rng.choice(("baru", "tindak_lanjut", "selesai"))
        follow_up = max(opened.date(), TODAY + timedelta(days=rng.randint(-25, 30)))
        closed = (min(opened + timedelta(days=rng.randint(3, 60)), NOW - timedelta(hours=1))
                  if status == "selesai" else None)
        escalated = opened + timedelta(days=1) if urgent and rng.random() < 0.5 else None
        case = self.add("case_note", kpm_id, pendamping, category, f"Catatan {category}",
                        "mendesak" if urgent else "biasa", status,
                        None if closed else follow_up, coordinator if escalated else None,
                        escalated, opened, closed or opened, closed)
        if status != "baru":
            self.add("case_update", case, pendamping, "tindak_lanjut", "Sudah dikunjungi",
                     opened + timedelta(days=1))
        if closed:
            self.add("case_update", case, pendamping, "selesai", "Selesai", closed)


# --- writing ---------------------------------------------------------------------------------


def _sqlite_ready(table: str, rows: list[tuple[Any, ...]], dialect: Any) -> list[tuple[Any, ...]]:
    """Values as SQLAlchemy would bind them on SQLite (dates and times as text)."""
    columns = Base.metadata.tables[table].c
    converters = []
    for index, name in enumerate(COLUMNS[table]):
        if (table, name) in JSON_COLUMNS:
            continue  # written as JSON text already
        process = columns[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and not hasattr(columns[name].type, "enums"):
            converters.append((index, process))
    if not converters:
        return rows
    ready = []
    for row in rows:
        values = list(row)
        for index, process in converters:
            if values[index] is not None:
                values[index] = process(values[index])
        ready.append(tuple(values))
    return ready


class Writer:
    """Appends rows to the world's tables: ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgresql = engine.dialect.name == "postgresql"
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self._indexes: list[str] = []

    async def __aenter__(self) -> Writer:
        if self.postgresql:
            self._indexes = await _drop_secondary_indexes(self.engine)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.postgresql:
            async with self.engine.begin() as connection:
                await connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
                for statement in self._indexes:
                    await connection.execute(text(statement))

    async def write(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        if self.postgresql:
            async with self.engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                assert raw is not None
                async with raw.transaction():
                    await raw.execute("SET LOCAL session_replication_role = replica")
                    for table in TABLES:
                        if rows.get(table):
                            await raw.copy_records_to_table(
                                table, records=rows[table], columns=list(COLUMNS[table]))
        else:
            async with self.engine.begin() as connection:
                for table in TABLES:
                    if not rows.get(table):
                        continue
                    columns = COLUMNS[table]
                    statement = (f"INSERT INTO {table} ({', '.join(columns)}) "
                                 f"VALUES ({', '.join('?' for _ in columns)})")
                    await connection.exec_driver_sql(
                        statement, _sqlite_ready(table, rows[table], self.engine.dialect))
        for table, written in rows.items():
            self.counts[table] += len(written)


async def _drop_secondary_indexes(engine: AsyncEngine) -> list[str]:
    """Drop the indexes of the world's tables that back no constraint; returns the
    statements that build them again."""
    async with engine.begin() as connection:
        found = (await connection.execute(text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)"), {"tables": list(TABLES)})).all()
        for name, _ in found:
            await connection.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in found]


KETUA = ("UPDATE kelompok SET ketua_kpm_id = first.id FROM (SELECT kelompok_id, min(id) AS id "
         "FROM kpm GROUP BY kelompok_id) AS first WHERE first.kelompok_id = kelompok.id")
KETUA_SQLITE = ("UPDATE kelompok SET ketua_kpm_id = (SELECT min(id) FROM kpm "
                "WHERE kpm.kelompok_id = kelompok.id)")


async def finish(engine: AsyncEngine) -> None:
    """Ketua, sequences past the ids written, statistics."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(KETUA))
            for table in TABLES:
                await connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        else:
            await connection.execute(text(KETUA_SQLITE))
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    else:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))


async def build(engine: AsyncEngine, shape: Shape, catalog: KomponenCatalog) -> dict[str, int]:
    """Generate and write the world; returns the rows written per table."""
    generator = Generator(shape, catalog)
    async with Writer(engine) as writer:
        await writer.write(generator.frame())
        for rows in generator.slices():
            await writer.write(rows)
        for rows in generator.outbox():
            await writer.write(rows)
    await finish(engine)
    return writer.counts


def kabupaten_code(shape: Shape) -> str:
    """The Kemendagri code of the first kabupaten (the one exported)."""
    return f"{find_province('Jawa Tengah').code}.80"
