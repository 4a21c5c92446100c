"""What a ketua kelompok writes to answer for members, read as they write it."""

from __future__ import annotations

import pytest

from handlers.parsing.relay_answer import (
    RelayAnswer,
    RelayEntry,
    looks_like_a_name,
    names_of,
    parse_relay,
    plausible,
)
from models.enums import RsvpAnswer

MEMBERS = {"siti", "siti aminah", "ani", "sri", "nur"}
H, T = RsvpAnswer.HADIR, RsvpAnswer.TIDAK


def is_name(written: str) -> bool:
    names = [name.casefold().removeprefix("bu ") for name in names_of(written)]
    return bool(names) and all(name in MEMBERS for name in names)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("hadir semua", RelayAnswer(everyone=True)),
        ("Semua hadir.", RelayAnswer(everyone=True)),
        ("insya allah semua hadir", RelayAnswer(everyone=True)),
        ("Siti hadir", RelayAnswer(entries=(RelayEntry(("Siti",), H),))),
        ("Siti tidak bisa, sakit", RelayAnswer(entries=(RelayEntry(("Siti",), T, "sakit"),))),
        ("Siti tdk bisa karena anaknya sakit ya bu",
         RelayAnswer(entries=(RelayEntry(("Siti",), T, "anaknya sakit"),))),
        ("Siti tidak bisa, anak sakit",
         RelayAnswer(entries=(RelayEntry(("Siti",), T, "anak sakit"),))),
        ("Siti sakit", RelayAnswer(entries=(RelayEntry(("Siti",), T, "sakit"),))),
        ("Bu Siti izin ke kota",
         RelayAnswer(entries=(RelayEntry(("Bu Siti",), T, "izin ke kota"),))),
        ("Siti dan Ani hadir", RelayAnswer(entries=(RelayEntry(("Siti", "Ani"), H),))),
        ("Siti, Ani hadir", RelayAnswer(entries=(RelayEntry(("Siti", "Ani"), H),))),
        ("Siti hadir, Ani tidak bisa",
         RelayAnswer(entries=(RelayEntry(("Siti",), H), RelayEntry(("Ani",), T)))),
        ("Siti hadir\nSri tidak datang\nNur berhalangan",
         RelayAnswer(entries=(RelayEntry(("Siti",), H), RelayEntry(("Sri",), T),
                              RelayEntry(("Nur",), T)))),
        ("hadir semua kecuali Siti dan Ani",
         RelayAnswer(everyone=True, entries=(RelayEntry(("Siti", "Ani"), T),))),
        ("hadir semua kecuali Siti (sakit)",
         RelayAnswer(everyone=True, entries=(RelayEntry(("Siti",), T, "sakit"),))),
        ("Siti", RelayAnswer(undecided=("Siti",))),
        ("halo bu apa kabar", RelayAnswer(undecided=("halo bu apa kabar",))),
        ("tidak bisa, anak sakit", None),  # the writer's own answer: no name
    ],
)
def test_answers_for_members_are_read_as_ketua_write_them(
    written: str, expected: RelayAnswer | None
) -> None:
    assert parse_relay(written, is_name) == expected


def test_what_could_be_a_name_and_what_could_be_an_answer_at_all() -> None:
    assert looks_like_a_name("Zaenab") and looks_like_a_name("Bu Zaenab Aminah")
    assert not looks_like_a_name("saya") and not looks_like_a_name("Bu")
    assert not looks_like_a_name("terima kasih infonya")
    assert not looks_like_a_name("satu dua tiga empat")
    assert plausible("Siti hadir") and plausible("semua datang") and plausible("Ani sakit")
    assert not plausible("halo bu, apa kabar?") and not plausible("Siti")
