"""Building the demo world row by row: regions, staff, kelompok with their KPM and komponen,
planned and held meetings with attendance, cases and graduations, all from one seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.demo import names
from models.demo.cases import write_cases
from models.demo.commitments import write_commitments
from models.demo.messages import write_pesan
from models.demo.plan import PlannedGroup, PlannedMember, give_facilitators
from models.demo.programmes import write_programmes
from models.demo.relays import write_relays
from models.enums import (
    AttendanceMark,
    Channel,
    ExitReason,
    KpmStatus,
    MeetingStatus,
    RegionLevel,
    StaffRole,
)
from models.regions import RegionIndex, find_province
from models.rules.calendar import month_starts, nth_weekday, rule_week, shift_years
from models.rules.commitments import CommitmentRules
from models.rules.komponen import KomponenCatalog
from models.rules.p2k2 import P2k2Session, default_sessions
from models.rules.text import name_key
from models.tables import (
    Attendance,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Region,
    Staff,
)


class DemoConflict(RuntimeError):
    """A demo staff name is already taken by a real staff member with the same role."""


HELD_MEETINGS = 6


GRADUATION_CANDIDATES = 6  # aktif KPM whose only komponen ends within 90 days


GRADUATED = {KpmStatus.GRADUASI_ALAMIAH: 4, KpmStatus.GRADUASI_MANDIRI: 2}


_BULK = {"render_nulls": True}  # None as NULL, so rows with and without values batch together


class DemoBuilder:
    def __init__(self, session: AsyncSession, catalog: KomponenCatalog, today: date, seed: int,
                 commitments: CommitmentRules | None = None,
                 p2k2: Sequence[P2k2Session] | None = None) -> None:
        self.session, self.catalog, self.today = session, catalog, today
        self.commitments = commitments or CommitmentRules()
        # (modul, sesi) in the order groups work through them
        self.p2k2 = [(s.modul, s.number) for s in (p2k2 or default_sessions())]
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
        cases = await write_cases(
            self.session, groups, self.pendamping_ids, staff[StaffRole.SUPERVISOR], self.today,
            self.rng, lambda day: self.local(day, time(9, 30)),
        )
        pesan = await write_pesan(self.session, groups, self.rng, self.local(self.today, time(9)))
        checks = await write_commitments(
            self.session, groups, self.commitments, self.today, self.rng,
            lambda day: self.local(day, time(10)),
        )
        at = self.local(self.today, time(8))
        bansos = await write_programmes(self.session, groups, self.rng, at)
        relayed = await write_relays(self.session, groups, self.today, at)
        return {"kelompok": len(groups), "kpm": sum(len(g.members) for g in groups),
                "komponen": komponen, "meetings": meetings, "attendance": attendance,
                "cases": cases, "pesan": pesan, "commitment_checks": checks, "bansos": bansos,
                "relayed_rsvps": relayed}

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
        former, former_kecamatan = names.FORMER_PENDAMPING
        pendamping = [*(p.name for p in names.PENDAMPING), former]
        wanted = [(StaffRole.KOORDINATOR, names.COORDINATOR), (StaffRole.SUPERVISOR,
                  names.SUPERVISOR), (StaffRole.ADMIN, names.OPERATOR)] + [
                      (StaffRole.PENDAMPING, name) for name in pendamping]
        taken = set((await self.session.execute(
            select(Staff.role, Staff.name_key).where(
                Staff.name_key.in_([name_key(name) for _, name in wanted]))
        )).tuples().all())
        clashes = [name for role, name in wanted if (role, name_key(name)) in taken]
        if clashes:
            raise DemoConflict(f"staff already exist with the demo's names: {clashes}")
        kabupaten = self.region_ids[names.KABUPATEN_CODE]

        def row(
            role: StaffRole, name: str, region: int | None, boss: int | None, *,
            active: bool = True
        ) -> dict[str, Any]:
            return {"role": role, "name": name, "name_key": name_key(name), "region_id": region,
                    "supervisor_id": boss, "active": active}

        coordinator, supervisor, _operator = await self._insert(Staff, [
            row(StaffRole.KOORDINATOR, names.COORDINATOR, kabupaten, None),
            row(StaffRole.SUPERVISOR, names.SUPERVISOR, kabupaten, None),
            row(StaffRole.ADMIN, names.OPERATOR, None, None),
        ])
        self.pendamping_ids = await self._insert(Staff, [
            row(StaffRole.PENDAMPING, p.name, self.region_ids[p.kecamatan_code], supervisor)
            for p in names.PENDAMPING
        ])
        await self._insert(Staff, [row(StaffRole.PENDAMPING, former,
                                       self.region_ids[former_kecamatan], supervisor,
                                       active=False)])
        return {StaffRole.KOORDINATOR: coordinator, StaffRole.SUPERVISOR: supervisor}

    def _plan_groups(self, desa: dict[str, tuple[int, str]]) -> list[PlannedGroup]:
        rng, today = self.rng, self.today
        groups: list[PlannedGroup] = []
        labels = iter(names.KELOMPOK_NAMES)
        for pendamping, pendamping_id in zip(names.PENDAMPING, self.pendamping_ids, strict=True):
            used: list[tuple[int, int]] = []
            for number in range(names.KELOMPOK_PER_PENDAMPING):
                if not groups:  # the very first group meets today
                    slot = (today.weekday(), rule_week(today))
                else:
                    slot = (rng.randrange(5), rng.randint(1, 4))
                    while slot in used or nth_weekday(today.year, today.month, *slot) == today:
                        slot = (rng.randrange(5), rng.randint(1, 4))
                used.append(slot)
                desa_id, desa_name = desa[pendamping.desa_codes[number // 2]]
                groups.append(PlannedGroup(
                    name=next(labels), desa_id=desa_id, desa_name=desa_name,
                    pendamping_id=pendamping_id,
                    nik_prefix=pendamping.kecamatan_code.replace(".", ""),
                    weekday=slot[0], week=slot[1],
                    at=time.fromisoformat(rng.choice(names.MEETING_TIMES)),
                    place=rng.choice(names.MEETING_PLACES),
                    first_session=rng.randrange(len(self.p2k2)),
                ))
        return groups

    def _plan_members(self, groups: list[PlannedGroup]) -> None:
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

    def _member(
        self, group: PlannedGroup, full_name: str, serial: int, phone: int
    ) -> PlannedMember:
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
            "graduated_on": None, "left_on": None, "exit_reason": None,
        }
        komponen = [(kind, self._birth(kind)) for kind in mix if kind in self.catalog.rules]
        presence = rng.choices((0.93, 0.8, 0.6), (70, 25, 5))[0]
        komponen = komponen or [(self.kinds[0], self._birth(self.kinds[0]))]
        return PlannedMember(row, komponen, presence)

    def _birth(self, kind: str) -> date:
        if kind == "ibu_hamil":  # the expected delivery date
            return self.today + timedelta(days=self.rng.randint(*names.PREGNANCY_DUE_DAYS))
        return self.today - timedelta(days=self.rng.randint(*names.AGE_DAYS[kind]))

    def _ending(self, offset_days: int) -> list[tuple[str, date]]:
        """One komponen that ends ``offset_days`` from today (negative: already ended)."""
        for kind in ("anak_sma", "anak_smp", "anak_sd", "anak_usia_dini"):
            age = self.catalog.rules[kind].ends_at_age if kind in self.catalog.rules else None
            if age is not None:
                return [(kind, shift_years(self.today + timedelta(days=offset_days), -age))]
        return []

    def _assign_specials(self, groups: list[PlannedGroup]) -> None:
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
                member.row["left_on"] = member.row["graduated_on"]
                member.row["exit_reason"] = ExitReason(status.value)
        # Two families left this week (chosen without the random source, so that the rest
        # of the demo stays as it was): no reminders for them any more.
        remaining = [m for g in groups for m in g.members if not m.special]
        for member, reason in zip(remaining[-len(names.LEFT_KPM):], names.LEFT_KPM, strict=True):
            member.special, member.row["status"] = "left", KpmStatus.KELUAR
            member.row["exit_reason"] = ExitReason(reason)
            member.row["left_on"] = self.today - timedelta(days=2)

    async def _write_groups(self, groups: list[PlannedGroup]) -> None:
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

    async def _write_komponen(self, groups: list[PlannedGroup]) -> int:
        rows = [{"kpm_id": m.id, "type": kind, "birth_date": born,
                 "end_date": self.catalog[kind].end_date(born)}
                for g in groups for m in g.members for kind, born in m.komponen]
        await self.session.execute(insert(Komponen), rows, execution_options=_BULK)
        return len(rows)

    def _marks(self, member: PlannedMember, held: int) -> list[AttendanceMark]:
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

    async def _write_meetings(self, groups: list[PlannedGroup]) -> tuple[int, int]:
        meeting_rows: list[dict[str, Any]] = []
        held_rows: list[tuple[PlannedGroup, int, int]] = []  # (group, meeting number, row index)
        sessions = self.p2k2
        for group in groups:
            days = [nth_weekday(m.year, m.month, group.weekday, group.week)
                    for m in month_starts(self.today, HELD_MEETINGS + 2, 2)]
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
        give_facilitators(meeting_rows, self.today)  # a few held by the ketua alone
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
