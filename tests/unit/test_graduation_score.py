"""The graduation readiness score and when a saved assessment raises its alert."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.bootstrap import graduation_rules
from bot.config import Settings
from handlers.i18n import Translator
from models.graduation import ATTENDANCE_KEY, AssessmentRow, NewAssessment, alert_due
from reporting.graduation import (
    AttendanceTally,
    GraduationRules,
    Indicator,
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


def test_the_configured_defaults_reach_the_threshold_with_income_business_and_will() -> None:
    rules = graduation_rules(Settings())
    assert rules.keys[0] == "penghasilan_umk" and rules.threshold == 7.0
    result = score_assessment(
        {"penghasilan_umk", "usaha_berjalan", "bersedia"},
        rules,
        AttendanceTally(0, 0),
        attendance_reason=REASON,
    )
    assert result.score == 7.0 and result.ready


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
