"""Small text helpers: matching keys for names, and masking of personal numbers."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=65_536)
def name_key(name: str) -> str:
    """The key two spellings of one name share: case, accents and spacing ignored.

    Remembered: a group's member list is sorted by it at most chat steps of attendance."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", stripped).strip().casefold()


def clean_name(name: str) -> str:
    """A display name with its spacing tidied; the spelling people chose is kept."""
    return _SPACES.sub(" ", name).strip()


def starts_a_word(part: str, text: str) -> bool:
    """Whether ``part`` occurs in ``text`` at the start of one of its words ("mawar" in
    "kelompok mawar", "siti am" in "siti aminah"; not "ina" in "aminah")."""
    return bool(part) and re.search(rf"(?<!\w){re.escape(part)}", text) is not None


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def salutation(nik: str | None) -> str:
    """How a KPM's pengurus is addressed: "Ibu", or "Bapak" when the roster's NIK says the
    pengurus is a man (a woman's NIK adds 40 to the day of birth, digits 7-8)."""
    if nik and len(nik) == 16 and nik.isdigit() and 1 <= int(nik[6:8]) <= 31:
        return "Bapak"
    return "Ibu"


def mask_nik(nik: str | None) -> str:
    """Show a NIK by its last four digits only: ``************1234``."""
    if not nik:
        return "-"
    return "*" * max(len(nik) - 4, 0) + nik[-4:]


def mask_phone(phone: str | None) -> str:
    """Show a phone number by its last three digits only: ``+62*******890``."""
    if not phone:
        return "-"
    return phone[:3] + "*" * max(len(phone) - 6, 0) + phone[-3:]
