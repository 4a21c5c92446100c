"""Graduation read queries against hand-built data with known answers: candidates per
pendamping for the weekly digest, graduasi alamiah events, attendance over six meetings,
and saving an assessment only in scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import AttendanceMark, KpmStatus, MeetingStatus
from models.graduation import NewAssessment, latest_assessment, save_assessment
from models.komponen_ends import refresh_end_dates
from models.scope import OutOfScope, kelompok_scope
from models.tables import (
    Attendance,
    AuditLog,
    GraduationAssessment,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Staff,
)
from reporting.graduation import alamiah_events, attendance_tallies, candidate_counts
from tests.world import NOW, TODAY, World, build_world, default_catalog

HORIZON = 90


def komponen(kpm_id: int, end: date | None, kind: str = "anak_sma") -> Komponen:
    return Komponen(kpm_id=kpm_id, type=kind, end_date=end)


def assessment(
    kpm_id: int, score: float, days_ago: int, *, gates_met: bool = True
) -> GraduationAssessment:
    return GraduationAssessment(
        kpm_id=kpm_id,
        indicators={},
        score=score,
        threshold=7.0,
        gates_met=gates_met,
        assessed_at=NOW - timedelta(days=days_ago),
    )


async def graduation_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    """Ani (Melati, Mawar) and Budi (Kenanga) with KPM in every graduation situation."""
    world = await build_world(sessions)
    k = world.kpm
    soon, far = TODAY + timedelta(days=30), TODAY + timedelta(days=400)
    async with sessions.begin() as session:
        session.add_all(
            [
                komponen(k["Siti Rahayu"], soon),  # alamiah, soon
                komponen(k["Sri Wahyuni"], TODAY - timedelta(days=10)),  # alamiah, ended
                komponen(k["Dewi Lestari"], soon),  # a komponen without an end date:
                komponen(k["Dewi Lestari"], None, "anak_sd"),  # never alamiah
                komponen(k["Nur Hasanah"], soon),  # alamiah and ready: counted once
                komponen(k["Sumarni"], soon),  # already graduated: not counted
                komponen(k["Suparmi"], soon, "anak_sd"),  # the last one ends later
                komponen(k["Suparmi"], far),
                komponen(k["Lestari Handayani"], TODAY + timedelta(days=HORIZON)),  # the edge
                komponen(k["Rina Marlina"], soon),  # Budi's
                assessment(k["Nur Hasanah"], 9, 3),
                assessment(k["Yuli Astuti"], 8, 30),  # ready once, no longer:
                assessment(k["Yuli Astuti"], 5, 2),
                assessment(k["Wati Suryani"], 4, 30),  # not ready once, now ready
                assessment(k["Wati Suryani"], 7, 2),
                assessment(k["Ani Marlina"], 7.5, 1),  # Mawar, Ani's second group
                assessment(k["Tuti Alawiyah"], 6.99, 1),  # just under
            ]
        )
        await session.execute(
            update(Kpm)
            .where(Kpm.id == k["Sumarni"])
            .values(status=KpmStatus.GRADUASI_ALAMIAH, graduated_on=TODAY)
        )
    return world


async def test_candidate_counts_per_pendamping_match_the_hand_count(sessions) -> None:
    world = await graduation_world(sessions)
    async with sessions() as session:
        counts = await candidate_counts(
            session, select(Kelompok.id), today=TODAY, horizon_days=HORIZON, threshold=7.0
        )
    # Ani: alamiah Rahayu, Wahyuni, Nur Hasanah, Lestari Handayani; mandiri Wati, Ani M.
    assert counts == {world.ani: (4, 2), world.budi: (1, 0)}


async def test_candidate_counts_keep_to_the_kelompok_scope_given(sessions) -> None:
    world = await graduation_world(sessions)
    async with sessions() as session:
        melati_only = await candidate_counts(
            session,
            select(Kelompok.id).where(Kelompok.id == world.melati),
            today=TODAY,
            horizon_days=HORIZON,
            threshold=7.0,
        )
        budi = await session.get(Staff, world.budi)
        budis = await candidate_counts(
            session, kelompok_scope(budi), today=TODAY, horizon_days=HORIZON, threshold=7.0
        )
    assert melati_only == {world.ani: (4, 1)}
    assert budis == {world.budi: (1, 0)}


async def test_alamiah_events_say_which_ended_and_which_end_soon(sessions) -> None:
    world = await graduation_world(sessions)
    k = world.kpm
    async with sessions() as session:
        events = await alamiah_events(session, None, today=TODAY, horizon_days=HORIZON)
        ani_only = await alamiah_events(
            session,
            kelompok_scope(await session.get(Staff, world.ani)),
            today=TODAY,
            horizon_days=HORIZON,
        )
    by_kpm = {e.kpm_id: (e.ended, e.end_date, e.pendamping_id) for e in events}
    soon = TODAY + timedelta(days=30)
    assert by_kpm == {
        k["Sri Wahyuni"]: (True, TODAY - timedelta(days=10), world.ani),
        k["Siti Rahayu"]: (False, soon, world.ani),
        k["Nur Hasanah"]: (False, soon, world.ani),
        k["Lestari Handayani"]: (False, TODAY + timedelta(days=HORIZON), world.ani),
        k["Rina Marlina"]: (False, soon, world.budi),
    }
    assert {e.kpm_id for e in ani_only} == set(by_kpm) - {k["Rina Marlina"]}


async def held(session: AsyncSession, kelompok_id: int, day: date) -> int:
    meeting = Meeting(
        kelompok_id=kelompok_id,
        meeting_date=day,
        starts_at=datetime.combine(day, datetime.min.time(), UTC),
        status=MeetingStatus.HELD,
    )
    session.add(meeting)
    await session.flush()
    return meeting.id


async def test_attendance_counts_the_last_six_held_meetings_only(sessions) -> None:
    world = await build_world(sessions)
    siti, sri = world.kpm["Siti Aminah"], world.kpm["Sri Wahyuni"]
    marks = ["alpa", "alpa", "hadir", "hadir", "izin", "hadir", "hadir", "hadir"]  # oldest first
    async with sessions.begin() as session:
        for months_ago, mark in zip(range(len(marks), 0, -1), marks, strict=True):
            meeting_id = await held(session, world.melati, TODAY - timedelta(days=30 * months_ago))
            session.add(Attendance(meeting_id=meeting_id, kpm_id=siti, mark=AttendanceMark(mark)))
        planned = Meeting(
            kelompok_id=world.melati,
            meeting_date=TODAY,
            starts_at=NOW,
            status=MeetingStatus.PLANNED,
        )
        session.add(planned)
        await session.flush()
        session.add(Attendance(meeting_id=planned.id, kpm_id=siti, mark=AttendanceMark.ALPA))
        only = await held(session, world.melati, TODAY - timedelta(days=3))
        session.add(Attendance(meeting_id=only, kpm_id=sri, mark=AttendanceMark.SAKIT))
    async with sessions() as session:
        tallies = await attendance_tallies(session, [siti, sri, world.kpm["Sumarni"]])
    # Siti's last six held: hadir, hadir, izin, hadir, hadir, hadir (the planned one is not)
    assert (tallies[siti].present, tallies[siti].recorded) == (5, 6)
    assert (tallies[sri].present, tallies[sri].recorded) == (0, 1)
    assert world.kpm["Sumarni"] not in tallies


async def test_an_assessment_is_saved_audited_only_in_scope(sessions) -> None:
    world = await build_world(sessions)
    new = NewAssessment(
        kpm_id=world.kpm["Siti Aminah"],
        checked=frozenset({"penghasilan_umk"}),
        keys=("penghasilan_umk", "bersedia"),
        present=2,
        recorded=3,
        score=4.33,
        threshold=7.0,
    )
    async with sessions.begin() as session:
        budi = await session.get(Staff, world.budi)
        with pytest.raises(OutOfScope):
            await save_assessment(session, budi, new, now=NOW)
    async with sessions.begin() as session:
        ani = await session.get(Staff, world.ani)
        saved = await save_assessment(session, ani, new, now=NOW)
    assert not saved.alert
    async with sessions() as session:
        latest = await latest_assessment(session, new.kpm_id)
        logged = await session.scalar(
            select(AuditLog).where(AuditLog.action == "graduation.assess")
        )
    assert latest is not None and latest.id == saved.id
    assert latest.indicators == {
        "penghasilan_umk": True,
        "bersedia": False,
        "_kehadiran": {"present": 2, "recorded": 3},
        "_butuh": [],
    }
    assert latest.checked == {"penghasilan_umk"} and latest.alerted_at is None
    assert logged.actor_staff_id == world.ani and logged.entity_id == new.kpm_id


async def test_a_family_whose_last_komponen_is_an_sma_child_graduates_at_the_21st_birthday(
    sessions,
) -> None:
    world = await build_world(sessions)
    siti, sri = world.kpm["Siti Rahayu"], world.kpm["Sri Wahyuni"]
    catalog = default_catalog()
    # Siti's child turns 21 within the horizon; Sri's turned 19 last month and stays
    # covered (up to 21, while not finished with school) until 2028.
    siti_child, sri_child = date(2006, 1, 10), date(2007, 10, 1)
    async with sessions.begin() as session:
        for kpm_id, born in ((siti, siti_child), (sri, sri_child)):
            end = catalog["anak_sma"].end_date(born)
            session.add(Komponen(kpm_id=kpm_id, type="anak_sma", birth_date=born, end_date=end))
    async with sessions() as session:
        events = await alamiah_events(session, None, today=TODAY, horizon_days=HORIZON)
        later = await alamiah_events(
            session, None, today=date(2028, 9, 1), horizon_days=HORIZON
        )
    assert [(e.kpm_id, e.end_date, e.ended) for e in events] == [
        (siti, date(2027, 1, 10), False)
    ]
    assert (sri, date(2028, 10, 1), False) in [(e.kpm_id, e.end_date, e.ended) for e in later]


async def test_end_dates_stored_under_older_rules_follow_the_configured_ones(sessions) -> None:
    world = await build_world(sessions)
    siti, sri = world.kpm["Siti Rahayu"], world.kpm["Sri Wahyuni"]
    catalog = default_catalog()
    async with sessions.begin() as session:
        session.add_all(
            [
                # Imported when anak SMA ended at 19: "ended" last month, wrongly.
                Komponen(kpm_id=siti, type="anak_sma", birth_date=date(2007, 10, 1),
                         end_date=date(2026, 10, 1)),
                # Born 29 February: the 21st birthday is taken as 28 February.
                Komponen(kpm_id=sri, type="anak_sma", birth_date=date(2008, 2, 29),
                         end_date=date(2027, 2, 28)),
                # A date given without a birth date is kept as given.
                Komponen(kpm_id=sri, type="anak_sd", birth_date=None, end_date=date(2027, 1, 1)),
            ]
        )
    async with sessions.begin() as session:
        assert await refresh_end_dates(session, catalog) == 2
    async with sessions.begin() as session:
        assert await refresh_end_dates(session, catalog) == 0  # nothing left to change
        rows = await session.execute(
            select(Komponen.kpm_id, Komponen.type, Komponen.end_date)
            .where(Komponen.kpm_id.in_([siti, sri]))
            .order_by(Komponen.id)
        )
        assert list(rows) == [
            (siti, "anak_sma", date(2028, 10, 1)),
            (sri, "anak_sma", date(2029, 2, 28)),
            (sri, "anak_sd", date(2027, 1, 1)),
        ]
        events = await alamiah_events(session, None, today=TODAY, horizon_days=HORIZON)
    assert events == []  # neither has ended, nor ends within the horizon
