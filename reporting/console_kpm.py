"""The web console's KPM reads: the list (search by name or ID PKH, filters by pendamping,
kelompok and status, a page at a time), the pendamping and kelompok a staff member may
filter by, and what the KPM page shows beside the chat's card (attendance, RSVPs, every
case, pesan KPM). Read-only and set-based, within the staff member's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import (
    AttendanceMark,
    CaseSeverity,
    CaseStatus,
    KpmMessageStatus,
    KpmStatus,
    RsvpAnswer,
)
from models.scope import kelompok_scope
from models.tables import (
    Attendance,
    CaseNote,
    Kelompok,
    Kpm,
    KpmMessage,
    Meeting,
    Rsvp,
    Staff,
)


@dataclass(frozen=True)
class Option:
    id: int
    name: str


async def pendamping_options(session: AsyncSession, staff: Staff) -> list[Option]:
    """The pendamping of the kelompok in the staff member's scope, by name."""
    rows = await session.execute(
        select(Staff.id, Staff.name)
        .where(Staff.id.in_(select(Kelompok.pendamping_id).where(
            Kelompok.id.in_(kelompok_scope(staff))
        )))
        .order_by(Staff.name, Staff.id)
    )
    return [Option(*row) for row in rows]


async def kelompok_option(session: AsyncSession, staff: Staff, kelompok_id: int) -> Option | None:
    """A kelompok in scope by its id (a filter's label), or None."""
    row = (
        await session.execute(
            select(Kelompok.id, Kelompok.name).where(
                Kelompok.id == kelompok_id, Kelompok.id.in_(kelompok_scope(staff))
            )
        )
    ).first()
    return Option(*row) if row is not None else None


@dataclass(frozen=True)
class KpmFilter:
    query: str = ""  # a name (part of it) or an ID PKH
    pendamping_id: int | None = None
    kelompok_id: int | None = None
    status: KpmStatus | None = KpmStatus.AKTIF  # None: every status


@dataclass(frozen=True)
class KpmListRow:
    id: int
    name: str
    id_pkh: str
    nik: str
    status: KpmStatus
    kelompok_id: int
    kelompok: str
    pendamping: str | None


@dataclass(frozen=True)
class KpmPage:
    rows: list[KpmListRow]
    total: int


def _kpm_conditions(staff: Staff, wanted: KpmFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Kpm.kelompok_id.in_(kelompok_scope(staff))]
    if wanted.status is not None:
        where.append(Kpm.status == wanted.status)
    if wanted.pendamping_id is not None:
        where.append(Kelompok.pendamping_id == wanted.pendamping_id)
    if wanted.kelompok_id is not None:
        where.append(Kpm.kelompok_id == wanted.kelompok_id)
    query = wanted.query.strip()
    if query:
        where.append(
            or_(
                Kpm.nama_pengurus.icontains(query, autoescape=True),
                Kpm.id_pkh == query,
                Kpm.id_pkh.endswith(query, autoescape=True),
            )
        )
    return where


async def kpm_page(
    session: AsyncSession, staff: Staff, wanted: KpmFilter, *, limit: int, offset: int
) -> KpmPage:
    """One page of the KPM in scope matching ``wanted``, by name; and how many match."""
    where = _kpm_conditions(staff, wanted)
    total = await session.scalar(
        select(func.count())
        .select_from(Kpm)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(*where)
    )
    rows = await session.execute(
        select(
            Kpm.id, Kpm.nama_pengurus, Kpm.id_pkh, Kpm.nik, Kpm.status,
            Kelompok.id, Kelompok.name, Staff.name,
        )
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .outerjoin(Staff, Staff.id == Kelompok.pendamping_id)
        .where(*where)
        .order_by(Kpm.nama_pengurus, Kpm.id)
        .limit(limit)
        .offset(offset)
    )
    return KpmPage([KpmListRow(*row) for row in rows], int(total or 0))


@dataclass(frozen=True)
class AttendanceRow:
    day: date
    kelompok: str
    mark: AttendanceMark


@dataclass(frozen=True)
class RsvpRow:
    day: date
    answer: RsvpAnswer
    reason: str | None
    by_ketua: bool


@dataclass(frozen=True)
class CaseListRow:
    id: int
    category: str
    severity: CaseSeverity
    status: CaseStatus
    follow_up: date | None
    created_at: datetime


@dataclass(frozen=True)
class PesanRow:
    received_at: datetime
    text: str
    media_count: int
    status: KpmMessageStatus


@dataclass(frozen=True)
class KpmActivity:
    """What the KPM page shows beside the chat's card, newest first."""

    attendance: list[AttendanceRow]
    rsvps: list[RsvpRow]
    cases: list[CaseListRow]
    pesan: list[PesanRow]


async def kpm_activity(session: AsyncSession, kpm_id: int, *, limit: int = 12) -> KpmActivity:
    """The KPM's latest ``limit`` attendance marks, RSVPs and pesan KPM, and every case.
    The caller has checked the KPM is in scope (:func:`models.kpm.kpm_card`)."""
    attendance = await session.execute(
        select(Meeting.meeting_date, Kelompok.name, Attendance.mark)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
        .where(Attendance.kpm_id == kpm_id)
        .order_by(Meeting.meeting_date.desc(), Meeting.id.desc())
        .limit(limit)
    )
    rsvps = await session.execute(
        select(Meeting.meeting_date, Rsvp.answer, Rsvp.reason, Rsvp.answered_by_kpm_id)
        .join(Meeting, Meeting.id == Rsvp.meeting_id)
        .where(Rsvp.kpm_id == kpm_id)
        .order_by(Meeting.meeting_date.desc(), Meeting.id.desc())
        .limit(limit)
    )
    cases = await session.execute(
        select(
            CaseNote.id, CaseNote.category, CaseNote.severity, CaseNote.status,
            CaseNote.follow_up_date, CaseNote.created_at,
        )
        .where(CaseNote.kpm_id == kpm_id)
        .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())
    )
    pesan = await session.execute(
        select(KpmMessage.received_at, KpmMessage.text, KpmMessage.media_count, KpmMessage.status)
        .where(KpmMessage.kpm_id == kpm_id)
        .order_by(KpmMessage.received_at.desc(), KpmMessage.id.desc())
        .limit(limit)
    )
    return KpmActivity(
        attendance=[AttendanceRow(*row) for row in attendance],
        rsvps=[
            RsvpRow(day, answer, reason, by is not None and by != kpm_id)
            for day, answer, reason, by in rsvps
        ],
        cases=[CaseListRow(*row) for row in cases],
        pesan=[PesanRow(*row) for row in pesan],
    )
