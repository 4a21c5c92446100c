"""What a ketua kelompok writes to answer a meeting reminder for members of the kelompok:
``hadir semua`` (every member on the list they got), ``hadir semua kecuali Siti``,
``Siti tidak bisa, sakit``, ``Siti hadir``, ``Siti dan Ani hadir``, one answer per line or
several separated by commas (``Siti hadir, Ani tidak bisa``).

A comma also opens a reason (``Siti tidak bisa, sakit``): a part with no answer word is
a name when ``is_name`` says so, else the reason of the "tidak bisa" just before it. The
answer words: hadir, datang, ikut, bisa; tidak bisa (tdk, gak, nggak...), tidak hadir,
berhalangan, izin, sakit (the last two are their own reason: "Siti sakit").

Pure functions: the caller says which written names are names (its members).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from models.enums import RsvpAnswer

_NOT = r"(?:tidak|tdk|tak|gak|ga|gk|nggak|ngga|enggak|engga|belum|blm)"
_STATUS = re.compile(
    rf"""(?<![^\W\d_])(?:
        (?P<no>{_NOT}\s+(?:bisa|bs|hadir|datang|dtg|ikut)|berhalangan|absen|tidak|tdk)
        | (?P<own>izin|ijin|sakit)
        | (?P<yes>hadir|datang|dtg|ikut|bisa)
    )(?![^\W\d_])""",
    re.IGNORECASE | re.VERBOSE,
)
_EVERYONE = re.compile(
    r"""^\s*(?:(?:insya\s*allah|insyaallah|alhamdulillah)[\s,]+)?(?:
        (?:semua|semuanya|smua)(?:\s+(?:anggota|warga))?\s+(?:hadir|datang|bisa(?:\s+hadir)?)
        | (?:hadir|datang)\s+(?:semua|semuanya|smua)
    )(?![^\W\d_])(?:\s+(?:semua|semuanya))?(?P<rest>.*)$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_EXCEPT = re.compile(r"^(?:kecuali|kcuali|kcl|selain)(?![^\W\d_])[\s:,\-]*", re.IGNORECASE)
_BECAUSE = re.compile(r"^(?:karena|karna|krn|soalnya|sebab|lagi|sedang)(?![^\W\d_])\s*", re.I)
_FILLER = re.compile(
    r"(?:[\s,.!]*(?<![^\W\d_])(?:ya|yah|yaa|bu|pak|nggih|ok|oke|makasih|terima\s+kasih|"
    r"trims)(?![^\W\d_]))+[\s.!]*$",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset((
    "saya", "aku", "kami", "kita", "anak", "anaknya", "suami", "terima", "kasih", "makasih",
    "info", "infonya", "halo", "assalamualaikum", "selamat", "pagi", "siang", "sore", "malam",
    "ya", "iya", "ok", "oke", "baik", "yang", "untuk", "semua", "besok", "nanti", "sudah",
))
_HONORIFICS = frozenset(("bu", "ibu", "pak", "bapak", "bpk", "mbak", "mba", "bunda", "teh", "ceu"))
_PARTS = re.compile(r"[\n;,]+")
_NAMES = re.compile(r"\s*(?:(?<![^\W\d_])(?:dan|sama|serta)(?![^\W\d_])|[&+/])\s*", re.I)
_TRIM = " \t.!:-()\"'"
MAX_REASON = 200


@dataclass(frozen=True)
class RelayEntry:
    """Members named as written, and the answer for them."""

    names: tuple[str, ...]
    answer: RsvpAnswer
    reason: str | None = None


@dataclass(frozen=True)
class RelayAnswer:
    """What the message says: ``everyone`` (the members on the ketua's list, but those
    named in ``entries``) came, and what each entry says; ``undecided``: names written
    without hadir or tidak bisa."""

    everyone: bool = False
    entries: tuple[RelayEntry, ...] = ()
    undecided: tuple[str, ...] = field(default=())


def names_of(written: str) -> list[str]:
    """"Siti dan Ani" -> ["Siti", "Ani"]."""
    return [name.strip(_TRIM) for name in _NAMES.split(written) if name.strip(_TRIM)]


def parse_relay(written: str, is_name: Callable[[str], bool]) -> RelayAnswer | None:
    """The answers ``written`` gives for members; None when it does not read as such."""
    text = written.strip()
    everyone = _EVERYONE.match(text)
    if everyone is not None:
        rest = everyone.group("rest").strip(" \t.,!;")
        if not rest:
            return RelayAnswer(everyone=True)
        excepted = _EXCEPT.match(rest)
        if excepted is not None:
            read = _entries(rest[excepted.end() :], is_name, default=RsvpAnswer.TIDAK)
        else:
            read = _entries(rest, is_name)
        return None if read is None else replace(read, everyone=True)
    read = _entries(text, is_name)
    if read is None or not (read.entries or read.undecided):
        return None
    return read


def _entries(
    text: str, is_name: Callable[[str], bool], *, default: RsvpAnswer | None = None
) -> RelayAnswer | None:
    entries: list[RelayEntry] = []
    pending: list[str] = []
    reason_open = False  # the last part was the reason of the entry before it
    for part in (p.strip() for p in _PARTS.split(text)):
        if not part:
            continue
        status = _STATUS.search(part)
        if status is None:
            last = entries[-1] if entries else None
            if is_name(part):
                pending += names_of(part)
                reason_open = False
            elif last is not None and last.answer is RsvpAnswer.TIDAK and not pending and (
                last.reason is None or reason_open
            ):
                said = _because(part)
                reason = f"{last.reason}, {said}" if last.reason else said
                entries[-1] = replace(last, reason=reason[:MAX_REASON] or None)
                reason_open = True
            else:
                pending += names_of(part)  # not a member: the caller says so
                reason_open = False
            continue
        before, after = part[: status.start()].strip(), part[status.end() :].strip(_TRIM)
        last = entries[-1] if entries else None
        open_tidak = last is not None and last.answer is RsvpAnswer.TIDAK and not pending
        if before and not is_name(before) and open_tidak and last and last.reason is None:
            before = ""  # "Siti tidak bisa, anak sakit": the reason, not a name
            status, after = None, part.strip(_TRIM)
        names = pending + names_of(before)
        pending, reason_open = [], False
        if status is None:
            answer, reason = RsvpAnswer.TIDAK, _because(after)
        elif status.group("yes"):
            answer, reason = RsvpAnswer.HADIR, ""
        elif status.group("own"):
            answer, reason = RsvpAnswer.TIDAK, _because(f"{status.group('own')} {after}")
        else:
            answer, reason = RsvpAnswer.TIDAK, _because(after)
        if names:
            entries.append(RelayEntry(tuple(names), answer, reason[:MAX_REASON] or None))
            continue
        if last is None or answer is not RsvpAnswer.TIDAK or last.answer is not RsvpAnswer.TIDAK:
            return None  # an answer for nobody named: the writer's own, or something else
        if last.reason is None and reason:  # "Siti tidak bisa, sakit"
            entries[-1] = replace(last, reason=reason[:MAX_REASON])
            reason_open = True
    if pending and default is not None:
        entries.append(RelayEntry(tuple(pending), default))
        pending = []
    return RelayAnswer(entries=tuple(entries), undecided=tuple(pending))


def _because(text: str) -> str:
    """A reason without its "karena" and the courtesy after it: "karena sakit ya bu" ->
    "sakit"."""
    return _FILLER.sub("", _BECAUSE.sub("", text.strip(_TRIM))).strip(_TRIM)


def looks_like_a_name(written: str) -> bool:
    """Whether words that name no member could still be meant as a name (a misspelt or
    unknown one, worth saying so): one to three words, none of them a pronoun or a
    greeting ("saya", "terima kasih")."""
    words = [w for w in re.findall(r"[^\W\d_]+", written.casefold()) if w not in _HONORIFICS]
    return 0 < len(words) <= 3 and not _NOT_NAMES.intersection(words)


_SEMUA = re.compile(r"(?<![^\W\d_])(?:semua|semuanya|smua)(?![^\W\d_])", re.IGNORECASE)


def plausible(written: str) -> bool:
    """Whether a message may hold answers for members at all (an answer word, or
    "semua"): a test before any database work."""
    return _STATUS.search(written) is not None or _SEMUA.search(written) is not None
