"""Dates as Indonesian users type them in chat.

Everything here is pure: the caller passes ``today`` (the user's local date), nothing reads the
clock. Unreadable or impossible dates give ``None``; nothing raises on user text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from typing import Final

from babel.dates import format_date

__all__ = [
    "MONTH_NAMES",
    "WEEKDAY_NAMES",
    "format_date_id",
    "month_from_word",
    "parse_date",
    "weekday_from_word",
]

# Display names, Monday first (``date.weekday()`` order).
WEEKDAY_NAMES: Final = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTH_NAMES: Final = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

_WEEKDAY_WORDS: Final[dict[str, int]] = {
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "jum'at": 4,
    "jumaat": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
}

_MONTH_WORDS: Final[dict[str, int]] = {
    "januari": 1,
    "jan": 1,
    "februari": 2,
    "pebruari": 2,
    "feb": 2,
    "peb": 2,
    "maret": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "may": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "agustus": 8,
    "agu": 8,
    "ags": 8,
    "agt": 8,
    "agus": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "oct": 10,
    "november": 11,
    "nopember": 11,
    "nov": 11,
    "nop": 11,
    "desember": 12,
    "des": 12,
    "dec": 12,
}

# Relative words, in days from today.
_RELATIVE: Final[dict[str, int]] = {
    "hari ini": 0,
    "hr ini": 0,
    "hri ini": 0,
    "skrg": 0,
    "skg": 0,
    "sekarang": 0,
    "now": 0,
    "kemarin": -1,
    "kmrn": -1,
    "kemaren": -1,
    "kmren": -1,
    "kmarin": -1,
    "kemarn": -1,
    "kemarin lusa": -2,
    "kmrn lusa": -2,
    "kemaren lusa": -2,
    "besok": 1,
    "bsk": 1,
    "besuk": 1,
    "esok": 1,
    "lusa": 2,
}

_PAST_WORDS: Final = frozenset(
    {"lalu", "yang lalu", "yg lalu", "kemarin", "kmrn", "kemaren", "kmren", "kmarin", "kemarn"}
)
_NEXT_WORDS: Final = frozenset({"depan", "dpn", "besok", "yang akan datang", "yad", "nanti"})
# "Selasa minggu lalu": the Tuesday of the previous calendar week (weeks start on Monday);
# "Selasa ini": the Tuesday of this week, which may be ahead.
_WEEK_OFFSETS: Final[dict[str, int]] = {
    "minggu lalu": -1,
    "minggu kemarin": -1,
    "minggu kmrn": -1,
    "pekan lalu": -1,
    "ini": 0,
    "minggu ini": 0,
    "pekan ini": 0,
    "minggu depan": 1,
    "pekan depan": 1,
}

# A day/month date without a year is taken in the current year unless that is more than
# about six months ahead; then it is last year's (in January "28/12" is last December).
_FUTURE_LIMIT: Final = timedelta(days=183)

_SPACES = re.compile(r"\s+")
_APOSTROPHES = re.compile(r"[\u2018\u2019\u02bc`\u00b4]")
_EDGE_PUNCT = ".,!?;:\"'()[]"

_NUMERIC = re.compile(r"(\d{1,2})\s*([/.\-])\s*(\d{1,2})(?:\s*\2\s*(\d{4}|\d{2}))?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NAMED_MONTH = re.compile(r"(\d{1,2})\s*[-/ ]?\s*([a-z]+)\.?(?:\s*[-/ ,]\s*(\d{4}|\d{2}))?")
_DAY_ONLY = re.compile(r"(?:tgl|tg|tanggal)\.?\s*(\d{1,2})")
_DATE_PREFIX = re.compile(r"(?:tgl|tg|tanggal)\.?\s*(?=\d)")
_WEEKDAY_PREFIX = re.compile(r"(?:hari\s+)?([a-z']+)\s*,?\s+(?=\d)")
_WEEKDAY = re.compile(r"(?:hari\s+)?([a-z']+)(?:\s+(.+))?")
_DAYS_AGO = re.compile(r"(\d{1,3})\s+(?:hari|hr)\s+(?:yang\s+|yg\s+)?lalu")


def _normalize(text: str) -> str:
    """Lower case, no accents, one space between words, no punctuation around."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = _APOSTROPHES.sub("'", plain).casefold()
    return _SPACES.sub(" ", plain).strip().strip(_EDGE_PUNCT).strip()


def weekday_from_word(word: str) -> int | None:
    """``"Selasa"`` -> 1 (Monday is 0); full Indonesian names only, any case, or ``None``."""
    key = _normalize(word)
    return _WEEKDAY_WORDS.get(key)


def month_from_word(word: str) -> int | None:
    """``"Nop"`` -> 11: Indonesian month names, their abbreviations and the English ones."""
    return _MONTH_WORDS.get(_normalize(word).rstrip("."))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _full_year(written: str) -> int:
    year = int(written)
    return 2000 + year if len(written) == 2 else year


def _infer_year(month: int, day: int, today: date) -> date | None:
    """The date of ``day``/``month`` nearest the past: this year, or last year if far ahead."""
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    # Compare with a day that exists in every year so that 29 February is judged like 28th.
    probe = _safe_date(today.year, month, min(day, 28))
    if probe is None:
        return None
    year = today.year - 1 if probe - today > _FUTURE_LIMIT else today.year
    return _safe_date(year, month, day)


def _shift(today: date, days: int) -> date | None:
    try:
        return today + timedelta(days=days)
    except OverflowError:
        return None


def _weekday_date(weekday: int, direction: str, today: date) -> date | None:
    """``direction``: ``"recent"`` (on or before today), ``"past"`` (< today), ``"next"``
    (that day of next week, Monday to Sunday: "Jumat depan" said on a Thursday is not
    tomorrow but the Friday after)."""
    back = (today.weekday() - weekday) % 7
    if direction == "recent":
        return _shift(today, -back)
    if direction == "past":
        return _shift(today, -(back or 7))
    return _shift(today, 7 - today.weekday() + weekday)


def _parse_weekday(text: str, today: date) -> date | None:
    match = _WEEKDAY.fullmatch(text)
    if match is None:
        return None
    word, rest = match.group(1), match.group(2)
    if word not in _WEEKDAY_WORDS:
        return None
    weekday = _WEEKDAY_WORDS[word]
    if rest is None:
        return _weekday_date(weekday, "recent", today)
    # "minggu lalu" / "minggu depan" mean last / next *week*: too vague to be one date,
    # unless written "hari Minggu lalu".
    if word == "minggu" and not text.startswith("hari "):
        return None
    if rest in _PAST_WORDS:
        return _weekday_date(weekday, "past", today)
    if rest in _NEXT_WORDS:
        return _weekday_date(weekday, "next", today)
    if rest in _WEEK_OFFSETS:
        return _shift(today, 7 * _WEEK_OFFSETS[rest] - today.weekday() + weekday)
    return None


def _parse_absolute(text: str, today: date) -> date | None:
    if match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
        return _safe_date(year, month, day)
    if match := _NUMERIC.fullmatch(text):
        day, month = int(match.group(1)), int(match.group(3))
        if match.group(4) is None:
            return _infer_year(month, day, today)
        return _safe_date(_full_year(match.group(4)), month, day)
    if match := _NAMED_MONTH.fullmatch(text):
        named = _MONTH_WORDS.get(match.group(2))
        if named is None:
            return None
        day = int(match.group(1))
        if match.group(3) is None:
            return _infer_year(named, day, today)
        return _safe_date(_full_year(match.group(3)), named, day)
    return None


def _parse(text: str, today: date) -> date | None:
    if not text:
        return None
    if text in _RELATIVE:
        return _shift(today, _RELATIVE[text])
    if match := _DAYS_AGO.fullmatch(text):
        return _shift(today, -int(match.group(1)))
    if match := _DAY_ONLY.fullmatch(text):
        return _safe_date(today.year, today.month, int(match.group(1)))
    # "Selasa, 12 November 2026" (what format_date_id writes): the weekday is decoration.
    if (match := _WEEKDAY_PREFIX.match(text)) and match.group(1) in _WEEKDAY_WORDS:
        text = text[match.end() :]
    text = _DATE_PREFIX.sub("", text, count=1).strip()
    if text[:1].isdigit():
        return _parse_absolute(text, today)
    return _parse_weekday(text, today)


def parse_date(text: str, today: date) -> date | None:
    """The date meant by ``text``, relative to ``today``, or ``None`` if there is none.

    Understood: ``hari ini``, ``kemarin``, ``kemarin lusa``, ``besok``, ``lusa``, ``3 hari
    lalu``; ``12/11``, ``12-11``, ``12.11``, ``12/11/2026``, ``12/11/26``, ``2026-11-12``;
    ``12 Nov``, ``12 Nop 2026``, ``Selasa, 12 November 2026``; ``tgl 12`` (this month);
    ``Selasa`` (the latest Tuesday on or before today), ``Selasa lalu`` (before today),
    ``Selasa depan`` (the Tuesday of next week). Days and months come day first, as in Indonesia.
    """
    try:
        return _parse(_normalize(text), today)
    except (ValueError, OverflowError):  # pragma: no cover - the helpers already guard
        return None


@lru_cache(maxsize=4096)
def format_date_id(d: date) -> str:
    """``Selasa, 12 November 2026``: the weekday, day, month and year in Indonesian."""
    return format_date(d, "EEEE, d MMMM y", locale="id")
