"""Graduasi sejahtera mandiri as rules, without a database: the readiness indicators and
their weights, the gates, the complementary programmes (bansos komplementer) a family has
or needs, the stages of the process, and the score.

A family is *siap* (ready) only when its latest assessment's score reaches the threshold,
every gate (an indicator that must be met, by default the family's stated willingness)
was met, and no complementary programme is recorded as needed but lacking. The stages are
configured in order; a family is at the last one it reaches (see :class:`StageWhen`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from models.enums import ProgrammeStatus


@dataclass(frozen=True)
class Indicator:
    """A readiness indicator the pendamping records: its key, label and weight."""

    key: str
    label: str
    weight: float


@dataclass(frozen=True)
class Programme:
    """A complementary programme (bansos komplementer): key, label and the words a
    pendamping may type for it besides its number ("kis", "bpnt")."""

    key: str
    label: str
    aliases: tuple[str, ...] = ()


class StageWhen(StrEnum):
    """When a family reaches a stage."""

    ALWAYS = "always"  # every family (the first stage)
    SCORE = "score"  # the latest score reaches min_score (default: the threshold)
    READY = "ready"  # siap: the threshold reached, every gate met, no programme needed
    GRADUATED = "graduated"  # left the programme as graduasi sejahtera mandiri


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    when: StageWhen
    min_score: float | None = None


DEFAULT_PROGRAMMES = (
    Programme("kis_pbi_jkn", "KIS/PBI-JKN", ("kis", "pbi", "jkn", "bpjs")),
    Programme("kip_pip", "KIP/PIP", ("kip", "pip")),
    Programme("sembako_bpnt", "Sembako/BPNT", ("sembako", "bpnt")),
    Programme("kks_aktif", "KKS berfungsi", ("kks",)),
)

DEFAULT_STAGES = (
    Stage("penjajakan", "Penjajakan", StageWhen.ALWAYS),
    Stage("pendampingan", "Pendampingan menuju mandiri", StageWhen.SCORE),
    Stage("siap", "Siap graduasi", StageWhen.READY),
    Stage("graduasi", "Graduasi sejahtera mandiri", StageWhen.GRADUATED),
)

DEFAULT_GATES = ("bersedia",)


@dataclass(frozen=True)
class GraduationRules:
    """The configured indicators, the threshold, the weight of full attendance, the gates
    (indicator keys that must be met), the stages and the complementary programmes."""

    indicators: tuple[Indicator, ...] = ()
    threshold: float = 7.0
    attendance_weight: float = 2.0
    gates: tuple[str, ...] = ()
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    programmes: tuple[Programme, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(indicator.key for indicator in self.indicators)

    @property
    def programme_keys(self) -> tuple[str, ...]:
        return tuple(programme.key for programme in self.programmes)

    def label(self, key: str) -> str:
        """An indicator's or a programme's label (the key itself when no longer configured)."""
        labels = {i.key: i.label for i in self.indicators}
        labels.update((p.key, p.label) for p in self.programmes)
        return labels.get(key, key)

    def missing_gates(self, checked: Iterable[str]) -> tuple[str, ...]:
        """The gates (keys) not among ``checked``, in configured order."""
        ticked = set(checked)
        return tuple(gate for gate in self.gates if gate not in ticked)

    def needed(self, statuses: Mapping[str, ProgrammeStatus | str]) -> tuple[str, ...]:
        """The configured programmes (keys) recorded as needed but lacking."""
        return tuple(
            key for key in self.programme_keys if statuses.get(key) == ProgrammeStatus.BUTUH
        )

    def stage(
        self,
        *,
        score: float | None,
        threshold: float | None,
        gates_met: bool,
        needs: bool,
        graduated: bool = False,
    ) -> Stage | None:
        """The last configured stage the family reaches: ``score`` and ``threshold`` of its
        latest assessment (None: never assessed), whether that assessment met every gate,
        whether a programme is needed now, whether it left as graduasi mandiri."""
        if graduated:
            return next((s for s in self.stages if s.when is StageWhen.GRADUATED), None)
        bar = self.threshold if threshold is None else threshold
        found = None
        for stage in self.stages:
            if stage.when is StageWhen.ALWAYS:
                reached = True
            elif stage.when is StageWhen.SCORE:
                minimum = bar if stage.min_score is None else stage.min_score
                reached = score is not None and score >= minimum
            elif stage.when is StageWhen.READY:
                reached = score is not None and score >= bar and gates_met and not needs
            else:
                reached = False
            if reached:
                found = stage
        return found


@dataclass(frozen=True)
class AttendanceTally:
    """Marks recorded for a KPM over their last held meetings, and how many were hadir."""

    present: int = 0
    recorded: int = 0


@dataclass(frozen=True)
class Score:
    score: float
    threshold: float
    attendance_points: float
    reasons: tuple[str, ...]
    missing_gates: tuple[str, ...] = ()  # labels of the gates not met
    needed: tuple[str, ...] = ()  # labels of the programmes needed but lacking

    @property
    def reached(self) -> bool:
        """The score reaches the threshold (whatever the gates and programmes)."""
        return self.score >= self.threshold

    @property
    def gates_met(self) -> bool:
        return not self.missing_gates

    @property
    def ready(self) -> bool:
        """Siap: the threshold reached, every gate met and no programme needed."""
        return self.reached and not self.missing_gates and not self.needed

    @property
    def missing(self) -> tuple[str, ...]:
        """What keeps the family from siap besides the score: gates, then programmes."""
        return (*self.missing_gates, *self.needed)


def score_assessment(
    checked: Iterable[str],
    rules: GraduationRules,
    attendance: AttendanceTally,
    *,
    attendance_reason: str,
    programmes: Mapping[str, ProgrammeStatus | str] | None = None,
) -> Score:
    """The weighted score of the ticked indicators plus attendance, with the gates not
    met and the programmes needed (``programmes``: key -> status).

    Attendance adds ``attendance_weight × present / recorded`` (nothing without recorded
    meetings). The reasons are the labels of the ticked indicators that carry weight, in
    configured order, then the attendance line, ``attendance_reason`` formatted with
    ``present`` and ``recorded`` (a catalog text such as "Kehadiran {recorded} pertemuan
    terakhir: {present}/{recorded}"). Keys that are not configured are ignored.
    """
    ticked = set(checked)
    counted = [i for i in rules.indicators if i.key in ticked and i.weight > 0]
    points = 0.0
    if attendance.recorded > 0:
        points = rules.attendance_weight * attendance.present / attendance.recorded
    reasons = [indicator.label for indicator in counted]
    if attendance.recorded > 0:
        reasons.append(
            attendance_reason.format(present=attendance.present, recorded=attendance.recorded)
        )
    total = sum(indicator.weight for indicator in counted) + points
    return Score(
        score=round(total, 2),
        threshold=rules.threshold,
        attendance_points=round(points, 2),
        reasons=tuple(reasons),
        missing_gates=tuple(rules.label(key) for key in rules.missing_gates(ticked)),
        needed=tuple(rules.label(key) for key in rules.needed(programmes or {})),
    )
