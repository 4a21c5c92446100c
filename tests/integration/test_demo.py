"""The demo kabupaten: what it holds, that it is seeded once, and that it is deterministic."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from models.base import Base
from models.commitment_history import not_met_streaks
from models.commitments import commitment_counts, due_pairs
from models.db import create_engine, session_factory
from models.demo.world import DEMO_SEED, NoDemoData, demo_summary, has_demo_data, seed_demo
from models.enums import Channel, CommitmentResult, KpmStatus, RegionLevel
from models.messaging.tables import Outbox
from models.regions import RegionIndex
from models.rules.calendar import nth_weekday, rule_week
from models.rules.commitments import CommitmentRules
from models.rules.komponen import KomponenCatalog
from models.rules.p2k2 import default_sessions
from models.rules.phone import normalize_phone
from models.tables import (
    Attendance,
    AuditLog,
    CaseNote,
    ChannelIdentity,
    CommitmentCheck,
    Kelompok,
    Komponen,
    Kpm,
    KpmMessage,
    Meeting,
    Region,
    Staff,
)

TODAY = date(2026, 11, 24)  # a Tuesday
JAKARTA = ZoneInfo("Asia/Jakarta")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def catalog() -> KomponenCatalog:
    rules = Settings().programme.komponen
    return KomponenCatalog.from_mapping({name: rule.model_dump() for name, rule in rules.items()})


async def _seed(sessions: Sessions, catalog: KomponenCatalog, today: date = TODAY,
                seed: int = DEMO_SEED):
    return await seed_demo(sessions, catalog=catalog, today=today, seed=seed)


async def _rows(sessions: Sessions, statement):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return (await session.execute(statement)).all()


async def _table_counts(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        return {
            table.name: await session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


async def _digest(sessions: Sessions) -> str:
    """A fingerprint of the people, komponen, meetings, marks and cases."""
    parts = [
        await _rows(sessions, select(
            Kpm.id_pkh, Kpm.nik, Kpm.nama_pengurus, Kpm.phone, Kpm.preferred_channel,
            Kpm.status, Kelompok.name,
        ).join(Kelompok, Kpm.kelompok_id == Kelompok.id).order_by(Kpm.id_pkh)),
        await _rows(sessions, select(Kpm.id_pkh, Komponen.type, Komponen.birth_date)
                    .join(Kpm, Komponen.kpm_id == Kpm.id)
                    .order_by(Kpm.id_pkh, Komponen.type, Komponen.birth_date)),
        await _rows(sessions, select(Kelompok.name, Meeting.meeting_date, Meeting.starts_at,
                                     Meeting.sesi, Meeting.status)
                    .join(Kelompok, Meeting.kelompok_id == Kelompok.id)
                    .order_by(Kelompok.name, Meeting.meeting_date)),
        await _rows(sessions, select(Kpm.id_pkh, Meeting.meeting_date, Attendance.mark)
                    .join(Kpm, Attendance.kpm_id == Kpm.id)
                    .join(Meeting, Attendance.meeting_id == Meeting.id)
                    .order_by(Kpm.id_pkh, Meeting.meeting_date)),
        await _rows(sessions, select(Kpm.id_pkh, CaseNote.category, CaseNote.follow_up_date)
                    .join(Kpm, CaseNote.kpm_id == Kpm.id).order_by(CaseNote.category)),
        await _rows(sessions, select(Kpm.id_pkh, CommitmentCheck.komponen_id,
                                     CommitmentCheck.commitment, CommitmentCheck.period_start,
                                     CommitmentCheck.result, CommitmentCheck.reason)
                    .join(Kpm, CommitmentCheck.kpm_id == Kpm.id)
                    .order_by(CommitmentCheck.komponen_id, CommitmentCheck.commitment,
                              CommitmentCheck.period_start)),
    ]
    text = repr([[tuple(str(value) for value in row) for row in rows] for rows in parts])
    return hashlib.sha256(text.encode()).hexdigest()


async def _held_marks(sessions: Sessions) -> dict[int, list[str]]:
    """Each KPM's marks over the held meetings, oldest first."""
    rows = await _rows(sessions, select(Attendance.kpm_id, Attendance.mark)
                       .join(Meeting, Attendance.meeting_id == Meeting.id)
                       .order_by(Attendance.kpm_id, Meeting.meeting_date))
    marks: dict[int, list[str]] = defaultdict(list)
    for kpm_id, mark in rows:
        marks[kpm_id].append(str(mark))
    return marks


async def test_the_demo_holds_a_coordinator_three_pendamping_twelve_kelompok_and_300_kpm(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    summary = await _seed(sessions, catalog)
    counts = await _table_counts(sessions)

    assert summary.seeded
    assert (summary.provinsi, summary.kabupaten) == ("Jawa Tengah", "Sukamaju")
    assert (summary.coordinators, summary.pendamping, summary.kelompok) == (1, 3, 12)
    assert summary.kpm == counts["kpm"] == 300
    assert summary.komponen == counts["komponen"]
    assert 300 <= summary.komponen <= 900
    assert (summary.meetings_held, summary.meetings_planned) == (72, 12)
    assert summary.attendance == counts["attendance"]
    assert 0.75 <= summary.attendance_hadir / summary.attendance <= 0.95
    assert summary.open_cases == counts["case_note"]
    assert summary.pendamping_names == ["Ani Suryani", "Budi Santoso", "Citra Wulandari"]
    assert summary.staff_names[0] == "Dewi Lestari"
    assert summary.kpm_aktif < summary.kpm


async def test_the_regions_are_a_real_province_over_a_fictional_kabupaten(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    regions = await _rows(sessions, select(Region.level, Region.code, Region.timezone))
    by_level = Counter(str(level) for level, _, _ in regions)
    assert by_level == {"provinsi": 1, "kabupaten": 1, "kecamatan": 2, "desa": 6}
    assert ("provinsi", "33", "Asia/Jakarta") in [(str(lv), c, tz) for lv, c, tz in regions]
    codes = [code for level, code, _ in regions if level != RegionLevel.PROVINSI]
    assert all(code.startswith("33.99") for code in codes)

    staff = await _rows(sessions, select(Staff.role, Region.level)
                        .join(Region, Staff.region_id == Region.id))
    assert sorted((str(role), str(level)) for role, level in staff) == [
        ("koordinator", "kabupaten"), ("pendamping", "kecamatan"), ("pendamping", "kecamatan"),
        ("pendamping", "kecamatan"), ("pendamping", "kecamatan"), ("supervisor", "kabupaten"),
    ]


async def test_an_inactive_pendamping_and_families_who_left_are_in_the_demo(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    summary = await _seed(sessions, catalog)
    former = await _rows(sessions, select(Staff.name, Staff.active, func.count(Kelompok.id))
                         .outerjoin(Kelompok, Kelompok.pendamping_id == Staff.id)
                         .where(Staff.active.is_(False)).group_by(Staff.id))
    assert [tuple(row) for row in former] == [("Rudi Hartono", False, 0)]
    assert "Rudi Hartono" not in summary.pendamping_names
    gone = await _rows(sessions, select(Kpm.status, Kpm.exit_reason, Kpm.left_on, Kpm.graduated_on)
                       .where(Kpm.status != KpmStatus.AKTIF))
    reasons = Counter(str(reason) for _, reason, _, _ in gone)
    assert reasons == {"pindah": 1, "mengundurkan_diri": 1, "graduasi_alamiah": 4,
                       "graduasi_mandiri": 2}
    for status, _, left_on, graduated_on in gone:
        assert left_on is not None and left_on <= TODAY
        assert graduated_on == (left_on if status != KpmStatus.KELUAR else None)
    assert summary.kpm_aktif == 300 - 8


async def test_a_province_already_there_is_reused(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    async with sessions() as session, session.begin():
        await RegionIndex(session).ensure(RegionLevel.PROVINSI, "Jateng", None)

    await _seed(sessions, catalog)

    provinces = await _rows(sessions, select(Region.id).where(
        Region.level == RegionLevel.PROVINSI))
    assert len(provinces) == 1


async def test_seeding_twice_changes_nothing(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    first = await _seed(sessions, catalog)
    counts = await _table_counts(sessions)

    second = await _seed(sessions, catalog, seed=DEMO_SEED + 1)

    assert not second.seeded
    assert await _table_counts(sessions) == counts
    assert second == replace(first, seeded=False)


async def test_the_same_seed_and_day_give_identical_data_in_two_databases(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path,
    _sqlite_template: Path,
) -> None:
    other_path = tmp_path / "other.db"
    shutil.copyfile(_sqlite_template, other_path)
    other_engine = create_engine(f"sqlite+aiosqlite:///{other_path}")
    third_path = tmp_path / "third.db"
    shutil.copyfile(_sqlite_template, third_path)
    third_engine = create_engine(f"sqlite+aiosqlite:///{third_path}")
    try:
        await _seed(sessions, catalog)
        await _seed(session_factory(other_engine), catalog)
        await _seed(session_factory(third_engine), catalog, seed=DEMO_SEED + 1)

        digest = await _digest(sessions)
        assert digest == await _digest(session_factory(other_engine))
        assert digest != await _digest(session_factory(third_engine))
    finally:
        await other_engine.dispose()
        await third_engine.dispose()


async def test_every_phone_is_normalized_and_every_nik_is_16_fictional_digits(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    rows = await _rows(sessions, select(Kpm.nik, Kpm.phone, Kpm.preferred_channel, Kpm.id_pkh))

    phones = [phone for _, phone, _, _ in rows if phone is not None]
    assert phones and all(normalize_phone(phone) == phone for phone in phones)
    assert len(set(phones)) == len(phones)
    assert all((phone is None) == (channel == "none") for _, phone, channel, _ in rows)
    channels = Counter(str(channel) for _, _, channel, _ in rows)
    assert channels["whatsapp"] > channels["telegram"] > 0 and channels["none"] > 0
    niks = [nik for nik, _, _, _ in rows]
    assert all(len(nik) == 16 and nik.isdigit() and nik.startswith("3399") for nik in niks)
    assert len(set(niks)) == len(niks)
    assert all(id_pkh.startswith("PKH-DEMO-") for *_, id_pkh in rows)


async def test_every_held_meeting_has_one_attendance_row_per_member(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    members: dict[int, set[int]] = defaultdict(set)
    for kpm_id, kelompok_id in await _rows(sessions, select(Kpm.id, Kpm.kelompok_id)):
        members[kelompok_id].add(kpm_id)
    meetings = await _rows(sessions, select(Meeting.id, Meeting.kelompok_id, Meeting.status,
                                            Meeting.attendance_recorded_at))
    marked: dict[int, list[int]] = defaultdict(list)
    for meeting_id, kpm_id in await _rows(sessions, select(Attendance.meeting_id,
                                                           Attendance.kpm_id)):
        marked[meeting_id].append(kpm_id)

    per_group = Counter((kelompok_id, str(status)) for _, kelompok_id, status, _ in meetings)
    assert set(per_group.values()) == {6, 1} and len(per_group) == 24
    for meeting_id, kelompok_id, status, recorded_at in meetings:
        if status == "held":
            assert sorted(marked[meeting_id]) == sorted(members[kelompok_id])
            assert recorded_at is not None
        else:
            assert marked[meeting_id] == [] and recorded_at is None


async def test_meetings_follow_the_group_rule_and_advance_through_the_p2k2_sessions(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    groups = {row[0]: row[1:] for row in await _rows(sessions, select(
        Kelompok.id, Kelompok.rule_weekday, Kelompok.rule_week_of_month, Kelompok.rule_time))}
    meetings = await _rows(sessions, select(
        Meeting.kelompok_id, Meeting.meeting_date, Meeting.starts_at, Meeting.modul,
        Meeting.sesi, Meeting.plan_key, Meeting.status,
    ).order_by(Meeting.kelompok_id, Meeting.meeting_date))

    p2k2 = [(s.modul, s.number) for s in default_sessions()]
    order = {pair: number for number, pair in enumerate(p2k2)}
    previous: dict[int, tuple[date, int]] = {}
    for kelompok_id, day, starts_at, modul, sesi, plan_key, status in meetings:
        weekday, week, at = groups[kelompok_id]
        assert day == nth_weekday(day.year, day.month, weekday, week)
        assert starts_at.astimezone(JAKARTA).replace(tzinfo=None) == datetime.combine(day, at)
        assert plan_key == f"{day:%Y-%m}"
        assert (day < TODAY) == (status == "held")
        if kelompok_id in previous:
            last_day, last_step = previous[kelompok_id]
            assert 25 <= (day - last_day).days <= 40
            assert order[(modul, sesi)] == (last_step + 1) % len(p2k2)
        previous[kelompok_id] = (day, order[(modul, sesi)])
    assert min(day for _, day, *_ in meetings) >= TODAY - timedelta(days=7 * 31)


@pytest.mark.parametrize("today", [TODAY, date(2026, 12, 31), date(2027, 2, 28)])
async def test_one_kelompok_of_the_first_pendamping_meets_today(
    sessions: Sessions, catalog: KomponenCatalog, today: date
) -> None:
    summary = await _seed(sessions, catalog, today=today)

    rows = await _rows(sessions, select(
        Kelompok.name, Staff.name, Meeting.status, Kelompok.rule_weekday,
        Kelompok.rule_week_of_month,
    ).join(Kelompok, Meeting.kelompok_id == Kelompok.id)
     .join(Staff, Kelompok.pendamping_id == Staff.id)
     .where(Meeting.meeting_date == today))

    assert len(rows) == 1
    kelompok, pendamping, status, weekday, week = rows[0]
    assert (pendamping, status) == ("Ani Suryani", "planned")
    assert (weekday, week) == (today.weekday(), rule_week(today))
    assert summary.meetings_today == [kelompok]


async def test_a_few_kpm_were_absent_without_reason_at_the_last_two_meetings(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    marks = await _held_marks(sessions)

    streaks = [kpm_id for kpm_id, seen in marks.items() if seen[-2:] == ["alpa", "alpa"]]
    assert 2 <= len(streaks) <= 3
    assert all(len(seen) == 6 for seen in marks.values())


async def test_komponen_birth_dates_fit_their_type_and_end_dates_follow_the_catalog(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    rows = await _rows(sessions, select(Kpm.id, Kpm.status, Komponen.type,
                                        Komponen.birth_date, Komponen.end_date)
                       .join(Kpm, Komponen.kpm_id == Kpm.id))
    # Anak SMA is covered up to 21: a graduation candidate's last child may be 20.
    ages = {"anak_usia_dini": (0, 6), "anak_sd": (7, 12), "anak_smp": (13, 15),
            "anak_sma": (16, 20), "lansia": (70, 120)}
    last_end: dict[int, date] = {}
    statuses: dict[int, str] = {}
    per_kpm = Counter(kpm_id for kpm_id, *_ in rows)
    for kpm_id, status, kind, born, end in rows:
        assert end == catalog[kind].end_date(born)
        if status == "aktif" and kind in ages:
            low, high = ages[kind]
            age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
            assert low <= age <= high, (kind, born)
        if kind == "ibu_hamil":
            assert born > TODAY  # the expected delivery date
        last_end[kpm_id] = max(last_end.get(kpm_id, date.min), end or date.max)
        statuses[kpm_id] = str(status)

    assert len(per_kpm) == 300 and set(per_kpm.values()) <= {1, 2, 3}
    horizon = TODAY + timedelta(days=90)
    candidates = [k for k, end in last_end.items() if statuses[k] == "aktif" and end <= horizon]
    assert len(candidates) >= 3
    graduated = [k for k, status in statuses.items() if status == "graduasi_alamiah"]
    assert graduated and all(last_end[k] < TODAY for k in graduated)


async def test_open_cases_include_overdue_ones_and_child_protection_is_urgent(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    summary = await _seed(sessions, catalog)
    cases = await _rows(sessions, select(CaseNote.category, CaseNote.severity, CaseNote.status,
                                         CaseNote.follow_up_date, CaseNote.created_at,
                                         CaseNote.staff_id))

    assert 5 <= len(cases) <= 8 and summary.open_cases == len(cases)
    assert any(category == "perlindungan_anak" for category, *_ in cases)
    assert all(severity == "mendesak" for category, severity, *_ in cases
               if category == "perlindungan_anak")
    assert {str(status) for _, _, status, *_ in cases} == {"baru", "tindak_lanjut"}
    follow_ups = [follow_up for *_, follow_up, _, _ in cases]
    overdue = [day for day in follow_ups if day < TODAY]
    assert overdue and any(day > TODAY for day in follow_ups)
    assert summary.overdue_cases == len(overdue)
    assert all(created.astimezone(JAKARTA).date() < TODAY for *_, created, _ in cases)
    assert len({staff_id for *_, staff_id in cases}) == 3


async def test_every_kelompok_has_a_ketua_among_its_members_and_names_that_nearly_match(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    ketua = dict(await _rows(sessions, select(Kelompok.id, Kelompok.ketua_kpm_id)))
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for kpm_id, kelompok_id, name in await _rows(sessions, select(
            Kpm.id, Kpm.kelompok_id, Kpm.nama_pengurus)):
        members[kelompok_id].append((kpm_id, name))

    assert len(ketua) == 12
    for kelompok_id, ketua_id in ketua.items():
        assert ketua_id in {kpm_id for kpm_id, _ in members[kelompok_id]}
        first_names = Counter(name.split()[0] for _, name in members[kelompok_id])
        assert first_names.most_common(1)[0][1] >= 2, kelompok_id
        assert 18 <= len(members[kelompok_id]) <= 30
    all_names = [name for group in members.values() for _, name in group]
    assert len(set(all_names)) == len(all_names)


async def test_the_seed_is_audited_once_with_counts_only(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    await _seed(sessions, catalog)

    rows = await _rows(sessions, select(AuditLog.actor, AuditLog.entity, AuditLog.detail)
                       .where(AuditLog.action == "demo.seed"))
    assert len(rows) == 1
    _, entity, detail = rows[0]
    assert entity == "demo"
    assert detail["kpm"] == 300 and all(isinstance(v, int) for v in detail.values())


async def test_the_summary_needs_the_demo_and_has_demo_data_says_whether_it_is_there(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    async with sessions() as session:
        assert not await has_demo_data(session)
        with pytest.raises(NoDemoData):
            await demo_summary(session)

    await _seed(sessions, catalog)

    async with sessions() as session:
        assert await has_demo_data(session)
        summary = await demo_summary(session)
    assert summary.kpm == 300 and summary.meetings_today == [] and not summary.seeded


async def test_each_pendamping_has_pesan_kpm_and_one_waits_past_the_nudge_time(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await _seed(sessions, catalog)
    rows = await _rows(
        sessions,
        select(
            KpmMessage.status, KpmMessage.received_at, KpmMessage.address, Kelompok.pendamping_id
        )
        .join(Kpm, Kpm.id == KpmMessage.kpm_id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id),
    )
    statuses = Counter(str(status) for status, *_ in rows)
    assert statuses == {"open": 3, "answered": 1}
    assert len({pendamping for *_, pendamping in rows}) == 3
    assert all(address.startswith("whatsapp:+628") for _, _, address, _ in rows)
    today_9 = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=JAKARTA)
    assert any(
        str(status) == "open" and today_9 - received > timedelta(hours=24)
        for status, received, *_ in rows
    )


RULES = CommitmentRules()


async def test_this_period_is_verified_in_part_and_only_what_is_due_was_verified(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    summary = await _seed(sessions, catalog)
    current = RULES.period_of(TODAY)
    async with sessions() as session:
        counts = await commitment_counts(session, RULES, current, None)
        owner = dict((await session.execute(
            select(Kelompok.id, Staff.name).join(Staff, Staff.id == Kelompok.pendamping_id)
        )).tuples().all())
        for period in (RULES.before(current, 2), RULES.before(current), current):
            due = {(komponen_id, commitment) for komponen_id, _, _, commitment, _
                   in await session.execute(due_pairs(RULES, period, []))}
            checked = set((await session.execute(
                select(CommitmentCheck.komponen_id, CommitmentCheck.commitment)
                .where(CommitmentCheck.period_start == period.start)
            )).tuples().all())
            assert checked and checked <= due, period  # nothing verified that is not due
            if period != current:
                assert checked == due  # the periods before were verified in full

    assert summary.commitment_checks > 0 and len(counts) == 12
    assert 0 < sum(c.done for c in counts.values()) < sum(c.due for c in counts.values())
    for name in summary.pendamping_names:  # each has a kelompok done and one not begun
        own = [c for kelompok_id, c in counts.items() if owner[kelompok_id] == name]
        assert any(c.done == c.due > 0 for c in own), name
        assert any(c.due > 0 and c.done == 0 for c in own), name
    assert any(c.not_met for c in counts.values())


async def test_one_family_misses_a_commitment_three_periods_in_a_row_and_the_sweeps_tell(
    db_url: str, sessions: Sessions, catalog: KomponenCatalog
) -> None:
    """The scheduler's own jobs, on the demo: the warnings reach their last level (Ani, the
    coordinator, the supervisor), and near the period's end Ani is reminded of what is
    left to verify in her kelompok."""
    from bot.bootstrap import build_app
    from bot.jobs import alerts_sweep, nudges_sweep
    from models.rules.clock import FixedClock

    await _seed(sessions, catalog)
    current = RULES.period_of(TODAY)
    async with sessions() as session:
        streaks = await not_met_streaks(session, since=RULES.before(current).start)
        staff = dict((await session.execute(select(Staff.name, Staff.id))).tuples().all())
        ani_kelompok = set((await session.scalars(
            select(Kelompok.id).where(Kelompok.pendamping_id == staff["Ani Suryani"])
        )).all())
    long = [s for s in streaks if s.periods >= 3]
    assert len(long) == 1
    (streak,) = long
    assert streak.kelompok_id in ani_kelompok
    assert (streak.first_period, streak.last_period) == (
        RULES.before(current, 2).start, current.start
    )
    assert all(s.periods == 1 for s in streaks if s is not streak)  # a few this period only

    async with sessions.begin() as session:  # Ani, the coordinator and the supervisor chat
        for name, address in (("Ani Suryani", "console:ani"), ("Dewi Lestari", "console:dewi"),
                              ("Agus Prasetyo", "console:agus")):
            session.add(ChannelIdentity(address=address, channel=Channel.CONSOLE,
                                        staff_id=staff[name]))
    clock = FixedClock(datetime(TODAY.year, TODAY.month, TODAY.day, 10, tzinfo=JAKARTA))
    app = build_app(Settings(database={"url": db_url}), clock=clock)
    try:
        await alerts_sweep(app)
        rows = await _rows(sessions, select(Outbox.address, Outbox.payload)
                           .where(Outbox.dedupe_key.startswith("commitment:")))
        clock.set(datetime(2026, 11, 26, 9, tzinfo=JAKARTA))  # five days before the end
        await nudges_sweep(app)
    finally:
        await app.close()
    last = {address: payload["values"]["kpm"] for address, payload in rows
            if payload["key"] in ("alert.commitment_warning_last", "alert.commitment_escalated")}
    assert last == dict.fromkeys(("console:ani", "console:dewi", "console:agus"),
                                 streak.kpm_name)
    assert sum(1 for address, _ in rows if address == "console:ani") == len(
        [s for s in streaks if s.kelompok_id in ani_kelompok])
    [(address, payload)] = await _rows(sessions, select(Outbox.address, Outbox.payload)
                                       .where(Outbox.dedupe_key.startswith("nudge-commitments:")))
    assert address == "console:ani" and payload["key"] == "nudge.commitments"
    assert payload["values"]["counts"].count("Kelompok") == 3  # all but the one done
    results = await _rows(sessions, select(CommitmentCheck.result).where(
        CommitmentCheck.komponen_id == streak.komponen_id))
    assert [result for (result,) in results] == [CommitmentResult.TIDAK_MEMENUHI] * 3
