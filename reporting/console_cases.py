"""The web console's case list: the cases in a staff member's scope filtered by category,
severity, status, overdue follow-up, pendamping and kelompok, a page at a time.

"Open" and "overdue" mean what the digest counts (:func:`reporting.figures.digest_figures`):
open is not selesai; overdue is open with a follow-up date before the reference day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import CaseSeverity, CaseStatus
from models.scope import kelompok_scope
from models.tables import CaseNote, Kelompok, Kpm, Staff


class StatusFilter(StrEnum):
    OPEN = "open"  # baru or tindak lanjut
    BARU = "baru"
    TINDAK_LANJUT = "tindak_lanjut"
    SELESAI = "selesai"
    ALL = "semua"


@dataclass(frozen=True)
class CaseFilter:
    status: StatusFilter = StatusFilter.OPEN
    category: str | None = None
    severity: CaseSeverity | None = None
    overdue: bool = False  # open, with a follow-up date before the reference day
    pendamping_id: int | None = None
    kelompok_id: int | None = None


@dataclass(frozen=True)
class CaseRow:
    id: int
    kpm_id: int
    kpm_name: str
    kelompok: str
    pendamping: str | None
    category: str
    severity: CaseSeverity
    status: CaseStatus
    follow_up: date | None
    created_at: datetime
    overdue: bool


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    total: int


def _conditions(staff: Staff, wanted: CaseFilter, today: date) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Kpm.kelompok_id.in_(kelompok_scope(staff))]
    if wanted.status is StatusFilter.OPEN or wanted.overdue:
        where.append(CaseNote.status != CaseStatus.SELESAI)
    if wanted.status not in (StatusFilter.OPEN, StatusFilter.ALL):
        where.append(CaseNote.status == CaseStatus(wanted.status.value))
    if wanted.overdue:
        where += [CaseNote.follow_up_date.is_not(None), CaseNote.follow_up_date < today]
    if wanted.category is not None:
        where.append(CaseNote.category == wanted.category)
    if wanted.severity is not None:
        where.append(CaseNote.severity == wanted.severity)
    if wanted.pendamping_id is not None:
        where.append(Kelompok.pendamping_id == wanted.pendamping_id)
    if wanted.kelompok_id is not None:
        where.append(Kpm.kelompok_id == wanted.kelompok_id)
    return where


async def case_page(
    session: AsyncSession,
    staff: Staff,
    wanted: CaseFilter,
    *,
    today: date,
    limit: int,
    offset: int,
) -> CasePage:
    """One page of the matching cases in scope (urgent first, then by follow-up date, the
    cases without one last, as /kasus_saya lists them) and how many match."""
    where = _conditions(staff, wanted, today)
    total = await session.scalar(
        select(func.count())
        .select_from(CaseNote)
        .join(Kpm, Kpm.id == CaseNote.kpm_id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(*where)
    )
    rows = await session.execute(
        select(
            CaseNote.id, Kpm.id, Kpm.nama_pengurus, Kelompok.name, Staff.name,
            CaseNote.category, CaseNote.severity, CaseNote.status, CaseNote.follow_up_date,
            CaseNote.created_at,
        )
        .join(Kpm, Kpm.id == CaseNote.kpm_id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .outerjoin(Staff, Staff.id == Kelompok.pendamping_id)
        .where(*where)
        .order_by(
            CaseNote.severity.desc(),
            CaseNote.follow_up_date.is_(None),
            CaseNote.follow_up_date,
            CaseNote.id,
        )
        .limit(limit)
        .offset(offset)
    )
    found = []
    for case_id, kpm_id, name, kelompok, pendamping, *rest in rows:
        category, severity, status, follow_up, created_at = rest
        late = status is not CaseStatus.SELESAI and follow_up is not None and follow_up < today
        found.append(
            CaseRow(
                case_id, kpm_id, name, kelompok, pendamping, category, severity, status,
                follow_up, created_at, late,
            )
        )
    return CasePage(found, int(total or 0))
