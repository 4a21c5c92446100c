"""Bansos komplementer: per family and complementary programme (KIS/PBI-JKN, KIP/PIP,
Sembako/BPNT, a working KKS...), whether it has it, needs it but lacks it, or does not need
it, as the pendamping recorded last. The programmes needed are the pendamping's advocacy
list, and a family needing one is not *siap* for graduasi mandiri.

The programme keys are those of ``[reporting.complementary_programmes]``; rows of a key no
longer configured stay but count nowhere (every query takes the configured keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Select, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import audit
from models.base import Base, UTCDateTime, enum_type, utcnow
from models.enums import KpmStatus, ProgrammeStatus
from models.scope import OutOfScope, kelompok_scope
from models.tables import Kelompok, Kpm, Staff


class KpmProgramme(Base):
    """One family's status for one complementary programme, and who recorded it last."""

    __tablename__ = "kpm_programme"
    __table_args__ = (Index("ix_kpm_programme_status", "status", "kpm_id"),)

    kpm_id: Mapped[int] = mapped_column(
        ForeignKey("kpm.id", ondelete="CASCADE"), primary_key=True
    )
    programme: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[ProgrammeStatus] = mapped_column(
        enum_type(ProgrammeStatus, "programme_status")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


async def programme_statuses(session: AsyncSession, kpm_id: int) -> dict[str, ProgrammeStatus]:
    """A family's recorded programmes: key -> status (every key recorded, configured or not)."""
    rows = await session.execute(
        select(KpmProgramme.programme, KpmProgramme.status).where(KpmProgramme.kpm_id == kpm_id)
    )
    return {programme: status for programme, status in rows}


async def save_programmes(
    session: AsyncSession,
    staff: Staff,
    kpm_id: int,
    statuses: Mapping[str, ProgrammeStatus],
    *,
    now: datetime,
) -> int:
    """Record a family's programmes (of a KPM in the staff member's scope, else
    :class:`OutOfScope`): each status that differs from the one recorded is written with
    ``now`` and the staff member; programmes not in ``statuses`` are left as they are.
    Audited with the statuses before and after; returns how many changed."""
    in_scope = await session.scalar(
        select(Kpm.id).where(Kpm.id == kpm_id, Kpm.kelompok_id.in_(kelompok_scope(staff)))
    )
    if in_scope is None:
        raise OutOfScope(f"kpm {kpm_id}")
    rows = {
        row.programme: row
        for row in await session.scalars(
            select(KpmProgramme).where(KpmProgramme.kpm_id == kpm_id).with_for_update()
        )
    }
    before: dict[str, str | None] = {}
    after: dict[str, str] = {}
    for programme, status in statuses.items():
        row = rows.get(programme)
        if row is not None and row.status is status:
            continue
        before[programme] = row.status.value if row is not None else None
        after[programme] = status.value
        if row is None:
            session.add(
                KpmProgramme(
                    kpm_id=kpm_id,
                    programme=programme,
                    status=status,
                    updated_at=now,
                    updated_by_id=staff.id,
                )
            )
        else:
            row.status, row.updated_at, row.updated_by_id = status, now, staff.id
    if not after:
        return 0
    await session.flush()
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="kpm.programmes",
        entity="kpm",
        entity_id=kpm_id,
        detail={"before": before, "after": after},
        at=now,
    )
    return len(after)


def needing(programmes: Sequence[str], kpm_ids: Select[tuple[int]] | None = None) -> Select[Any]:
    """The KPM (of ``kpm_ids``, or all) that need one of ``programmes``, one row each
    (``kpm_id``), to outer-join or test against."""
    query = (
        select(KpmProgramme.kpm_id.label("kpm_id"))
        .where(
            KpmProgramme.status == ProgrammeStatus.BUTUH,
            KpmProgramme.programme.in_(list(programmes)),
        )
        .group_by(KpmProgramme.kpm_id)
    )
    if kpm_ids is not None:
        query = query.where(KpmProgramme.kpm_id.in_(kpm_ids))
    return query


@dataclass(frozen=True)
class Needing:
    """A family on the advocacy list and the programmes (keys) it needs."""

    kpm_id: int
    name: str
    kelompok: str
    programmes: tuple[str, ...]


@dataclass(frozen=True)
class AdvocacyList:
    families: int  # how many active families in scope need a programme
    first: list[Needing] = field(default_factory=list)  # the first ones, by kelompok and name


async def advocacy_list(
    session: AsyncSession, staff: Staff, programmes: Sequence[str], *, limit: int
) -> AdvocacyList:
    """The active families in the staff member's scope that need one of ``programmes``:
    how many, and the first ``limit`` (by kelompok, then name) with what they need, in two
    statements."""
    if not programmes:
        return AdvocacyList(0)
    in_scope = select(Kpm.id).where(
        Kpm.status == KpmStatus.AKTIF, Kpm.kelompok_id.in_(kelompok_scope(staff))
    )
    needy = needing(programmes, in_scope).subquery()
    total = await session.scalar(select(func.count()).select_from(needy))
    if not total:
        return AdvocacyList(0)
    first = (
        select(Kpm.id)
        .join(needy, needy.c.kpm_id == Kpm.id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .order_by(Kelompok.name, Kpm.nama_pengurus, Kpm.id)
        .limit(limit)
        .subquery()
    )
    rows = await session.execute(
        select(Kpm.id, Kpm.nama_pengurus, Kelompok.name, KpmProgramme.programme)
        .join(first, first.c.id == Kpm.id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .join(KpmProgramme, KpmProgramme.kpm_id == Kpm.id)
        .where(
            KpmProgramme.status == ProgrammeStatus.BUTUH,
            KpmProgramme.programme.in_(list(programmes)),
        )
        .order_by(Kelompok.name, Kpm.nama_pengurus, Kpm.id)
    )
    order = {key: n for n, key in enumerate(programmes)}
    found: dict[int, tuple[str, str, list[str]]] = {}
    for kpm_id, name, kelompok, programme in rows:
        found.setdefault(kpm_id, (name, kelompok, []))[2].append(programme)
    return AdvocacyList(
        int(total),
        [
            Needing(kpm_id, name, kelompok, tuple(sorted(keys, key=order.__getitem__)))
            for kpm_id, (name, kelompok, keys) in found.items()
        ],
    )


@dataclass(frozen=True)
class PendampingNeeds:
    """A pendamping's active families needing a programme: how many, and per programme."""

    families: int
    per_programme: dict[str, int]


async def needs_per_pendamping(
    session: AsyncSession, kelompok_ids: Select[tuple[int]], programmes: Iterable[str]
) -> dict[int, PendampingNeeds]:
    """Pendamping id -> their active families (in ``kelompok_ids``) needing one of
    ``programmes``; pendamping without any are left out. Two statements."""
    keys = list(programmes)
    if not keys:
        return {}
    base = (
        select(Kelompok.pendamping_id)
        .select_from(KpmProgramme)
        .join(Kpm, Kpm.id == KpmProgramme.kpm_id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(
            KpmProgramme.status == ProgrammeStatus.BUTUH,
            KpmProgramme.programme.in_(keys),
            Kpm.status == KpmStatus.AKTIF,
            Kpm.kelompok_id.in_(kelompok_ids),
            Kelompok.pendamping_id.is_not(None),
        )
        .group_by(Kelompok.pendamping_id)
    )
    families = await session.execute(
        base.add_columns(func.count(func.distinct(KpmProgramme.kpm_id)))
    )
    found = {pendamping: PendampingNeeds(int(count), {}) for pendamping, count in families}
    counts = await session.execute(
        base.add_columns(KpmProgramme.programme, func.count()).group_by(KpmProgramme.programme)
    )
    for pendamping, programme, count in counts:
        found[pendamping].per_programme[programme] = int(count)
    return found
