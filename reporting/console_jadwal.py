"""The console's Jadwal pages (read-only, set-based): a month of meetings of the viewer's
kelompok, and one meeting with its marks, RSVPs and photos. Scope is the chat's
(:func:`models.scope.kelompok_scope`): a meeting outside it is not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Exists, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.enums import AttendanceMark, Facilitator, MediaStatus, MeetingStatus, RsvpAnswer
from models.regions import kelompok_timezones
from models.scope import kelompok_scope
from models.tables import (
    Attendance,
    AuditLog,
    Kelompok,
    Kpm,
    MediaAttachment,
    MediaFile,
    Meeting,
    Region,
    Rsvp,
    Staff,
)

MOVE_ACTION = "meeting.move"
"""The audit action of a meeting moved in /jadwal (:func:`models.meeting_rule.move_meeting`)."""


@dataclass(frozen=True)
class CalendarMeeting:
    id: int
    kelompok_id: int
    kelompok: str
    meeting_date: date
    starts_at: datetime
    zone: str
    place: str | None
    status: MeetingStatus
    moved: bool  # moved in /jadwal (planned, held or cancelled since)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(ZoneInfo(self.zone))


def _moved() -> Exists:
    return exists().where(
        AuditLog.entity == "meeting", AuditLog.entity_id == Meeting.id,
        AuditLog.action == MOVE_ACTION,
    )


async def month_meetings(
    session: AsyncSession, staff: Staff, first: date, last: date, kelompok_id: int | None = None
) -> list[CalendarMeeting]:
    """The meetings of the staff member's kelompok (or of one of them) from ``first`` to
    ``last`` (local dates), by date and time: two statements."""
    query = (
        select(
            Meeting.id, Meeting.kelompok_id, Kelompok.name, Meeting.meeting_date,
            Meeting.starts_at, Meeting.place, Meeting.status, _moved(),
        )
        .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
        .where(
            Meeting.kelompok_id.in_(kelompok_scope(staff)),
            Meeting.meeting_date >= first,
            Meeting.meeting_date <= last,
        )
        .order_by(Meeting.meeting_date, Meeting.starts_at, Kelompok.name, Meeting.id)
    )
    if kelompok_id is not None:
        query = query.where(Meeting.kelompok_id == kelompok_id)
    rows = (await session.execute(query)).all()
    zones = await kelompok_timezones(session, {row[1] for row in rows})
    return [
        CalendarMeeting(mid, kid, name, day, starts, zones.get(kid, "Asia/Jakarta"), place,
                        status, bool(moved))
        for mid, kid, name, day, starts, place, status, moved in rows
    ]


@dataclass(frozen=True)
class MeetingDetail:
    meeting: CalendarMeeting
    desa: str
    pendamping: str | None
    modul: int | None
    sesi: int | None
    facilitator: Facilitator
    attendance_recorded_at: datetime | None


async def meeting_in_scope(session: AsyncSession, staff: Staff, meeting_id: int) -> MeetingDetail:
    """One meeting of the staff member's kelompok; LookupError when there is none (or it
    is another's: the same answer)."""
    row = (
        await session.execute(
            select(
                Meeting.id, Meeting.kelompok_id, Kelompok.name, Meeting.meeting_date,
                Meeting.starts_at, Meeting.place, Meeting.status, _moved(), Region.name,
                Staff.name, Meeting.modul, Meeting.sesi, Meeting.facilitator,
                Meeting.attendance_recorded_at,
            )
            .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
            .join(Region, Region.id == Kelompok.desa_id)
            .outerjoin(Staff, Staff.id == Kelompok.pendamping_id)
            .where(Meeting.id == meeting_id, Meeting.kelompok_id.in_(kelompok_scope(staff)))
        )
    ).first()
    if row is None:
        raise LookupError(meeting_id)
    zones = await kelompok_timezones(session, [row[1]])
    mid, kid, name, day, starts, place, status, moved = row[:8]
    meeting = CalendarMeeting(mid, kid, name, day, starts, zones.get(kid, "Asia/Jakarta"), place,
                              status, bool(moved))
    return MeetingDetail(meeting, *row[8:])


@dataclass(frozen=True)
class MarkRow:
    kpm_id: int
    name: str
    mark: AttendanceMark
    note: str | None


async def meeting_marks(session: AsyncSession, meeting_id: int) -> list[MarkRow]:
    """The attendance marks of a meeting, by name (one statement)."""
    rows = await session.execute(
        select(Attendance.kpm_id, Kpm.nama_pengurus, Attendance.mark, Attendance.note)
        .join(Kpm, Kpm.id == Attendance.kpm_id)
        .where(Attendance.meeting_id == meeting_id)
        .order_by(Kpm.nama_pengurus, Kpm.id)
    )
    return [MarkRow(*row) for row in rows]


@dataclass(frozen=True)
class RsvpRow:
    kpm_id: int
    name: str
    answer: RsvpAnswer
    reason: str | None
    answered_at: datetime
    by_ketua: str | None  # the ketua kelompok who answered for the KPM


async def meeting_rsvps(session: AsyncSession, meeting_id: int) -> list[RsvpRow]:
    """Who answered the meeting's reminders, and how (one statement)."""
    ketua = aliased(Kpm, name="ketua")
    rows = await session.execute(
        select(Rsvp.kpm_id, Kpm.nama_pengurus, Rsvp.answer, Rsvp.reason, Rsvp.answered_at,
               ketua.nama_pengurus)
        .join(Kpm, Kpm.id == Rsvp.kpm_id)
        .outerjoin(ketua, ketua.id == Rsvp.answered_by_kpm_id)
        .where(Rsvp.meeting_id == meeting_id)
        .order_by(Rsvp.answer, Kpm.nama_pengurus, Kpm.id)
    )
    return [RsvpRow(*row) for row in rows]


@dataclass(frozen=True)
class PhotoRow:
    attachment_id: int
    status: MediaStatus | None  # None: sent before files were kept
    content_type: str | None
    size_bytes: int | None
    storage_key: str | None
    taken_at: datetime | None  # EXIF: the camera's own clock, local time
    latitude: float | None
    longitude: float | None


async def meeting_photos(session: AsyncSession, meeting_id: int) -> list[PhotoRow]:
    """The files attached to a meeting, with our copy's state and EXIF (one statement)."""
    rows = await session.execute(
        select(MediaAttachment.id, MediaFile.status, MediaFile.content_type,
               MediaFile.size_bytes, MediaFile.storage_key, MediaFile.taken_at,
               MediaFile.latitude, MediaFile.longitude)
        .outerjoin(MediaFile, MediaFile.provider_ref == MediaAttachment.media_ref)
        .where(MediaAttachment.meeting_id == meeting_id)
        .order_by(MediaAttachment.id)
    )
    return [PhotoRow(*row) for row in rows]


async def photo_in_scope(
    session: AsyncSession, staff: Staff, attachment_id: int
) -> PhotoRow | None:
    """A meeting photo of the staff member's kelompok (None: not there, or another's)."""
    row = (
        await session.execute(
            select(MediaAttachment.id, MediaFile.status, MediaFile.content_type,
                   MediaFile.size_bytes, MediaFile.storage_key, MediaFile.taken_at,
                   MediaFile.latitude, MediaFile.longitude)
            .join(Meeting, Meeting.id == MediaAttachment.meeting_id)
            .join(MediaFile, MediaFile.provider_ref == MediaAttachment.media_ref)
            .where(
                and_(MediaAttachment.id == attachment_id,
                     Meeting.kelompok_id.in_(kelompok_scope(staff)))
            )
        )
    ).first()
    return PhotoRow(*row) if row is not None else None
