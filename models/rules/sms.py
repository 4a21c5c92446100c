"""SMS text: GSM-7 characters only, counted in segments, fitted within a number of them.

An SMS of GSM-7 characters (the GSM 03.38 alphabet: Latin letters, digits, common
punctuation, a few accented letters) carries 160 characters, or 153 per segment when it
is longer; one character outside it (an emoji, an en dash, a curly quote) turns the whole
message into UCS-2, 70 characters or 67 per segment: the same reminder costs two or three
times as much. So whatever goes into an SMS body is written over in GSM-7 first
(:func:`gsm7`), counted with ``smsutil`` (:func:`segments`), and a message the business
starts is fitted within the configured segments by shortening its longest values
(:func:`fit`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import smsutil
from smsutil.codecs import is_valid_gsm

SINGLE = 160
"""GSM-7 septets in an SMS of one segment."""
PER_SEGMENT = 153
"""GSM-7 septets per segment of a longer SMS (the rest is the concatenation header)."""
MIN_VALUE = 8
"""A shortened value keeps at least this many characters (and its end mark)."""

_REPLACEMENTS = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus
    "\u2010": "-",
    "\u2011": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u2022": "-",  # bullet
    "\u00b7": "-",  # middle dot
    "\u2192": "->",
    "\u2190": "<-",
    "\u2265": ">=",
    "\u2264": "<=",
    "\u00d7": "x",
    "\u00a0": " ",  # no-break space
    "\u202f": " ",
    "\u2009": " ",
    "\u200b": "",  # zero-width space
    "\ufe0f": "",  # emoji variation selector
    "\u2705": "[v]",  # the check marks of a checked list
    "\u274c": "[x]",
    "\u2b1c": "[ ]",
    "\t": " ",
    "\u0141": "L",  # Ł, ł, Đ, đ: letters NFKD does not take apart
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
}
_SPACES = re.compile(r"[ ]{2,}")
_SPACE_BEFORE_BREAK = re.compile(r"[ ]+\n")
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")  # a shortened value's mark before a full stop


@lru_cache(maxsize=4096)
def _char(char: str) -> str:
    """One character in GSM-7: itself, its replacement, its letter without accents, or
    nothing (an emoji, a script GSM-7 has no letters of)."""
    if is_valid_gsm(char) and char != "\x1b":
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    decomposed = unicodedata.normalize("NFKD", char)
    bare = "".join(part for part in decomposed if not unicodedata.combining(part))
    if bare and bare != char and all(is_valid_gsm(part) for part in bare):
        return bare
    return ""


def gsm7(text: str) -> str:
    """``text`` written over in GSM-7 characters: dashes, quotes and bullets as their
    plain forms, accented letters without accents where GSM-7 lacks them, emoji left out
    (with the space they leave)."""
    if is_gsm7(text):
        return text
    written = "".join(map(_char, text))
    return _SPACE_BEFORE_BREAK.sub("\n", _SPACES.sub(" ", written)).strip()


def is_gsm7(text: str) -> bool:
    """Whether ``text`` is GSM-7 characters only (no escape character of its own)."""
    return not text or (is_valid_gsm(text) and "\x1b" not in text)


def segments(text: str) -> int:
    """How many segments an SMS of ``text`` takes (``smsutil``: GSM-7 or UCS-2)."""
    return len(smsutil.split(text).parts)


def capacity(max_segments: int) -> int:
    """GSM-7 septets that fit in ``max_segments`` segments."""
    return SINGLE if max_segments <= 1 else PER_SEGMENT * max_segments


def _septets(text: str) -> int:
    return sum(2 if char in smsutil.GSM_EXT_CHARSET else 1 for char in text)


def cut(text: str, max_segments: int) -> str:
    """A GSM-7 text cut at a word boundary to fit ``max_segments`` (the last resort)."""
    if segments(text) <= max_segments:
        return text
    room = capacity(max_segments) - 3
    kept = text
    while _septets(kept) > room:
        kept = kept[: len(kept) - max(1, _septets(kept) - room)]
    space = kept.rfind(" ")
    if space > room // 2:
        kept = kept[:space]
    return kept.rstrip(" ,.;:-") + "..."


def fit(
    render: Callable[[Mapping[str, str]], str],
    values: Mapping[str, str],
    max_segments: int,
    shortenable: Sequence[str],
) -> str:
    """The text ``render`` makes of ``values`` in GSM-7, within ``max_segments``: while it
    is longer, the longest of the ``shortenable`` values (a place, a kelompok, a name) is
    shortened, the rest of the text (the meeting's day and time, the answers to give)
    kept whole; if that is not enough, the text is cut."""
    current = {name: gsm7(str(value)) for name, value in values.items()}
    text = gsm7(render(current))
    while segments(text) > max_segments:
        candidates = [name for name in shortenable if len(current.get(name, "")) > MIN_VALUE]
        if not candidates:
            return cut(text, max_segments)
        longest = max(candidates, key=lambda name: len(current[name]))
        value = current[longest]
        over = max(1, _septets(text) - capacity(max_segments))
        kept = value[: max(MIN_VALUE - 1, len(value) - over - 1)]
        space = kept.rfind(" ")
        if space >= MIN_VALUE - 1:  # at a word's end where one is near
            kept = kept[:space]
        current[longest] = kept.rstrip(" ,.;:-(\"'") + "."
        text = _DOUBLE_STOP.sub(".", gsm7(render(current)))
    return text
