"""Absence streaks: KPM whose most recent recorded meetings were all missed.

A streak is counted over a KPM's own attendance records in held meetings, newest first,
up to the first *hadir*; a KPM moved to another kelompok keeps the history of the old
one. Izin, sakit and alpa all count as absent: the pendamping follows up each. One
statement with window functions, whatever the number of KPM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import (
    Attendance,
    AttendanceMark,
    Kelompok,
    Kpm,
    KpmStatus,
    Meeting,
    MeetingStatus,
)


@dataclass(frozen=True)
class AbsenceStreak:
    kpm_id: int
    name: str
    kelompok_id: int | None
    kelompok: str | None
    pendamping_id: int | None
    streak: int  # consecutive most recent meetings missed
    first_meeting_id: int  # the first missed meeting of this streak: names the streak
    last_meeting_date: date


def streaks_statement(
    kelompok_ids: Select[tuple[int]] | None, *, min_streak: int, until: date | None = None
) -> Select[tuple[int, int, int, date]]:
    """(kpm_id, streak, first_meeting_id, last_meeting_date) for active KPM whose
    current kelompok is in scope (all when ``kelompok_ids`` is None), counting
    meetings up to ``until`` (inclusive)."""
    newest_first = (Meeting.meeting_date.desc(), Meeting.id.desc())
    present = case((Attendance.mark == AttendanceMark.HADIR, 1), else_=0)
    recent = (
        select(
            Attendance.kpm_id,
            Attendance.meeting_id,
            Meeting.meeting_date,
            func.sum(present)
            .over(partition_by=Attendance.kpm_id, order_by=newest_first, rows=(None, 0))
            .label("present_since"),
        )
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(Kpm, Kpm.id == Attendance.kpm_id)
        .where(Meeting.status == MeetingStatus.HELD, Kpm.status == KpmStatus.AKTIF)
    )
    if kelompok_ids is not None:
        recent = recent.where(Kpm.kelompok_id.in_(kelompok_ids))
    if until is not None:
        recent = recent.where(Meeting.meeting_date <= until)
    recent_cte = recent.cte("recent")
    missed = (
        select(
            recent_cte.c.kpm_id,
            recent_cte.c.meeting_date,
            func.first_value(recent_cte.c.meeting_id)
            .over(
                partition_by=recent_cte.c.kpm_id,
                order_by=(recent_cte.c.meeting_date, recent_cte.c.meeting_id),
            )
            .label("first_meeting_id"),
        )
        .where(recent_cte.c.present_since == 0)
        .cte("missed")
    )
    return (
        select(
            missed.c.kpm_id,
            func.count().label("streak"),
            func.max(missed.c.first_meeting_id).label("first_meeting_id"),
            func.max(missed.c.meeting_date).label("last_meeting_date"),
        )
        .group_by(missed.c.kpm_id)
        .having(func.count() >= min_streak)
    )


async def absence_streaks(
    session: AsyncSession,
    kelompok_ids: Select[tuple[int]] | None,
    *,
    min_streak: int,
    until: date | None = None,
) -> list[AbsenceStreak]:
    """Active KPM in scope absent at least ``min_streak`` meetings in a row, longest
    streak first, then by kelompok and name."""
    streaks = streaks_statement(kelompok_ids, min_streak=min_streak, until=until).subquery()
    rows = await session.execute(
        select(
            streaks.c.kpm_id,
            Kpm.nama_pengurus,
            Kpm.kelompok_id,
            Kelompok.name,
            Kelompok.pendamping_id,
            streaks.c.streak,
            streaks.c.first_meeting_id,
            streaks.c.last_meeting_date,
        )
        .join(Kpm, Kpm.id == streaks.c.kpm_id)
        .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .order_by(streaks.c.streak.desc(), Kelompok.name, Kpm.nama_pengurus, Kpm.id)
    )
    return [AbsenceStreak(*row) for row in rows]
