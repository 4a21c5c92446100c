"""Meeting rules as pendamping type them, and the dates they fall on."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parsing.schedule_rule import (
    MeetingRule,
    describe_rule,
    next_meeting_date,
    nth_weekday,
    parse_meeting_rule,
)
from models.rules.calendar import rule_dates


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Selasa minggu kedua jam 09.00 di Balai Desa",
         MeetingRule(1, 2, time(9, 0), "Balai Desa")),
        ("setiap Kamis minggu ke-3 pukul 13:30 di rumah Bu Sri",
         MeetingRule(3, 3, time(13, 30), "rumah Bu Sri")),
        ("Rabu minggu terakhir jam 9 di Posyandu Melati",
         MeetingRule(2, -1, time(9, 0), "Posyandu Melati")),
        ("Senin minggu pertama 08.30 Balai Desa Sukamaju",
         MeetingRule(0, 1, time(8, 30), "Balai Desa Sukamaju")),
    ],
)
def test_the_rules_of_the_brief(written: str, expected: MeetingRule) -> None:
    assert parse_meeting_rule(written) == expected


@pytest.mark.parametrize(
    ("ordinal", "week"),
    [("pertama", 1), ("kesatu", 1), ("ke-1", 1), ("ke 1", 1), ("1", 1), ("kedua", 2),
     ("ke-2", 2), ("ke dua", 2), ("2", 2), ("ketiga", 3), ("ke-3", 3), ("3", 3),
     ("keempat", 4), ("ke-4", 4), ("ke empat", 4), ("4", 4), ("terakhir", -1), ("akhir", -1)],
)
def test_every_way_of_writing_the_week_of_the_month(ordinal: str, week: int) -> None:
    rule = parse_meeting_rule(f"Selasa minggu {ordinal} jam 09.00")
    assert rule == MeetingRule(1, week, time(9, 0), None)


@pytest.mark.parametrize(
    ("written", "at"),
    [("09.00", time(9, 0)), ("9.00", time(9, 0)), ("09:00", time(9, 0)), ("jam 9", time(9, 0)),
     ("pukul 13.30", time(13, 30)), ("13.30 WIB", time(13, 30)), ("jam 14.15 WITA", time(14, 15)),
     ("pukul 8 WIT", time(8, 0)), ("pkl. 10.00", time(10, 0)), ("jam 1 siang", time(13, 0)),
     ("jam 4 sore", time(16, 0)), ("jam 7 malam", time(19, 0)), ("jam 9 pagi", time(9, 0)),
     ("jam 12 siang", time(12, 0))],
)
def test_every_way_of_writing_the_time(written: str, at: time) -> None:
    rule = parse_meeting_rule(f"Kamis minggu kedua {written}")
    assert rule is not None
    assert rule.at == at
    assert rule.place is None


@pytest.mark.parametrize(
    ("written", "weekday"),
    [("Senin", 0), ("Selasa", 1), ("Rabu", 2), ("Kamis", 3), ("Jumat", 4), ("Jum'at", 4),
     ("Sabtu", 5), ("Minggu", 6), ("Ahad", 6), ("hari Rabu", 2), ("SELASA", 1)],
)
def test_every_weekday_including_sunday_next_to_the_word_for_week(
    written: str, weekday: int
) -> None:
    assert parse_meeting_rule(f"{written} minggu kedua jam 9") == MeetingRule(
        weekday, 2, time(9, 0), None
    )


def test_the_weekday_may_carry_the_ordinal_itself() -> None:
    assert parse_meeting_rule("Jumat ke-2 13.30 WIB") == MeetingRule(4, 2, time(13, 30), None)
    assert parse_meeting_rule("Jum'at kedua jam 1 siang di Masjid") == MeetingRule(
        4, 2, time(13, 0), "Masjid"
    )
    assert parse_meeting_rule("Rabu akhir bulan jam 10") == MeetingRule(2, -1, time(10, 0), None)


def test_the_parts_may_come_in_any_order_and_the_place_keeps_its_spelling() -> None:
    assert parse_meeting_rule("di Balai RW 03, jam 07.30, Sabtu minggu keempat") == MeetingRule(
        5, 4, time(7, 30), "Balai RW 03"
    )
    assert parse_meeting_rule(
        "Kamis pekan ke 1 pkl. 14.00 di Aula Kantor Desa setiap bulan"
    ) == MeetingRule(3, 1, time(14, 0), "Aula Kantor Desa")
    assert parse_meeting_rule(
        "setiap bulan Selasa minggu ke dua jam 9 pagi, tempat: Rumah Ketua"
    ) == MeetingRule(1, 2, time(9, 0), "Rumah Ketua")


@pytest.mark.parametrize(
    "written",
    ["", "Selasa minggu kedua", "Selasa jam 9", "minggu kedua jam 9", "Selasa minggu kelima jam 9",
     "Selasa minggu ke-2 jam 25.00", "Selasa minggu ke-2 jam 9.75", "jam 9 di Balai Desa",
     "halo", "Selasa minggu depan jam 9"],
)
def test_a_rule_missing_weekday_week_or_time_gives_none(written: str) -> None:
    assert parse_meeting_rule(written) is None


def test_a_rule_is_described_back_in_the_same_words() -> None:
    rule = MeetingRule(1, 2, time(9, 0), "Balai Desa")
    assert describe_rule(rule) == "Selasa minggu kedua, jam 09.00, di Balai Desa"
    without_place = MeetingRule(6, -1, time(13, 30), None)
    assert describe_rule(without_place) == "Minggu minggu terakhir, jam 13.30"


places = st.sampled_from(
    [None, "Balai Desa", "rumah Bu Sri", "Posyandu Melati", "Balai RW 03", "Masjid Al-Ikhlas",
     "Aula Kantor Desa Sukamaju"]
)
rules = st.builds(
    MeetingRule,
    weekday=st.integers(0, 6),
    week_of_month=st.sampled_from([1, 2, 3, 4, -1]),
    at=st.builds(time, st.integers(0, 23), st.integers(0, 59)),
    place=places,
)


@given(rules)
def test_a_described_rule_reads_back_as_itself(rule: MeetingRule) -> None:
    assert parse_meeting_rule(describe_rule(rule)) == rule


@given(st.text(max_size=120))
def test_parse_meeting_rule_never_raises(text: str) -> None:
    result = parse_meeting_rule(text)
    assert result is None or isinstance(result, MeetingRule)


def test_nth_weekday_in_november_2026() -> None:
    # November 2026 starts on a Sunday and has 30 days.
    assert nth_weekday(2026, 11, 1, 1) == date(2026, 11, 3)
    assert nth_weekday(2026, 11, 1, 2) == date(2026, 11, 10)
    assert nth_weekday(2026, 11, 1, 4) == date(2026, 11, 24)
    assert nth_weekday(2026, 11, 1, -1) == date(2026, 11, 24)
    assert nth_weekday(2026, 11, 0, -1) == date(2026, 11, 30)
    assert nth_weekday(2026, 11, 6, 1) == date(2026, 11, 1)
    assert nth_weekday(2026, 11, 6, -1) == date(2026, 11, 29)


@pytest.mark.parametrize(("weekday", "week"), [(-1, 1), (7, 1), (1, 0), (1, 5), (1, -2)])
def test_nth_weekday_refuses_impossible_arguments(weekday: int, week: int) -> None:
    with pytest.raises(ValueError):
        nth_weekday(2026, 11, weekday, week)


@given(
    st.integers(1, 9998),
    st.integers(1, 12),
    st.integers(0, 6),
    st.sampled_from([1, 2, 3, 4, -1]),
)
def test_nth_weekday_is_that_weekday_within_the_month(
    year: int, month: int, weekday: int, week: int
) -> None:
    day = nth_weekday(year, month, weekday, week)
    assert (day.year, day.month, day.weekday()) == (year, month, weekday)
    if week == -1:
        assert (day + timedelta(days=7)).month != month
    else:
        assert (day.day - 1) // 7 == week - 1


def test_the_next_meeting_is_this_month_or_the_next() -> None:
    rule = MeetingRule(1, 2, time(9, 0), "Balai Desa")
    assert next_meeting_date(rule, date(2026, 11, 1)) == date(2026, 11, 10)
    assert next_meeting_date(rule, date(2026, 11, 10)) == date(2026, 11, 10)
    assert next_meeting_date(rule, date(2026, 11, 22)) == date(2026, 12, 8)
    assert next_meeting_date(rule, date(2026, 12, 20)) == date(2027, 1, 12)


@pytest.mark.parametrize(
    ("written", "day", "place"),
    [
        ("tiap tanggal 10 jam 09.00 di Balai Desa", 10, "Balai Desa"),
        ("setiap tgl. 5 pukul 13:30", 5, None),
        ("Tanggal 31 jam 8 pagi di rumah Bu Sri", 31, "rumah Bu Sri"),
    ],
)
def test_a_rule_by_date_of_the_month(written: str, day: int, place: str | None) -> None:
    rule = parse_meeting_rule(written)
    assert rule is not None
    assert (rule.day_of_month, rule.weekday, rule.week_of_month, rule.place) == (
        day, None, None, place
    )
    assert parse_meeting_rule(describe_rule(rule)) == rule  # said back, read the same


@pytest.mark.parametrize("written", ["tiap tanggal 32 jam 9", "tiap tanggal 10", "tanggal jam 9"])
def test_a_date_of_the_month_needs_a_real_day_and_a_time(written: str) -> None:
    assert parse_meeting_rule(written) is None


def test_a_date_rule_falls_on_the_months_last_day_when_it_is_shorter() -> None:
    assert rule_dates(None, None, date(2027, 1, 1), date(2027, 4, 30), 31) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)
    ]
