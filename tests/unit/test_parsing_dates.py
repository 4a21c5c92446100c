"""Dates the way Indonesian users type them, read against a given today."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parsing.dates import (
    format_date_id,
    month_from_word,
    parse_date,
    weekday_from_word,
)

# A Sunday.
TODAY = date(2026, 11, 22)


def test_the_reference_day_is_a_sunday() -> None:
    assert TODAY.weekday() == 6


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("hari ini", date(2026, 11, 22)),
        ("hr ini", date(2026, 11, 22)),
        ("skrg", date(2026, 11, 22)),
        ("sekarang", date(2026, 11, 22)),
        ("kemarin", date(2026, 11, 21)),
        ("kmrn", date(2026, 11, 21)),
        ("kemaren", date(2026, 11, 21)),
        ("kemarin lusa", date(2026, 11, 20)),
        ("besok", date(2026, 11, 23)),
        ("lusa", date(2026, 11, 24)),
        ("3 hari lalu", date(2026, 11, 19)),
        ("2 hari yang lalu", date(2026, 11, 20)),
    ],
)
def test_relative_words_count_from_today(written: str, expected: date) -> None:
    assert parse_date(written, TODAY) == expected


@pytest.mark.parametrize(
    "written",
    ["12/11", "12-11", "12.11", "12/11/2026", "12/11/26", "2026-11-12", "12-11-2026",
     "12.11.2026", "12 / 11", "12 Nov", "12 November", "12 nov 2026", "12 Nop", "12 NOP 2026",
     "12 Nopember 2026", "12 Nov.", "12-Nov-2026", "12nov", "tgl 12", "tanggal 12",
     "tgl. 12/11", "tanggal 12 November", "Kamis, 12 November 2026"],
)
def test_every_common_way_of_writing_the_twelfth_of_november(written: str) -> None:
    assert parse_date(written, TODAY) == date(2026, 11, 12)


@pytest.mark.parametrize(
    ("word", "month"),
    [("Januari", 1), ("Jan", 1), ("Februari", 2), ("Feb", 2), ("Peb", 2), ("Maret", 3),
     ("Mar", 3), ("April", 4), ("Apr", 4), ("Mei", 5), ("Juni", 6), ("Jun", 6), ("Juli", 7),
     ("Jul", 7), ("Agustus", 8), ("Agu", 8), ("Ags", 8), ("Agt", 8), ("Aug", 8),
     ("September", 9), ("Sep", 9), ("Sept", 9), ("Oktober", 10), ("Okt", 10), ("Oct", 10),
     ("November", 11), ("Nov", 11), ("Nop", 11), ("Desember", 12), ("Des", 12), ("Dec", 12)],
)
def test_indonesian_month_names_and_abbreviations_are_known(word: str, month: int) -> None:
    assert month_from_word(word) == month
    assert parse_date(f"1 {word} 2026", TODAY) == date(2026, month, 1)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Senin", date(2026, 11, 16)),
        ("Selasa", date(2026, 11, 17)),
        ("Rabu", date(2026, 11, 18)),
        ("Kamis", date(2026, 11, 19)),
        ("Jumat", date(2026, 11, 20)),
        ("Jum'at", date(2026, 11, 20)),
        ("Jum\u2019at", date(2026, 11, 20)),
        ("Sabtu", date(2026, 11, 21)),
        ("Minggu", date(2026, 11, 22)),
        ("Ahad", date(2026, 11, 22)),
        ("hari Selasa", date(2026, 11, 17)),
    ],
)
def test_a_weekday_alone_is_its_latest_occurrence_up_to_today(written: str, expected: date) -> None:
    assert parse_date(written, TODAY) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Selasa lalu", date(2026, 11, 17)),
        ("Selasa kemarin", date(2026, 11, 17)),
        ("selasa yang lalu", date(2026, 11, 17)),
        ("Minggu lalu", None),  # means "last week": not one date
        ("hari Minggu lalu", date(2026, 11, 15)),
        ("Ahad lalu", date(2026, 11, 15)),
        ("Selasa depan", date(2026, 11, 24)),
        ("Ahad depan", date(2026, 11, 29)),
        ("Sabtu depan", date(2026, 11, 28)),
        ("Selasa minggu lalu", date(2026, 11, 10)),
        ("Selasa minggu depan", date(2026, 11, 24)),
    ],
)
def test_lalu_is_strictly_before_today_and_depan_strictly_after(
    written: str, expected: date | None
) -> None:
    assert parse_date(written, TODAY) == expected


def test_depan_is_that_day_of_next_week_even_when_it_is_tomorrow() -> None:
    thursday = date(2026, 11, 26)
    assert parse_date("Jumat depan", thursday) == date(2026, 12, 4)  # not Friday the 27th
    assert parse_date("Jumat", thursday) == date(2026, 11, 20)  # the latest, as before
    assert parse_date("Senin depan", thursday) == date(2026, 11, 30)


def test_a_weekday_alone_on_that_very_day_is_today_but_lalu_is_a_week_ago() -> None:
    tuesday = date(2026, 11, 17)
    assert parse_date("Selasa", tuesday) == tuesday
    assert parse_date("Selasa lalu", tuesday) == date(2026, 11, 10)
    assert parse_date("Selasa depan", tuesday) == date(2026, 11, 24)


@pytest.mark.parametrize(
    "written", ["  KEMARIN  ", "kemarin.", "Kemarin!", "kemarin?!", "(kemarin)", "kemarin,"]
)
def test_case_spaces_and_trailing_punctuation_do_not_matter(written: str) -> None:
    assert parse_date(written, TODAY) == date(2026, 11, 21)


def test_extra_spaces_inside_are_tolerated() -> None:
    assert parse_date("  12    Nov   2026 ", TODAY) == date(2026, 11, 12)
    assert parse_date("kemarin   lusa", TODAY) == date(2026, 11, 20)


def test_a_day_and_month_in_january_that_would_be_far_ahead_is_last_december() -> None:
    assert parse_date("28/12", date(2027, 1, 5)) == date(2026, 12, 28)
    assert parse_date("28 Des", date(2027, 1, 5)) == date(2026, 12, 28)


def test_a_day_and_month_a_little_ahead_stays_in_this_year() -> None:
    assert parse_date("28/12", TODAY) == date(2026, 12, 28)
    assert parse_date("1/3", date(2026, 11, 22)) == date(2026, 3, 1)
    assert parse_date("20/5", date(2026, 11, 22)) == date(2026, 5, 20)
    assert parse_date("20/5", date(2026, 1, 10)) == date(2026, 5, 20)
    assert parse_date("20/8", date(2026, 1, 10)) == date(2025, 8, 20)


def test_the_twenty_ninth_of_february_exists_only_in_leap_years() -> None:
    assert parse_date("29/02", date(2028, 3, 1)) == date(2028, 2, 29)
    assert parse_date("29/02", date(2027, 3, 1)) is None
    assert parse_date("29/02/2024", TODAY) == date(2024, 2, 29)


def test_tanggal_alone_is_in_the_current_month() -> None:
    assert parse_date("tgl 3", TODAY) == date(2026, 11, 3)
    assert parse_date("tgl 31", TODAY) is None  # November has 30 days


@pytest.mark.parametrize(
    "written",
    ["", "   ", "31/02", "99/99", "0/11", "12/0", "12/13", "32 Nov", "12 Foo", "30 Feb 2026",
     "2026-02-30", "12/11/202", "besok lusa", "Selasa Rabu", "Minggu depan", "halo",
     "semua hadir", "09.00", "tgl", "12/11/2026/1", "selasa ini minggu"],
)
def test_what_is_not_a_date_gives_none(written: str) -> None:
    assert parse_date(written, TODAY) is None


def test_weekday_from_word_knows_full_names_only() -> None:
    assert weekday_from_word("SELASA") == 1
    assert weekday_from_word("Jum'at") == 4
    assert weekday_from_word("Ahad") == 6
    assert weekday_from_word("Sel") is None


def test_a_date_is_written_back_in_indonesian() -> None:
    assert format_date_id(date(2026, 11, 17)) == "Selasa, 17 November 2026"
    assert format_date_id(date(2026, 11, 12)) == "Kamis, 12 November 2026"
    assert format_date_id(date(2027, 1, 1)) == "Jumat, 1 Januari 2027"
    assert format_date_id(date(2026, 8, 17)) == "Senin, 17 Agustus 2026"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_a_written_date_reads_back_as_itself(day: date) -> None:
    written = format_date_id(day)
    assert re.fullmatch(r"[A-Z][a-z]+, \d{1,2} [A-Z][a-z]+ \d{4}", written)
    assert parse_date(written, TODAY) == day


@given(st.text(), st.dates())
def test_parse_date_never_raises_on_any_text(text: str, today: date) -> None:
    result = parse_date(text, today)
    assert result is None or isinstance(result, date)


@given(
    st.text(alphabet="0123456789/.- ", max_size=12),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
)
def test_parse_date_never_raises_on_digit_soup(text: str, today: date) -> None:
    result = parse_date(text, today)
    assert result is None or isinstance(result, date)


@given(
    st.sampled_from(["kemarin", "besok", "Selasa", "Selasa lalu", "Selasa depan", "tgl 1"]),
    st.sampled_from([date.min, date.max]),
)
def test_relative_dates_at_the_ends_of_the_calendar_give_none_or_a_date(
    text: str, today: date
) -> None:
    result = parse_date(text, today)
    assert result is None or isinstance(result, date)


@given(
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=28),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_a_day_and_month_without_year_is_never_more_than_six_months_ahead(
    month: int, day: int, today: date
) -> None:
    result = parse_date(f"{day}/{month}", today)
    assert result is not None
    assert (result.month, result.day) == (month, day)
    assert result - today <= timedelta(days=184)
    assert today - result < timedelta(days=366)


@given(
    st.sampled_from(["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_weekday_forms_land_on_that_weekday_in_the_right_direction(name: str, today: date) -> None:
    recent = parse_date(name, today)
    assert recent is not None and timedelta(0) <= today - recent <= timedelta(days=6)
    if name != "Minggu":
        past = parse_date(f"{name} lalu", today)
        ahead = parse_date(f"{name} depan", today)
        assert past is not None and timedelta(days=1) <= today - past <= timedelta(days=7)
        monday = today - timedelta(days=today.weekday())
        assert ahead is not None and timedelta(days=7) <= ahead - monday <= timedelta(days=13)
        assert past.weekday() == ahead.weekday() == recent.weekday()
