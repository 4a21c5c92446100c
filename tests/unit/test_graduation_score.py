"""The graduation readiness score, the gates, the complementary programmes, the stages and
when a saved assessment raises its alert."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.bootstrap import graduation_rules
from bot.config import Settings
from handlers.i18n import Translator
from models.enums import ProgrammeStatus
from models.graduation import ATTENDANCE_KEY, NEEDED_KEY, AssessmentRow, NewAssessment, alert_due
from models.rules.graduation import (
    DEFAULT_PROGRAMMES,
    DEFAULT_STAGES,
    AttendanceTally,
    GraduationRules,
    Indicator,
    Stage,
    StageWhen,
    score_assessment,
)

RULES = GraduationRules(
    indicators=(
        Indicator("penghasilan_umk", "Penghasilan di atas UMK", 3),
        Indicator("usaha_berjalan", "Punya usaha yang berjalan", 2),
        Indicator("kube_pena", "Ikut KUBE atau PENA", 1),
        Indicator("catatan", "Catatan tanpa bobot", 0),
    ),
    threshold=7.0,
    attendance_weight=2.0,
)
REASON = Translator()("graduation.reason_attendance")


def score(checked: set[str], present: int = 0, recorded: int = 0):
    return score_assessment(
        checked, RULES, AttendanceTally(present, recorded), attendance_reason=REASON
    )


def test_ticked_weights_add_up_and_their_labels_are_the_reasons_in_configured_order() -> None:
    result = score({"kube_pena", "penghasilan_umk"})
    assert result.score == 4.0 and result.attendance_points == 0
    assert result.reasons == ("Penghasilan di atas UMK", "Ikut KUBE atau PENA")
    assert not result.ready


def test_attendance_adds_its_weight_times_the_share_of_meetings_attended() -> None:
    result = score({"penghasilan_umk", "usaha_berjalan"}, present=5, recorded=6)
    assert result.attendance_points == 1.67
    assert result.score == 6.67
    assert result.reasons[-1] == "Kehadiran 6 pertemuan terakhir: 5/6"


def test_without_recorded_meetings_attendance_adds_nothing_and_gives_no_reason() -> None:
    result = score({"penghasilan_umk"}, present=0, recorded=0)
    assert result.score == 3.0 and result.attendance_points == 0
    assert result.reasons == ("Penghasilan di atas UMK",)


def test_the_threshold_is_reached_at_equality() -> None:
    result = score({"penghasilan_umk", "usaha_berjalan"}, present=6, recorded=6)
    assert result.score == 7.0 and result.ready


def test_unknown_keys_and_weightless_indicators_do_not_count() -> None:
    result = score({"catatan", "no_such_indicator"}, present=0, recorded=3)
    assert result.score == 0
    assert result.reasons == ("Kehadiran 3 pertemuan terakhir: 0/3",)


def test_the_configured_defaults_reach_the_threshold_with_income_business_and_attendance() -> None:
    rules = graduation_rules(Settings())
    assert rules.keys[0] == "penghasilan_umk" and rules.threshold == 7.0
    assert "bansos_komplementer" not in rules.keys and rules.gates == ("bersedia",)
    assert rules.programme_keys == ("kis_pbi_jkn", "kip_pip", "sembako_bpnt", "kks_aktif")
    assert [stage.key for stage in rules.stages] == [
        "penjajakan", "pendampingan", "siap", "graduasi"
    ]
    willing = score_assessment(
        {"penghasilan_umk", "usaha_berjalan", "bersedia"},
        rules,
        AttendanceTally(6, 6),
        attendance_reason=REASON,
    )
    assert willing.score == 7.0 and willing.ready
    # Willingness is a gate, not a weight: without it the same score is never siap.
    unwilling = score_assessment(
        {"penghasilan_umk", "usaha_berjalan", "kube_pena", "anak_sekolah"},
        rules,
        AttendanceTally(6, 6),
        attendance_reason=REASON,
    )
    assert unwilling.score == 9.0 and unwilling.reached and not unwilling.ready
    assert unwilling.missing_gates == ("Keluarga menyatakan bersedia",)


GATED = GraduationRules(
    indicators=(*RULES.indicators, Indicator("bersedia", "Keluarga menyatakan bersedia", 0)),
    threshold=7.0,
    attendance_weight=2.0,
    gates=("bersedia",),
    programmes=DEFAULT_PROGRAMMES,
)


def gated(checked: set[str], programmes: dict[str, ProgrammeStatus] | None = None):
    return score_assessment(
        checked, GATED, AttendanceTally(6, 6), attendance_reason=REASON, programmes=programmes
    )


def test_a_programme_needed_keeps_a_family_from_siap_and_one_it_has_or_not_needs_does_not() -> None:
    high = {"penghasilan_umk", "usaha_berjalan", "bersedia"}
    needs = gated(high, {"kis_pbi_jkn": ProgrammeStatus.BUTUH, "kip_pip": ProgrammeStatus.PUNYA})
    assert needs.reached and needs.gates_met and not needs.ready
    assert needs.needed == ("KIS/PBI-JKN",) and needs.missing == ("KIS/PBI-JKN",)
    fine = gated(high, {"kis_pbi_jkn": ProgrammeStatus.PUNYA, "kks_aktif": "tidak_perlu"})
    assert fine.ready and fine.needed == ()
    # A programme no longer configured counts for nothing.
    assert gated(high, {"kartu_lama": ProgrammeStatus.BUTUH}).ready


def test_a_gate_not_met_is_named_whatever_the_score() -> None:
    result = gated({"penghasilan_umk", "usaha_berjalan", "kube_pena"}, {})
    assert result.score == 8.0 and not result.ready
    assert result.missing_gates == ("Keluarga menyatakan bersedia",)


def stage_of(rules: GraduationRules, **kwargs) -> str | None:
    found = rules.stage(**{"threshold": None, "gates_met": True, "needs": False, **kwargs})
    return found.key if found else None


def test_a_family_is_at_the_last_stage_it_reaches() -> None:
    rules = GraduationRules(threshold=7.0, stages=DEFAULT_STAGES)
    assert stage_of(rules, score=None) == "penjajakan"
    assert stage_of(rules, score=6.9) == "penjajakan"
    assert stage_of(rules, score=7.0, gates_met=False) == "pendampingan"
    assert stage_of(rules, score=9.0, needs=True) == "pendampingan"
    assert stage_of(rules, score=7.0) == "siap"
    assert stage_of(rules, score=7.0, threshold=8.0) == "penjajakan"  # the stored threshold
    assert stage_of(rules, score=None, graduated=True) == "graduasi"
    staged = GraduationRules(
        threshold=7.0,
        stages=(
            Stage("awal", "Awal", StageWhen.ALWAYS),
            Stage("tumbuh", "Tumbuh", StageWhen.SCORE, 4.0),
            Stage("dekat", "Dekat", StageWhen.SCORE),
            Stage("siap", "Siap", StageWhen.READY),
        ),
    )
    assert stage_of(staged, score=5.0) == "tumbuh"
    assert stage_of(staged, score=7.5, needs=True) == "dekat"
    assert stage_of(staged, score=7.5) == "siap"
    assert stage_of(staged, score=1.0, graduated=True) is None  # no graduated stage


AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def saved(checked: set[str], score_: float, *, alerted: bool) -> AssessmentRow:
    indicators = {key: key in checked for key in ("a", "b", "c")}
    indicators[ATTENDANCE_KEY] = {"present": 1, "recorded": 1}
    return AssessmentRow(1, 1, indicators, score_, 7.0, AT, AT if alerted else None)


def new(checked: set[str], score_: float) -> NewAssessment:
    return NewAssessment(1, frozenset(checked), ("a", "b", "c"), 1, 1, score_, 7.0)


def test_a_first_assessment_over_the_threshold_alerts_and_one_under_it_does_not() -> None:
    assert alert_due(new({"a", "b"}, 8), None, None)
    assert not alert_due(new({"a"}, 3), None, None)


def test_no_alert_for_a_family_failing_a_gate_or_needing_a_programme() -> None:
    base = new({"a", "b"}, 9)
    unwilling = NewAssessment(**{**base.__dict__, "gates_met": False})
    needing = NewAssessment(**{**base.__dict__, "needed": ("kis_pbi_jkn",)})
    assert not alert_due(unwilling, None, None)
    assert not alert_due(needing, None, None)


def test_becoming_siap_when_the_programme_is_there_alerts_again() -> None:
    alerted = saved({"a", "b"}, 8, alerted=True)
    lacking = saved({"a", "b"}, 8, alerted=False)
    lacking.indicators[NEEDED_KEY] = ["kis_pbi_jkn"]
    assert not lacking.ready
    assert alert_due(new({"a", "b"}, 8), lacking, alerted)


def test_the_same_answers_again_do_not_alert_again() -> None:
    before = saved({"a", "b"}, 8, alerted=True)
    assert not alert_due(new({"a", "b"}, 8.5), before, before)


def test_changed_answers_over_the_threshold_alert_again() -> None:
    before = saved({"a", "b"}, 8, alerted=True)
    assert alert_due(new({"a", "b", "c"}, 9), before, before)


def test_crossing_the_threshold_again_after_falling_under_it_alerts_again() -> None:
    alerted = saved({"a", "b"}, 8, alerted=True)
    fell = saved({"a", "b"}, 6, alerted=False)
    assert alert_due(new({"a", "b"}, 8), fell, alerted)
