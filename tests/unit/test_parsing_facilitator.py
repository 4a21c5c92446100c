"""Who held a meeting, said in the typed attendance line; the rest is read as attendance."""

from __future__ import annotations

import pytest

from handlers.i18n import Translator
from handlers.parsing.attendance_line import Member, parse_attendance_line
from handlers.parsing.facilitator import split_facilitator
from models.enums import Facilitator

KETUA, PENDAMPING = Facilitator.KETUA, Facilitator.PENDAMPING


@pytest.mark.parametrize(
    ("line", "rest", "said"),
    [
        ("semua hadir kecuali 3, oleh ketua", "semua hadir kecuali 3", KETUA),
        ("tidak hadir: Siti (sakit); tanpa pendamping", "tidak hadir: Siti (sakit)", KETUA),
        ("hadir semua, pendamping berhalangan", "hadir semua", KETUA),
        ("hadir semua. pendamping tdk hadir", "hadir semua", KETUA),
        ("oleh ketua kelompok; izin: 3, 5; sakit: 7", "izin: 3, 5; sakit: 7", KETUA),
        ("izin: 3\noleh ketua\nsakit: 7", "izin: 3; sakit: 7", KETUA),
        ("tidak hadir: Siti, tanpa pendamping, Ani (izin)", "tidak hadir: Siti, Ani (izin)", KETUA),
        ("semua hadir (oleh ketua)", "semua hadir", KETUA),
        ("semua hadir, dipimpin Ketua saja", "semua hadir", KETUA),
        ("Ketua kelompok sendiri, semua hadir kecuali 4", "semua hadir kecuali 4", KETUA),
        ("3 alpa tanpa pendamping", "3 alpa", KETUA),
        ("saya berhalangan, semua hadir", "semua hadir", KETUA),
        ("tanpa pendamping", "", KETUA),
        ("oleh pendamping", "", PENDAMPING),
        ("semua hadir, didampingi pendamping", "semua hadir", PENDAMPING),
        ("tanpa pendamping... eh, dengan pendamping", "eh", PENDAMPING),  # the last one says
    ],
)
def test_the_words_are_taken_out_and_say_who_held_it(line: str, rest: str, said: object) -> None:
    assert split_facilitator(line) == (rest, said)


@pytest.mark.parametrize(
    "line",
    [
        "semua hadir",
        "tanpa keterangan: 3",  # a mark, not who held it
        "tidak hadir: Bu Ketua Rahayu",  # "ketua" alone is not who held it
        "Ketuanya sakit",
        "tanpa pendampingan",
        "3 7 12",
    ],
)
def test_a_line_that_does_not_say_is_left_as_it_is(line: str) -> None:
    assert split_facilitator(line) == (line, None)


def test_the_rest_reads_as_the_same_attendance() -> None:
    members = [Member(n, 100 + n, name) for n, name in enumerate(("Ani", "Siti", "Tuti"), 1)]
    rest, said = split_facilitator("tidak hadir: Siti (sakit), Tuti; oleh ketua")
    assert said is KETUA
    parsed = parse_attendance_line(rest, members)
    assert parsed is not None and parsed.ok
    assert parsed.absent == {102: "sakit", 103: None}


def test_every_facilitator_has_its_texts() -> None:
    t = Translator("id")
    for facilitator in Facilitator:
        assert t(f"attendance.facilitator_{facilitator.value}")
        assert t(f"attendance.facilitator_set_{facilitator.value}")
