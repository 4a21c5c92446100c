"""A group's meeting rhythm as pendamping type it: "Selasa minggu kedua jam 09.00 di Balai Desa".

Pure functions: no clock, no database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import time
from typing import Final

from handlers.parsing.dates import WEEKDAY_NAMES, weekday_from_word
from models.rules.calendar import LAST_WEEK, next_meeting_date, nth_weekday

__all__ = [
    "MeetingRule",
    "describe_rule",
    "next_meeting_date",
    "nth_weekday",
    "parse_meeting_rule",
]


@dataclass(frozen=True)
class MeetingRule:
    """``weekday``: 0 = Monday; ``week_of_month``: 1..4, or -1 for the last such weekday;
    or, instead of both, ``day_of_month`` ("tiap tanggal 10": 1..31, the month's last day
    when it has fewer)."""

    weekday: int | None
    week_of_month: int | None
    at: time
    place: str | None = None
    day_of_month: int | None = None


# Ordinals without their "ke" prefix ("kedua" is read as "ke" + "dua", "ke-2" as "ke" + "2").
_ORDINAL_WORDS: Final[dict[str, int]] = {
    "pertama": 1,
    "satu": 1,
    "awal": 1,
    "dua": 2,
    "tiga": 3,
    "empat": 4,
    "terakhir": LAST_WEEK,
    "trakhir": LAST_WEEK,
    "akhir": LAST_WEEK,
}
_ORDINAL_NAMES: Final[dict[int, str]] = {
    1: "pertama",
    2: "kedua",
    3: "ketiga",
    4: "keempat",
    LAST_WEEK: "terakhir",
}

_ORDINAL = r"(?:ke\s*-?\s*(?:[0-9]|satu|dua|tiga|empat)|[0-9]|[a-z]+)(?![a-z0-9]|[.:][0-9])"
_WEEKDAY_WORD = r"(?:senin|selasa|rabu|kamis|jum'?at|jumaat|sabtu|minggu|ahad)"
# "minggu kedua", "pekan ke-2", "mg ke 3", "minggu terakhir".
_WEEK = re.compile(rf"(?<![a-z])(?:minggu|pekan|mg|mgg)\s*(?P<ordinal>{_ORDINAL})")
# "tiap tanggal 10", "tgl. 5": a date of the month.
_DAY_OF_MONTH = re.compile(r"(?<![a-z])(?:tanggal|tgl\.?)\s*(?P<day>[0-9]{1,2})(?![0-9])")
# "Selasa kedua" / "Selasa ke-2" without the word for week.
_WEEKDAY_ORDINAL = re.compile(rf"(?<![a-z])(?P<weekday>{_WEEKDAY_WORD})\s+(?P<ordinal>{_ORDINAL})")
_WEEKDAY = re.compile(rf"(?<![a-z])(?:hari\s+)?(?P<weekday>{_WEEKDAY_WORD})(?![a-z])")
_TIME = re.compile(
    r"""(?<![a-z0-9])
    (?:
        (?:jam|pukul|pkl|pk)\.?\s*(?P<hour>[0-9]{1,2})(?:\s*[.:]\s*(?P<minute>[0-9]{2}))?
        | (?P<bare_hour>[0-9]{1,2})\s*[.:]\s*(?P<bare_minute>[0-9]{2})
    )
    (?![0-9])
    (?:\s*(?P<part>pagi|siang|sore|malam))?
    (?:\s*(?:wib|wita|wit))?
    (?![a-z])""",
    re.VERBOSE,
)
# "jam 1 siang" is 13:00, "jam 4 sore" 16:00, "jam 7 malam" 19:00; "jam 9 pagi" stays.
_AFTERNOON_HOURS: Final[dict[str, range]] = {
    "pagi": range(0),
    "siang": range(1, 6),
    "sore": range(1, 12),
    "malam": range(6, 12),
}
_EDGE = " \t\n,;:.-–—()"
_LEADING_FILLER = re.compile(
    r"""^(?:
        (?:setiap|tiap|pada|hari|bulan|jadwal|pertemuan|p2k2|fds|rutin|di)\b
        | (?:bertempat|tempat|lokasi)\s*(?::|\bdi\b)
    [\s,:.-]*)+""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAILING_FILLER = re.compile(r"(?:[\s,;.-]*\b(?:setiap|tiap)\s+bulan(?:nya)?)+$", re.IGNORECASE)


def _fold(text: str) -> str:
    """Lower case without accents, of the same length as ``text`` (so spans carry over)."""
    folded = []
    for char in text:
        plain = unicodedata.normalize("NFKD", char)
        plain = "".join(c for c in plain if not unicodedata.combining(c))
        lowered = plain.casefold() if plain else char
        folded.append(lowered if len(lowered) == 1 else "\0")
    return "".join(folded).replace("\u2019", "'").replace("`", "'")


def _ordinal(written: str) -> int | None:
    """``"kedua"``, ``"ke-2"``, ``"2"`` -> 2; ``"terakhir"`` -> -1; anything else ``None``."""
    word = re.sub(r"[\s-]", "", written)
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word]
    word = word.removeprefix("ke")
    if word.isdigit():
        number = int(word)
        return number if 1 <= number <= 4 else None
    return _ORDINAL_WORDS.get(word)


def _search(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first match whose ordinal is one, trying every start (matches may overlap:
    in "Minggu minggu kedua" the first "minggu" is Sunday, not the week)."""
    position = 0
    while match := pattern.search(text, position):
        if _ordinal(match.group("ordinal")) is not None:
            return match
        position = match.start() + 1
    return None


def _to_time(hour: int, minute: int, part: str | None) -> time | None:
    if part is not None and hour in _AFTERNOON_HOURS[part]:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _clean_place(fragments: list[str]) -> str | None:
    parts = []
    for fragment in fragments:
        piece = fragment.strip(_EDGE)
        piece = _TRAILING_FILLER.sub("", piece).strip(_EDGE)
        piece = _LEADING_FILLER.sub("", piece).strip(_EDGE)
        if piece:
            parts.append(" ".join(piece.split()))
    return " ".join(parts) or None


def parse_meeting_rule(text: str) -> MeetingRule | None:
    """A meeting rule, or ``None`` when the weekday, the week of the month or the time is
    missing or impossible.

    Understood: "Selasa minggu kedua jam 09.00 di Balai Desa", "setiap Kamis minggu ke-3
    pukul 13:30 di rumah Bu Sri", "Rabu minggu terakhir jam 9 di Posyandu Melati", "Senin
    minggu pertama 08.30 Balai Desa Sukamaju", "Jumat ke-2 13.30 WIB". The place is what is
    left once those are taken out (after "di"), with the user's spelling kept.
    """
    folded = _fold(unicodedata.normalize("NFC", text))
    original = unicodedata.normalize("NFC", text)
    if len(folded) != len(original):  # pragma: no cover - _fold keeps lengths
        return None
    spans: list[tuple[int, int]] = []

    week: int | None = None
    weekday: int | None = None
    day_of_month: int | None = None
    if (day := _DAY_OF_MONTH.search(folded)) and 1 <= int(day.group("day")) <= 31:
        day_of_month = int(day.group("day"))
        spans.append(day.span())
    elif match := _search(_WEEK, folded):
        week = _ordinal(match.group("ordinal"))
    elif match := _search(_WEEKDAY_ORDINAL, folded):
        week = _ordinal(match.group("ordinal"))
        weekday = weekday_from_word(match.group("weekday"))
    if day_of_month is None and (match is None or week is None):
        return None
    if day_of_month is None and match is not None:
        spans.append(match.span())

    if weekday is None and day_of_month is None:
        for match in _WEEKDAY.finditer(folded):
            if any(start <= match.start("weekday") < end for start, end in spans):
                continue  # the "minggu" of "minggu kedua" is the week, not Sunday
            weekday = weekday_from_word(match.group("weekday"))
            spans.append(match.span())
            break
    if weekday is None and day_of_month is None:
        return None

    at: time | None = None
    for match in _TIME.finditer(folded):
        if any(start < match.end() and match.start() < end for start, end in spans):
            continue
        hour = match.group("hour") or match.group("bare_hour")
        minute = match.group("minute") or match.group("bare_minute") or "0"
        at = _to_time(int(hour), int(minute), match.group("part"))
        spans.append(match.span())
        break
    if at is None:
        return None

    fragments = []
    position = 0
    for start, end in sorted(spans):
        fragments.append(original[position:start])
        position = max(position, end)
    fragments.append(original[position:])
    return MeetingRule(
        weekday=weekday,
        week_of_month=week,
        at=at,
        place=_clean_place(fragments),
        day_of_month=day_of_month,
    )


def describe_rule(rule: MeetingRule) -> str:
    """``Selasa minggu kedua, jam 09.00, di Balai Desa`` (what :func:`parse_meeting_rule`
    reads back to the same rule)."""
    if rule.day_of_month is not None:
        text = f"tiap tanggal {rule.day_of_month}, jam {rule.at:%H.%M}"
        return f"{text}, di {rule.place}" if rule.place else text
    assert rule.weekday is not None and rule.week_of_month is not None
    week = _ORDINAL_NAMES.get(rule.week_of_month, str(rule.week_of_month))
    text = f"{WEEKDAY_NAMES[rule.weekday]} minggu {week}, jam {rule.at:%H.%M}"
    return f"{text}, di {rule.place}" if rule.place else text
