"""Graduation assessments (graduasi mandiri): the KPM assessed, saving an assessment and
deciding whether it raises the one "ready" alert.

An assessment stores the indicators as ``{key: true/false}`` for every configured key,
plus the attendance it was scored with under :data:`ATTENDANCE_KEY` and the complementary
programmes the family needed then under :data:`NEEDED_KEY`; ``gates_met`` says whether
every gate in force was met. An assessment is *siap* (ready) when its score reaches the
threshold, it met every gate and no programme was needed. An alert is due when a new
assessment is siap and either nothing was alerted before, the ticked indicators differ
from the last alerted assessment's, or the previous assessment was not siap (the family
became siap again). Re-saving the same answers alerts no one; a family failing a gate is
never alerted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.enums import KpmStatus
from models.scope import OutOfScope, kelompok_scope
from models.tables import GraduationAssessment, Kelompok, Kpm, Staff

ATTENDANCE_KEY = "_kehadiran"
NEEDED_KEY = "_butuh"


@dataclass(frozen=True)
class Subject:
    """The KPM being assessed, with their group and its pendamping."""

    kpm_id: int
    name: str
    status: KpmStatus
    kelompok: str
    pendamping_id: int | None


async def subject_in_scope(session: AsyncSession, staff: Staff, kpm_id: int) -> Subject:
    row = (
        await session.execute(
            select(Kpm.id, Kpm.nama_pengurus, Kpm.status, Kelompok.name, Kelompok.pendamping_id)
            .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
            .where(Kpm.id == kpm_id, Kpm.kelompok_id.in_(kelompok_scope(staff)))
        )
    ).first()
    if row is None:
        raise OutOfScope(f"kpm {kpm_id}")
    return Subject(*row)


@dataclass(frozen=True)
class AssessmentRow:
    id: int
    kpm_id: int
    indicators: dict[str, Any]
    score: float
    threshold: float
    assessed_at: datetime
    alerted_at: datetime | None
    gates_met: bool = True

    @property
    def checked(self) -> frozenset[str]:
        """The indicator keys recorded as met."""
        return checked_of(self.indicators)

    @property
    def ready(self) -> bool:
        """Siap when saved: the threshold reached, every gate met, no programme needed."""
        needed = self.indicators.get(NEEDED_KEY)
        return self.score >= self.threshold and self.gates_met and not needed


def checked_of(indicators: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        key for key, value in indicators.items() if value is True and not key.startswith("_")
    )


def _row(assessment: GraduationAssessment) -> AssessmentRow:
    return AssessmentRow(
        assessment.id,
        assessment.kpm_id,
        dict(assessment.indicators),
        assessment.score,
        assessment.threshold,
        assessment.assessed_at,
        assessment.alerted_at,
        assessment.gates_met,
    )


async def latest_assessment(
    session: AsyncSession, kpm_id: int, *, alerted_only: bool = False
) -> AssessmentRow | None:
    """A KPM's latest assessment (or latest one that raised an alert), or None."""
    query = select(GraduationAssessment).where(GraduationAssessment.kpm_id == kpm_id)
    if alerted_only:
        query = query.where(GraduationAssessment.alerted_at.is_not(None))
    found = await session.scalar(
        query.order_by(GraduationAssessment.assessed_at.desc(), GraduationAssessment.id.desc())
    )
    return _row(found) if found is not None else None


@dataclass(frozen=True)
class NewAssessment:
    kpm_id: int
    checked: frozenset[str]
    keys: tuple[str, ...]  # every configured indicator key
    present: int
    recorded: int
    score: float
    threshold: float
    gates_met: bool = True  # every gate in force was met
    needed: tuple[str, ...] = ()  # the complementary programmes needed but lacking

    @property
    def ready(self) -> bool:
        return self.score >= self.threshold and self.gates_met and not self.needed


@dataclass(frozen=True)
class SavedAssessment:
    id: int
    alert: bool  # the alert is due: the caller enqueues it in this transaction


def alert_due(
    new: NewAssessment, previous: AssessmentRow | None, last_alerted: AssessmentRow | None
) -> bool:
    """Whether a new assessment raises the "ready" alert (see the module docstring)."""
    if not new.ready:
        return False
    if last_alerted is None or last_alerted.checked & set(new.keys) != new.checked:
        return True
    return previous is not None and not previous.ready


async def save_assessment(
    session: AsyncSession, staff: Staff, new: NewAssessment, *, now: datetime
) -> SavedAssessment:
    """Save an assessment of a KPM in the staff member's scope (else :class:`OutOfScope`),
    audited; when its alert is due, ``alerted_at`` is set to ``now``."""
    await subject_in_scope(session, staff, new.kpm_id)
    previous = await latest_assessment(session, new.kpm_id)
    last_alerted = await latest_assessment(session, new.kpm_id, alerted_only=True)
    alert = alert_due(new, previous, last_alerted)
    indicators: dict[str, Any] = {key: key in new.checked for key in new.keys}
    indicators[ATTENDANCE_KEY] = {"present": new.present, "recorded": new.recorded}
    indicators[NEEDED_KEY] = list(new.needed)
    assessment = GraduationAssessment(
        kpm_id=new.kpm_id,
        staff_id=staff.id,
        indicators=indicators,
        score=new.score,
        threshold=new.threshold,
        gates_met=new.gates_met,
        assessed_at=now,
        alerted_at=now if alert else None,
    )
    session.add(assessment)
    await session.flush()
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="graduation.assess",
        entity="kpm",
        entity_id=new.kpm_id,
        detail={
            "assessment_id": assessment.id,
            "score": new.score,
            "threshold": new.threshold,
            "gates_met": new.gates_met,
            "alert": alert,
        },
    )
    return SavedAssessment(assessment.id, alert)
