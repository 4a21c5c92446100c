"""What the engine and flows need from configuration, as plain values.

``bot.bootstrap`` builds this from the settings file, so ``handlers`` never imports ``bot``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from models.cases import CASE_CATEGORIES, DEFAULT_CASE_KEYWORDS
from models.rules.commitments import CommitmentRules
from models.rules.komponen import KomponenCatalog
from reporting.digest import DigestOptions
from reporting.graduation import GraduationRules


@dataclass(frozen=True)
class P2k2Session:
    number: int
    modul: int
    title: str


@dataclass(frozen=True)
class P2k2Modul:
    number: int
    title: str


def default_modules() -> tuple[P2k2Modul, ...]:
    return (
        P2k2Modul(1, "Pengasuhan dan Pendidikan Anak"),
        P2k2Modul(2, "Pengelolaan Keuangan dan Perencanaan Usaha"),
        P2k2Modul(3, "Kesehatan dan Gizi"),
        P2k2Modul(4, "Perlindungan Anak"),
        P2k2Modul(5, "Kesejahteraan Sosial"),
    )


def default_sessions() -> tuple[P2k2Session, ...]:
    titles = [
        (1, "Menjadi Orangtua yang Lebih Baik"),
        (1, "Memahami Perkembangan dan Perilaku Anak"),
        (1, "Memahami Cara Anak Usia Dini Belajar"),
        (1, "Membantu Anak Sukses di Sekolah"),
        (2, "Mengelola Keuangan Keluarga"),
        (2, "Cermat Meminjam dan Menabung"),
        (2, "Memulai Usaha"),
        (3, "Pentingnya Gizi dan Layanan Kesehatan Ibu Hamil"),
        (3, "Kesehatan dan Gizi (sesi lanjutan 1)"),
        (3, "Kesehatan dan Gizi (sesi lanjutan 2)"),
        (4, "Pencegahan Kekerasan dan Perlakuan Salah pada Anak"),
        (4, "Pencegahan Penelantaran dan Eksploitasi Anak"),
        (5, "Pelayanan bagi Penyandang Disabilitas Berat"),
        (5, "Pentingnya Kesejahteraan Lanjut Usia"),
    ]
    return tuple(
        P2k2Session(number, modul, title) for number, (modul, title) in enumerate(titles, start=1)
    )


@dataclass(frozen=True)
class EngineSettings:
    catalog: KomponenCatalog
    commitments: CommitmentRules = field(default_factory=CommitmentRules)
    locale: str = "id"
    default_timezone: str = "Asia/Jakarta"
    conversation_timeout_minutes: int = 30
    page_size: int = 10
    modules: tuple[P2k2Modul, ...] = field(default_factory=default_modules)
    sessions: tuple[P2k2Session, ...] = field(default_factory=default_sessions)
    case_categories: tuple[str, ...] = CASE_CATEGORIES
    always_urgent: frozenset[str] = frozenset({"perlindungan_anak"})
    quiet_hours: tuple[time, time] = (time(21, 0), time(6, 0))
    graduation: GraduationRules = field(default_factory=GraduationRules)
    digest: DigestOptions = field(default_factory=DigestOptions)
    pesan_reason_minutes: int = 30
    """After a "2" without a reason, the next message within this time is the reason."""
    case_keywords: tuple[tuple[str, tuple[str, ...]], ...] = tuple(DEFAULT_CASE_KEYWORDS.items())
    """Per case category, words of a pesan KPM that suggest it (``[pesan.case_keywords]``)."""
