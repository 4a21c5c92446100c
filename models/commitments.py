"""Commitment checks (verifikasi komitmen): who has a commitment due in a period, what was
recorded, saving a verification, and the set-based counts the digest, the nudge and the
warnings read.

"Due" is decided here, in SQL, for every use (the /komitmen list of one kelompok, the
coordinator's figures over a province), so that the chat and the digest never disagree.
A member is a komponen row; a KPM counts while it is ``aktif`` and in a kelompok. Not
verified yet is no row at all: ``belum diverifikasi``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    distinct,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.audit import actor_of, audit
from models.enums import CommitmentResult, KpmStatus
from models.rules.commitments import Commitment, CommitmentRules, DueWhen, Period, add_months
from models.tables import CommitmentCheck, Komponen, Kpm, Staff


class NotDue(ValueError):
    """A verification names a member and commitment that is not due for it this period
    (a member without that komponen, a forged button); nothing is saved."""


def _due_when(commitment: Commitment, period: Period) -> ColumnElement[bool]:
    birth, end = Komponen.birth_date, Komponen.end_date
    not_ended = or_(end.is_(None), end >= period.start)
    match commitment.due:
        case DueWhen.ACTIVE:
            return not_ended
        case DueWhen.PREGNANT:
            return or_(birth.is_(None), birth > period.start)
        case DueWhen.DELIVERY:
            return and_(birth >= period.start, birth < period.end)
        case DueWhen.POSTNATAL:
            return and_(birth.is_not(None), birth < period.end, not_ended)
    raise ValueError(f"unknown due rule {commitment.due}")  # pragma: no cover


def _met_recently(commitment: Commitment, period: Period) -> ColumnElement[bool]:
    """Met within ``every_months`` before the period: not due again yet."""
    check = aliased(CommitmentCheck)
    return exists().where(
        check.komponen_id == Komponen.id,
        check.commitment == commitment.key,
        check.result == CommitmentResult.MEMENUHI,
        check.period_start < period.start,
        check.period_start >= add_months(period.start, -commitment.every_months),
    )


def _due_for_type(commitment: Commitment, period: Period) -> ColumnElement[bool]:
    """Due in ``period`` for a :class:`Komponen` row of a type that keeps ``commitment``
    (its KPM aside)."""
    condition = [_due_when(commitment, period)]
    if commitment.every_months > 1:
        condition.append(~_met_recently(commitment, period))
    return and_(*condition)


def _due(commitment: Commitment, period: Period) -> ColumnElement[bool]:
    """The :class:`Komponen` row keeps ``commitment`` and it is due in ``period`` (its
    KPM aside): the one definition every use shares."""
    return and_(Komponen.type.in_(commitment.komponen), _due_for_type(commitment, period))


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


@dataclass(frozen=True)
class _DueCounts:
    """The terms of :func:`commitment_counts`, built once per rules and period (the
    expressions are immutable, and building them anew takes milliseconds per call)."""

    per_komponen: ColumnElement[int]  # commitments due for a Komponen row
    per_check: ColumnElement[int]  # 1 when a CommitmentCheck row's pair is due, else 0


@lru_cache(maxsize=32)
def _due_counts(rules: CommitmentRules, period: Period) -> _DueCounts:
    """Both are a ``CASE`` on the type (the commitment): one comparison, then only the
    rules of that type (that commitment), rather than a test per commitment."""
    if not rules.commitments:
        return _DueCounts(literal(0), literal(0))
    by_type: dict[str, list[ColumnElement[int]]] = {}
    by_key: dict[str, ColumnElement[int]] = {}
    for commitment in rules.commitments:
        due = _due_for_type(commitment, period)
        for kind in commitment.komponen:
            by_type.setdefault(kind, []).append(_one_if(due))
        by_key[commitment.key] = _one_if(and_(Komponen.type.in_(commitment.komponen), due))
    whens = {kind: sum(terms[1:], terms[0]) for kind, terms in by_type.items()}
    return _DueCounts(
        case(whens, value=Komponen.type, else_=0) if whens else literal(0),
        case(by_key, value=CommitmentCheck.commitment, else_=0),
    )


def due_pairs(
    rules: CommitmentRules, period: Period, where: Iterable[ColumnElement[bool]]
) -> Select[Any]:
    """Every (member, commitment) due in ``period`` among the komponen matching ``where``
    (terms on :class:`Komponen`, :class:`Kpm`), as rows of ``komponen_id, kpm_id,
    kelompok_id, commitment, position`` (the commitment's place in the configured list)."""
    terms = list(where)
    parts = []
    for position, commitment in enumerate(rules.commitments):
        condition = [_due(commitment, period), *terms]
        parts.append(
            select(
                Komponen.id.label("komponen_id"),
                Kpm.id.label("kpm_id"),
                Kpm.kelompok_id.label("kelompok_id"),
                literal(commitment.key).label("commitment"),
                literal(position).label("position"),
            )
            .join(Kpm, Kpm.id == Komponen.kpm_id)
            .where(Kpm.status == KpmStatus.AKTIF, Kpm.kelompok_id.is_not(None), *condition)
        )
    if not parts:
        return select(literal(0), literal(0), literal(0), literal(""), literal(0)).where(false())
    return union_all(*parts)  # type: ignore[return-value]


@dataclass(frozen=True)
class DueItem:
    """One member's commitment due in the period, with what was recorded for it."""

    komponen_id: int
    kpm_id: int
    kpm_name: str
    komponen_type: str
    birth_date: date | None
    commitment: str
    result: CommitmentResult | None = None
    reason: str | None = None

    @property
    def key(self) -> str:
        """The pair's key in a flow's state and a toggle's value: ``komponen:commitment``."""
        return f"{self.komponen_id}:{self.commitment}"


async def due_items(
    session: AsyncSession,
    rules: CommitmentRules,
    period: Period,
    *,
    kelompok_id: int | None = None,
    kpm_id: int | None = None,
) -> list[DueItem]:
    """What is due in one kelompok (or for one KPM) this period, ordered by KPM name, then
    member, then the configured order of commitments; each with its result, if any."""
    where = [Kpm.kelompok_id == kelompok_id] if kelompok_id is not None else []
    if kpm_id is not None:
        where.append(Kpm.id == kpm_id)
    due = due_pairs(rules, period, where).subquery()
    rows = await session.execute(
        select(
            due.c.komponen_id,
            due.c.kpm_id,
            Kpm.nama_pengurus,
            Komponen.type,
            Komponen.birth_date,
            due.c.commitment,
            CommitmentCheck.result,
            CommitmentCheck.reason,
        )
        .join(Kpm, Kpm.id == due.c.kpm_id)
        .join(Komponen, Komponen.id == due.c.komponen_id)
        .outerjoin(
            CommitmentCheck,
            and_(
                CommitmentCheck.komponen_id == due.c.komponen_id,
                CommitmentCheck.commitment == due.c.commitment,
                CommitmentCheck.period_start == period.start,
            ),
        )
        .order_by(Kpm.nama_pengurus, Kpm.id, Komponen.id, due.c.position)
    )
    return [DueItem(*row) for row in rows]


@dataclass(frozen=True)
class Verdict:
    """What the pendamping says of one due pair: met, not met (with a reason), or not
    verified (``result`` None: a saved result is withdrawn)."""

    result: CommitmentResult | None
    reason: str | None = None


@dataclass(frozen=True)
class SavedChecks:
    memenuhi: int
    tidak_memenuhi: int
    belum: int
    changed: int  # rows written or withdrawn (0 when the same verdicts were saved again)


async def save_checks(
    session: AsyncSession,
    staff: Staff,
    rules: CommitmentRules,
    period: Period,
    verdicts: Mapping[tuple[int, str], Verdict],
    *,
    scope_kpm_ids: Iterable[int],
    evidence_ref: str | None = None,
    now: datetime,
) -> SavedChecks:
    """Save a verification in the caller's transaction: every pair must be due this period
    for a KPM of ``scope_kpm_ids`` (which the caller checked is in the staff member's
    scope), else :class:`NotDue` and nothing is written. Each change is audited."""
    kpm_ids = set(scope_kpm_ids)
    due = await session.execute(
        due_pairs(rules, period, [Kpm.id.in_(kpm_ids)] if kpm_ids else [false()])
    )
    due_keys = {(komponen_id, commitment): kpm_id for komponen_id, kpm_id, _, commitment, _ in due}
    not_due = [pair for pair in verdicts if pair not in due_keys]
    if not_due:
        raise NotDue(f"not due this period: {len(not_due)} of {len(verdicts)}")
    reasons = {key for key, _ in rules.reasons}
    for verdict in verdicts.values():
        if verdict.result is CommitmentResult.TIDAK_MEMENUHI and verdict.reason not in reasons:
            raise NotDue(f"unknown reason {verdict.reason!r}")
    saved = {
        (row.komponen_id, row.commitment): row
        for row in await session.scalars(
            select(CommitmentCheck).where(
                CommitmentCheck.kpm_id.in_(kpm_ids), CommitmentCheck.period_start == period.start
            )
        )
    }
    changed = 0
    for (komponen_id, commitment), verdict in verdicts.items():
        row = saved.get((komponen_id, commitment))
        reason = verdict.reason if verdict.result is CommitmentResult.TIDAK_MEMENUHI else None
        before = (row.result.value, row.reason) if row is not None else None
        if verdict.result is None:
            if row is None:
                continue
            await session.execute(delete(CommitmentCheck).where(CommitmentCheck.id == row.id))
            action, entity_id = "commitment.withdraw", row.id
        elif row is None:
            row = CommitmentCheck(
                komponen_id=komponen_id,
                kpm_id=due_keys[(komponen_id, commitment)],
                commitment=commitment,
                period_start=period.start,
                result=verdict.result,
                reason=reason,
                evidence_ref=evidence_ref,
                recorded_by_id=staff.id,
                recorded_at=now,
            )
            session.add(row)
            await session.flush()
            action, entity_id = "commitment.record", row.id
        elif (row.result, row.reason) == (verdict.result, reason) and not evidence_ref:
            continue
        else:
            row.result, row.reason = verdict.result, reason
            row.evidence_ref = evidence_ref or row.evidence_ref
            row.recorded_by_id, row.recorded_at = staff.id, now
            action, entity_id = "commitment.update", row.id
        changed += 1
        await audit(
            session,
            action=action,
            entity="commitment_check",
            entity_id=entity_id,
            detail={
                "commitment": commitment,
                "period": period.start.isoformat(),
                "result": verdict.result.value if verdict.result else None,
                "reason": reason,
                "before": before,
            },
            at=now,
            **actor_of(staff),
        )
    results = [v.result for v in verdicts.values()]
    return SavedChecks(
        memenuhi=results.count(CommitmentResult.MEMENUHI),
        tidak_memenuhi=results.count(CommitmentResult.TIDAK_MEMENUHI),
        belum=results.count(None),
        changed=changed,
    )


@dataclass(frozen=True)
class KelompokCommitments:
    due: int = 0  # (member, commitment) pairs due in the period
    done: int = 0  # of which verified (met or not)
    not_met: int = 0  # KPM with at least one commitment not met in the period


async def commitment_counts(
    session: AsyncSession,
    rules: CommitmentRules,
    period: Period,
    kelompok_ids: Select[tuple[int]] | None,
) -> dict[int, KelompokCommitments]:
    """Per kelompok (of ``kelompok_ids``; None: all): pairs due, verified, and KPM not
    meeting a commitment in ``period``. Two set-based statements, each one pass: the
    komponen in scope, summing the commitments due of each (what :func:`due_pairs` lists,
    without a pass per commitment); the period's checks in scope, counting those of a pair
    due and the KPM with one not met."""
    where = [
        Kpm.status == KpmStatus.AKTIF,
        Kpm.kelompok_id.is_not(None),
        *([Kpm.kelompok_id.in_(kelompok_ids)] if kelompok_ids is not None else []),
    ]
    terms = _due_counts(rules, period)
    counts: dict[int, KelompokCommitments] = {}
    rows = await session.execute(
        select(Kpm.kelompok_id, func.sum(terms.per_komponen))
        .select_from(Komponen)
        .join(Kpm, Kpm.id == Komponen.kpm_id)
        .where(*where)
        .group_by(Kpm.kelompok_id)
    )
    for kelompok_id, due_sum in rows:
        if due_sum:
            counts[kelompok_id] = KelompokCommitments(int(due_sum))
    not_met = case(
        (CommitmentCheck.result == CommitmentResult.TIDAK_MEMENUHI, CommitmentCheck.kpm_id)
    )
    checked = await session.execute(
        select(Kpm.kelompok_id, func.sum(terms.per_check), func.count(distinct(not_met)))
        .select_from(CommitmentCheck)
        .join(Komponen, Komponen.id == CommitmentCheck.komponen_id)
        .join(Kpm, Kpm.id == CommitmentCheck.kpm_id)
        .where(CommitmentCheck.period_start == period.start, *where)
        .group_by(Kpm.kelompok_id)
    )
    for kelompok_id, done, kpm_not_met in checked:
        if done or kpm_not_met:
            before = counts.get(kelompok_id, KelompokCommitments())
            counts[kelompok_id] = KelompokCommitments(before.due, int(done or 0), kpm_not_met)
    return counts
