"""A case category and a risk flag suggested from a free-text note, offline.

The note is normalised the way pendamping write in chat: case and accents ignored, letters
repeated for emphasis cut ("sakiiit"), reduplication written with a 2 spelt out ("anak2"),
informal spellings and abbreviations written out (gk/ga/tdk -> tidak, sdh/udah -> sudah,
blm -> belum, skolah -> sekolah, yg -> yang...). A light Indonesian affix stripper then
finds the roots each word may carry ("dipukuli", "memukul" and "pukulan" carry "pukul";
"pemotongan" carries "potong"); having no dictionary, it proposes several where a prefix
hides a letter (men- + vowel: with "t" or without) and keeps those of four letters or more.

A keyword word matches a word of the note that is it or carries it: written as a root
("pukul") it matches every affixed form, written with its affixes ("dinikahkan") only that
form and those built on it ("dinikahkannya"), not "menikah". A word of the note that matches
no keyword word, six letters or longer, is taken for the nearest keyword word within one
typo (two from ten letters; rapidfuzz's optimal string alignment distance, which counts
a swap of two letters as one) that begins with the same letter, or its passive form
("dipkul" is taken for "pukul" through "dipukul").

A keyword is a word or a phrase. A phrase matches when all its words occur within a few
words of each other, in any order ("dipukul suami", "suami memukul istrinya"). A category
scores one point per word of the note its matched keywords cover, each word once (listing
both "cair" and "belum cair" does not count "cair" twice). The category with most points
is suggested; ties go to an always-urgent category, then to one escalated to the
coordinator, then to the one listed first. Nothing matched: the fallback category, with
score 0.

The risk flag is raised by any of the risk keywords (signs of violence, exploitation or a
child at risk), matched the same way. Rules only: no database, no model download.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

MAX_NOTE = 2000
"""Characters of a note that are read (a case description is at most 1,000)."""

MIN_ROOT = 4
"""A root found by stripping affixes is kept only from this many letters."""

FUZZY_MIN = 6
"""Words shorter than this are never matched by likeness ("kksx" is not "kks", "pasar"
is not "kasar")."""

PHRASE_SLACK = 2
"""Words a phrase's words may have between and around them ("belum juga cair")."""

INFORMAL: dict[str, str] = {
    # negation
    **dict.fromkeys(
        ("gk", "ga", "gak", "nggak", "ngga", "enggak", "engga", "tdk", "tak", "ndak", "nda",
         "gx", "kagak", "gag", "nggk", "tdak"),
        "tidak",
    ),
    **dict.fromkeys(("sdh", "udah", "udh", "dah", "sudh", "sdah", "uda"), "sudah"),
    **dict.fromkeys(("blm", "blum", "belom", "blom", "lom", "blon"), "belum"),
    **dict.fromkeys(("skolah", "sekola", "sklh", "skul", "sekul", "sekolh", "sklah"), "sekolah"),
    "yg": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    **dict.fromkeys(("krn", "karna", "krna"), "karena"),
    **dict.fromkeys(("utk", "untk"), "untuk"),
    **dict.fromkeys(("tp", "tpi"), "tapi"),
    "jg": "juga",
    "bln": "bulan",
    **dict.fromkeys(("thn", "th", "thun"), "tahun"),
    **dict.fromkeys(("mgg", "mg"), "minggu"),
    "hr": "hari",
    "td": "tadi",
    "org": "orang",
    "ortu": "orang tua",
    **dict.fromkeys(("sy", "sya", "aku", "gw", "gue"), "saya"),
    **dict.fromkeys(("bpk", "pak", "bapa"), "bapak"),
    **dict.fromkeys(("bu", "bunda", "bude"), "ibu"),
    **dict.fromkeys(("msh", "masi"), "masih"),
    **dict.fromkeys(("lg", "lgi"), "lagi"),
    **dict.fromkeys(("bs", "bsa"), "bisa"),
    **dict.fromkeys(("trs", "trus"), "terus"),
    **dict.fromkeys(("kmrn", "kmarin", "kemaren"), "kemarin"),
    "tgl": "tanggal",
    "rb": "ribu",
    "jt": "juta",
    "sm": "sama",
    "dr": "dari",
    "dlm": "dalam",
    "pd": "pada",
    "kpd": "kepada",
    "bgt": "banget",
    "sampe": "sampai",
    "pdhl": "padahal",
    **dict.fromkeys(("gmn", "gimana"), "bagaimana"),
    "tlg": "tolong",
    "knp": "kenapa",
    "byk": "banyak",
    "sblm": "sebelum",
    "stlh": "setelah",
    "skrg": "sekarang",
    "jd": "jadi",
    "ank": "anak",
    "dpt": "dapat",
    "kalo": "kalau",
    "ilang": "hilang",
    **dict.fromkeys(("ketelen", "ktelen", "ketelan", "ketelang"), "tertelan"),
    "keblokir": "terblokir",
    "akte": "akta",
    "ektp": "ktp",
    "puskes": "puskesmas",
    "bumil": "ibu hamil",
    "terlantar": "telantar",
    "lakinya": "suaminya",
    "bini": "istri",
    "duit": "uang",
    "nunggak": "menunggak",
}
"""Informal spellings and abbreviations, each written out as the word it stands for."""

_REPEATED = re.compile(r"([a-z])\1{2,}")
_REDUPLICATED = re.compile(r"\b([a-z]{2,})2\b")
_HYPHENATED = re.compile(r"\b([a-z]{2,})-\1\b")
_DIGIT_EDGE = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")
_WORD = re.compile(r"[a-z0-9]+")
_VOWELS = frozenset("aeiou")


def normalise(text: str) -> list[str]:
    """The words of ``text``, in order, with informal spellings written out."""
    decomposed = unicodedata.normalize("NFKD", text[:MAX_NOTE])
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = _REPEATED.sub(r"\1", plain)
    plain = _REDUPLICATED.sub(r"\1 \1", plain)
    plain = _HYPHENATED.sub(r"\1 \1", plain)
    plain = _DIGIT_EDGE.sub(" ", plain)
    words: list[str] = []
    for word in _WORD.findall(plain):
        words.extend(INFORMAL.get(word, word).split())
    return words


def _suffixes(word: str) -> list[str]:
    """``word`` without its particle, possessive and derivational suffix, in that order
    (each step kept: "ditelantarkannya" -> "ditelantarkan" -> "ditelantar")."""
    found = []
    for group in (("lah", "kah", "tah", "pun"), ("nya", "ku", "mu"), ("kan", "an", "in", "i")):
        for suffix in group:
            if word.endswith(suffix) and len(word) - len(suffix) >= MIN_ROOT:
                word = word[: -len(suffix)]
                found.append(word)
                break
    return found


def _prefixes(word: str) -> list[str]:
    """The roots ``word`` may have under one prefix, a hidden first letter restored."""
    found: list[str] = []
    head, rest4, rest3, rest2 = word[:4], word[4:], word[3:], word[2:]
    if head in ("meng", "peng"):
        found += [rest4] + (["k" + rest4] if rest4[:1] in _VOWELS else [])
    if head in ("meny", "peny"):
        found += ["s" + rest4, rest4]
    if word[:3] in ("mem", "pem"):
        found += [rest3] + (["p" + rest3] if rest3[:1] in _VOWELS else [])
    if word[:3] in ("men", "pen"):
        found += [rest3] + (["t" + rest3] if rest3[:1] in _VOWELS else [])
    if word[:2] in ("me", "pe"):
        found.append(rest2)
    if word[:3] in ("ber", "ter", "per"):
        found.append(rest3)
    if word[:2] in ("di", "ke", "se"):
        found.append(rest2)
    if word[:2] == "ng" and word[2:3] in _VOWELS:
        found += [rest2, "k" + rest2]
    if word[:2] == "ny" and word[2:3] in _VOWELS:
        found += ["s" + rest2, "c" + rest2]
    return found


@lru_cache(maxsize=65_536)
def forms(word: str) -> frozenset[str]:
    """``word`` and the roots it may carry (four letters or more)."""
    found = {word}
    for base in (word, *_suffixes(word)):
        for root in _prefixes(base):
            found.add(root)
            found.update(_suffixes(root))
        found.add(base)
    return frozenset(f for f in found if f == word or len(f) >= MIN_ROOT)


@dataclass(frozen=True)
class Keyword:
    """One keyword of a category: its words, normalised; it weighs as many as it has."""

    text: str
    words: tuple[str, ...]

    @property
    def weight(self) -> int:
        return len(self.words)


def keyword(text: str) -> Keyword | None:
    """A keyword as written in the configuration; None if it has no word at all."""
    words = tuple(normalise(text))
    return Keyword(text, words) if words else None


@dataclass(frozen=True)
class Match:
    """What a note suggests: a category key, its score, and whether a risk keyword matched."""

    category: str
    score: float
    risk: bool


class Matcher:
    """Keywords per category and risk keywords, indexed once; ``match`` per note."""

    def __init__(
        self,
        categories: Sequence[tuple[str, Iterable[str]]],
        risk: Iterable[str],
        *,
        fallback: str,
        urgent: Iterable[str] = (),
        escalated: Iterable[str] = (),
    ) -> None:
        self.order = {key: index for index, (key, _) in enumerate(categories)}
        self.fallback = fallback
        self.urgent = frozenset(urgent)
        self.escalated = frozenset(escalated)
        self.keywords: list[tuple[str, Keyword]] = []
        for key, terms in categories:
            seen: set[tuple[str, ...]] = set()
            for term in terms:
                parsed = keyword(term)
                if parsed is not None and parsed.words not in seen:
                    seen.add(parsed.words)
                    self.keywords.append((key, parsed))
        self.risk = [k for k in map(keyword, risk) if k is not None]
        self.vocabulary = frozenset(
            word for _, parsed in (*self.keywords, *(("", r) for r in self.risk))
            for word in parsed.words
        )
        # Typos are looked for among the keyword words and their passive forms (di- + the
        # word: "dipkul" is one typo from "dipukul", two from "pukul"), by first letter.
        spellings: dict[str, set[str]] = {}
        for word in self.vocabulary:
            for spelt in (word, "di" + word):
                if len(spelt) >= FUZZY_MIN - 1 and spelt.isalpha():
                    spellings.setdefault(spelt[0], set()).add(spelt)
        self._spelt = {letter: sorted(words) for letter, words in spellings.items()}
        self._nearest: dict[str, frozenset[str]] = {}

    def _near(self, word: str) -> frozenset[str]:
        """The keyword words ``word`` stands for when read as the nearest spelling within a
        typo (two from ten letters) that begins with the same letter; none if there is none."""
        if word not in self._nearest:
            if len(self._nearest) > 100_000:  # a bound, for a process that runs for months
                self._nearest.clear()
            limit = 1 if len(word) < 10 else 2
            found = process.extractOne(
                word, self._spelt.get(word[0], ()), scorer=OSA.distance, score_cutoff=limit
            )
            self._nearest[word] = forms(found[0]) & self.vocabulary if found else frozenset()
        return self._nearest[word]

    def positions(self, text: str) -> dict[str, list[int]]:
        """Where each keyword word occurs in ``text`` (by the index of the note's word)."""
        where: dict[str, list[int]] = {}
        for index, word in enumerate(normalise(text)):
            found = forms(word) & self.vocabulary
            if not found and len(word) >= FUZZY_MIN and word.isalpha():
                found = self._near(word)
            for form in found:
                where.setdefault(form, []).append(index)
        return where

    @staticmethod
    def found(parsed: Keyword, where: dict[str, list[int]]) -> tuple[int, ...]:
        """The words of the note the keyword covers (its first occurrence, all its words
        close enough to each other); empty when it does not occur."""
        places = []
        for word in parsed.words:
            hits = where.get(word)
            if not hits:
                return ()
            places.append(hits)
        if len(places) == 1:
            return (places[0][0],)
        span = len(places) + PHRASE_SLACK
        for start in places[0]:
            near = [min(hits, key=lambda i: abs(i - start)) for hits in places[1:]]
            if all(abs(i - start) < span for i in near):
                return (start, *near)
        return ()

    def match(self, text: str) -> Match:
        where = self.positions(text)
        covered: dict[str, set[int]] = {}
        for key, parsed in self.keywords:
            words = self.found(parsed, where)
            if words:
                covered.setdefault(key, set()).update(words)
        risk = any(self.found(parsed, where) for parsed in self.risk)
        if not covered:
            return Match(self.fallback, 0.0, risk)
        best = min(
            covered,
            key=lambda k: (
                -len(covered[k]),
                k not in self.urgent,
                k not in self.escalated,
                self.order.get(k, 0),
            ),
        )
        return Match(best, float(len(covered[best])), risk)
