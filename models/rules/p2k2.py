"""P2K2 (Pertemuan Peningkatan Kemampuan Keluarga) modules and their sessions.

The curriculum comes from configuration (``[[programme.p2k2.modules]]``), with today's
modules as the defaults below; session numbers run across modules (1..14), which is how
pendamping name them ("sesi 8") and how meetings store them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class P2k2Session:
    number: int
    modul: int
    title: str


@dataclass(frozen=True)
class P2k2Modul:
    number: int
    title: str


DEFAULT_CURRICULUM: tuple[tuple[int, str, tuple[tuple[int, str], ...]], ...] = (
    (1, "Pengasuhan dan Pendidikan Anak", (
        (1, "Menjadi Orangtua yang Lebih Baik"),
        (2, "Memahami Perkembangan dan Perilaku Anak"),
        (3, "Memahami Cara Anak Usia Dini Belajar"),
        (4, "Membantu Anak Sukses di Sekolah"),
    )),
    (2, "Pengelolaan Keuangan dan Perencanaan Usaha", (
        (5, "Mengelola Keuangan Keluarga"),
        (6, "Cermat Meminjam dan Menabung"),
        (7, "Memulai Usaha"),
    )),
    (3, "Kesehatan dan Gizi", (
        (8, "Pentingnya Gizi dan Layanan Kesehatan Ibu Hamil"),
        (9, "Pentingnya Gizi Ibu Menyusui dan Balita"),
        (10, "Kesakitan pada Anak dan Kesehatan Lingkungan"),
    )),
    (4, "Perlindungan Anak", (
        (11, "Pencegahan Kekerasan dan Perlakuan Salah pada Anak"),
        (12, "Pencegahan Penelantaran dan Eksploitasi Anak"),
    )),
    (5, "Kesejahteraan Sosial", (
        (13, "Pelayanan bagi Penyandang Disabilitas Berat"),
        (14, "Pentingnya Kesejahteraan Lanjut Usia"),
    )),
)
"""(module number, module title, ((session number, session title), ...)), in order."""


def default_modules() -> tuple[P2k2Modul, ...]:
    return tuple(P2k2Modul(number, title) for number, title, _ in DEFAULT_CURRICULUM)


def default_sessions() -> tuple[P2k2Session, ...]:
    return tuple(
        P2k2Session(number, modul, title)
        for modul, _, sessions in DEFAULT_CURRICULUM
        for number, title in sessions
    )


def session_after(sessions: Iterable[P2k2Session], last: int | None) -> int | None:
    """The session a group takes next: the one after ``last`` in the curriculum's order,
    the first after the last session (or when ``last`` is unknown); None without any."""
    numbers = [s.number for s in sessions]
    if not numbers:
        return None
    if last in numbers:
        return numbers[(numbers.index(last) + 1) % len(numbers)]
    return numbers[0]
