"""One typed line of meeting attendance, read against the list of a group's members.

The pendamping sees the group's members numbered 1..n and answers with one line such as
``semua hadir``, ``hadir semua kecuali 3, 7, 12``, ``tidak hadir: Siti, Ani (sakit)``,
``3 sakit, 7 izin, 12 alpa`` or ``izin: 3, 5; sakit: 7``. Everyone the line does not name as
absent is present. Names are matched fuzzily, but an unclear name is never guessed: it comes
back as ambiguous (with its candidates) or unknown, and numbers outside the list come back as
out of range, so that the caller can ask.

Pure functions only: no database, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Final, Literal, TypeVar

from rapidfuzz import fuzz, process

__all__ = [
    "ABSENT_MARKS",
    "Ambiguous",
    "AttendanceParse",
    "Member",
    "match_member_name",
    "parse_attendance_line",
]

Mark = Literal["izin", "sakit", "alpa"]
ABSENT_MARKS: Final[tuple[Mark, ...]] = ("izin", "sakit", "alpa")

# A name must score at least this (0-100) against a member to be taken as that member.
NAME_THRESHOLD: Final = 80.0
# Members scoring within this of the best are "comparable": more than one means ambiguous.
AMBIGUITY_MARGIN: Final = 6.0
# Ranges such as "3-5" wider than this are not expanded (a typo, not a range).
_MAX_RANGE: Final = 100
# Numbers longer than this many digits are reported as this huge number, not converted.
_MAX_DIGITS: Final = 12


@dataclass(frozen=True)
class Member:
    """A member as shown to the user: ``number`` is the 1-based position in that list."""

    number: int
    kpm_id: int
    name: str


@dataclass(frozen=True)
class Ambiguous:
    """A written name that fits more than one member about equally well."""

    written: str
    candidates: tuple[Member, ...]


@dataclass(frozen=True)
class AttendanceParse:
    """What a line says. ``absent`` maps kpm_id to a mark, or ``None`` when the reason is
    still to be asked; every member not in ``absent`` is present (hadir)."""

    absent: dict[int, str | None] = field(default_factory=dict)
    ambiguous: tuple[Ambiguous, ...] = ()
    unknown: tuple[str, ...] = ()
    out_of_range: tuple[int, ...] = ()
    # The members the line names, present or not; and whether it speaks for everyone
    # ("semua hadir kecuali 3") or only for those it names ("tidak hadir: Atik"). How the
    # line was put, not what it says: left out of comparisons.
    named: frozenset[int] = field(default=frozenset(), compare=False)
    whole: bool = field(default=True, compare=False)

    @property
    def ok(self) -> bool:
        """True when every name and number in the line was understood."""
        return not (self.ambiguous or self.unknown or self.out_of_range)


# --------------------------------------------------------------------------------------------
# Vocabulary

# Phrases for a mark, longest first inside the regex. ``None`` = absent, reason to be asked;
# ``"hadir"`` = explicitly present.
_MARK_PHRASES: Final[dict[str, str | None]] = {
    "izin": "izin",
    "ijin": "izin",
    "ijn": "izin",
    "izn": "izin",
    "sakit": "sakit",
    "skt": "sakit",
    "alpa": "alpa",
    "alpha": "alpa",
    "alfa": "alpa",
    "alpah": "alpa",
    "tanpa keterangan": "alpa",
    "tanpa ket": "alpa",
    "tnp ket": "alpa",
    "tanpa kabar": "alpa",
    "tk": "alpa",
    "t.k": "alpa",
    "tidak hadir": None,
    "tdk hadir": None,
    "tak hadir": None,
    "gak hadir": None,
    "ga hadir": None,
    "gk hadir": None,
    "nggak hadir": None,
    "ngga hadir": None,
    "ndak hadir": None,
    "belum hadir": None,
    "blm hadir": None,
    "tidak datang": None,
    "tdk datang": None,
    "tidak dtg": None,
    "tdk dtg": None,
    "absen": None,
    "bolos": None,
    "hadir": "hadir",
    "datang": "hadir",
}
# Single letters are marks only inside parentheses: "(a)", "(s)", "(i)".
_PAREN_LETTERS: Final[dict[str, str]] = {"i": "izin", "s": "sakit", "a": "alpa", "h": "hadir"}

_HONORIFICS: Final = frozenset(
    {
        "bu",
        "ibu",
        "bunda",
        "bun",
        "mak",
        "emak",
        "mbak",
        "mba",
        "pak",
        "bapak",
        "bpk",
        "bp",
        "sdr",
        "sdri",
        "ny",
        "nyonya",
        "kak",
        "teh",
        "ceu",
        "uni",
    }
)
_FILLERS: Final = frozenset(
    {
        "yang",
        "yg",
        "ada",
        "ket",
        "keterangan",
        "hari",
        "ini",
        "hr",
        "tadi",
        "saja",
        "aja",
        "ya",
        "nya",
        "orang",
        "org",
        "kpm",
        "peserta",
        "anggota",
        "nama",
        "no",
        "nomor",
        "nmr",
        "nomer",
        "hanya",
        "cuma",
        "cuman",
        "saat",
        "pertemuan",
    }
)

# After these words comes an explanation, not a name: "3 izin karena ke kota".
_COMMENT_WORDS: Final = frozenset({"karena", "krn", "karna", "sebab", "soalnya", "krna"})

_NOT_LETTER = r"(?<![^\W\d_])"
_NOT_LETTER_AFTER = r"(?![^\W\d_])"


def _phrase_pattern(phrase: str) -> str:
    return r"\s+".join(re.escape(part) for part in phrase.split())


_MARK_RE: Final = "|".join(
    _phrase_pattern(phrase) for phrase in sorted(_MARK_PHRASES, key=len, reverse=True)
)

_TOKEN = re.compile(
    rf"""
    (?P<paren>\([^()]*\)?)
    | (?P<range>[0-9]+)\s*(?:-|s/d|sd|sampai|hingga|s\.d\.?)\s*(?P<range_end>[0-9]+)
    | [0-9]+\s*(?:orang|org|kpm|peserta|anggota){_NOT_LETTER_AFTER}
    | \#?(?P<num>[0-9]+)
    | {_NOT_LETTER}(?P<mark>{_MARK_RE}){_NOT_LETTER_AFTER}
    | (?P<clause>[;\n])
    | (?P<sep>[,&+]|{_NOT_LETTER}(?:dan|serta|sama){_NOT_LETTER_AFTER})
    | (?P<colon>:)
    | (?P<word>[^\W\d_]+(?:['\u2019`][^\W\d_]+)*)
    """,
    re.IGNORECASE | re.VERBOSE,
)

_ALL_PRESENT = re.compile(
    r"""^\s*(?:
        (?:semua|semuanya|smua|smw|sudah)\s+(?:hadir|lengkap|datang)(?:\s+semua(?:nya)?)?
        | (?:hadir|datang)\s+(?:semua|semuanya|smua|smw|lengkap|full|all)
        | lengkap(?:\s+semua(?:nya)?)?
        | (?:full|all)\s+hadir
        | nihil\s+(?:absen|yang\s+tidak\s+hadir)
    )(?![^\W\d_])[\s.,!:;\-]*""",
    re.IGNORECASE | re.VERBOSE,
)
_EXCEPT = re.compile(r"^\s*(?:kecuali|kcuali|kcl|selain)(?![^\W\d_])[\s:,\-]*", re.IGNORECASE)
# "..., sisanya hadir" / "kecuali 3, semua hadir" at the end of a line: the rest came.
_REST_PRESENT = re.compile(
    r"""(?<![^\W\d_])(?:
        (?:(?:yang|yg)\s+)?(?:lain|lainnya|lain2|sisanya|sisa|selebihnya|selainnya)
            (?:\s+(?:semua|semuanya))?\s+(?:hadir|datang)(?:\s+semua(?:nya)?)?
        | (?:semua|semuanya|smua)\s+(?:hadir|datang)
        | (?:hadir|datang)\s+(?:semua|semuanya|smua)
    )[\s.!]*$""",
    re.IGNORECASE | re.VERBOSE,
)


class _Unset(Enum):
    """No mark given (yet): absent with the reason still to be asked."""

    UNSET = "unset"


_UNSET: Final = _Unset.UNSET
# A mark as read: "izin"/"sakit"/"alpa", "hadir", None (absent, reason to ask) or not given.
_ReadMark = str | None | Literal[_Unset.UNSET]
_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# Name matching


def _key(text: str) -> str:
    """Lower case, no accents, letters and spaces only."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return " ".join(re.findall(r"[^\W\d_]+", plain))


def _name_score(written: str, name: str, **_: object) -> float:
    """How well ``written`` (already keyed) names a member called ``name`` (keyed), 0-100.

    The better of: the whole name with the words in any order, and every written word
    against its closest word of the member's name (so that a first name alone, or a
    misspelt one, scores high without letting "ani" match inside "Rahmani").
    """
    if not written or not name:
        return 0.0
    whole = fuzz.token_sort_ratio(written, name)
    name_words = name.split()
    per_word = [
        max(fuzz.ratio(word, candidate) for candidate in name_words) for word in written.split()
    ]
    return max(whole, sum(per_word) / len(per_word))


def match_member_name(
    written: str, members: Sequence[Member]
) -> Member | tuple[Member, ...] | None:
    """The member ``written`` names, a tuple of comparable candidates, or ``None``.

    Honorifics (Bu, Ibu, Pak...) are ignored. A single best match wins; an exact match of
    the written words wins over near misses; two or more members scoring about the same
    (two "Siti" when "Siti" is written) come back as a tuple, never a guess.
    """
    words = [word for word in _key(written).split() if word not in _HONORIFICS]
    query = " ".join(words)
    if not query:
        return None
    choices = {index: _key(member.name) for index, member in enumerate(members)}
    scored = process.extract(
        query, choices, scorer=_name_score, limit=None, score_cutoff=NAME_THRESHOLD
    )
    if not scored:
        return None
    best = max(score for _, score, _ in scored)
    if best >= 100.0:
        comparable = [index for _, score, index in scored if score >= 100.0]
    else:
        comparable = [index for _, score, index in scored if score >= best - AMBIGUITY_MARGIN]
    by_kpm: dict[int, Member] = {}
    for index in sorted(comparable):
        by_kpm.setdefault(members[index].kpm_id, members[index])  # one person listed twice
    picked = tuple(by_kpm.values())
    return picked[0] if len(picked) == 1 else picked


# --------------------------------------------------------------------------------------------
# Line reading


@dataclass(frozen=True)
class _Num:
    number: int


@dataclass(frozen=True)
class _Name:
    written: str


_Ref = _Num | _Name


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


@dataclass
class _Reader:
    """Reads the tokens of one line into (reference, mark) pairs.

    Two styles: reasons after the references ("3 sakit, Ani (izin)") and reasons as
    headings ("izin: 3, 5; sakit: 7"). A clause (split on ";" or a new line) that starts with
    a specific reason is read as headings, where every later reason opens a new group; any
    other clause reads a reason as belonging to the references just before it (or, with
    none pending, to the ones just after it). A reason in parentheses always belongs to the
    reference just before it.
    """

    pairs: list[tuple[_Ref, _ReadMark]] = field(default_factory=list)
    saw_mark: bool = False
    starts_with_mark: bool = False
    pending: list[_Ref] = field(default_factory=list)
    last_closed: list[int] = field(default_factory=list)
    name_words: list[str] = field(default_factory=list)
    grouped: bool = False
    group_mark: _ReadMark = _UNSET
    prefix: _ReadMark = _UNSET
    at_clause_start: bool = True
    at_line_start: bool = True
    commenting: bool = False  # inside "karena ...", until the next separator

    def _flush_name(self) -> None:
        if self.name_words:
            self.pending.append(_Name(" ".join(self.name_words)))
            self.name_words = []

    def _default(self) -> _ReadMark:
        return self.group_mark if self.prefix is _UNSET else self.prefix

    def _close(self, mark: _ReadMark) -> None:
        self._flush_name()
        if self.pending:
            start = len(self.pairs)
            self.pairs.extend((ref, mark) for ref in self.pending)
            self.last_closed = list(range(start, len(self.pairs)))
            self.pending = []

    def _started(self) -> None:
        self.at_clause_start = False
        self.at_line_start = False

    def ref(self, ref: _Ref) -> None:
        if self.commenting:
            return
        self._flush_name()
        self.pending.append(ref)
        self._started()

    def word(self, word: str) -> None:
        key = _key(word)
        if self.commenting:
            return
        if key in _COMMENT_WORDS:
            self._flush_name()
            self.commenting = True
            return
        if key in _HONORIFICS or key in _FILLERS:
            self._flush_name()
            return
        self.name_words.append(word)
        self._started()

    def mark(self, mark: str | None) -> None:
        if self.commenting:
            return
        self.saw_mark = True
        self._flush_name()
        if self.at_clause_start:
            self.starts_with_mark = self.starts_with_mark or self.at_line_start
            if mark is None:
                self.prefix = None
            else:
                self.grouped = True
                self.group_mark = mark
        elif self.grouped:
            self._close(self._default())
            self.group_mark = mark
            self.prefix = _UNSET
        elif not self.pending:
            self.prefix = mark
        elif self.prefix is _UNSET:
            self._close(mark)
        else:
            self._close(self.prefix)
            self.prefix = mark
        self._started()

    def paren_mark(self, mark: str | None) -> None:
        if self.commenting:
            return
        self.saw_mark = True
        self._flush_name()
        if self.pending:
            self._close(mark)
        else:
            for index in self.last_closed:
                self.pairs[index] = (self.pairs[index][0], mark)

    def separator(self) -> None:
        self.commenting = False
        self._close(self._default())
        if not self.grouped:
            self.prefix = _UNSET

    def colon(self) -> None:
        self._flush_name()

    def clause(self) -> None:
        self.commenting = False
        self._close(self._default())
        self.grouped = False
        self.group_mark = _UNSET
        self.prefix = _UNSET
        self.at_clause_start = True
        self.last_closed = []

    def finish(self) -> list[tuple[_Ref, _ReadMark]]:
        self._close(self._default())
        return self.pairs


def _paren_mark(inner: str) -> _ReadMark:
    """The mark inside parentheses, or ``_UNSET`` when they hold something else."""
    key = _key(inner)
    if key in _PAREN_LETTERS:
        return _PAREN_LETTERS[key]
    found = re.search(rf"{_NOT_LETTER}(?:{_MARK_RE}){_NOT_LETTER_AFTER}", key)
    if found is None:
        return _UNSET
    return _MARK_PHRASES[" ".join(found.group(0).split())]


def _read(text: str) -> _Reader:
    """Feed the tokens of ``text`` to a new reader and return it, finished."""
    reader = _Reader()
    for match in _TOKEN.finditer(text):
        if match.group("paren") is not None:
            mark = _paren_mark(match.group("paren").strip("()"))
            if mark is not _UNSET:
                reader.paren_mark(mark)
        elif match.group("range_end") is not None:
            start, end = _number(match.group("range")), _number(match.group("range_end"))
            numbers = range(start, end + 1) if 0 <= end - start <= _MAX_RANGE else (start, end)
            for number in numbers:
                reader.ref(_Num(number))
        elif match.group("num") is not None:
            reader.ref(_Num(_number(match.group("num"))))
        elif match.group("mark") is not None:
            reader.mark(_MARK_PHRASES[" ".join(match.group("mark").casefold().split())])
        elif match.group("clause") is not None:
            reader.clause()
        elif match.group("sep") is not None:
            reader.separator()
        elif match.group("word") is not None:
            reader.word(match.group("word"))
        elif match.group("colon") is not None:
            reader.colon()
        # anything else is a head count ("2 orang"): not a reference
    reader.finish()
    return reader


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    seen: list[_T] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return tuple(seen)


def _resolve(
    pairs: Sequence[tuple[_Ref, _ReadMark]], members: Sequence[Member]
) -> tuple[AttendanceParse, bool]:
    """Turn (reference, mark) pairs into a result; the flag tells if any reference was
    understood (a number, or a name that fits one or more members)."""
    by_number = {member.number: member for member in members}
    marks: dict[int, str | None] = {}
    ambiguous: list[Ambiguous] = []
    unknown: list[str] = []
    out_of_range: list[int] = []
    understood = False
    for ref, mark in pairs:
        member: Member | None = None
        if isinstance(ref, _Num):
            understood = True
            member = by_number.get(ref.number)
            if member is None:
                out_of_range.append(ref.number)
        else:
            found = match_member_name(ref.written, members)
            if isinstance(found, Member):
                understood = True
                member = found
            elif found:
                understood = True
                ambiguous.append(Ambiguous(ref.written, found))
            else:
                unknown.append(ref.written)
        if member is not None:
            marks.pop(member.kpm_id, None)  # the latest mention decides
            marks[member.kpm_id] = None if mark is _UNSET else mark
    absent = {kpm_id: mark for kpm_id, mark in marks.items() if mark != "hadir"}
    result = AttendanceParse(
        absent=absent,
        named=frozenset(marks),
        ambiguous=_unique(ambiguous),
        unknown=_unique(unknown),
        out_of_range=_unique(out_of_range),
    )
    return result, understood


_STARTS_PRESENT = re.compile(r"^\s*(?:hadir|datang)(?![^\W\d_])", re.IGNORECASE)


def parse_attendance_line(text: str, members: Sequence[Member]) -> AttendanceParse | None:
    """Read one attendance line for a group whose members are ``members``.

    Returns ``None`` when ``text`` is not an attendance line at all (so the caller can show
    help). Otherwise ``absent`` holds who was absent: ``"izin"``, ``"sakit"``, ``"alpa"``, or
    ``None`` when the line gives no reason ("kecuali 3", "tidak hadir: Siti", "absen 7").
    Everyone else is present. Check ``ok`` before saving: unclear names and numbers are
    listed, never guessed.
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    all_present = _ALL_PRESENT.match(text)
    rest = _REST_PRESENT.sub("", text[all_present.end() :] if all_present else text)
    excepted = _EXCEPT.match(rest)
    if excepted:
        rest = rest[excepted.end() :]
    elif not all_present and _STARTS_PRESENT.match(text):
        return None  # "hadir: 1, 2, 3" lists who came: not a form read here
    reader = _read(rest)
    if all_present and not excepted and not (reader.saw_mark and reader.pairs):
        # "semua hadir", "hadir semua ya pak", "semua hadir, sisanya hadir": no exceptions.
        return AttendanceParse()
    if not reader.pairs:
        return None
    explicit = bool(all_present or excepted)  # the line says plainly it is about attendance
    result, understood = _resolve(reader.pairs, members)
    if explicit or reader.starts_with_mark or (reader.saw_mark and understood):
        return replace(result, whole=explicit)
    return None
