"""One typed line of a commitment verification, read against the numbered list of what is
due (1..n).

The pendamping answers with one line such as ``semua memenuhi``, ``semua memenuhi kecuali
3, 7``, ``tidak 3 (sakit), 7``, ``memenuhi 1 2 5``, ``belum 4`` or ``3-6 memenuhi``; bare
numbers (``3 7``) move those items one state on, as taps do. A reason may follow a number
in brackets and is matched against the configured reasons; one not understood is left to
be asked. Numbers outside the list come back as out of range, for the caller to say so.

Pure functions only: no database, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.rules.text import name_key, starts_a_word

_ONE = r"\d+(?:\s*-\s*\d+)?(?:\s*\([^)]*\))?"  # "3", "3-6", "3 (sakit)"
_NUMBERS = _ONE + r"(?:\s*(?:,|;|\s|dan)\s*" + _ONE + r")*"
_ITEM = re.compile(r"(\d+)(?:\s*-\s*(\d+))?(?:\s*\(([^)]*)\))?")
_WORDS = {
    "met": r"memenuhi|sudah memenuhi|penuh|ya|ok|oke",
    "not_met": r"tidak memenuhi|tdk memenuhi|tidak|tdk|belum memenuhi",
    "unverified": r"belum diverifikasi|belum dicek|belum",
}
_ALL = re.compile(
    r"^(?:semua|semuanya)\s*(?:sudah\s+)?(?:memenuhi)?\s*(?:,?\s*kecuali\s*:?\s*(?P<rest>"
    + _NUMBERS
    + r"))?$"
)
_LEADING = re.compile(
    r"^(?P<word>" + "|".join(_WORDS.values()) + r")\s*:?\s*(?P<numbers>" + _NUMBERS + r")$"
)
_TRAILING = re.compile(
    r"^(?P<numbers>" + _NUMBERS + r")\s*:?\s*(?P<word>" + "|".join(_WORDS.values()) + r")$"
)
_BARE = re.compile(r"^(?P<numbers>" + _NUMBERS + r")$")
_MAX_RANGE = 100


@dataclass
class CommitmentLine:
    """What a line said, by item number (1-based)."""

    all_met: bool = False  # everything not named otherwise is met
    met: list[int] = field(default_factory=list)
    not_met: list[int] = field(default_factory=list)
    unverified: list[int] = field(default_factory=list)
    cycled: list[int] = field(default_factory=list)  # bare numbers: one state on, as a tap
    reasons: dict[int, str] = field(default_factory=dict)  # number -> reason key
    unknown_reasons: list[str] = field(default_factory=list)
    out_of_range: list[int] = field(default_factory=list)


def _kind(word: str) -> str:
    for kind, pattern in _WORDS.items():
        if re.fullmatch(pattern, word):
            return kind
    raise ValueError(word)  # pragma: no cover - the patterns come from _WORDS


def _reason(written: str, reasons: Sequence[tuple[str, str]]) -> str | None:
    typed = name_key(written)
    if not typed:
        return None
    for key, label in reasons:
        if typed in (name_key(key.replace("_", " ")), name_key(label)):
            return key
    found = [key for key, label in reasons if starts_a_word(typed, name_key(label))]
    return found[0] if len(found) == 1 else None


def _numbers(
    text: str, count: int, reasons: Sequence[tuple[str, str]], line: CommitmentLine
) -> list[int]:
    numbers: list[int] = []
    for match in _ITEM.finditer(text):
        first = int(match.group(1)[:12])
        last = int(match.group(2)[:12]) if match.group(2) else first
        if last < first or last - first > _MAX_RANGE:
            last = first
        for number in range(first, last + 1):
            if not 1 <= number <= count:
                line.out_of_range.append(number)
                continue
            numbers.append(number)
            if match.group(3) is not None:
                reason = _reason(match.group(3), reasons)
                if reason is None:
                    line.unknown_reasons.append(match.group(3).strip()[:40])
                else:
                    line.reasons[number] = reason
    return numbers


def parse_commitment_line(
    text: str, count: int, reasons: Sequence[tuple[str, str]]
) -> CommitmentLine | None:
    """Read ``text`` against a list of ``count`` items; None when it is not such a line."""
    typed = " ".join(text.casefold().replace("\u2013", "-").split()).rstrip(".")
    line = CommitmentLine()
    if (found := _ALL.match(typed)) is not None:
        line.all_met = True
        if found.group("rest"):
            line.not_met = _numbers(found.group("rest"), count, reasons, line)
        return line
    for pattern in (_LEADING, _TRAILING):
        if (found := pattern.match(typed)) is not None:
            numbers = _numbers(found.group("numbers"), count, reasons, line)
            getattr(line, _kind(found.group("word"))).extend(numbers)
            return line
    if (found := _BARE.match(typed)) is not None:
        line.cycled = _numbers(found.group("numbers"), count, reasons, line)
        return line
    return None
