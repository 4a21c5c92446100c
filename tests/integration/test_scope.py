"""Scope rules at the model layer, below the chat: writes outside one's groups are refused."""

from __future__ import annotations

from datetime import date

import pytest

from models.attendance import (
    AttendanceRecord,
    groups_for,
    meeting_with_marks,
    save_attendance,
)
from models.cases import NewCase, open_case
from models.enums import CaseSeverity
from models.scope import OutOfScope
from models.tables import Staff
from tests.world import NOW, TODAY, World, build_world


def _melati_record(
    world: World, marks: dict[int, str], *, meeting_id: int | None = None, sesi: int = 1
) -> AttendanceRecord:
    """Attendance for Kelompok Melati (Ani's group): a new meeting on 20 November unless
    one is named (today's), modul 1."""
    return AttendanceRecord(
        kelompok_id=world.melati,
        meeting_id=meeting_id,
        meeting_date=TODAY if meeting_id else date(2026, 11, 20),
        modul=1,
        sesi=sesi,
        marks=marks,
    )


async def test_attendance_for_another_pendamping_s_group_is_refused(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        budi = await session.get(Staff, world.budi)
        record = _melati_record(world, {world.kpm["Siti Aminah"]: "hadir"})
        with pytest.raises(OutOfScope):
            await save_attendance(session, budi, record, now=NOW)


async def test_a_meeting_is_read_only_with_its_own_group(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        ani = await session.get(Staff, world.ani)
        record = _melati_record(
            world, {world.kpm["Siti Aminah"]: "sakit"}, meeting_id=world.melati_today, sesi=2
        )
        await save_attendance(session, ani, record, now=NOW)
    async with sessions() as session:
        assert await meeting_with_marks(session, world.kenanga, world.melati_today) is None
        found = await meeting_with_marks(session, world.melati, world.melati_today)
    assert found is not None
    meeting, marks = found
    assert meeting.recorded and meeting.sesi == 2
    assert marks == {world.kpm["Siti Aminah"]: "sakit"}


async def test_marks_for_kpm_outside_the_group_are_refused(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        ani = await session.get(Staff, world.ani)
        record = _melati_record(world, {world.kpm["Siti Budiarti"]: "hadir"})
        with pytest.raises(OutOfScope):
            await save_attendance(session, ani, record, now=NOW)


async def test_a_case_on_another_pendamping_s_kpm_is_refused(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        budi = await session.get(Staff, world.budi)
        new = NewCase(
            kpm_id=world.kpm["Siti Aminah"],
            category="lainnya",
            description="x",
            severity=CaseSeverity.BIASA,
            follow_up_date=None,
        )
        with pytest.raises(OutOfScope):
            await open_case(session, budi, new, now=NOW)


async def test_each_role_sees_its_own_groups(sessions) -> None:
    world = await build_world(sessions)
    async with sessions() as session:
        ani = await session.get(Staff, world.ani)
        budi = await session.get(Staff, world.budi)
        dewi = await session.get(Staff, world.dewi)
        assert [g.name for g in await groups_for(session, ani, TODAY)] == [
            "Kelompok Mawar",
            "Kelompok Melati",
        ]
        assert [g.name for g in await groups_for(session, budi, TODAY)] == ["Kelompok Kenanga"]
        assert len(await groups_for(session, dewi, TODAY)) == 3
        melati = next(g for g in await groups_for(session, ani, TODAY) if "Melati" in g.name)
        assert melati.members == 12 and melati.meeting_today_id == world.melati_today
