"""One typed line of attendance, read against the numbered list of a group's members."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parsing.attendance_line import (
    Ambiguous,
    AttendanceParse,
    Member,
    match_member_name,
    parse_attendance_line,
)

NAMES = [
    "Siti Aminah",      # 1
    "Ani Suryani",      # 2
    "Siti Rahma",       # 3
    "Dewi Lestari",     # 4
    "Nur Aini",         # 5
    "Sri Wahyuni",      # 6
    "Rahmani Putri",    # 7
    "Ema Susanti",      # 8
    "Yuliana Kristina",  # 9
    "Ratna Sari",       # 10
    "Wartini",          # 11
    "Kasiyem",          # 12
    "Sumarni",          # 13
    "Tuti Alawiyah",    # 14
    "Eni Rohaeni",      # 15
    "Lilis Suryati",    # 16
    "Maryam",           # 17
    "Hj. Fatimah",      # 18
    "Rosmiati",         # 19
    "Ngatinah",         # 20
    "Suparmi",          # 21
    "Juminten",         # 22
    "Sulastri",         # 23
    "Warsini",          # 24
    "Nengsih",          # 25
]
# kpm_id differs from the position, as it would in the database.
MEMBERS = tuple(Member(number=i + 1, kpm_id=1000 + i + 1, name=n) for i, n in enumerate(NAMES))


def kpm(number: int) -> int:
    return MEMBERS[number - 1].kpm_id


def parse(text: str) -> AttendanceParse:
    result = parse_attendance_line(text, MEMBERS)
    assert result is not None, text
    return result


@pytest.mark.parametrize(
    "line",
    ["semua hadir", "hadir semua", "semuanya hadir", "lengkap", "Semua Hadir.", "LENGKAP!",
     "hadir semuanya", "semua hadir ya pak", "sudah hadir semua", "semua hadir, sisanya hadir"],
)
def test_everyone_present_gives_no_absent_member(line: str) -> None:
    result = parse(line)
    assert result.absent == {}
    assert result.ok


@pytest.mark.parametrize(
    "line",
    ["hadir semua kecuali 3, 7, 12", "semua hadir kecuali 3 7 12", "kecuali 3,7,12",
     "Semua hadir, kecuali: 3, 7 dan 12", "lengkap kecuali no. 3, #7, 12", "kecuali 3 & 7 + 12"],
)
def test_all_present_except_numbers_leaves_their_reason_to_be_asked(line: str) -> None:
    result = parse(line)
    assert result.absent == {kpm(3): None, kpm(7): None, kpm(12): None}
    assert result.ok


def test_except_can_carry_reasons_per_member() -> None:
    result = parse("semua hadir kecuali 3 (sakit), Dewi izin, 12")
    assert result.absent == {kpm(3): "sakit", kpm(4): "izin", kpm(12): None}


def test_a_range_of_numbers_is_expanded() -> None:
    assert parse("kecuali 3-5").absent == {kpm(3): None, kpm(4): None, kpm(5): None}
    assert parse("kecuali 3 s/d 5").absent == {kpm(3): None, kpm(4): None, kpm(5): None}


@pytest.mark.parametrize(
    "line",
    ["tidak hadir: Ani, Dewi (sakit)", "tidak hadir Ani, Dewi sakit", "Tdk hadir: ani, dewi sakit",
     "yang tidak hadir: Bu Ani, Bu Dewi (sakit)", "tidak hadir 2 orang: Ani, Dewi (sakit)"],
)
def test_an_absent_list_by_name_with_a_reason_after_a_name(line: str) -> None:
    assert parse(line).absent == {kpm(2): None, kpm(4): "sakit"}


def test_an_absent_list_mixes_numbers_names_and_reasons_in_parentheses() -> None:
    result = parse("absen: 3, Ani (izin), 7 (alpa)")
    assert result.absent == {kpm(3): None, kpm(2): "izin", kpm(7): "alpa"}
    assert result.ok


def test_numbers_with_reasons_after_them() -> None:
    assert parse("3 sakit, 7 izin, 12 alpa").absent == {
        kpm(3): "sakit", kpm(7): "izin", kpm(12): "alpa"
    }
    assert parse("3 sakit 7 izin 12 alpa").absent == {
        kpm(3): "sakit", kpm(7): "izin", kpm(12): "alpa"
    }


@pytest.mark.parametrize(
    "line",
    ["izin: 3, 5; sakit: 7", "izin 3, 5 sakit 7", "izin: 3, 5 sakit: 7", "izin 3 5\nsakit 7",
     "Izin: 3 dan 5. Sakit: 7"],
)
def test_members_grouped_under_their_reason(line: str) -> None:
    assert parse(line).absent == {kpm(3): "izin", kpm(5): "izin", kpm(7): "sakit"}


@pytest.mark.parametrize(
    ("written", "mark"),
    [("alpa", "alpa"), ("alpha", "alpa"), ("alfa", "alpa"), ("tanpa keterangan", "alpa"),
     ("tk", "alpa"), ("TK", "alpa"), ("izin", "izin"), ("ijin", "izin"), ("sakit", "sakit"),
     ("tidak hadir", None), ("absen", None), ("(a)", "alpa"), ("(s)", "sakit"), ("(i)", "izin")],
)
def test_every_spelling_of_a_mark(written: str, mark: str | None) -> None:
    assert parse(f"7 {written}").absent == {kpm(7): mark}


def test_an_explanation_after_karena_is_not_read_as_names() -> None:
    result = parse("3 izin karena ke kota, 4 sakit krn demam 3 hari")
    assert result.absent == {kpm(3): "izin", kpm(4): "sakit"}
    assert result.ok


def test_ket_introduces_the_reason() -> None:
    assert parse("3 ket. sakit, Ani keterangan izin").absent == {kpm(3): "sakit", kpm(2): "izin"}
    assert parse("tidak hadir: 3 (ket: izin)").absent == {kpm(3): "izin"}


def test_a_head_count_is_not_a_member_number() -> None:
    assert parse("3 orang sakit: Ani, Dewi, 5").absent == {
        kpm(2): "sakit", kpm(4): "sakit", kpm(5): "sakit"
    }


def test_the_rest_present_at_the_end_changes_nothing() -> None:
    assert parse("3 sakit, sisanya hadir").absent == {kpm(3): "sakit"}
    assert parse("3 sakit, yang lain hadir semua").absent == {kpm(3): "sakit"}


@pytest.mark.parametrize(
    "line", ["kecuali 3, semua hadir", "selain no 3 semua hadir", "kecuali 3, yang lain hadir"]
)
def test_the_exception_may_come_before_everyone_else_present(line: str) -> None:
    assert parse(line).absent == {kpm(3): None}


def test_a_member_named_present_again_is_present() -> None:
    assert parse("kecuali 3, 7; 7 hadir").absent == {kpm(3): None}


def test_the_latest_mention_of_a_member_decides() -> None:
    assert parse("3 izin, 3 sakit").absent == {kpm(3): "sakit"}


def test_a_first_name_alone_finds_the_only_member_with_it() -> None:
    assert parse("tidak hadir: Dewi").absent == {kpm(4): None}
    assert parse("tidak hadir: Fatimah").absent == {kpm(18): None}  # "Hj." is no obstacle


def test_names_match_despite_case_accents_honorifics_and_typos() -> None:
    assert parse("tidak hadir: SITTI AMINAH").absent == {kpm(1): None}
    assert parse("tidak hadir: Ibu Dèwi Lestari").absent == {kpm(4): None}
    assert parse("tidak hadir: Wartni").absent == {kpm(11): None}
    assert parse("tidak hadir: lestari dewi").absent == {kpm(4): None}


def test_a_first_name_shared_by_two_members_is_ambiguous_never_guessed() -> None:
    result = parse("tidak hadir: Siti, Dewi")
    assert result.absent == {kpm(4): None}
    assert result.ambiguous == (Ambiguous("Siti", (MEMBERS[0], MEMBERS[2])),)
    assert not result.ok


def test_a_misspelt_shared_first_name_is_ambiguous_too() -> None:
    assert match_member_name("Sitti", MEMBERS) == (MEMBERS[0], MEMBERS[2])


def test_one_person_listed_twice_is_not_ambiguous() -> None:
    twice = (Member(1, 5, "Siti Aminah"), Member(2, 5, "Siti Aminah"))
    assert match_member_name("Siti", twice) == twice[0]


def test_a_full_name_settles_what_a_first_name_could_not() -> None:
    result = parse("tidak hadir: Siti Aminah, Siti Rahma")
    assert result.absent == {kpm(1): None, kpm(3): None}
    assert result.ok


def test_a_short_name_does_not_match_inside_a_longer_one() -> None:
    # "Ani" is Ani Suryani, not Rahmani Putri nor Nur Aini.
    assert match_member_name("Ani", MEMBERS) == MEMBERS[1]
    assert match_member_name("Rahmani", MEMBERS) == MEMBERS[6]


def test_an_unknown_name_is_reported() -> None:
    result = parse("tidak hadir: Budi, 4")
    assert result.unknown == ("Budi",)
    assert result.absent == {kpm(4): None}
    assert not result.ok


def test_numbers_outside_the_list_are_reported_not_guessed() -> None:
    result = parse("kecuali 0, 31, 25")
    assert result.out_of_range == (0, 31)
    assert result.absent == {kpm(25): None}
    assert not result.ok


def test_an_absurdly_long_number_is_out_of_range() -> None:
    result = parse("kecuali 99999999999999999999999")
    assert result.absent == {}
    assert len(result.out_of_range) == 1


def test_the_same_problem_is_reported_once() -> None:
    result = parse("kecuali 31, 31, Budi, Budi")
    assert result.out_of_range == (31,)
    assert result.unknown == ("Budi",)


@pytest.mark.parametrize(
    "line",
    ["", "   ", "halo pak", "3, 7", "Siti", "saya sakit", "hadir: 1, 2, 3", "kecuali",
     "semua hadir kecuali", "terima kasih", "12/11", "izin"],
)
def test_what_is_not_an_attendance_line_gives_none(line: str) -> None:
    assert parse_attendance_line(line, MEMBERS) is None


def test_members_numbered_as_shown_not_by_position_in_the_sequence() -> None:
    shown = (Member(number=2, kpm_id=7, name="Ani"), Member(number=1, kpm_id=9, name="Budi"))
    assert parse_attendance_line("kecuali 1", shown) == AttendanceParse(absent={9: None})


def test_match_member_name_gives_none_for_nothing_written() -> None:
    assert match_member_name("", MEMBERS) is None
    assert match_member_name("Bu", MEMBERS) is None
    assert match_member_name("Siti", ()) is None


def test_ok_is_true_only_without_problems() -> None:
    assert AttendanceParse(absent={1: None}).ok
    assert not AttendanceParse(unknown=("x",)).ok
    assert not AttendanceParse(out_of_range=(3,)).ok
    assert not AttendanceParse(ambiguous=(Ambiguous("Siti", MEMBERS[:2]),)).ok


member_names = st.text(
    alphabet=st.characters(categories=("Lu", "Ll", "Zs", "Nd", "Po")), max_size=20
)


@st.composite
def member_lists(draw: st.DrawFn) -> tuple[Member, ...]:
    names = draw(st.lists(member_names, max_size=30))
    ids = draw(st.lists(st.integers(1, 10**6), min_size=len(names), max_size=len(names),
                        unique=True))
    return tuple(Member(number=i + 1, kpm_id=ids[i], name=name) for i, name in enumerate(names))


def _check_refers_to_members(result: AttendanceParse | None, members: tuple[Member, ...]) -> None:
    if result is None:
        return
    ids = {member.kpm_id for member in members}
    numbers = {member.number for member in members}
    assert set(result.absent) <= ids
    assert all(mark in (None, "izin", "sakit", "alpa") for mark in result.absent.values())
    for entry in result.ambiguous:
        assert len(entry.candidates) >= 2
        assert all(candidate in members for candidate in entry.candidates)
    assert not set(result.out_of_range) & numbers


@given(st.text(max_size=200), member_lists())
def test_parse_attendance_line_never_raises_and_refers_only_to_members(
    text: str, members: tuple[Member, ...]
) -> None:
    _check_refers_to_members(parse_attendance_line(text, members), members)


words = st.sampled_from(
    ["semua", "hadir", "kecuali", "tidak", "izin", "sakit", "alpa", "tk", "absen", ",", ";",
     ":", "(", ")", "(sakit)", "dan", "3", "7", "12", "0", "99", "3-5", "Siti", "Ani", "Bu",
     "lengkap", "\n", "sisanya", "no.", "#", "-", "2 orang"]
)


@given(st.lists(words, max_size=15).map(" ".join), member_lists())
def test_lines_made_of_attendance_words_never_break_the_reader(
    text: str, members: tuple[Member, ...]
) -> None:
    _check_refers_to_members(parse_attendance_line(text, members), members)


@given(st.lists(st.integers(1, 25), min_size=1, max_size=10, unique=True))
def test_any_set_of_listed_numbers_is_exactly_the_absent_set(numbers: list[int]) -> None:
    result = parse("semua hadir kecuali " + ", ".join(map(str, numbers)))
    assert result.absent == {kpm(number): None for number in numbers}
    assert result.ok
