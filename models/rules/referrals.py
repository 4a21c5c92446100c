"""The sistem sumber's rules without a database: the kinds of referral contact, the case
categories each kind serves unless told otherwise, and how a kind or a category written
by a person ("Puskesmas", "kesehatan", "KDRT; pungli", "kesehatn") is read.

The kinds are a list in code (:data:`REFERRAL_KINDS`, their names in the catalog's
``referral.kind.KEY``): the institutions a pendamping refers to are the same across the
programme, and ``lainnya`` takes anything else. A contact stores the kind's key as a plain
string, so a kind added here needs no migration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import phonenumbers
from rapidfuzz import fuzz, process, utils

from models.rules.text import name_key, starts_a_word

REFERRAL_KINDS: tuple[str, ...] = (
    "puskesmas",
    "dukcapil",
    "bank_kks",
    "agen_kks",
    "sekolah",
    "dinsos",
    "p2tp2a_uptd_ppa",
    "lainnya",
)
"""The kinds of referral contact, in the order they are offered and listed."""

DEFAULT_SERVES: dict[str, tuple[str, ...]] = {
    "puskesmas": ("kesehatan_rujukan", "disabilitas_lansia"),
    "dukcapil": ("adminduk", "pemutakhiran_data"),
    "bank_kks": ("kks_bermasalah", "bansos_belum_cair"),
    "agen_kks": ("kks_bermasalah", "bansos_belum_cair"),
    "sekolah": ("pendidikan",),
    "dinsos": (
        "bansos_belum_cair", "pemutakhiran_data", "disabilitas_lansia", "pungli",
        "usulan_keluar",
    ),
    "p2tp2a_uptd_ppa": ("perlindungan_anak", "kdrt"),
    "lainnya": (),
}
"""The case categories a contact of each kind serves when its ``kategori`` is left empty
(only those configured are kept)."""

KIND_WORDS: dict[str, tuple[str, ...]] = {
    "puskesmas": ("puskesmas", "pkm", "pustu", "posyandu", "rumah sakit", "rsud", "faskes"),
    "dukcapil": ("dukcapil", "disdukcapil", "capil", "catatan sipil"),
    "bank_kks": ("bank", "bank kks", "himbara", "bri", "bni", "mandiri", "btn", "bsi"),
    "agen_kks": ("agen", "agen kks", "agen bank", "e warong", "ewarong", "brilink"),
    "sekolah": ("sekolah", "sd", "smp", "sma", "smk", "madrasah", "mi", "mts", "ma"),
    "dinsos": ("dinsos", "dinas sosial"),
    "p2tp2a_uptd_ppa": ("p2tp2a", "uptd ppa", "ppa", "uppa", "upt ppa", "dp3a"),
    "lainnya": ("lainnya", "lain", "lain lain"),
}
"""The words a ``jenis`` cell or a typed kind may use for each kind (besides its key)."""

MAX_NAME, MAX_ADDRESS, MAX_NOTES = 120, 200, 300
"""The column sizes of ``referral_contact``."""

_NOISE = re.compile(r"[\s_\-./]+")
_PARTS = re.compile(r"[;,]")
MIN_PART = 3
"""A part of a name shorter than this means nothing on its own ("kk" is in several)."""
FUZZY_SCORE = 85


def _key(text: str) -> str:
    """How a written kind or category is compared: case, accents, underscores, dashes,
    dots and slashes ignored."""
    return _NOISE.sub(" ", name_key(text)).strip()


def read_kind(written: str) -> str | None:
    """The kind a person wrote (its key, a word for it: "Puskesmas", "Bank BRI", "UPTD
    PPA"), or None."""
    key = _key(written)
    if not key:
        return None
    for kind in REFERRAL_KINDS:
        if key == _key(kind) or key in KIND_WORDS.get(kind, ()):
            return kind
    found = {
        kind
        for kind in REFERRAL_KINDS
        for word in (_key(kind), *KIND_WORDS.get(kind, ()))
        if _has_word(word, key) or (len(key) >= MIN_PART and starts_a_word(key, word))
    }
    return found.pop() if len(found) == 1 else None


def _has_word(word: str, text: str) -> bool:
    """Whether ``word`` (or a phrase) is in ``text`` as whole words ("bri" in "bank bri",
    not in "brilink"; "ma" not in "mandiri")."""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


def split_categories(cell: str) -> list[str]:
    """The parts of a ``kategori`` cell, separated by commas or semicolons, except inside
    parentheses (a label such as "Adminduk (KTP, KK, akta)" is one part)."""
    parts: list[str] = []
    depth, start = 0, 0
    for position, char in enumerate(cell):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and _PARTS.match(char):
            parts.append(cell[start:position])
            start = position + 1
    parts.append(cell[start:])
    return [part.strip() for part in parts if part.strip()]


@dataclass(frozen=True)
class CategoryReader:
    """Reads a case category written by a person: its key ("kdrt"), its name ("Kekerasan
    dalam rumah tangga (KDRT)"), a part of its name only it has ("kesehatan", "pungli"), or
    a name with a typo ("kesehtan")."""

    labels: Mapping[str, str]
    """Every configured category's key -> its name, in the order offered."""
    _names: dict[str, str] = field(init=False, repr=False, compare=False)
    _alike: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {_key(key): key for key in self.labels}
        names.update({_key(label): key for key, label in self.labels.items()})
        object.__setattr__(self, "_names", names)
        words: dict[str, set[str]] = {}
        for name, key in names.items():
            for word in name.split():
                if len(word) > MIN_PART:
                    words.setdefault(word, set()).add(key)
        alike = dict(names)  # a typo is forgiven in a whole name or in a word only it has
        alike.update({word: next(iter(keys)) for word, keys in words.items() if len(keys) == 1})
        object.__setattr__(self, "_alike", alike)

    def read(self, written: str) -> str | None:
        """The key of the category ``written`` names, or None."""
        key = _key(written)
        if len(key) < MIN_PART:
            return self._names.get(key) if key else None
        if key in self._names:
            return self._names[key]
        found = {category for name, category in self._names.items() if starts_a_word(key, name)}
        if len(found) == 1:
            return found.pop()
        if found or len(key) <= MIN_PART:
            return None
        best = process.extract(
            key, list(self._alike), scorer=fuzz.ratio, processor=utils.default_process,
            limit=2, score_cutoff=FUZZY_SCORE,
        )
        keys = {self._alike[choice] for choice, score, _ in best if score >= best[0][1]}
        return keys.pop() if len(keys) == 1 else None  # two alike equally: none for sure

    def read_cell(self, cell: str) -> tuple[list[str], list[str]]:
        """The category keys a ``kategori`` cell names (in its order, each once) and the
        parts that name none."""
        keys: list[str] = []
        unknown: list[str] = []
        for part in split_categories(cell):
            found = self.read(part)
            if found is None:
                unknown.append(part)
            elif found not in keys:
                keys.append(found)
        return keys, unknown


def default_categories(kind: str, configured: Iterable[str]) -> list[str]:
    """The categories a contact of ``kind`` serves when none are given: those of
    :data:`DEFAULT_SERVES` that are configured."""
    present = set(configured)
    return [key for key in DEFAULT_SERVES.get(kind, ()) if key in present]


def display_phone(e164: str | None) -> str:
    """A stored number as people write it (0812-0000-0101, (0281) 641234); "-" for none."""
    if not e164:
        return "-"
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
