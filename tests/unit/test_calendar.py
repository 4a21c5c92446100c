"""Meeting dates from monthly rules, local times, quiet hours and public holidays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.parsing import schedule_rule
from models.rules import calendar
from models.rules.calendar import (
    NATIONAL_CALENDAR,
    HolidayCalendar,
    RegionalHoliday,
    after_quiet_hours,
    day_text,
    in_quiet_hours,
    local_datetime,
    next_meeting_date,
    nth_weekday,
    rule_dates,
    shift_out_of_quiet_hours,
)

TUESDAY, MONDAY, FRIDAY = 1, 0, 4
JAKARTA = ZoneInfo("Asia/Jakarta")
QUIET = (time(21, 0), time(6, 0))


@dataclass(frozen=True)
class Rule:
    weekday: int
    week_of_month: int


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), JAKARTA)


def test_the_parsing_module_re_exports_the_calendar_functions() -> None:
    assert schedule_rule.nth_weekday is calendar.nth_weekday
    assert schedule_rule.next_meeting_date is calendar.next_meeting_date


def test_the_last_tuesday_is_the_fifth_in_a_month_with_five_and_the_fourth_otherwise() -> None:
    # December 2026 has five Tuesdays (1, 8, 15, 22, 29); November 2026 has four.
    assert nth_weekday(2026, 12, TUESDAY, 4) == date(2026, 12, 22)
    assert nth_weekday(2026, 12, TUESDAY, -1) == date(2026, 12, 29)
    assert nth_weekday(2026, 11, TUESDAY, 4) == date(2026, 11, 24)
    assert nth_weekday(2026, 11, TUESDAY, -1) == date(2026, 11, 24)


def test_the_first_weekday_of_a_month_that_starts_on_that_weekday_is_the_first_day() -> None:
    assert nth_weekday(2026, 12, TUESDAY, 1) == date(2026, 12, 1)
    assert nth_weekday(2027, 2, MONDAY, -1) == date(2027, 2, 22)


def test_rule_dates_cross_the_end_of_the_year_one_per_month() -> None:
    dates = rule_dates(TUESDAY, 2, date(2026, 11, 22), date(2027, 2, 10))
    assert dates == [date(2026, 12, 8), date(2027, 1, 12), date(2027, 2, 9)]


def test_rule_dates_include_both_ends_of_the_window() -> None:
    assert rule_dates(TUESDAY, 2, date(2026, 12, 8), date(2027, 1, 12)) == [
        date(2026, 12, 8),
        date(2027, 1, 12),
    ]


def test_the_next_meeting_date_takes_any_object_with_a_weekday_and_week() -> None:
    assert next_meeting_date(Rule(TUESDAY, -1), date(2026, 12, 30)) == date(2027, 1, 26)
    assert next_meeting_date(Rule(TUESDAY, -1), date(2026, 12, 29)) == date(2026, 12, 29)


@pytest.mark.parametrize(
    ("zone", "utc_hour"),
    [("Asia/Jayapura", 0), ("Asia/Makassar", 1), ("Asia/Jakarta", 2), (None, 2)],
)
def test_nine_in_the_morning_local_is_stored_in_utc(zone: str | None, utc_hour: int) -> None:
    moment = local_datetime(date(2026, 12, 8), time(9, 0), zone)
    assert moment == datetime(2026, 12, 8, utc_hour, 0, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_quiet_hours_across_midnight_include_their_start_and_exclude_their_end() -> None:
    assert in_quiet_hours(time(21, 0), *QUIET)
    assert in_quiet_hours(time(2, 30), *QUIET)
    assert not in_quiet_hours(time(6, 0), *QUIET)
    assert not in_quiet_hours(time(20, 59), *QUIET)


def test_quiet_hours_within_one_day_and_none_when_start_equals_end() -> None:
    assert in_quiet_hours(time(13, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(14, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(23, 0), time(0, 0), time(0, 0))


def test_a_reminder_due_in_quiet_hours_goes_earlier_before_they_begin() -> None:
    day = date(2026, 12, 7)
    moved = shift_out_of_quiet_hours(at(day, 22), *QUIET, earliest=at(day, 10))
    assert moved == at(day, 20, 30)


def test_a_reminder_due_after_midnight_goes_to_the_evening_before() -> None:
    day = date(2026, 12, 8)
    moved = shift_out_of_quiet_hours(at(day, 3), *QUIET, earliest=at(day - timedelta(1), 12))
    assert moved == at(day - timedelta(days=1), 20, 30)


def test_a_late_reminder_in_quiet_hours_waits_for_their_end_when_the_meeting_is_later() -> None:
    day = date(2026, 12, 7)
    now = at(day, 22, 15)
    moved = shift_out_of_quiet_hours(now, *QUIET, earliest=now, latest=at(day + timedelta(1), 9))
    assert moved == at(day + timedelta(days=1), 6)


def test_no_moment_is_left_when_the_meeting_starts_before_quiet_hours_end() -> None:
    day = date(2026, 12, 7)
    now = at(day, 22, 15)
    latest = at(day + timedelta(days=1), 5, 30)
    assert shift_out_of_quiet_hours(now, *QUIET, earliest=now, latest=latest) is None


def test_a_moment_outside_quiet_hours_is_left_alone() -> None:
    moment = at(date(2026, 12, 7), 16)
    assert shift_out_of_quiet_hours(moment, *QUIET, earliest=moment) == moment
    assert after_quiet_hours(moment, *QUIET) == moment


def test_a_nudge_in_quiet_hours_only_ever_waits_for_their_end() -> None:
    assert after_quiet_hours(at(date(2026, 12, 7), 23), *QUIET) == at(date(2026, 12, 8), 6)
    assert after_quiet_hours(at(date(2026, 12, 8), 1), *QUIET) == at(date(2026, 12, 8), 6)


is_holiday, next_working_day = NATIONAL_CALENDAR.is_holiday, NATIONAL_CALENDAR.next_working_day


def test_christmas_2026_is_a_public_holiday_by_its_indonesian_name() -> None:
    assert is_holiday(date(2026, 12, 25)) == "Hari Raya Natal"
    assert is_holiday(date(2026, 12, 23)) is None
    assert is_holiday(date(2026, 8, 17)) is not None  # Hari Kemerdekaan


def test_cuti_bersama_days_are_holidays_by_their_indonesian_names() -> None:
    assert is_holiday(date(2026, 12, 24)) == "Cuti Bersama Hari Raya Natal"
    assert is_holiday(date(2026, 3, 23)) == "Cuti Bersama Hari Raya Idul Fitri"
    without = HolidayCalendar(cuti_bersama=False)
    assert without.is_holiday(date(2026, 12, 24)) is None
    assert without.is_holiday(date(2026, 12, 25)) == "Hari Raya Natal"


def test_the_next_working_day_after_a_friday_holiday_is_monday() -> None:
    assert date(2026, 12, 25).weekday() == FRIDAY
    assert next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)


def test_the_next_working_day_skips_the_holidays_and_cuti_bersama_that_follow() -> None:
    # Nyepi on Thursday 19 March 2026 (cuti bersama the day before), cuti bersama for
    # Idul Fitri on Friday 20, Monday 23 and Tuesday 24 March around the weekend's Idul Fitri.
    assert next_working_day(date(2026, 3, 18)) == date(2026, 3, 25)
    assert HolidayCalendar(cuti_bersama=False).next_working_day(date(2026, 3, 18)) == date(
        2026, 3, 20
    )


BANYUMAS_DAY = RegionalHoliday(region="33.02", name="Hari Jadi Kabupaten Banyumas",
                               month_day=(2, 22))
BALI_DAY = RegionalHoliday(region="51", name="Hari Raya Galungan", day=date(2026, 6, 17))


def test_a_regional_holiday_is_a_holiday_only_within_its_region() -> None:
    local = HolidayCalendar(regional=[BANYUMAS_DAY, BALI_DAY])
    monday = date(2027, 2, 22)  # every year
    assert local.is_holiday(monday, "33.02") == "Hari Jadi Kabupaten Banyumas"
    assert local.is_holiday(monday, "33.02.05.2001") == "Hari Jadi Kabupaten Banyumas"  # a desa
    assert local.is_holiday(monday, "3302052001") == "Hari Jadi Kabupaten Banyumas"  # undotted
    assert local.is_holiday(monday, "33.20") is None  # another kabupaten
    assert local.is_holiday(monday, "33") is None  # only the province is known
    assert local.is_holiday(monday, None) is None
    assert local.is_holiday(date(2026, 6, 17), "51.03") == "Hari Raya Galungan"
    assert local.is_holiday(date(2027, 6, 17), "51.03") is None  # one day, not yearly
    assert local.has_regional and not NATIONAL_CALENDAR.has_regional


def test_the_next_working_day_skips_a_regional_holiday_of_the_region_only() -> None:
    local = HolidayCalendar(
        regional=[RegionalHoliday(region="33.02", name="Hari Jadi", month_day=(12, 28))]
    )
    assert local.next_working_day(date(2026, 12, 25), "33.02") == date(2026, 12, 29)
    assert local.next_working_day(date(2026, 12, 25), "33.20") == date(2026, 12, 28)


def test_a_regional_holiday_on_a_national_one_names_both() -> None:
    local = HolidayCalendar(
        regional=[RegionalHoliday(region="33", name="Hari Jadi Jawa Tengah", month_day=(8, 17))]
    )
    assert local.is_holiday(date(2026, 8, 17), "33.02") == (
        "Hari Kemerdekaan Republik Indonesia; Hari Jadi Jawa Tengah"
    )


def test_dates_are_written_in_indonesian() -> None:
    assert day_text(date(2026, 12, 8)) == "Selasa, 8 Desember 2026"
