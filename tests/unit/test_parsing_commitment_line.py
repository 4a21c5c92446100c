"""One typed line of a commitment verification, read against a list of ten items."""

from __future__ import annotations

import pytest

from handlers.parsing.commitment_line import CommitmentLine, parse_commitment_line
from models.rules.commitments import default_reasons

REASONS = default_reasons()


def parse(text: str) -> CommitmentLine | None:
    return parse_commitment_line(text, 10, REASONS)


@pytest.mark.parametrize("text", ["semua", "Semua memenuhi.", "semuanya sudah memenuhi"])
def test_everything_met(text: str) -> None:
    assert parse(text) == CommitmentLine(all_met=True)


def test_everything_met_but_some_with_reasons_by_key_label_or_word() -> None:
    line = parse("semua memenuhi kecuali 3 (pindah sekolah), 7 (SAKIT); 9 (biaya) dan 10")
    assert line is not None and line.all_met
    assert line.not_met == [3, 7, 9, 10]
    assert line.reasons == {3: "pindah_sekolah", 7: "sakit", 9: "biaya"}


@pytest.mark.parametrize(
    ("text", "field", "numbers"),
    [
        ("tidak 3, 7", "not_met", [3, 7]),
        ("tidak memenuhi: 2", "not_met", [2]),
        ("2 tidak", "not_met", [2]),
        ("memenuhi 1 2 5", "met", [1, 2, 5]),
        ("3-6 memenuhi", "met", [3, 4, 5, 6]),
        ("belum 4", "unverified", [4]),
        ("belum diverifikasi 4 dan 5", "unverified", [4, 5]),
        ("3 7", "cycled", [3, 7]),
    ],
)
def test_one_state_for_the_numbers_named(text: str, field: str, numbers: list[int]) -> None:
    line = parse(text)
    assert line is not None and not line.all_met
    assert getattr(line, field) == numbers
    others = {"met", "not_met", "unverified", "cycled"} - {field}
    assert all(getattr(line, other) == [] for other in others)


def test_numbers_outside_the_list_and_unknown_reasons_come_back() -> None:
    line = parse("tidak 3 (malas), 12, 0")
    assert line is not None
    assert (line.not_met, line.out_of_range, line.unknown_reasons) == ([3], [12, 0], ["malas"])


@pytest.mark.parametrize("text", ["", "halo", "tidak", "semua kecuali", "hadir 3", "3 sakit"])
def test_anything_else_is_not_a_verification_line(text: str) -> None:
    assert parse(text) is None
