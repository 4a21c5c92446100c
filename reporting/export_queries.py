"""The statements behind the exports, one per kind, and the conversion of their rows.

Every statement joins :func:`places` (the kelompok in scope with their region names,
pendamping and province time zone); timestamps are filtered on local dates through
:class:`Window` and shown as naive local datetimes by :func:`local`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, Subquery, and_, false, func, literal, or_, select
from sqlalchemy.orm import aliased

from models.tables import (
    Attendance,
    CaseNote,
    CommitmentCheck,
    GraduationAssessment,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Region,
    Staff,
)

Label = Callable[[str, object], str | None]  # (catalog prefix, stored value) -> label


def places(scope: Select[tuple[int]], region_id: int | None, default_timezone: str) -> Subquery:
    """The kelompok in scope (and region) with their region names, pendamping and zone."""
    desa, kec, kab, prov = (aliased(Region) for _ in range(4))
    pendamping = aliased(Staff)
    statement = (
        select(
            Kelompok.id.label("kelompok_id"),
            Kelompok.name.label("kelompok"),
            desa.name.label("desa"),
            kec.name.label("kecamatan"),
            kab.name.label("kabupaten"),
            pendamping.name.label("pendamping"),
            func.coalesce(prov.timezone, literal(default_timezone)).label("zone"),
        )
        .join(desa, Kelompok.desa_id == desa.id)
        .outerjoin(kec, desa.parent_id == kec.id)
        .outerjoin(kab, kec.parent_id == kab.id)
        .outerjoin(prov, kab.parent_id == prov.id)
        .outerjoin(pendamping, Kelompok.pendamping_id == pendamping.id)
        .where(Kelompok.id.in_(scope))
    )
    if region_id is not None:
        statement = statement.where(
            or_(
                desa.id == region_id, kec.id == region_id, kab.id == region_id, prov.id == region_id
            )
        )
    return statement.subquery("place")


@dataclass(frozen=True)
class Window:
    """The UTC bounds of the local period in each time zone that occurs in scope."""

    bounds: dict[str, tuple[datetime, datetime]]

    @classmethod
    def of(cls, start: date, end: date, zones: Sequence[str]) -> Window:
        def utc(day: date, zone: str) -> datetime:
            return datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)

        return cls({zone: (utc(start, zone), utc(end + timedelta(days=1), zone)) for zone in zones})

    def within(self, moment: Any, zone: Any) -> ColumnElement[bool]:
        """``moment`` falls on a local date of the period, in the row's own zone."""
        if not self.bounds:
            return false()
        return or_(
            *(
                and_(zone == name, moment >= low, moment < high)
                for name, (low, high) in self.bounds.items()
            )
        )

    def before_end(self, moment: Any, zone: Any) -> ColumnElement[bool]:
        if not self.bounds:
            return false()
        return or_(*(and_(zone == name, moment < high) for name, (_, high) in self.bounds.items()))


def local(moment: datetime | None, zone: str) -> datetime | None:
    """A UTC timestamp as a naive local datetime, for a spreadsheet cell."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def attendance(place: Subquery, start: date, end: date, window: Window) -> Select[Any]:
    return (
        select(
            Meeting.meeting_date,
            place.c.kelompok,
            place.c.desa,
            place.c.kecamatan,
            place.c.kabupaten,
            place.c.pendamping,
            Kpm.id_pkh,
            Kpm.nama_pengurus,
            Attendance.mark,
            Attendance.note,
            Meeting.modul,
            Meeting.sesi,
            Attendance.recorded_at,
            Meeting.facilitator,
            place.c.zone,
        )
        .select_from(Attendance)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(place, place.c.kelompok_id == Meeting.kelompok_id)
        .join(Kpm, Kpm.id == Attendance.kpm_id)
        .where(Meeting.meeting_date.between(start, end))
        .order_by(Meeting.meeting_date, place.c.kelompok, Meeting.id, Kpm.nama_pengurus, Kpm.id)
    )


def attendance_row(row: Sequence[Any], label: Label) -> tuple[object, ...]:
    *values, mark, note, modul, sesi, recorded_at, facilitator, zone = row
    return (
        *values,
        label("export.mark", mark),
        note,
        modul,
        sesi,
        local(recorded_at, zone),
        label("export.facilitator", facilitator),
    )


def cases(place: Subquery, start: date, end: date, window: Window) -> Select[Any]:
    return (
        select(
            CaseNote.id,
            CaseNote.created_at,
            Kpm.id_pkh,
            Kpm.nama_pengurus,
            place.c.kelompok,
            place.c.pendamping,
            CaseNote.category,
            CaseNote.severity,
            CaseNote.status,
            CaseNote.follow_up_date,
            CaseNote.closed_at,
            CaseNote.description,
            place.c.zone,
        )
        .select_from(CaseNote)
        .join(Kpm, Kpm.id == CaseNote.kpm_id)
        .join(place, place.c.kelompok_id == Kpm.kelompok_id)
        .where(window.within(CaseNote.created_at, place.c.zone))
        .order_by(CaseNote.created_at, CaseNote.id)
    )


def case_row(row: Sequence[Any], label: Label) -> tuple[object, ...]:
    (
        case_id,
        opened,
        id_pkh,
        name,
        kelompok,
        pendamping,
        category,
        severity,
        status,
        follow_up,
        closed,
        description,
        zone,
    ) = row
    return (
        case_id,
        local(opened, zone),
        id_pkh,
        name,
        kelompok,
        pendamping,
        label("case.category", category),
        label("case.severity", severity),
        label("export.case_status", status),
        follow_up,
        local(closed, zone),
        description,
    )


def graduation(place: Subquery, start: date, end: date, window: Window) -> Select[Any]:
    """KPM graduated in the period, assessed in it, or whose last komponen ends in it;
    with the latest assessment made before the period's end."""
    last_end = (
        select(Komponen.kpm_id, func.max(Komponen.end_date).label("last_end"))
        .group_by(Komponen.kpm_id)
        .subquery("last_end")
    )
    assessed = (
        select(
            GraduationAssessment.kpm_id,
            GraduationAssessment.score,
            GraduationAssessment.threshold,
            GraduationAssessment.assessed_at,
            func.row_number()
            .over(
                partition_by=GraduationAssessment.kpm_id,
                order_by=(GraduationAssessment.assessed_at.desc(), GraduationAssessment.id.desc()),
            )
            .label("rank"),
        )
        .join(Kpm, Kpm.id == GraduationAssessment.kpm_id)
        .join(place, place.c.kelompok_id == Kpm.kelompok_id)
        .where(window.before_end(GraduationAssessment.assessed_at, place.c.zone))
        .subquery("assessed")
    )
    return (
        select(
            Kpm.id_pkh,
            Kpm.nama_pengurus,
            place.c.kelompok,
            place.c.pendamping,
            Kpm.status,
            Kpm.graduated_on,
            last_end.c.last_end,
            assessed.c.score,
            assessed.c.threshold,
            assessed.c.assessed_at,
            place.c.zone,
        )
        .select_from(Kpm)
        .join(place, place.c.kelompok_id == Kpm.kelompok_id)
        .outerjoin(last_end, last_end.c.kpm_id == Kpm.id)
        .outerjoin(assessed, and_(assessed.c.kpm_id == Kpm.id, assessed.c.rank == 1))
        .where(
            or_(
                Kpm.graduated_on.between(start, end),
                last_end.c.last_end.between(start, end),
                # the latest assessment before the end is in the period iff any one is
                window.within(assessed.c.assessed_at, place.c.zone),
            )
        )
        .order_by(place.c.kelompok, Kpm.nama_pengurus, Kpm.id)
    )


def graduation_row(row: Sequence[Any], label: Label) -> tuple[object, ...]:
    (
        id_pkh,
        name,
        kelompok,
        pendamping,
        status,
        graduated_on,
        last_end,
        score,
        threshold,
        assessed_at,
        zone,
    ) = row
    return (
        id_pkh,
        name,
        kelompok,
        pendamping,
        label("export.kpm_status", status),
        graduated_on,
        last_end,
        score,
        threshold,
        local(assessed_at, zone),
    )


def commitments(place: Subquery, start: date, end: date, window: Window) -> Select[Any]:
    """Commitment checks of the verification periods starting from ``start`` (the first
    day of the period holding the range's first day) to ``end``."""
    recorder = aliased(Staff)
    return (
        select(
            CommitmentCheck.period_start,
            place.c.kelompok,
            place.c.pendamping,
            Kpm.nama_pengurus,
            Kpm.id_pkh,
            Komponen.type,
            Komponen.birth_date,
            CommitmentCheck.commitment,
            CommitmentCheck.result,
            CommitmentCheck.reason,
            recorder.name,
            CommitmentCheck.recorded_at,
            place.c.zone,
        )
        .select_from(CommitmentCheck)
        .join(Kpm, Kpm.id == CommitmentCheck.kpm_id)
        .join(place, place.c.kelompok_id == Kpm.kelompok_id)
        .join(Komponen, Komponen.id == CommitmentCheck.komponen_id)
        .outerjoin(recorder, recorder.id == CommitmentCheck.recorded_by_id)
        .where(CommitmentCheck.period_start.between(start, end))
        .order_by(
            CommitmentCheck.period_start,
            place.c.kelompok,
            Kpm.nama_pengurus,
            Kpm.id,
            Komponen.id,
            CommitmentCheck.commitment,
        )
    )


def commitment_row(row: Sequence[Any], label: Label) -> tuple[object, ...]:
    (
        period_start,
        kelompok,
        pendamping,
        name,
        id_pkh,
        komponen,
        birth_date,
        commitment,
        result,
        reason,
        recorder,
        recorded_at,
        zone,
    ) = row
    return (
        label("commitment_period", period_start),
        kelompok,
        pendamping,
        name,
        id_pkh,
        label("komponen", komponen),
        birth_date,
        label("commitment", commitment),
        label("export.commitment_result", result),
        label("commitment_reason", reason),
        recorder,
        local(recorded_at, zone),
    )
