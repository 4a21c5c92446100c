"""Graduation: who is siap for graduasi mandiri and who is near or past their last
komponen (graduasi alamiah).

The score is a pure function of the indicators the pendamping ticked, their configured
weights and the KPM's attendance over their last six meetings (:mod:`models.rules.
graduation`); siap also needs every gate met and no complementary programme needed
(:mod:`models.bansos`). The queries are set-based: one statement for any number of KPM,
never a query per KPM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.bansos import needing
from models.enums import AttendanceMark, KpmStatus, MeetingStatus
from models.rules.graduation import DEFAULT_PROGRAMMES, AttendanceTally
from models.tables import (
    Attendance,
    GraduationAssessment,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Staff,
)

ATTENDANCE_MEETINGS = 6
"""How many of a KPM's most recent held meetings count towards the score."""


async def attendance_tallies(
    session: AsyncSession, kpm_ids: Iterable[int], meetings: int = ATTENDANCE_MEETINGS
) -> dict[int, AttendanceTally]:
    """Each KPM's marks over their last ``meetings`` held meetings, in one statement.
    KPM without any recorded mark are absent from the result."""
    wanted = sorted(set(kpm_ids))
    if not wanted:
        return {}
    ranked = (
        select(
            Attendance.kpm_id.label("kpm_id"),
            Attendance.mark.label("mark"),
            func.row_number()
            .over(
                partition_by=Attendance.kpm_id,
                order_by=(Meeting.meeting_date.desc(), Meeting.id.desc()),
            )
            .label("rank"),
        )
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .where(Meeting.status == MeetingStatus.HELD, Attendance.kpm_id.in_(wanted))
        .subquery()
    )
    rows = await session.execute(
        select(
            ranked.c.kpm_id,
            func.sum(case((ranked.c.mark == AttendanceMark.HADIR, 1), else_=0)),
            func.count(),
        )
        .where(ranked.c.rank <= meetings)
        .group_by(ranked.c.kpm_id)
    )
    return {
        kpm_id: AttendanceTally(present=int(present), recorded=int(recorded))
        for kpm_id, present, recorded in rows
    }


def _last_komponen_end(kpm_ids: Select[tuple[int]] | None = None) -> Any:
    """Each KPM's last komponen end date (of the KPM in ``kpm_ids``, or all); KPM with a
    komponen without one are left out."""
    query = (
        select(Komponen.kpm_id.label("kpm_id"), func.max(Komponen.end_date).label("last_end"))
        .group_by(Komponen.kpm_id)
        .having(func.count(Komponen.id) == func.count(Komponen.end_date))
    )
    if kpm_ids is not None:
        query = query.where(Komponen.kpm_id.in_(kpm_ids))
    return query.subquery()


@dataclass(frozen=True)
class AlamiahEvent:
    """An active KPM whose last komponen ends soon (``ended`` False) or has ended."""

    kpm_id: int
    name: str
    kelompok_id: int
    kelompok: str
    pendamping_id: int | None
    end_date: date
    ended: bool


async def alamiah_events(
    session: AsyncSession,
    kelompok_ids: Select[tuple[int]] | None,
    *,
    today: date,
    horizon_days: int,
) -> list[AlamiahEvent]:
    """Active KPM (in the kelompok scope, or all) whose last komponen ends within
    ``[today, today + horizon_days]`` or ended before ``today``."""
    last = _last_komponen_end()
    query = (
        select(
            Kpm.id,
            Kpm.nama_pengurus,
            Kelompok.id,
            Kelompok.name,
            Kelompok.pendamping_id,
            last.c.last_end,
        )
        .join(last, last.c.kpm_id == Kpm.id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(
            Kpm.status == KpmStatus.AKTIF,
            last.c.last_end <= today + timedelta(days=horizon_days),
        )
        .order_by(Kelompok.pendamping_id, last.c.last_end, Kpm.id)
    )
    if kelompok_ids is not None:
        query = query.where(Kpm.kelompok_id.in_(kelompok_ids))
    rows = await session.execute(query)
    return [
        AlamiahEvent(kpm_id, name, kelompok_id, kelompok, pendamping_id, end, end < today)
        for kpm_id, name, kelompok_id, kelompok, pendamping_id, end in rows
    ]


def latest_assessments(kpm_ids: Select[tuple[int]] | None = None) -> Any:
    """Each KPM's latest assessment (by time, then id) as a subquery (of the KPM in
    ``kpm_ids``, or all)."""
    ranked = select(
        GraduationAssessment.kpm_id.label("kpm_id"),
        GraduationAssessment.score.label("score"),
        GraduationAssessment.threshold.label("threshold"),
        GraduationAssessment.gates_met.label("gates_met"),
        func.row_number()
        .over(
            partition_by=GraduationAssessment.kpm_id,
            order_by=(GraduationAssessment.assessed_at.desc(), GraduationAssessment.id.desc()),
        )
        .label("rank"),
    )
    if kpm_ids is not None:
        ranked = ranked.where(GraduationAssessment.kpm_id.in_(kpm_ids))
    ranked_rows = ranked.subquery()
    return (
        select(
            ranked_rows.c.kpm_id,
            ranked_rows.c.score,
            ranked_rows.c.threshold,
            ranked_rows.c.gates_met,
        )
        .where(ranked_rows.c.rank == 1)
        .subquery()
    )


DEFAULT_PROGRAMME_KEYS = tuple(programme.key for programme in DEFAULT_PROGRAMMES)


def _candidate_parts(
    kelompok_ids: Select[tuple[int]],
    *,
    today: date,
    horizon_days: int,
    programmes: Sequence[str],
) -> tuple[Any, Any, Any, ColumnElement[bool], ColumnElement[bool]]:
    """What :func:`candidate_counts` and :func:`candidate_list` join (each active KPM's
    last komponen end, latest assessment and programme needs, of the KPM in scope only)
    and their two conditions: alamiah, and mandiri (siap, and not alamiah)."""
    # Komponen and assessments of the KPM in scope only, not of the whole table.
    in_scope = _active_in(kelompok_ids)
    last = _last_komponen_end(in_scope)
    latest = latest_assessments(in_scope)
    needy = needing(programmes, in_scope).subquery()
    alamiah = and_(
        last.c.last_end.is_not(None),
        last.c.last_end <= today + timedelta(days=horizon_days),
    )
    mandiri = _mandiri(alamiah, latest, needy)
    return last, latest, needy, alamiah, mandiri


async def candidate_counts(
    session: AsyncSession,
    kelompok_ids: Select[tuple[int]],
    *,
    today: date,
    horizon_days: int,
    threshold: float,
    programmes: Sequence[str] = DEFAULT_PROGRAMME_KEYS,
) -> dict[int, tuple[int, int]]:
    """pendamping id → (graduasi alamiah candidates, graduasi mandiri candidates) among
    the active KPM of the kelompok in scope, in one statement.

    Alamiah: the last komponen ends by ``today + horizon_days`` (or has ended), as in
    :func:`alamiah_events`. Mandiri: siap, that is the latest assessment's score reaches
    the threshold stored with it (the one its alert was judged by) and it met every gate,
    and the family needs none of ``programmes`` (the configured complementary
    programmes) now; so the digest and the alerts agree. ``threshold`` (the configured
    one) is accepted for the digest's call but not used. A KPM counted as alamiah is not
    counted again as mandiri. Pendamping with active KPM in scope but no candidates map
    to ``(0, 0)``.
    """
    # Each active KPM of a kelompok in scope with its komponen folded (the conditions of
    # :func:`_last_komponen_end`), read from the kelompok in scope: the planner walks the
    # scope's kelompok, their KPM and their komponen, whatever the size of the tables.
    members = (
        select(
            Kpm.id.label("kpm_id"),
            Kelompok.pendamping_id.label("pendamping_id"),
            func.max(Komponen.end_date).label("last_end"),
            func.count(Komponen.id).label("komponen"),
            func.count(Komponen.end_date).label("ending"),
        )
        .select_from(Kelompok)
        .join(Kpm, Kpm.kelompok_id == Kelompok.id)
        .outerjoin(Komponen, Komponen.kpm_id == Kpm.id)
        .where(
            Kpm.status == KpmStatus.AKTIF,
            Kelompok.id.in_(kelompok_ids),
            Kelompok.pendamping_id.is_not(None),
        )
        .group_by(Kpm.id, Kelompok.pendamping_id)
        .subquery("members")
    )
    in_scope = _active_in(kelompok_ids)
    latest = latest_assessments(in_scope)
    needy = needing(programmes, in_scope).subquery()
    alamiah = and_(
        members.c.komponen == members.c.ending,
        members.c.last_end.is_not(None),
        members.c.last_end <= today + timedelta(days=horizon_days),
    )
    mandiri = _mandiri(alamiah, latest, needy)
    rows = await session.execute(
        select(
            members.c.pendamping_id,
            func.sum(case((alamiah, 1), else_=0)),
            func.sum(case((mandiri, 1), else_=0)),
        )
        .select_from(members)
        .outerjoin(latest, latest.c.kpm_id == members.c.kpm_id)
        .outerjoin(needy, needy.c.kpm_id == members.c.kpm_id)
        .group_by(members.c.pendamping_id)
    )
    return {
        pendamping_id: (int(alamiah_n or 0), int(mandiri_n or 0))
        for pendamping_id, alamiah_n, mandiri_n in rows
    }


@dataclass(frozen=True)
class PipelineRow:
    """An active KPM in the graduation pipeline: its last komponen end (alamiah) or its
    latest assessment (mandiri)."""

    kpm_id: int
    name: str
    id_pkh: str
    kelompok: str
    pendamping: str | None
    last_end: date | None
    score: float | None
    threshold: float | None
    gates_met: bool
    needs_programmes: bool
    siap: bool  # a graduasi mandiri candidate as the digest counts it


async def graduation_pipeline(
    session: AsyncSession,
    kelompok_ids: Select[tuple[int]],
    *,
    alamiah: bool,
    today: date,
    horizon_days: int,
    programmes: Sequence[str] = DEFAULT_PROGRAMME_KEYS,
    pendamping_id: int | None = None,
    limit: int,
    offset: int,
) -> tuple[list[PipelineRow], int]:
    """One page of the pipeline and how many are in it, with :func:`candidate_counts`'
    conditions: ``alamiah`` the alamiah candidates by their last komponen end; else the
    active KPM assessed for graduasi mandiri (not alamiah), siap first, then by how near
    their score is to its threshold. Only kelompok with a pendamping, as the digest."""
    last, latest, needy, is_alamiah, is_mandiri = _candidate_parts(
        kelompok_ids, today=today, horizon_days=horizon_days, programmes=programmes
    )
    where = [
        Kpm.status == KpmStatus.AKTIF,
        Kpm.kelompok_id.in_(kelompok_ids),
        Kelompok.pendamping_id.is_not(None),
        is_alamiah if alamiah else and_(~is_alamiah, latest.c.score.is_not(None)),
    ]
    if pendamping_id is not None:
        where.append(Kelompok.pendamping_id == pendamping_id)
    order = (
        (last.c.last_end, Kpm.nama_pengurus, Kpm.id)
        if alamiah
        else (
            case((is_mandiri, 0), else_=1),
            (latest.c.score - latest.c.threshold).desc(),
            Kpm.nama_pengurus,
            Kpm.id,
        )
    )

    def joined(query: Select[Any]) -> Select[Any]:
        return (
            query.select_from(Kpm)
            .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
            .outerjoin(last, last.c.kpm_id == Kpm.id)
            .outerjoin(latest, latest.c.kpm_id == Kpm.id)
            .outerjoin(needy, needy.c.kpm_id == Kpm.id)
            .where(*where)
        )

    total = await session.scalar(joined(select(func.count())))
    rows = await session.execute(
        joined(
            select(
                Kpm.id,
                Kpm.nama_pengurus,
                Kpm.id_pkh,
                Kelompok.name,
                Staff.name,
                last.c.last_end,
                latest.c.score,
                latest.c.threshold,
                latest.c.gates_met,
                needy.c.kpm_id.is_not(None),
                is_mandiri,
            )
        )
        .outerjoin(Staff, Staff.id == Kelompok.pendamping_id)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    )
    return (
        [
            PipelineRow(
                kpm_id, name, id_pkh, kelompok, pendamping, last_end, score, threshold,
                bool(gates), bool(needs), bool(siap),
            )
            for (
                kpm_id, name, id_pkh, kelompok, pendamping, last_end, score, threshold,
                gates, needs, siap,
            ) in rows
        ],
        int(total or 0),
    )


def _active_in(kelompok_ids: Select[tuple[int]]) -> Select[tuple[int]]:
    """The active KPM of the kelompok in scope (their komponen and assessments only are
    read, not the whole table's)."""
    return select(Kpm.id).where(Kpm.status == KpmStatus.AKTIF, Kpm.kelompok_id.in_(kelompok_ids))


def _mandiri(alamiah: ColumnElement[bool], latest: Any, needy: Any) -> ColumnElement[bool]:
    """Ready to leave by their own means: assessed siap, all gates met, needing no
    complementary programme, and not leaving naturally (alamiah) already."""
    return and_(
        ~alamiah,
        latest.c.score.is_not(None),
        latest.c.score >= latest.c.threshold,
        latest.c.gates_met,
        needy.c.kpm_id.is_(None),
    )
