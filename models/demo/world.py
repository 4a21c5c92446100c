"""Deterministic demo data: a fictional kabupaten to try every flow on straight away.

``seed_demo`` writes, in one transaction, a coordinator, a supervisor, three pendamping,
twelve kelompok with 300 KPM, their komponen, six months of held meetings with attendance,
the next planned meeting of each group (one of them today), a few open cases and pesan
KPM, commitment checks (this period's in part, one family not meeting a commitment
three periods in a row: see :mod:`models.demo.commitments`), and complementary programmes
and graduation assessments (some families still needing a programme: see
:mod:`models.demo.programmes`). The same
seed and ``today`` always give the same rows; every date is relative to ``today``. NIK,
phone numbers and region codes are fictional (kabupaten code 33.99 does not exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from models.audit import audit
from models.demo import names
from models.demo.builder import DemoBuilder
from models.enums import (
    AttendanceMark,
    CaseStatus,
    KpmStatus,
    MeetingStatus,
    StaffRole,
)
from models.rules.commitments import CommitmentRules
from models.rules.komponen import KomponenCatalog
from models.rules.p2k2 import P2k2Session
from models.tables import (
    Attendance,
    CaseNote,
    CommitmentCheck,
    Kelompok,
    Komponen,
    Kpm,
    Meeting,
    Region,
    Staff,
)

DEMO_SEED = 20261122
_ROLE_ORDER = (StaffRole.KOORDINATOR, StaffRole.SUPERVISOR, StaffRole.PENDAMPING)


class NoDemoData(LookupError):
    """The database holds no demo kabupaten."""


@dataclass(frozen=True)
class DemoSummary:
    """What the demo kabupaten holds, counted in the database."""

    provinsi: str
    kabupaten: str
    kecamatan: int
    desa: int
    coordinators: int
    supervisors: int
    pendamping: int
    kelompok: int
    kpm: int
    kpm_aktif: int
    komponen: int
    meetings_held: int
    meetings_planned: int
    attendance: int
    attendance_hadir: int
    open_cases: int
    overdue_cases: int
    staff_names: list[str]  # koordinator, supervisor, then pendamping
    pendamping_names: list[str]
    meetings_today: list[str]  # kelompok names with a meeting on ``today``
    commitment_checks: int = 0  # verifications recorded (verifikasi komitmen)
    seeded: bool = False  # True when this call wrote the data


async def has_demo_data(session: AsyncSession) -> bool:
    found = await session.scalar(select(Region.id).where(Region.code == names.KABUPATEN_CODE))
    return found is not None


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession],
    *,
    catalog: KomponenCatalog,
    today: date,
    seed: int = DEMO_SEED,
    commitments: CommitmentRules | None = None,
    p2k2: Sequence[P2k2Session] | None = None,
) -> DemoSummary:
    """Seed the demo kabupaten unless it is there already; return what the database holds.
    ``commitments`` are the configured commitment rules and ``p2k2`` the configured P2K2
    sessions (default: the built-in ones)."""
    async with sessions() as session, session.begin():
        seeded = not await has_demo_data(session)
        if seeded:
            counts = await DemoBuilder(session, catalog, today, seed, commitments, p2k2).build()
            await audit(
                session, actor="cli", action="demo.seed", entity="demo", entity_id=None,
                detail=counts,
            )
        summary = await demo_summary(session, today=today)
    return replace(summary, seeded=seeded)


async def demo_summary(session: AsyncSession, *, today: date | None = None) -> DemoSummary:
    """Count what the demo kabupaten holds now; ``today`` adds meetings today and overdue
    cases. Raises :class:`NoDemoData` when there is no demo kabupaten."""
    kabupaten = (await session.execute(
        select(Region.id, Region.name, Region.parent_id).where(
            Region.code == names.KABUPATEN_CODE)
    )).first()
    if kabupaten is None:
        raise NoDemoData("no demo data: run `pendamping init --demo`")
    kab_id = kabupaten.id
    provinsi = await session.scalar(select(Region.name).where(Region.id == kabupaten.parent_id))

    def kecamatan_ids() -> Any:
        kec = aliased(Region)
        return select(kec.id).where(kec.parent_id == kab_id)

    def desa_ids() -> Any:
        desa = aliased(Region)
        return select(desa.id).where(desa.parent_id.in_(kecamatan_ids()))

    def kelompok_ids() -> Any:
        return select(Kelompok.id).where(Kelompok.desa_id.in_(desa_ids()))

    def kpm_ids() -> Any:
        return select(Kpm.id).where(Kpm.kelompok_id.in_(kelompok_ids()))

    def meeting_ids(status: MeetingStatus) -> Any:
        return select(Meeting.id).where(Meeting.kelompok_id.in_(kelompok_ids()),
                                        Meeting.status == status)

    def count(entity: Any, *criteria: Any) -> Any:
        return select(func.count()).select_from(entity).where(*criteria).scalar_subquery()

    open_case = (CaseNote.kpm_id.in_(kpm_ids()), CaseNote.status != CaseStatus.SELESAI)
    overdue = CaseNote.follow_up_date < today if today else CaseNote.id.is_(None)
    counts = (await session.execute(select(
        count(Region, Region.parent_id == kab_id),
        count(Region, Region.id.in_(desa_ids())),
        count(Kelompok, Kelompok.id.in_(kelompok_ids())),
        count(Kpm, Kpm.id.in_(kpm_ids())),
        count(Kpm, Kpm.id.in_(kpm_ids()), Kpm.status == KpmStatus.AKTIF),
        count(Komponen, Komponen.kpm_id.in_(kpm_ids())),
        count(Meeting, Meeting.id.in_(meeting_ids(MeetingStatus.HELD))),
        count(Meeting, Meeting.id.in_(meeting_ids(MeetingStatus.PLANNED))),
        count(Attendance, Attendance.meeting_id.in_(meeting_ids(MeetingStatus.HELD))),
        count(Attendance, Attendance.meeting_id.in_(meeting_ids(MeetingStatus.HELD)),
              Attendance.mark == AttendanceMark.HADIR),
        count(CaseNote, *open_case),
        count(CaseNote, *open_case, overdue),
        count(CommitmentCheck, CommitmentCheck.kpm_id.in_(kpm_ids())),
    ))).one()
    staff = (await session.execute(
        select(Staff.role, Staff.name).where(Staff.active, or_(
            Staff.region_id == kab_id, Staff.region_id.in_(kecamatan_ids()),
            Staff.region_id.in_(desa_ids()),
        )).order_by(Staff.name_key)
    )).tuples().all()
    staff = sorted(staff, key=lambda row: _ROLE_ORDER.index(StaffRole(row[0]))
                   if StaffRole(row[0]) in _ROLE_ORDER else len(_ROLE_ORDER))
    meetings_today: list[str] = []
    if today is not None:
        meetings_today = list((await session.scalars(
            select(Kelompok.name).join(Meeting, Meeting.kelompok_id == Kelompok.id)
            .where(Kelompok.id.in_(kelompok_ids()), Meeting.meeting_date == today)
            .order_by(Kelompok.name_key)
        )).all())

    def role_count(role: StaffRole) -> int:
        return sum(1 for staff_role, _ in staff if staff_role == role)

    return DemoSummary(
        provinsi=provinsi or "", kabupaten=kabupaten.name,
        kecamatan=counts[0], desa=counts[1],
        coordinators=role_count(StaffRole.KOORDINATOR),
        supervisors=role_count(StaffRole.SUPERVISOR),
        pendamping=role_count(StaffRole.PENDAMPING),
        kelompok=counts[2], kpm=counts[3], kpm_aktif=counts[4], komponen=counts[5],
        meetings_held=counts[6], meetings_planned=counts[7], attendance=counts[8],
        attendance_hadir=counts[9], open_cases=counts[10], overdue_cases=counts[11],
        staff_names=[name for _, name in staff],
        pendamping_names=[name for role, name in staff if role == StaffRole.PENDAMPING],
        meetings_today=meetings_today,
        commitment_checks=counts[12],
    )
