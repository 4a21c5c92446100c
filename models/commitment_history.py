"""A member's commitment results over time: streaks of "tidak memenuhi" (for the
warnings) and a KPM's recent results (for the card)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.enums import CommitmentResult, KpmStatus
from models.tables import CommitmentCheck, Kelompok, Komponen, Kpm


@dataclass(frozen=True)
class NotMetStreak:
    """A member's commitment not met in consecutive verifications up to the latest."""

    komponen_id: int
    kpm_id: int
    kpm_name: str
    kelompok_id: int
    kelompok: str
    pendamping_id: int | None
    commitment: str
    periods: int  # verifications not met since the last one met
    first_period: date  # the streak's first period (a new streak after one met is new)
    last_period: date
    komponen_type: str  # the member's komponen (anak_sd, ibu_hamil...)


async def not_met_streaks(session: AsyncSession, *, since: date) -> list[NotMetStreak]:
    """Every streak of "tidak memenuhi" whose last period starts on or after ``since``:
    the results since the last "memenuhi" of the same member and commitment (a period not
    verified in between does not break it; one met does)."""
    check, met = CommitmentCheck, aliased(CommitmentCheck)
    last_met = (
        select(func.max(met.period_start))
        .where(
            met.komponen_id == check.komponen_id,
            met.commitment == check.commitment,
            met.result == CommitmentResult.MEMENUHI,
        )
        .scalar_subquery()
    )
    streaks = (
        select(
            check.komponen_id,
            check.kpm_id,
            check.commitment,
            func.count().label("periods"),
            func.min(check.period_start).label("first"),
            func.max(check.period_start).label("last"),
        )
        .where(
            check.result == CommitmentResult.TIDAK_MEMENUHI,
            or_(last_met.is_(None), check.period_start > last_met),
        )
        .group_by(check.komponen_id, check.kpm_id, check.commitment)
        .subquery()
    )
    rows = await session.execute(
        select(
            streaks.c.komponen_id,
            streaks.c.kpm_id,
            Kpm.nama_pengurus,
            Kelompok.id,
            Kelompok.name,
            Kelompok.pendamping_id,
            streaks.c.commitment,
            streaks.c.periods,
            streaks.c.first,
            streaks.c.last,
            Komponen.type,
        )
        .join(Kpm, Kpm.id == streaks.c.kpm_id)
        .join(Komponen, Komponen.id == streaks.c.komponen_id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(streaks.c.last >= since, Kpm.status == KpmStatus.AKTIF)
        .order_by(Kelompok.id, Kpm.id, streaks.c.komponen_id, streaks.c.commitment)
    )
    return [NotMetStreak(*row) for row in rows]


async def recent_results(
    session: AsyncSession, kpm_id: int, *, since: date
) -> list[tuple[int, str, date, CommitmentResult, str | None]]:
    """A KPM's results from ``since`` on, newest period first: ``(komponen_id,
    commitment, period_start, result, reason)`` (for the KPM card)."""
    rows = await session.execute(
        select(
            CommitmentCheck.komponen_id,
            CommitmentCheck.commitment,
            CommitmentCheck.period_start,
            CommitmentCheck.result,
            CommitmentCheck.reason,
        )
        .where(CommitmentCheck.kpm_id == kpm_id, CommitmentCheck.period_start >= since)
        .order_by(
            CommitmentCheck.period_start.desc(),
            CommitmentCheck.komponen_id,
            CommitmentCheck.commitment,
        )
    )
    return [tuple(row) for row in rows]
