"""Deterministic demo data: a fictional kabupaten to try every flow on straight away.

``seed_demo`` writes, in one transaction, a coordinator, a supervisor, three pendamping,
twelve kelompok with 300 KPM, their komponen, six months of held meetings with attendance,
the next planned meeting of each group (one of them today) and a few open cases. The same
seed and ``today`` always give the same rows; every date is relative to ``today``. NIK,
phone numbers and region codes are fictional (kabupaten code 33.99 does not exist).
"""

from __future__ import annotations

import random
from calendar import monthrange
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from models.audit import audit
from models.demo import names
from models.enums import (
    AttendanceMark,
    CaseSeverity,
    CaseStatus,
    Channel,
    KpmStatus,
    MeetingStatus,
    RegionLevel,
    StaffRole,
)
from models.regions import RegionIndex, find_province
from models.rules.komponen import KomponenCatalog
from models.rules.text import name_key
from models.tables import (
    Attendance,
    CaseNote,
    CaseUpdate,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Region,
    Staff,
)

DEMO_SEED = 20261122
HELD_MEETINGS = 6
GRADUATION_CANDIDATES = 6  # aktif KPM whose only komponen ends within 90 days
GRADUATED = {KpmStatus.GRADUASI_ALAMIAH: 4, KpmStatus.GRADUASI_MANDIRI: 2}
_BULK = {"render_nulls": True}  # None as NULL, so rows with and without values batch together
_ROLE_ORDER = (StaffRole.KOORDINATOR, StaffRole.SUPERVISOR, StaffRole.PENDAMPING)


class NoDemoData(LookupError):
    """The database holds no demo kabupaten."""


class DemoConflict(RuntimeError):
    """A demo staff name is already taken by a real staff member with the same role."""


@dataclass(frozen=True)
class DemoSummary:
    """What the demo kabupaten holds, counted in the database."""

    provinsi: str
    kabupaten: str
    kecamatan: int
    desa: int
    coordinators: int
    supervisors: int
    pendamping: int
    kelompok: int
    kpm: int
    kpm_aktif: int
    komponen: int
    meetings_held: int
    meetings_planned: int
    attendance: int
    attendance_hadir: int
    open_cases: int
    overdue_cases: int
    staff_names: list[str]  # koordinator, supervisor, then pendamping
    pendamping_names: list[str]
    meetings_today: list[str]  # kelompok names with a meeting on ``today``
    seeded: bool = False  # True when this call wrote the data


async def has_demo_data(session: AsyncSession) -> bool:
    found = await session.scalar(select(Region.id).where(Region.code == names.KABUPATEN_CODE))
    return found is not None


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession],
    *,
    catalog: KomponenCatalog,
    today: date,
    seed: int = DEMO_SEED,
) -> DemoSummary:
    """Seed the demo kabupaten unless it is there already; return what the database holds."""
    async with sessions() as session, session.begin():
        seeded = not await has_demo_data(session)
        if seeded:
            counts = await _Builder(session, catalog, today, seed).build()
            await audit(
                session, actor="cli", action="demo.seed", entity="demo", entity_id=None,
                detail=counts,
            )
        summary = await demo_summary(session, today=today)
    return replace(summary, seeded=seeded)


@dataclass
class _Member:
    row: dict[str, Any]
    komponen: list[tuple[str, date]]
    presence: float
    special: str = ""
    id: int = 0


@dataclass
class _Group:
    name: str
    desa_id: int
    desa_name: str
    pendamping_id: int
    nik_prefix: str
    weekday: int
    week: int  # 1-4, -1 = last
    at: time
    place: str
    first_session: int
    members: list[_Member] = field(default_factory=list)
    id: int = 0


def week_of_month(day: date) -> int:
    """The rule week a day falls in: 1-4, or -1 (last) for days 29-31."""
    week = (day.day - 1) // 7 + 1
    return week if week <= 4 else -1


def rule_date(year: int, month: int, weekday: int, week: int) -> date:
    """The day of a month a rule names: "2nd Tuesday" is ``(1, 2)``; week -1 is the last."""
    if week == -1:
        last = date(year, month, monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week - 1))


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _month_starts(today: date, before: int, after: int) -> list[date]:
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - before, index + after + 1)]


class _Builder:
    def __init__(
        self, session: AsyncSession, catalog: KomponenCatalog, today: date, seed: int
    ) -> None:
        self.session, self.catalog, self.today = session, catalog, today
        self.rng = random.Random(seed)
        self.zone = ZoneInfo("Asia/Jakarta")
        self.region_ids: dict[str, int] = {}
        self.pendamping_ids: list[int] = []
        self.kinds = [kind for kind in names.AGE_DAYS if kind in catalog.rules]
        if not self.kinds:
            raise ValueError("the komponen catalog has none of the demo's komponen types")

    def local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    async def _insert(
        self, table: Any, rows: list[dict[str, Any]], key: tuple[str, ...] = ()
    ) -> list[int]:
        """Insert rows and return their ids in the order given. With ``key`` (unique columns)
        the rows go in a few statements; without it, SQLite would need one per row to keep
        the order, so that is kept for a handful of rows."""
        if not key:
            statement = insert(table).returning(table.id, sort_by_parameter_order=True)
            return list((await self.session.scalars(statement, rows)).all())
        statement = insert(table).returning(table.id, *(getattr(table, k) for k in key))
        result = await self.session.execute(statement, rows, execution_options=_BULK)
        ids = {tuple(found[1:]): found[0] for found in result}
        return [ids[tuple(row[k] for k in key)] for row in rows]

    async def build(self) -> dict[str, int]:
        desa = await self._regions()
        staff = await self._staff()
        groups = self._plan_groups(desa)
        self._plan_members(groups)
        await self._write_groups(groups)
        komponen = await self._write_komponen(groups)
        meetings, attendance = await self._write_meetings(groups)
        cases = await self._write_cases(groups, staff[StaffRole.SUPERVISOR])
        return {"kelompok": len(groups), "kpm": sum(len(g.members) for g in groups),
                "komponen": komponen, "meetings": meetings, "attendance": attendance,
                "cases": cases}

    async def _regions(self) -> dict[str, tuple[int, str]]:
        """Province (real), kabupaten, kecamatan and desa (fictional); desa ids by code."""
        province = find_province(names.PROVINCE_NAME)
        province_id = await self.session.scalar(
            select(Region.id).where(Region.code == province.code)
        )
        if province_id is None:
            index = RegionIndex(self.session)
            province_id = await index.ensure(RegionLevel.PROVINSI, province.name, None)
        self.zone = ZoneInfo(province.timezone)

        async def add(level: RegionLevel, code: str, name: str, parent: int) -> int:
            row = {"level": level, "code": code, "name": name, "name_key": name_key(name),
                   "parent_id": parent, "timezone": None}
            return (await self._insert(Region, [row]))[0]

        kabupaten = await add(RegionLevel.KABUPATEN, names.KABUPATEN_CODE,
                              names.KABUPATEN_NAME, province_id)
        self.region_ids[names.KABUPATEN_CODE] = kabupaten
        desa: dict[str, tuple[int, str]] = {}
        for kec in names.KECAMATAN:
            kec_id = await add(RegionLevel.KECAMATAN, kec.code, kec.name, kabupaten)
            self.region_ids[kec.code] = kec_id
            for one in kec.desa:
                desa[one.code] = (await add(RegionLevel.DESA, one.code, one.name, kec_id),
                                  one.name)
        return desa

    async def _staff(self) -> dict[StaffRole, int]:
        wanted = [(StaffRole.KOORDINATOR, names.COORDINATOR), (StaffRole.SUPERVISOR,
                  names.SUPERVISOR)] + [(StaffRole.PENDAMPING, p.name) for p in names.PENDAMPING]
        taken = set((await self.session.execute(
            select(Staff.role, Staff.name_key).where(
                Staff.name_key.in_([name_key(name) for _, name in wanted]))
        )).tuples().all())
        clashes = [name for role, name in wanted if (role, name_key(name)) in taken]
        if clashes:
            raise DemoConflict(f"staff already exist with the demo's names: {clashes}")
        kabupaten = self.region_ids[names.KABUPATEN_CODE]

        def row(role: StaffRole, name: str, region: int, boss: int | None) -> dict[str, Any]:
            return {"role": role, "name": name, "name_key": name_key(name), "region_id": region,
                    "supervisor_id": boss, "active": True}

        coordinator, supervisor = await self._insert(Staff, [
            row(StaffRole.KOORDINATOR, names.COORDINATOR, kabupaten, None),
            row(StaffRole.SUPERVISOR, names.SUPERVISOR, kabupaten, None),
        ])
        self.pendamping_ids = await self._insert(Staff, [
            row(StaffRole.PENDAMPING, p.name, self.region_ids[p.kecamatan_code], supervisor)
            for p in names.PENDAMPING
        ])
        return {StaffRole.KOORDINATOR: coordinator, StaffRole.SUPERVISOR: supervisor}

    def _plan_groups(self, desa: dict[str, tuple[int, str]]) -> list[_Group]:
        rng, today = self.rng, self.today
        groups: list[_Group] = []
        labels = iter(names.KELOMPOK_NAMES)
        for pendamping, pendamping_id in zip(names.PENDAMPING, self.pendamping_ids, strict=True):
            used: list[tuple[int, int]] = []
            for number in range(names.KELOMPOK_PER_PENDAMPING):
                if not groups:  # the very first group meets today
                    slot = (today.weekday(), week_of_month(today))
                else:
                    slot = (rng.randrange(5), rng.randint(1, 4))
                    while slot in used or rule_date(today.year, today.month, *slot) == today:
                        slot = (rng.randrange(5), rng.randint(1, 4))
                used.append(slot)
                desa_id, desa_name = desa[pendamping.desa_codes[number // 2]]
                groups.append(_Group(
                    name=next(labels), desa_id=desa_id, desa_name=desa_name,
                    pendamping_id=pendamping_id,
                    nik_prefix=pendamping.kecamatan_code.replace(".", ""),
                    weekday=slot[0], week=slot[1],
                    at=time.fromisoformat(rng.choice(names.MEETING_TIMES)),
                    place=rng.choice(names.MEETING_PLACES),
                    first_session=rng.randrange(len(names.P2K2_SESSIONS)),
                ))
        return groups

    def _plan_members(self, groups: list[_Group]) -> None:
        rng = self.rng
        low, high = names.KPM_PER_KELOMPOK
        sizes = [rng.randint(low, high) for _ in groups]
        while (gap := names.KPM_TOTAL - sum(sizes)) != 0:
            i = rng.randrange(len(sizes))
            if (gap > 0 and sizes[i] < high) or (gap < 0 and sizes[i] > low):
                sizes[i] += 1 if gap > 0 else -1
        phones = rng.sample(range(1_000_000), names.KPM_TOTAL)
        taken = {names.COORDINATOR, names.SUPERVISOR, *(p.name for p in names.PENDAMPING)}
        singles = list(names.SINGLE_NAMES)
        rng.shuffle(singles)
        serial = 0
        for group, size in zip(groups, sizes, strict=True):
            shared = rng.choice(names.SHARED_FIRST_NAMES)
            if group is groups[0]:  # near twins in the group that meets today
                pair = list(names.NEAR_TWINS)
            else:
                pair = [self._name(taken, singles, first=shared) for _ in range(2)]
            taken.update(pair)
            full_names = pair + [self._name(taken, singles) for _ in range(size - 2)]
            rng.shuffle(full_names)
            for full_name in full_names:
                serial += 1
                group.members.append(self._member(group, full_name, serial, phones[serial - 1]))
        self._assign_specials(groups)

    def _name(self, taken: set[str], singles: list[str], first: str | None = None) -> str:
        rng = self.rng
        while True:
            roll = rng.random()
            if first is None and roll < 0.12 and singles:
                name = singles.pop()
            elif first is None and roll > 0.94:
                name = f"{rng.choice(names.NUR_FIRST_NAMES)} Nur {rng.choice(names.SECOND_NAMES)}"
            else:
                name = f"{first or rng.choice(names.FIRST_NAMES)} {rng.choice(names.SECOND_NAMES)}"
            if name not in taken:
                taken.add(name)
                return name

    def _member(self, group: _Group, full_name: str, serial: int, phone: int) -> _Member:
        rng, today = self.rng, self.today
        born = today - timedelta(days=rng.randint(24 * 365, 56 * 365))
        nik = f"{group.nik_prefix}{born.day + 40:02d}{born.month:02d}{born.year % 100:02d}"
        roll = rng.random()
        channel = Channel.WHATSAPP if roll < 0.8 else Channel.TELEGRAM if roll < 0.92 \
            else Channel.NONE
        has_phone = channel is not Channel.NONE
        consent = None
        if has_phone and rng.random() < 0.9:
            consent = self.local(today - timedelta(days=rng.randint(150, 220)), time(10))
        mix = rng.choices([m for m, _ in names.KOMPONEN_MIXES],
                          [w for _, w in names.KOMPONEN_MIXES])[0]
        row = {
            "id_pkh": f"{names.ID_PKH_PREFIX}{serial:06d}", "nik": f"{nik}{serial:04d}",
            "nama_pengurus": full_name,
            "phone": f"{names.PHONE_PREFIX}{phone:06d}" if has_phone else None,
            "preferred_channel": channel, "status": KpmStatus.AKTIF, "consent_at": consent,
            "graduated_on": None,
        }
        komponen = [(kind, self._birth(kind)) for kind in mix if kind in self.catalog.rules]
        presence = rng.choices((0.93, 0.8, 0.6), (70, 25, 5))[0]
        return _Member(row, komponen or [(self.kinds[0], self._birth(self.kinds[0]))], presence)

    def _birth(self, kind: str) -> date:
        if kind == "ibu_hamil":  # the expected delivery date
            return self.today + timedelta(days=self.rng.randint(*names.PREGNANCY_DUE_DAYS))
        return self.today - timedelta(days=self.rng.randint(*names.AGE_DAYS[kind]))

    def _ending(self, offset_days: int) -> list[tuple[str, date]]:
        """One komponen that ends ``offset_days`` from today (negative: already ended)."""
        for kind in ("anak_sma", "anak_smp", "anak_sd", "anak_usia_dini"):
            age = self.catalog.rules[kind].ends_at_age if kind in self.catalog.rules else None
            if age is not None:
                return [(kind, _shift_years(self.today + timedelta(days=offset_days), -age))]
        return []

    def _assign_specials(self, groups: list[_Group]) -> None:
        rng = self.rng
        for group in groups:
            ketua = next((m for m in group.members
                          if m.row["preferred_channel"] is Channel.WHATSAPP), group.members[0])
            ketua.special = "ketua"
        per_pendamping = [groups[i:i + names.KELOMPOK_PER_PENDAMPING]
                          for i in range(0, len(groups), names.KELOMPOK_PER_PENDAMPING)]
        for number, own in enumerate(per_pendamping):  # one absence streak each
            group = own[0] if number == 0 else rng.choice(own)
            rng.choice([m for m in group.members if not m.special]).special = "streak"
        pool = [m for g in groups for m in g.members if not m.special]
        chosen = rng.sample(pool, GRADUATION_CANDIDATES + sum(GRADUATED.values()))
        for member in chosen[:GRADUATION_CANDIDATES]:
            member.special = "candidate"
            member.komponen = self._ending(rng.randint(15, 85)) or member.komponen
        rest = iter(chosen[GRADUATION_CANDIDATES:])
        for status, count in GRADUATED.items():
            for member in (next(rest) for _ in range(count)):
                member.special, member.row["status"] = "graduated", status
                # mandiri some months ago; alamiah a few days after the last komponen ended
                days_ago = rng.randint(20, 200)
                if status is KpmStatus.GRADUASI_ALAMIAH:
                    member.komponen = self._ending(-rng.randint(10, 60)) or member.komponen
                    days_ago = rng.randint(3, 9)
                member.row["graduated_on"] = self.today - timedelta(days=days_ago)

    async def _write_groups(self, groups: list[_Group]) -> None:
        rows = [{"name": g.name, "name_key": name_key(g.name), "desa_id": g.desa_id,
                 "pendamping_id": g.pendamping_id, "rule_weekday": g.weekday,
                 "rule_week_of_month": g.week, "rule_time": g.at} for g in groups]
        group_ids = await self._insert(Kelompok, rows, ("desa_id", "name_key"))
        for group, group_id in zip(groups, group_ids, strict=True):
            group.id = group_id
        members = [m for g in groups for m in g.members]
        rows = [{**m.row, "kelompok_id": g.id} for g in groups for m in g.members]
        for member, kpm_id in zip(members, await self._insert(Kpm, rows, ("id_pkh",)), strict=True):
            member.id = kpm_id
        updates = []
        for group in groups:
            ketua = next(m for m in group.members if m.special == "ketua")
            group.place = group.place.format(desa=group.desa_name,
                                             ketua=ketua.row["nama_pengurus"].split()[0])
            updates.append({"id": group.id, "ketua_kpm_id": ketua.id, "place": group.place})
        await self.session.execute(update(Kelompok), updates)

    async def _write_komponen(self, groups: list[_Group]) -> int:
        rows = [{"kpm_id": m.id, "type": kind, "birth_date": born,
                 "end_date": self.catalog[kind].end_date(born)}
                for g in groups for m in g.members for kind, born in m.komponen]
        await self.session.execute(insert(Komponen), rows, execution_options=_BULK)
        return len(rows)

    def _marks(self, member: _Member, held: int) -> list[AttendanceMark]:
        rng, marks = self.rng, []
        for _ in range(held):
            if rng.random() < member.presence:
                marks.append(AttendanceMark.HADIR)
            else:
                marks.append(rng.choices(
                    (AttendanceMark.IZIN, AttendanceMark.SAKIT, AttendanceMark.ALPA), (4, 3, 3))[0])
        if member.special == "streak":
            marks[-2:] = [AttendanceMark.ALPA] * 2
        elif marks[-2:] == [AttendanceMark.ALPA] * 2:  # only the chosen ones have a streak
            marks[-1] = AttendanceMark.IZIN
        return marks

    async def _write_meetings(self, groups: list[_Group]) -> tuple[int, int]:
        meeting_rows: list[dict[str, Any]] = []
        held_rows: list[tuple[_Group, int, int]] = []  # (group, meeting number, row index)
        sessions = names.P2K2_SESSIONS
        for group in groups:
            days = [rule_date(m.year, m.month, group.weekday, group.week)
                    for m in _month_starts(self.today, HELD_MEETINGS + 2, 2)]
            held = [day for day in days if day < self.today][-HELD_MEETINGS:]
            planned = next(day for day in days if day >= self.today)
            for number, day in enumerate([*held, planned]):
                starts = self.local(day, group.at)
                is_held = number < len(held)
                modul, sesi = sessions[(group.first_session + number) % len(sessions)]
                if is_held:
                    held_rows.append((group, number, len(meeting_rows)))
                meeting_rows.append({
                    "kelompok_id": group.id, "meeting_date": day, "starts_at": starts,
                    "place": group.place, "modul": modul, "sesi": sesi,
                    "status": MeetingStatus.HELD if is_held else MeetingStatus.PLANNED,
                    "plan_key": f"{day.year:04d}-{day.month:02d}",
                    "attendance_recorded_at": starts + timedelta(hours=2) if is_held else None,
                })
        meeting_ids = await self._insert(Meeting, meeting_rows, ("kelompok_id", "plan_key"))
        marks = {m.id: self._marks(m, HELD_MEETINGS) for g in groups for m in g.members}
        rows = []
        for group, number, index in held_rows:
            recorded = meeting_rows[index]["attendance_recorded_at"]
            for member in group.members:
                mark = marks[member.id][number]
                rows.append({"meeting_id": meeting_ids[index], "kpm_id": member.id,
                             "mark": mark, "recorded_by_id": group.pendamping_id,
                             "note": self.rng.choice(names.MARK_NOTES.get(mark.value, (None,))),
                             "recorded_at": recorded})
        await self.session.execute(insert(Attendance), rows, execution_options=_BULK)
        return len(meeting_rows), len(rows)

    async def _write_cases(self, groups: list[_Group], supervisor: int) -> int:
        rng, today = self.rng, self.today
        pendamping_ids = self.pendamping_ids
        case_rows, update_rows = [], []
        for number, case in enumerate(names.CASES):
            own = [g for g in groups if g.pendamping_id == pendamping_ids[number % 3]]
            pool = [(g, m) for g in own for m in g.members
                    if m.row["status"] is KpmStatus.AKTIF and m.special != "ketua"]
            fitting = [(g, m) for g, m in pool if case.komponen in {k for k, _ in m.komponen}]
            group, member = rng.choice(fitting or pool)
            opened = self.local(today - timedelta(days=case.age_days), time(9, 30))
            urgent = case.mendesak or case.category == "perlindungan_anak"
            status = CaseStatus.TINDAK_LANJUT if case.in_follow_up else CaseStatus.BARU
            updated = opened + timedelta(days=case.age_days // 2) if case.in_follow_up else opened
            case_rows.append({
                "kpm_id": member.id, "staff_id": group.pendamping_id, "category": case.category,
                "description": case.description,
                "severity": CaseSeverity.MENDESAK if urgent else CaseSeverity.BIASA,
                "status": status, "follow_up_date": today + timedelta(days=case.follow_up_days),
                "escalated_to_id": supervisor if case.category == "perlindungan_anak" else None,
                "escalated_at": updated if case.category == "perlindungan_anak" else None,
                "created_at": opened, "updated_at": updated,
            })
            update_rows.append((group.pendamping_id, case.update_note, updated))
        case_ids = await self._insert(CaseNote, case_rows)
        updates = [{"case_id": case_id, "staff_id": staff_id, "status": CaseStatus.TINDAK_LANJUT,
                    "note": note, "created_at": at}
                   for case_id, (staff_id, note, at) in zip(case_ids, update_rows, strict=True)
                   if note is not None]
        if updates:
            await self.session.execute(insert(CaseUpdate), updates, execution_options=_BULK)
        return len(case_rows)


async def demo_summary(session: AsyncSession, *, today: date | None = None) -> DemoSummary:
    """Count what the demo kabupaten holds now; ``today`` adds meetings today and overdue
    cases. Raises :class:`NoDemoData` when there is no demo kabupaten."""
    kabupaten = (await session.execute(
        select(Region.id, Region.name, Region.parent_id).where(
            Region.code == names.KABUPATEN_CODE)
    )).first()
    if kabupaten is None:
        raise NoDemoData("no demo data: run `pendamping init --demo`")
    kab_id = kabupaten.id
    provinsi = await session.scalar(select(Region.name).where(Region.id == kabupaten.parent_id))

    def kecamatan_ids() -> Any:
        kec = aliased(Region)
        return select(kec.id).where(kec.parent_id == kab_id)

    def desa_ids() -> Any:
        desa = aliased(Region)
        return select(desa.id).where(desa.parent_id.in_(kecamatan_ids()))

    def kelompok_ids() -> Any:
        return select(Kelompok.id).where(Kelompok.desa_id.in_(desa_ids()))

    def kpm_ids() -> Any:
        return select(Kpm.id).where(Kpm.kelompok_id.in_(kelompok_ids()))

    def meeting_ids(status: MeetingStatus) -> Any:
        return select(Meeting.id).where(Meeting.kelompok_id.in_(kelompok_ids()),
                                        Meeting.status == status)

    def count(entity: Any, *criteria: Any) -> Any:
        return select(func.count()).select_from(entity).where(*criteria).scalar_subquery()

    open_case = (CaseNote.kpm_id.in_(kpm_ids()), CaseNote.status != CaseStatus.SELESAI)
    overdue = CaseNote.follow_up_date < today if today else CaseNote.id.is_(None)
    counts = (await session.execute(select(
        count(Region, Region.parent_id == kab_id),
        count(Region, Region.id.in_(desa_ids())),
        count(Kelompok, Kelompok.id.in_(kelompok_ids())),
        count(Kpm, Kpm.id.in_(kpm_ids())),
        count(Kpm, Kpm.id.in_(kpm_ids()), Kpm.status == KpmStatus.AKTIF),
        count(Komponen, Komponen.kpm_id.in_(kpm_ids())),
        count(Meeting, Meeting.id.in_(meeting_ids(MeetingStatus.HELD))),
        count(Meeting, Meeting.id.in_(meeting_ids(MeetingStatus.PLANNED))),
        count(Attendance, Attendance.meeting_id.in_(meeting_ids(MeetingStatus.HELD))),
        count(Attendance, Attendance.meeting_id.in_(meeting_ids(MeetingStatus.HELD)),
              Attendance.mark == AttendanceMark.HADIR),
        count(CaseNote, *open_case),
        count(CaseNote, *open_case, overdue),
    ))).one()
    staff = (await session.execute(
        select(Staff.role, Staff.name).where(or_(
            Staff.region_id == kab_id, Staff.region_id.in_(kecamatan_ids()),
            Staff.region_id.in_(desa_ids()),
        )).order_by(Staff.name_key)
    )).tuples().all()
    staff = sorted(staff, key=lambda row: _ROLE_ORDER.index(StaffRole(row[0]))
                   if StaffRole(row[0]) in _ROLE_ORDER else len(_ROLE_ORDER))
    meetings_today: list[str] = []
    if today is not None:
        meetings_today = list((await session.scalars(
            select(Kelompok.name).join(Meeting, Meeting.kelompok_id == Kelompok.id)
            .where(Kelompok.id.in_(kelompok_ids()), Meeting.meeting_date == today)
            .order_by(Kelompok.name_key)
        )).all())

    def role_count(role: StaffRole) -> int:
        return sum(1 for staff_role, _ in staff if staff_role == role)

    return DemoSummary(
        provinsi=provinsi or "", kabupaten=kabupaten.name,
        kecamatan=counts[0], desa=counts[1],
        coordinators=role_count(StaffRole.KOORDINATOR),
        supervisors=role_count(StaffRole.SUPERVISOR),
        pendamping=role_count(StaffRole.PENDAMPING),
        kelompok=counts[2], kpm=counts[3], kpm_aktif=counts[4], komponen=counts[5],
        meetings_held=counts[6], meetings_planned=counts[7], attendance=counts[8],
        attendance_hadir=counts[9], open_cases=counts[10], overdue_cases=counts[11],
        staff_names=[name for _, name in staff],
        pendamping_names=[name for role, name in staff if role == StaffRole.PENDAMPING],
        meetings_today=meetings_today,
    )
