"""Absence streaks: KPM whose most recent recorded meetings were all missed.

A streak is counted over a KPM's own attendance records in held meetings: the absences
after their last *hadir*; a KPM moved to another kelompok keeps the history of the old
one. Izin, sakit and alpa all count as absent: the pendamping follows up each. One
statement, whatever the number of KPM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.sql import unindexed
from models.enums import AttendanceMark, KpmStatus, MeetingStatus
from models.tables import Attendance, Kelompok, Kpm, Meeting


@dataclass(frozen=True)
class AbsenceStreak:
    kpm_id: int
    name: str
    kelompok_id: int | None
    kelompok: str | None
    pendamping_id: int | None
    streak: int  # consecutive most recent meetings missed
    since: date | None  # the day of the last hadir before it (None: never): names the
    # streak, which keeps its name as it grows and gets a new one only after a hadir
    last_meeting_date: date


def streaks_statement(
    kelompok_ids: Select[tuple[int]] | None, *, min_streak: int, until: date | None = None
) -> Select[tuple[int, int, int, date]]:
    """(kpm_id, streak, since, last_meeting_date) for active KPM whose
    current kelompok is in scope (all when ``kelompok_ids`` is None), counting
    meetings up to ``until`` (inclusive).

    A streak is the absences after the KPM's last *hadir*: two plain aggregates (the last
    day present, then the absences after it), which every database runs in one pass over
    the rows, cheaper than numbering each KPM's meetings with a window function. In a
    scope (the digest's region) one pass is cheaper still: each KPM's last day present
    by a window function over their own marks, which the scope keeps few."""
    if kelompok_ids is not None:
        return _scoped_streaks(kelompok_ids, min_streak=min_streak, until=until)

    def marks() -> Select[tuple[int]]:
        query = (
            select(Attendance.kpm_id)
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .join(Kpm, Kpm.id == Attendance.kpm_id)
            .where(unindexed(Meeting.status) == MeetingStatus.HELD, Kpm.status == KpmStatus.AKTIF)
        )
        if kelompok_ids is not None:
            query = query.where(Kpm.kelompok_id.in_(kelompok_ids))
        if until is not None:
            query = query.where(Meeting.meeting_date <= until)
        return query

    last_present = (
        marks()
        .add_columns(func.max(Meeting.meeting_date).label("day"))
        .where(Attendance.mark == AttendanceMark.HADIR)
        .group_by(Attendance.kpm_id)
        .subquery("last_present")
    )
    return (
        marks()
        .add_columns(
            func.count().label("streak"),
            func.max(last_present.c.day).label("since"),
            func.max(Meeting.meeting_date).label("last_meeting_date"),
        )
        .outerjoin(last_present, last_present.c.kpm_id == Attendance.kpm_id)
        .where(
            Attendance.mark != AttendanceMark.HADIR,
            or_(last_present.c.day.is_(None), Meeting.meeting_date > last_present.c.day),
        )
        .group_by(Attendance.kpm_id)
        .having(func.count() >= min_streak)
    )


def _scoped_streaks(
    kelompok_ids: Select[tuple[int]], *, min_streak: int, until: date | None
) -> Select[tuple[int, int, int, date]]:
    """:func:`streaks_statement` for the KPM of ``kelompok_ids``, reading their marks once:
    each mark with the KPM's last day present (a window over the KPM's marks), then the
    absences after that day counted. Two plain aggregates read the marks twice, which
    costs more when the marks are looked up KPM by KPM (a region's, not the whole
    table)."""
    query = (
        select(
            Attendance.kpm_id.label("kpm_id"),
            Attendance.mark.label("mark"),
            Meeting.meeting_date.label("day"),
            func.max(case((Attendance.mark == AttendanceMark.HADIR, Meeting.meeting_date)))
            .over(partition_by=Attendance.kpm_id)
            .label("present"),
        )
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(Kpm, Kpm.id == Attendance.kpm_id)
        .where(
            unindexed(Meeting.status) == MeetingStatus.HELD,
            Kpm.status == KpmStatus.AKTIF,
            Kpm.kelompok_id.in_(kelompok_ids),
        )
    )
    if until is not None:
        query = query.where(Meeting.meeting_date <= until)
    marks = query.subquery("marks")
    return (
        select(
            marks.c.kpm_id,
            func.count().label("streak"),
            func.max(marks.c.present).label("since"),
            func.max(marks.c.day).label("last_meeting_date"),
        )
        .where(
            marks.c.mark != AttendanceMark.HADIR,
            or_(marks.c.present.is_(None), marks.c.day > marks.c.present),
        )
        .group_by(marks.c.kpm_id)
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
            streaks.c.since,
            streaks.c.last_meeting_date,
        )
        .join(Kpm, Kpm.id == streaks.c.kpm_id)
        .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .order_by(streaks.c.streak.desc(), Kelompok.name, Kpm.nama_pengurus, Kpm.id)
    )
    return [AbsenceStreak(*row) for row in rows]
