"""Case notes (kasus): open, list and move along to tindak lanjut or selesai."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.audit import audit
from models.enums import CaseSeverity, CaseStatus, Channel, StaffRole
from models.kpm import kpm_in_scope
from models.media import link_to_kpm
from models.rules.case_categories import DEFAULT_CASE_CATEGORIES
from models.scope import OutOfScope, kelompok_scope
from models.tables import (
    CaseNote,
    CaseUpdate,
    ChannelIdentity,
    Kelompok,
    Kpm,
    MediaAttachment,
    Region,
    Staff,
)

CASE_CATEGORIES = tuple(c.key for c in DEFAULT_CASE_CATEGORIES)
"""The default case categories, in the order they are offered and reported
(``[programme.case_categories]`` replaces them)."""

DEFAULT_CASE_KEYWORDS: dict[str, tuple[str, ...]] = {
    c.key: c.keywords for c in DEFAULT_CASE_CATEGORIES if c.keywords
}
"""Per default category, the words of a note that suggest it."""


@dataclass(frozen=True)
class NewCase:
    kpm_id: int
    category: str
    description: str
    severity: CaseSeverity
    follow_up_date: date | None
    photos: Sequence[tuple[str, str]] = ()


async def open_case(session: AsyncSession, staff: Staff, new: NewCase, *, now: datetime) -> int:
    kpm = await kpm_in_scope(session, staff, new.kpm_id)
    case = CaseNote(
        kpm_id=kpm.id,
        staff_id=staff.id,
        category=new.category,
        description=new.description,
        severity=new.severity,
        status=CaseStatus.BARU,
        follow_up_date=new.follow_up_date,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    for ref, content_type in new.photos:
        session.add(
            MediaAttachment(
                case_id=case.id, media_ref=ref, content_type=content_type, created_by_id=staff.id
            )
        )
    await link_to_kpm(session, [ref for ref, _ in new.photos], kpm.id)  # erased with them
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="case.open",
        entity="case_note",
        entity_id=case.id,
        detail={"category": new.category, "severity": new.severity.value},
        at=now,
    )
    return case.id


@dataclass(frozen=True)
class CaseRow:
    id: int
    kpm_name: str
    category: str
    severity: str
    status: str
    follow_up_date: date | None
    created_at: datetime


async def open_cases(session: AsyncSession, staff: Staff, limit: int = 20) -> list[CaseRow]:
    rows = await session.execute(
        select(
            CaseNote.id,
            Kpm.nama_pengurus,
            CaseNote.category,
            CaseNote.severity,
            CaseNote.status,
            CaseNote.follow_up_date,
            CaseNote.created_at,
        )
        .join(Kpm, Kpm.id == CaseNote.kpm_id)
        .where(Kpm.kelompok_id.in_(kelompok_scope(staff)), CaseNote.status != CaseStatus.SELESAI)
        .order_by(
            CaseNote.severity.desc(),
            CaseNote.follow_up_date.is_(None),
            CaseNote.follow_up_date,
            CaseNote.id,
        )
        .limit(limit)
    )
    return [
        CaseRow(case_id, name, category, severity.value, status.value, follow_up, created)
        for case_id, name, category, severity, status, follow_up, created in rows
    ]


async def update_case(
    session: AsyncSession,
    staff: Staff,
    case_id: int,
    status: CaseStatus,
    note: str | None,
    *,
    now: datetime,
    media: Sequence[tuple[str, str]] = (),
) -> None:
    """A status change with its note; ``media`` (ref, type): files that came with it (a
    voice note), attached to the case and the family's."""
    case = await session.scalar(
        select(CaseNote)
        .join(Kpm, Kpm.id == CaseNote.kpm_id)
        .where(CaseNote.id == case_id, Kpm.kelompok_id.in_(kelompok_scope(staff)))
    )
    if case is None:
        raise OutOfScope(f"case {case_id}")
    before = case.status
    case.status, case.updated_at = status, now
    case.closed_at = now if status is CaseStatus.SELESAI else None
    session.add(
        CaseUpdate(case_id=case.id, staff_id=staff.id, status=status, note=note, created_at=now)
    )
    for ref, content_type in media:
        session.add(
            MediaAttachment(
                case_id=case.id, media_ref=ref, content_type=content_type, created_by_id=staff.id
            )
        )
    await link_to_kpm(session, [ref for ref, _ in media], case.kpm_id)
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="case.update",
        entity="case_note",
        entity_id=case.id,
        detail={"status": status.value, "before": {"status": before.value}},
        at=now,
    )


async def escalation_addresses(
    session: AsyncSession, kpm_id: int
) -> list[tuple[int, Channel, str]]:
    """Where an urgent case goes: the chat addresses (not opted out) of the coordinators
    whose region contains the KPM's desa and of the pendamping's supervisor."""
    desa, kec, kab = aliased(Region), aliased(Region), aliased(Region)
    place = (
        select(desa.id, kec.id, kab.id, kab.parent_id, Kelompok.pendamping_id)
        .select_from(Kpm)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .join(desa, desa.id == Kelompok.desa_id)
        .join(kec, kec.id == desa.parent_id)
        .join(kab, kab.id == kec.parent_id)
        .where(Kpm.id == kpm_id)
    )
    row = (await session.execute(place)).first()
    if row is None:
        return []
    *regions, pendamping_id = row
    supervisor = select(Staff.supervisor_id).where(Staff.id == pendamping_id)
    rows = await session.execute(
        select(Staff.id, ChannelIdentity.channel, ChannelIdentity.address)
        .join(ChannelIdentity, ChannelIdentity.staff_id == Staff.id)
        .where(
            Staff.active,
            ChannelIdentity.opted_out_at.is_(None),
            or_(
                and_(Staff.role == StaffRole.KOORDINATOR, Staff.region_id.in_(regions)),
                Staff.id.in_(supervisor),
            ),
        )
        .order_by(Staff.id, ChannelIdentity.id)
    )
    return [(staff_id, channel, address) for staff_id, channel, address in rows]


async def mark_escalated(
    session: AsyncSession, case_id: int, staff_id: int, *, now: datetime
) -> None:
    case = await session.get(CaseNote, case_id)
    assert case is not None
    case.escalated_to_id, case.escalated_at = staff_id, now
    await audit(
        session,
        actor="system",
        action="case.escalate",
        entity="case_note",
        entity_id=case_id,
        detail={"to_staff_id": staff_id},
    )


@dataclass(frozen=True)
class CaseDetail:
    id: int
    kpm: str
    kelompok: str | None
    category: str
    severity: str
    status: str
    description: str
    follow_up: date | None
    created_at: datetime
    recorded_by: str | None
    updates: list[tuple[datetime, str | None, str, str | None]]  # (at, who, status, note)
    kpm_id: int | None = None


async def case_detail(session: AsyncSession, staff: Staff, case_id: int) -> CaseDetail:
    """A case with its history, for staff whose scope holds the KPM (else OutOfScope)."""
    row = (
        await session.execute(
            select(CaseNote, Kpm.nama_pengurus, Kelompok.name, Staff.name)
            .join(Kpm, Kpm.id == CaseNote.kpm_id)
            .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
            .outerjoin(Staff, Staff.id == CaseNote.staff_id)
            .where(CaseNote.id == case_id, Kpm.kelompok_id.in_(kelompok_scope(staff)))
        )
    ).first()
    if row is None:
        raise OutOfScope(f"case {case_id}")
    case, kpm, kelompok, recorded_by = row
    updates = await session.execute(
        select(CaseUpdate.created_at, Staff.name, CaseUpdate.status, CaseUpdate.note)
        .outerjoin(Staff, Staff.id == CaseUpdate.staff_id)
        .where(CaseUpdate.case_id == case_id)
        .order_by(CaseUpdate.created_at, CaseUpdate.id)
    )
    return CaseDetail(
        id=case.id,
        kpm=kpm,
        kelompok=kelompok,
        category=case.category,
        severity=case.severity.value,
        status=case.status.value,
        description=case.description,
        follow_up=case.follow_up_date,
        created_at=case.created_at,
        recorded_by=recorded_by,
        updates=[(at, who, status.value, note) for at, who, status, note in updates],
        kpm_id=case.kpm_id,
    )
