"""Groups in a staff member's scope, their meetings and members, and saving attendance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Insert, Select, Update, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.audit import audit
from models.regions import kelompok_timezones
from models.statements import as_core, compiled_once, upsert_insert
from models.tables import (
    Attendance,
    AttendanceMark,
    Kelompok,
    Kpm,
    KpmStatus,
    MediaAttachment,
    Meeting,
    MeetingStatus,
    Region,
    Staff,
    StaffRole,
)
from models.text import name_key

DEFAULT_MEETING_TIME = time(9, 0)


class OutOfScope(PermissionError):
    """A record that exists but is not this staff member's to see or change."""


@cache
def _scope_of(role: StaffRole, regional: bool) -> Select[tuple[int]]:
    """:func:`kelompok_scope` built once per kind of staff, with the staff member's id
    and region as parameters (``scope_staff``, ``scope_region``): see :func:`scope_params`."""
    staff_id, region = bindparam("scope_staff"), bindparam("scope_region")
    if role is StaffRole.PENDAMPING:
        return select(Kelompok.id).where(Kelompok.pendamping_id == staff_id)
    if role is StaffRole.SUPERVISOR:
        return (
            select(Kelompok.id)
            .join(Staff, Kelompok.pendamping_id == Staff.id)
            .where(Staff.supervisor_id == staff_id)
        )
    if not regional:
        return select(Kelompok.id) if role is StaffRole.ADMIN else select(Kelompok.id).where(False)
    desa, kec, kab = aliased(Region), aliased(Region), aliased(Region)
    return (
        select(Kelompok.id)
        .join(desa, Kelompok.desa_id == desa.id)
        .join(kec, desa.parent_id == kec.id)
        .join(kab, kec.parent_id == kab.id)
        .where(or_(desa.id == region, kec.id == region, kab.id == region, kab.parent_id == region))
    )


def _scope_key(staff: Staff) -> tuple[StaffRole, bool]:
    return staff.role, staff.region_id is not None


def scope_params(staff: Staff) -> dict[str, Any]:
    return {"scope_staff": staff.id, "scope_region": staff.region_id}


def kelompok_scope(staff: Staff) -> Select[tuple[int]]:
    """The ids of the kelompok a staff member may see: their own, their pendamping's,
    or those in the region they coordinate (a subquery with the values filled in)."""
    return _scope_of(*_scope_key(staff)).params(scope_params(staff))


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    desa: str
    members: int
    meeting_today_id: int | None


@cache
def _groups(role: StaffRole, regional: bool) -> Select[Any]:
    members = (
        select(Kpm.kelompok_id, func.count().label("n"))
        .where(Kpm.status == KpmStatus.AKTIF)
        .group_by(Kpm.kelompok_id)
        .subquery()
    )
    today_meeting = (
        select(Meeting.kelompok_id, func.min(Meeting.id).label("meeting_id"))
        .where(
            Meeting.meeting_date == bindparam("today"),
            Meeting.status != MeetingStatus.CANCELLED,
        )
        .group_by(Meeting.kelompok_id)
        .subquery()
    )
    return as_core(
        select(
            Kelompok.id,
            Kelompok.name,
            Region.name,
            func.coalesce(members.c.n, 0),
            today_meeting.c.meeting_id,
        )
        .join(Region, Region.id == Kelompok.desa_id)
        .outerjoin(members, members.c.kelompok_id == Kelompok.id)
        .outerjoin(today_meeting, today_meeting.c.kelompok_id == Kelompok.id)
        .where(Kelompok.id.in_(_scope_of(role, regional)))
        .order_by(Kelompok.name_key, Kelompok.id)
    )


async def groups_for(session: AsyncSession, staff: Staff, today: date) -> list[GroupRow]:
    """The staff member's kelompok with member counts and today's planned meeting."""
    rows = await session.execute(
        _groups(*_scope_key(staff)), {"today": today, **scope_params(staff)}
    )
    return [GroupRow(*row) for row in rows]


@cache
def _group_in_scope(role: StaffRole, regional: bool) -> Select[tuple[Kelompok]]:
    return select(Kelompok).where(
        Kelompok.id == bindparam("kelompok_id"), Kelompok.id.in_(_scope_of(role, regional))
    )


async def group_in_scope(session: AsyncSession, staff: Staff, kelompok_id: int) -> Kelompok:
    kelompok = await session.scalar(
        _group_in_scope(*_scope_key(staff)), {"kelompok_id": kelompok_id, **scope_params(staff)}
    )
    if kelompok is None:
        raise OutOfScope(f"kelompok {kelompok_id}")
    return kelompok


@cache
def _group_to_save(role: StaffRole, regional: bool) -> Select[Any]:
    """What saving attendance reads of the kelompok, with its active members: a row per
    member (one with no member when it has none), none when the kelompok is out of scope.
    Core columns: the ORM entity of :func:`group_in_scope` cost more to load than the
    query, and the members came in a round trip of their own."""
    return as_core(
        select(Kelompok.id, Kelompok.rule_time, Kelompok.place, Kpm.id)
        .outerjoin(Kpm, (Kpm.kelompok_id == Kelompok.id) & (Kpm.status == KpmStatus.AKTIF))
        .where(Kelompok.id == bindparam("kelompok_id"), Kelompok.id.in_(_scope_of(role, regional)))
    )


@dataclass(frozen=True)
class MeetingRow:
    id: int
    meeting_date: date
    status: MeetingStatus
    sesi: int | None
    recorded: bool


_MEETING_WIDTH = len(fields(MeetingRow))
"""Columns of a meeting's row; the saved marks follow (:func:`_meeting_with_marks`)."""


@cache
def _meeting_rows() -> Select[tuple[int, date, MeetingStatus, int | None, bool]]:
    return select(
        Meeting.id,
        Meeting.meeting_date,
        Meeting.status,
        Meeting.sesi,
        Meeting.attendance_recorded_at.is_not(None),
    ).where(Meeting.status != MeetingStatus.CANCELLED)


async def meetings_near(
    session: AsyncSession, kelompok_id: int, today: date, limit: int = 3
) -> list[MeetingRow]:
    """Today's and the latest past meetings of a group, newest first."""
    rows = await session.execute(
        _meetings_near(limit), {"kelompok_id": kelompok_id, "today": today}
    )
    return [MeetingRow(*row) for row in rows]


@cache
def _meetings_near(limit: int) -> Select[tuple[int, date, MeetingStatus, int | None, bool]]:
    return as_core(
        _meeting_rows()
        .where(
            Meeting.kelompok_id == bindparam("kelompok_id"),
            Meeting.meeting_date <= bindparam("today"),
        )
        .order_by(Meeting.meeting_date.desc(), Meeting.id.desc())
        .limit(limit)
    )


@cache
def _meeting_with_marks() -> Select[Any]:
    """One meeting of a group with its saved marks, a row per mark (one row with no mark
    when none is saved): one round trip where the chat step took two."""
    marks = Attendance.__table__
    return as_core(
        _meeting_rows()
        .add_columns(marks.c.kpm_id, marks.c.mark)
        .outerjoin(marks, marks.c.meeting_id == Meeting.id)
        .where(
            Meeting.id == bindparam("meeting_id"), Meeting.kelompok_id == bindparam("kelompok_id")
        )
    )


async def meeting_with_marks(
    session: AsyncSession, kelompok_id: int, meeting_id: int
) -> tuple[MeetingRow, dict[int, str]] | None:
    """One meeting of a group (not cancelled) and its saved marks (kpm id -> mark), or
    None when the group has no such meeting."""
    rows = (
        await session.execute(
            _meeting_with_marks(), {"meeting_id": meeting_id, "kelompok_id": kelompok_id}
        )
    ).all()
    if not rows:
        return None
    marks = {
        row[_MEETING_WIDTH]: AttendanceMark(row[_MEETING_WIDTH + 1]).value
        for row in rows
        if row[_MEETING_WIDTH] is not None
    }
    return MeetingRow(*rows[0][:_MEETING_WIDTH]), marks


async def meeting_on(session: AsyncSession, kelompok_id: int, day: date) -> Meeting | None:
    return await session.scalar(
        select(Meeting)
        .where(
            Meeting.kelompok_id == kelompok_id,
            Meeting.meeting_date == day,
            Meeting.status != MeetingStatus.CANCELLED,
        )
        .order_by(Meeting.id)
        .limit(1)
    )


@cache
def _last_sesi() -> Select[tuple[int | None]]:
    return as_core(
        select(Meeting.sesi)
        .where(
            Meeting.kelompok_id == bindparam("kelompok_id"),
            Meeting.status == MeetingStatus.HELD,
            Meeting.sesi.is_not(None),
        )
        .order_by(Meeting.meeting_date.desc())
        .limit(1)
    )


async def last_sesi(session: AsyncSession, kelompok_id: int) -> int | None:
    return await session.scalar(_last_sesi(), {"kelompok_id": kelompok_id})


@cache
def _members_of() -> Select[tuple[int, str]]:
    return as_core(
        select(Kpm.id, Kpm.nama_pengurus).where(
            Kpm.kelompok_id == bindparam("kelompok_id"), Kpm.status == KpmStatus.AKTIF
        )
    )


async def members_of(session: AsyncSession, kelompok_id: int) -> list[tuple[int, str]]:
    """Active members of a group as (kpm id, name), in the order they are numbered:
    by name, sorted here so that the numbering is the same on every database."""
    rows = await session.execute(_members_of(), {"kelompok_id": kelompok_id})
    return sorted(
        ((kpm_id, name) for kpm_id, name in rows), key=lambda row: (name_key(row[1]), row[0])
    )


@cache
def _saved_marks() -> Select[tuple[int, AttendanceMark]]:
    return as_core(
        select(Attendance.kpm_id, Attendance.mark).where(
            Attendance.meeting_id == bindparam("meeting_id")
        )
    )


async def saved_marks(session: AsyncSession, meeting_id: int) -> dict[int, str]:
    rows = await session.execute(_saved_marks(), {"meeting_id": meeting_id})
    return {kpm_id: AttendanceMark(mark).value for kpm_id, mark in rows}


@cache
def _hold_meeting() -> Update:
    """Mark a group's meeting held (no row: not this group's meeting)."""
    table = Meeting.__table__
    return update(table).where(
        table.c.id == bindparam("b_meeting"), table.c.kelompok_id == bindparam("b_kelompok")
    )


@cache
def _upsert_marks(dialect: str) -> Insert:
    """Core, built and (see ``compiled_once``) compiled once per database."""
    statement = upsert_insert(dialect)(Attendance.__table__)
    return compiled_once(
        statement.on_conflict_do_update(
            index_elements=["meeting_id", "kpm_id"],
            set_={
                "mark": statement.excluded.mark,
                "recorded_by_id": statement.excluded.recorded_by_id,
                "recorded_at": statement.excluded.recorded_at,
            },
        )
    )


@dataclass(frozen=True)
class AttendanceRecord:
    kelompok_id: int
    meeting_id: int | None
    meeting_date: date
    modul: int | None
    sesi: int | None
    marks: Mapping[int, str]  # every member: kpm id -> hadir/izin/sakit/alpa
    photos: Sequence[tuple[str, str]] = ()  # (media ref, content type)


async def save_attendance(
    session: AsyncSession, staff: Staff, record: AttendanceRecord, *, now: datetime
) -> int:
    """Write a meeting's attendance in the caller's transaction: the meeting (created
    when new), one mark per member (updated when recorded before), evidence, audit."""
    rows = (
        await session.execute(
            _group_to_save(*_scope_key(staff)),
            {"kelompok_id": record.kelompok_id, **scope_params(staff)},
        )
    ).all()
    if not rows:
        raise OutOfScope(f"kelompok {record.kelompok_id}")
    kelompok = rows[0]
    member_ids = {row[3] for row in rows if row[3] is not None}
    saved_before: set[int] = set()
    held = {
        "status": MeetingStatus.HELD,
        "meeting_date": record.meeting_date,
        "modul": record.modul,
        "sesi": record.sesi,
        "attendance_recorded_at": now,
    }
    if record.meeting_id is not None:
        saved_before = set((await saved_marks(session, record.meeting_id)).keys())
        updated = await session.execute(
            _hold_meeting(), {"b_meeting": record.meeting_id, "b_kelompok": kelompok.id, **held}
        )
        if updated.rowcount != 1:  # type: ignore[attr-defined]
            raise OutOfScope(f"meeting {record.meeting_id}")
        meeting_id = record.meeting_id
    else:
        zone = (await kelompok_timezones(session, [kelompok.id])).get(kelompok.id)
        local = datetime.combine(
            record.meeting_date,
            kelompok.rule_time or DEFAULT_MEETING_TIME,
            ZoneInfo(zone or "Asia/Jakarta"),
        )
        meeting = Meeting(
            kelompok_id=kelompok.id,
            starts_at=local,
            place=kelompok.place,
            created_by_id=staff.id,
            created_at=now,
            **held,
        )
        session.add(meeting)
        await session.flush()
        meeting_id = meeting.id
    unknown = set(record.marks) - member_ids - saved_before
    if unknown:
        raise OutOfScope(f"{len(unknown)} KPM outside kelompok {kelompok.id}")
    rows = [
        {
            "meeting_id": meeting_id,
            "kpm_id": kpm_id,
            "mark": AttendanceMark(mark),
            "recorded_by_id": staff.id,
            "recorded_at": now,
        }
        for kpm_id, mark in record.marks.items()
    ]
    if rows:
        await session.execute(_upsert_marks(session.bind.dialect.name), rows)
    for ref, content_type in record.photos:
        session.add(
            MediaAttachment(
                meeting_id=meeting_id,
                media_ref=ref,
                content_type=content_type,
                created_by_id=staff.id,
            )
        )
    action = "attendance.update" if saved_before else "attendance.record"
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action=action,
        entity="meeting",
        entity_id=meeting_id,
        detail={"marks": len(rows), "photos": len(record.photos)},
    )
    return meeting_id
