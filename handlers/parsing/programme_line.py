"""One typed line about a family's complementary programmes (bansos komplementer), read
against the numbered list of the configured programmes (1..n).

A programme is named by its number, its label or a word of it ("kis", "bpnt", "kks") or
one of its configured aliases; ``semua`` names them all. A status is *punya* (has it:
"punya", "ada", "sudah"), *butuh* (needs it but lacks it: "butuh", "belum punya", "tidak
ada") or *tidak perlu* ("tidak perlu", "tdk butuh"). Parts are separated by commas,
semicolons or "dan"; in a part the status may come first (``punya 1 2``, ``butuh kip``)
or after what it is said of (``kis punya kip butuh``). A part without a status takes the
one said before (``punya 1, 2, butuh 3``). Bare numbers or names without any status
(``1 3``) move those programmes one status on, as taps do.

Pure functions only: no database, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from models.enums import ProgrammeStatus
from models.rules.graduation import Programme

_STATES: dict[tuple[str, ...], ProgrammeStatus] = {}
for _words, _status in (
    (
        "tidak perlu|tdk perlu|tak perlu|gak perlu|ga perlu|nggak perlu|engga perlu|"
        "tidak butuh|tdk butuh|gak butuh|ga butuh|nggak butuh|tidak usah|tdk usah",
        ProgrammeStatus.TIDAK_PERLU,
    ),
    (
        "belum punya|blm punya|tidak punya|tdk punya|gak punya|ga punya|nggak punya|"
        "belum ada|blm ada|tidak ada|tdk ada|gak ada|ga ada|butuh|perlu|belum|blm|kurang",
        ProgrammeStatus.BUTUH,
    ),
    (
        "sudah punya|sdh punya|sudah ada|punya|ada|sudah|sdh|udah|dapat|terima",
        ProgrammeStatus.PUNYA,
    ),
):
    for _phrase in _words.split("|"):
        _STATES[tuple(_phrase.split())] = _status

_FILLER = frozenset({"program", "bansos", "kartu", "yang", "nya", "juga", "masih", "no", "nomor"})
_ALL = frozenset({"semua", "semuanya"})
_SEPARATORS = re.compile(r"[,;\n]|\bdan\b")
_WORD = re.compile(r"[a-z0-9]+")
NEXT_STATUS = {
    None: ProgrammeStatus.PUNYA,
    ProgrammeStatus.PUNYA: ProgrammeStatus.BUTUH,
    ProgrammeStatus.BUTUH: ProgrammeStatus.TIDAK_PERLU,
    ProgrammeStatus.TIDAK_PERLU: ProgrammeStatus.PUNYA,
}
"""A tap moves a programme on: not recorded -> punya -> butuh -> tidak perlu -> punya."""


@dataclass(frozen=True)
class ProgrammeLine:
    """What a line said, by programme number (1-based), in the order said."""

    statuses: tuple[tuple[int, ProgrammeStatus], ...] = ()
    cycled: tuple[int, ...] = ()  # no status said: one status on, as a tap
    out_of_range: tuple[int, ...] = ()
    unknown: tuple[str, ...] = ()  # words understood as neither a programme nor a status


def names_of(programmes: Sequence[Programme]) -> dict[tuple[str, ...], int]:
    """The words that name each programme (number 1..n): its key, label, the label's
    words of three letters or more and its aliases; a word two programmes share names
    neither."""
    names: dict[tuple[str, ...], set[int]] = {}
    for number, programme in enumerate(programmes, start=1):
        label = tuple(_WORD.findall(programme.label.casefold()))
        found = {label, tuple(programme.key.split("_"))}
        found |= {(word,) for word in label if len(word) >= 3 and not word.isdecimal()}
        found |= {tuple(_WORD.findall(alias.casefold())) for alias in programme.aliases}
        for name in found:
            if name and name not in _STATES:
                names.setdefault(name, set()).add(number)
    return {name: next(iter(n)) for name, n in names.items() if len(n) == 1}


def _tokens(
    words: list[str], names: dict[tuple[str, ...], int], total: int
) -> list[tuple[str, object]]:
    """("state", status), ("ref", [numbers]), ("out", number) or ("unknown", word)."""
    longest = max((len(name) for name in (*names, *_STATES)), default=1)
    tokens: list[tuple[str, object]] = []
    at = 0
    while at < len(words):
        for size in range(min(longest, len(words) - at), 0, -1):
            phrase = tuple(words[at : at + size])
            if phrase in _STATES:
                tokens.append(("state", _STATES[phrase]))
                break
            if phrase in names:
                tokens.append(("ref", [names[phrase]]))
                break
        else:
            word, size = words[at], 1
            if word.isdecimal():
                number = int(word)
                tokens.append(("ref", [number]) if 1 <= number <= total else ("out", number))
            elif word in _ALL:
                tokens.append(("ref", list(range(1, total + 1))))
            elif word not in _FILLER:
                tokens.append(("unknown", word))
        at += size
    return tokens


def parse_programme_line(text: str, programmes: Sequence[Programme]) -> ProgrammeLine | None:
    """What ``text`` says of the numbered ``programmes``; None when it names none."""
    names = names_of(programmes)
    parts = [_WORD.findall(part) for part in _SEPARATORS.split(text.casefold())]
    said: list[tuple[int, ProgrammeStatus]] = []
    carry: list[int] = []  # named before any status was said: the first one said is theirs
    out: list[int] = []
    unknown: list[str] = []
    last: ProgrammeStatus | None = None
    for words in parts:
        tokens = _tokens(words, names, len(programmes))
        out += [int(str(value)) for kind, value in tokens if kind == "out"]
        unknown += [str(value) for kind, value in tokens if kind == "unknown"]
        meaningful = [(kind, value) for kind, value in tokens if kind in ("state", "ref")]
        if not meaningful:
            continue
        states_first = meaningful[0][0] == "state"
        pending: list[int] = []
        for _, value in meaningful:
            if isinstance(value, ProgrammeStatus):
                last = value
                said += [(number, value) for number in (*carry, *pending)]
                carry, pending = [], []
            elif isinstance(value, list) and states_first and last is not None:
                said += [(number, last) for number in value]
            elif isinstance(value, list):
                pending += value
        if last is None:
            carry += pending
        else:
            said += [(number, last) for number in pending]
    bare = carry
    if not said and not bare and not out and not unknown:
        return None
    return ProgrammeLine(
        statuses=tuple(said),
        cycled=tuple(dict.fromkeys(bare)),
        out_of_range=tuple(out),
        unknown=tuple(unknown),
    )
