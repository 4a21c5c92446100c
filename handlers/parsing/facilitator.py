"""Who held a meeting, as said in a typed attendance line.

A pendamping records a meeting the ketua kelompok held without them by adding a few words
to the attendance line: ``semua hadir kecuali 3, oleh ketua``, ``tidak hadir: Siti (sakit);
tanpa pendamping``, ``hadir semua, pendamping berhalangan``. The words are taken out of the
line and the rest is read as attendance. ``oleh pendamping`` (or ``dengan pendamping``)
says the opposite, to correct a meeting saved as held by the ketua.

Pure functions only: no database, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from models.enums import Facilitator

__all__ = ["split_facilitator"]

_KETUA: Final = r"ketua(?:\s+(?:kelompok|kel|klp|kelp))?"
_PENDAMPING: Final = r"(?:pendamping|pdp|pendamping\s+pkh)"
_BY: Final = r"(?:oleh|dipimpin|dipandu|difasilitasi|diadakan|dilaksanakan|dibawakan)"
_NOT: Final = r"(?:tidak|tdk|tak|gak|ga|gk|nggak|ngga|ndak|enggak)"
_WORD_START = r"(?<![^\W\d_])"
_WORD_END = r"(?![^\W\d_])"

_PHRASES: Final = (
    # the ketua held it alone
    (Facilitator.KETUA, rf"{_BY}\s+{_KETUA}(?:\s+(?:saja|aja|sendiri))?"),
    (Facilitator.KETUA, rf"(?:hanya|cuma|cuman)\s+{_KETUA}"),
    (Facilitator.KETUA, rf"{_KETUA}\s+(?:saja|aja|sendiri)"),
    (Facilitator.KETUA, rf"(?:tanpa|tnp)\s+(?:{_PENDAMPING}|saya)"),
    (Facilitator.KETUA, rf"{_PENDAMPING}\s+(?:{_NOT}\s+(?:hadir|datang|dtg|ikut)|berhalangan)"),
    (Facilitator.KETUA, rf"saya\s+(?:{_NOT}\s+(?:hadir|datang|dtg|ikut)|berhalangan)"),
    # the pendamping was there (a correction)
    (
        Facilitator.PENDAMPING,
        rf"(?:{_BY}|dengan|dgn|bersama|didampingi)\s+{_PENDAMPING}",
    ),
)
_PATTERN: Final = re.compile(
    "|".join(
        rf"(?P<p{n}>\(?[ \t]*{_WORD_START}{phrase}{_WORD_END}[ \t]*\)?)"
        for n, (_, phrase) in enumerate(_PHRASES)
    ),
    re.IGNORECASE,
)
_EDGES: Final = " \t\n,;.-"


def split_facilitator(text: str) -> tuple[str, Facilitator | None]:
    """The line without the words saying who held the meeting, and who that was (``None``
    when the line does not say; the last phrase decides when it says both). What stood on
    either side of the words is joined as a list (", "), or as clauses ("; ") when a
    clause ended there."""
    text = unicodedata.normalize("NFKC", text)
    found: Facilitator | None = None
    parts: list[str] = []
    start = 0
    for match in _PATTERN.finditer(text):
        group = next(name for name, value in match.groupdict().items() if value)
        found = _PHRASES[int(group[1:])][0]
        parts.append(text[start : match.start()])
        start = match.end()
    if found is None:
        return text, None
    parts.append(text[start:])
    rest, rest_edge = "", ""
    for part in parts:
        kept = part.strip(_EDGES)
        if not kept:
            continue
        if rest:
            edges = part[: len(part) - len(part.lstrip(_EDGES))] + rest_edge
            rest += "; " if ";" in edges or "\n" in edges else ", "
        rest += kept
        rest_edge = part[len(part.rstrip(_EDGES)) :]
    return rest, found
