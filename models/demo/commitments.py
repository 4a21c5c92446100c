"""The demo's commitment checks (verifikasi komitmen): the two periods before this one
verified (all met), this period verified in part (each pendamping has a kelompok done,
some half done and one not begun), and one family in the first pendamping's first
kelompok whose member has not met a monthly commitment three periods in a row, so that
the warnings reach their last level (and the coordinator) in the demo.

What is due comes from the same SQL as everywhere (:func:`models.commitments.due_pairs`),
period by period, so a yearly commitment met two periods ago is not due again here.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.commitments import due_pairs
from models.demo.plan import PlannedGroup
from models.enums import CommitmentResult, KpmStatus
from models.rules.commitments import CommitmentRules, DueWhen, Period
from models.tables import CommitmentCheck, Komponen, Kpm

STREAK_PERIODS = 3  # the family's member has not met its commitment this many periods
SHARES = (0.3, 1.0, 0.6, 0.0)
"""The share of this period's pairs verified in each of a pendamping's kelompok, in order."""
NOT_MET_SHARE = 0.04  # of this period's verified pairs, not met (with a reason)
_BULK = {"render_nulls": True}  # None as NULL, so rows with and without a reason batch


async def write_commitments(
    session: AsyncSession,
    groups: list[PlannedGroup],
    rules: CommitmentRules,
    today: date,
    rng: random.Random,
    local: Callable[[date], datetime],
) -> int:
    """Write the checks; ``local`` turns a day into the moment a check is recorded."""
    current = rules.period_of(today)
    periods = [rules.before(current, n) for n in range(STREAK_PERIODS - 1, 0, -1)]
    periods.append(current)
    streak = await _streak_pair(session, groups[0], rules, current, rng)
    reasons = [key for key, _ in rules.reasons]
    pendamping = {g.id: g.pendamping_id for g in groups}
    share = _shares(groups)
    written = 0
    for period in periods:
        due = await session.execute(
            due_pairs(rules, period, [Kpm.kelompok_id.in_(list(pendamping))]).order_by(
                "kelompok_id", "komponen_id", "position"
            )
        )
        rows: list[dict[str, Any]] = []
        by_group: dict[int, list[tuple[int, int, str]]] = {}
        for komponen_id, kpm_id, kelompok_id, commitment, _ in due:
            by_group.setdefault(kelompok_id, []).append((komponen_id, kpm_id, commitment))
        for kelompok_id, pairs in by_group.items():
            verified = pairs if period != current else _part(pairs, share[kelompok_id], rng)
            for komponen_id, kpm_id, commitment in pairs:
                pair = (komponen_id, commitment)
                if pair != streak and (komponen_id, kpm_id, commitment) not in verified:
                    continue
                result, reason = CommitmentResult.MEMENUHI, None
                if pair == streak:
                    result, reason = CommitmentResult.TIDAK_MEMENUHI, reasons[0]
                elif period == current and rng.random() < NOT_MET_SHARE:
                    fitting = [r for r in reasons if _fits(r, commitment)] or reasons
                    result, reason = CommitmentResult.TIDAK_MEMENUHI, rng.choice(fitting)
                rows.append(
                    {
                        "komponen_id": komponen_id,
                        "kpm_id": kpm_id,
                        "commitment": commitment,
                        "period_start": period.start,
                        "result": result,
                        "reason": reason,
                        "evidence_ref": None,
                        "recorded_by_id": pendamping[kelompok_id],
                        "recorded_at": local(_recorded_on(period, today, rng)),
                    }
                )
        if rows:
            await session.execute(insert(CommitmentCheck), rows, execution_options=_BULK)
        written += len(rows)
    return written


def _shares(groups: list[PlannedGroup]) -> dict[int, float]:
    """Each kelompok's share verified this period, by its place among its pendamping's."""
    shares: dict[int, float] = {}
    seen: dict[int, int] = {}
    for group in groups:
        place = seen.get(group.pendamping_id, 0)
        seen[group.pendamping_id] = place + 1
        shares[group.id] = SHARES[place % len(SHARES)]
    return shares


def _part(
    pairs: list[tuple[int, int, str]], share: float, rng: random.Random
) -> set[tuple[int, int, str]]:
    return set(rng.sample(pairs, round(len(pairs) * share)))


def _recorded_on(period: Period, today: date, rng: random.Random) -> date:
    """A day of the period, not after today (a past period: within its last ten days)."""
    last = min(period.last_day, today)
    first = max(period.start, date.fromordinal(last.toordinal() - 9))
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


async def _streak_pair(
    session: AsyncSession,
    group: PlannedGroup,
    rules: CommitmentRules,
    current: Period,
    rng: random.Random,
) -> tuple[int, str] | None:
    """A member of an ordinary family of ``group`` (not its ketua, not one the demo gives
    another story) and a monthly commitment it keeps every period until after this one."""
    ordinary = [
        m.id for m in group.members if not m.special and m.row["status"] is KpmStatus.AKTIF
    ]
    rows = await session.execute(
        select(Komponen.id, Komponen.type, Komponen.end_date)
        .where(Komponen.kpm_id.in_(ordinary))
        .order_by(Komponen.id)
    )
    candidates = [
        (komponen_id, commitment.key)
        for komponen_id, kind, end in rows
        if end is None or end >= current.end
        for commitment in rules.for_komponen(kind)
        if commitment.due is DueWhen.ACTIVE and commitment.every_months == 1
    ]
    return rng.choice(candidates) if candidates else None


def _fits(reason: str, commitment: str) -> bool:
    """A demo reason that reads right for the commitment: a school move only for school
    attendance (the configured keys of the defaults; any other key fits anything)."""
    return reason != "pindah_sekolah" or "sekolah" in commitment
