"""Groups in a staff member's scope, their meetings and members, and saving attendance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Update, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.base import table_of
from models.db.sql import rowcount
from models.db.statements import upsert_text
from models.enums import AttendanceMark, Facilitator, KpmStatus, MeetingStatus, StaffRole
from models.regions import kelompok_timezones
from models.rules.calendar import month_starts
from models.rules.text import name_key
from models.scope import OutOfScope, scope_ids, scope_key, scope_params
from models.tables import Attendance, Kelompok, Kpm, MediaAttachment, Meeting, Region, Staff

ATTENDANCE, KELOMPOK, KPM = table_of(Attendance), table_of(Kelompok), table_of(Kpm)
MEETING, REGION, STAFF = table_of(Meeting), table_of(Region), table_of(Staff)

DEFAULT_MEETING_TIME = time(9, 0)


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    desa: str
    members: int
    meeting_today_id: int | None


@cache
def _groups(role: StaffRole, regional: bool) -> Select[Any]:
    """The kelompok in scope, each with its members counted and today's meeting found
    through its own index lookups (correlated subqueries): grouped over the whole KPM and
    meeting tables and then joined, PostgreSQL counted every kelompok's members at each
    step (400 ms a step at a million KPM)."""
    k, kpm, meeting = KELOMPOK.c, KPM.c, MEETING.c
    members = (
        select(func.count())
        .where(kpm.kelompok_id == k.id, kpm.status == KpmStatus.AKTIF)
        .scalar_subquery()
    )
    today_meeting = (
        select(func.min(meeting.id))
        .where(
            meeting.kelompok_id == k.id,
            meeting.meeting_date == bindparam("today"),
            meeting.status != MeetingStatus.CANCELLED,
        )
        .scalar_subquery()
    )
    return (
        select(k.id, k.name, REGION.c.name, members, today_meeting)
        .join(REGION, REGION.c.id == k.desa_id)
        .where(k.id.in_(scope_ids(role, regional)))
        .order_by(k.name_key, k.id)
    )


async def groups_for(session: AsyncSession, staff: Staff, today: date) -> list[GroupRow]:
    """The staff member's kelompok with member counts and today's planned meeting."""
    rows = await session.execute(
        _groups(*scope_key(staff)), {"today": today, **scope_params(staff)}
    )
    return [GroupRow(*row) for row in rows]


@cache
def _group_in_scope(role: StaffRole, regional: bool) -> Select[tuple[Kelompok]]:
    return select(Kelompok).where(
        Kelompok.id == bindparam("kelompok_id"), Kelompok.id.in_(scope_ids(role, regional))
    )


async def group_in_scope(session: AsyncSession, staff: Staff, kelompok_id: int) -> Kelompok:
    kelompok = await session.scalar(
        _group_in_scope(*scope_key(staff)), {"kelompok_id": kelompok_id, **scope_params(staff)}
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
    k, kpm = KELOMPOK.c, KPM.c
    return (
        select(k.id, k.rule_time, k.place, kpm.id)
        .outerjoin(KPM, (kpm.kelompok_id == k.id) & (kpm.status == KpmStatus.AKTIF))
        .where(k.id == bindparam("kelompok_id"), k.id.in_(scope_ids(role, regional)))
    )


@dataclass(frozen=True)
class MeetingRow:
    id: int
    meeting_date: date
    status: MeetingStatus
    sesi: int | None
    recorded: bool
    facilitator: Facilitator


_MEETING_WIDTH = len(fields(MeetingRow))
"""Columns of a meeting's row; the saved marks follow (:func:`_meeting_with_marks`)."""


@cache
def _meeting_rows() -> Select[tuple[int, date, MeetingStatus, int | None, bool, Facilitator]]:
    meeting = MEETING.c
    return select(
        meeting.id,
        meeting.meeting_date,
        meeting.status,
        meeting.sesi,
        meeting.attendance_recorded_at.is_not(None),
        meeting.facilitator,
    ).where(meeting.status != MeetingStatus.CANCELLED)


async def meetings_near(
    session: AsyncSession, kelompok_id: int, today: date, limit: int = 3
) -> list[MeetingRow]:
    """Today's and the latest past meetings of a group, newest first."""
    rows = await session.execute(
        _meetings_near(limit), {"kelompok_id": kelompok_id, "today": today}
    )
    return [MeetingRow(*row) for row in rows]


@cache
def _meetings_near(limit: int) -> Select[Any]:
    meeting = MEETING.c
    return (
        _meeting_rows()
        .where(
            meeting.kelompok_id == bindparam("kelompok_id"),
            meeting.meeting_date <= bindparam("today"),
        )
        .order_by(meeting.meeting_date.desc(), meeting.id.desc())
        .limit(limit)
    )


@cache
def _meeting_with_marks() -> Select[Any]:
    """One meeting of a group with its saved marks, a row per mark (one row with no mark
    when none is saved): one round trip where the chat step took two."""
    marks, meeting = ATTENDANCE.c, MEETING.c
    return (
        _meeting_rows()
        .add_columns(marks.kpm_id, marks.mark)
        .outerjoin(ATTENDANCE, marks.meeting_id == meeting.id)
        .where(
            meeting.id == bindparam("meeting_id"), meeting.kelompok_id == bindparam("kelompok_id")
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


async def planned_in_month(session: AsyncSession, kelompok_id: int, day: date) -> Meeting | None:
    """The kelompok's meeting still planned in ``day``'s month, on another day."""
    first, after = month_starts(day, 0, 1)
    return await session.scalar(
        select(Meeting)
        .where(
            Meeting.kelompok_id == kelompok_id,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.meeting_date >= first,
            Meeting.meeting_date < after,
            Meeting.meeting_date != day,
        )
        .order_by(Meeting.meeting_date)
        .limit(1)
    )


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
    meeting = MEETING.c
    return (
        select(meeting.sesi)
        .where(
            meeting.kelompok_id == bindparam("kelompok_id"),
            meeting.status == MeetingStatus.HELD,
            meeting.sesi.is_not(None),
        )
        .order_by(meeting.meeting_date.desc())
        .limit(1)
    )


async def last_sesi(session: AsyncSession, kelompok_id: int) -> int | None:
    return await session.scalar(_last_sesi(), {"kelompok_id": kelompok_id})


@cache
def _members_of() -> Select[tuple[int, str]]:
    kpm = KPM.c
    return select(kpm.id, kpm.nama_pengurus).where(
        kpm.kelompok_id == bindparam("kelompok_id"), kpm.status == KpmStatus.AKTIF
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
    marks = ATTENDANCE.c
    return select(marks.kpm_id, marks.mark).where(marks.meeting_id == bindparam("meeting_id"))


async def saved_marks(session: AsyncSession, meeting_id: int) -> dict[int, str]:
    rows = await session.execute(_saved_marks(), {"meeting_id": meeting_id})
    return {kpm_id: AttendanceMark(mark).value for kpm_id, mark in rows}


@cache
def _hold_meeting() -> Update:
    """Mark a group's meeting held (no row: not this group's meeting)."""
    table = table_of(Meeting)
    return update(table).where(
        table.c.id == bindparam("b_meeting"), table.c.kelompok_id == bindparam("b_kelompok")
    )


UPSERT_MARKS = upsert_text(
    ATTENDANCE,
    ("meeting_id", "kpm_id", "mark", "recorded_by_id", "recorded_at"),
    conflict=("meeting_id", "kpm_id"),
    update=("mark", "recorded_by_id", "recorded_at"),
)
"""A mark per row: one statement, compiled once per database (see :func:`upsert_text`)."""


@dataclass(frozen=True)
class AttendanceRecord:
    kelompok_id: int
    meeting_id: int | None
    meeting_date: date
    modul: int | None
    sesi: int | None
    marks: Mapping[int, str]  # every member: kpm id -> hadir/izin/sakit/alpa
    photos: Sequence[tuple[str, str]] = ()  # (media ref, content type)
    facilitator: Facilitator = Facilitator.PENDAMPING  # or the ketua alone


async def save_attendance(
    session: AsyncSession, staff: Staff, record: AttendanceRecord, *, now: datetime
) -> int:
    """Write a meeting's attendance in the caller's transaction: the meeting (created
    when new), one mark per member (updated when recorded before), evidence, audit."""
    rows = (
        await session.execute(
            _group_to_save(*scope_key(staff)),
            {"kelompok_id": record.kelompok_id, **scope_params(staff)},
        )
    ).all()
    if not rows:
        raise OutOfScope(f"kelompok {record.kelompok_id}")
    kelompok = rows[0]
    member_ids = {row[3] for row in rows if row[3] is not None}
    saved_before: dict[int, str] = {}
    held = {
        "status": MeetingStatus.HELD,
        "meeting_date": record.meeting_date,
        "modul": record.modul,
        "sesi": record.sesi,
        "facilitator": record.facilitator,
        "attendance_recorded_at": now,
    }
    if record.meeting_id is not None:
        saved_before = await saved_marks(session, record.meeting_id)
        updated = await session.execute(
            _hold_meeting(), {"b_meeting": record.meeting_id, "b_kelompok": kelompok.id, **held}
        )
        if rowcount(updated) != 1:
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
    unknown = set(record.marks) - member_ids - saved_before.keys()
    if unknown:
        raise OutOfScope(f"{len(unknown)} KPM outside kelompok {kelompok.id}")
    marks_rows = [
        {
            "meeting_id": meeting_id,
            "kpm_id": kpm_id,
            "mark": AttendanceMark(mark),
            "recorded_by_id": staff.id,
            "recorded_at": now,
        }
        for kpm_id, mark in record.marks.items()
    ]
    if marks_rows:
        await session.execute(UPSERT_MARKS, marks_rows)
    for ref, content_type in record.photos:
        session.add(
            MediaAttachment(
                meeting_id=meeting_id,
                media_ref=ref,
                content_type=content_type,
                created_by_id=staff.id,
            )
        )
    detail: dict[str, object] = {"marks": len(rows), "photos": len(record.photos)}
    detail["facilitator"] = record.facilitator.value
    if saved_before:  # a correction: each mark that changed, before and after
        detail["changed"] = {
            str(kpm_id): [saved_before.get(kpm_id), mark]
            for kpm_id, mark in record.marks.items()
            if saved_before.get(kpm_id) != mark
        }
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="attendance.update" if saved_before else "attendance.record",
        entity="meeting",
        entity_id=meeting_id,
        detail=detail,
        at=now,
    )
    return meeting_id
