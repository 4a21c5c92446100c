"""Commitment rules (verifikasi komitmen): which commitments each komponen keeps, when each
is due, and the verification periods.

PKH pays a family on condition that its eligible members keep their commitments:
antenatal checks, birth at a health facility and postnatal checks for a pregnancy;
monthly weighing and immunisation for young children; school attendance for
schoolchildren; a yearly check or home visit for the elderly and severely disabled. The
list comes from configuration (``[programme.commitments]``), like the komponen; these are
its defaults.

When a commitment is due in a period is one of :class:`DueWhen` (the SQL that selects
due members is in :mod:`models.commitments`); ``every_months`` above 1 makes it due only
until it was met within that many months before the period (a yearly home visit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from babel.dates import format_date


class DueWhen(StrEnum):
    """When a member's commitment is due in a period; "birth" is the komponen's birth date
    (for ibu hamil: the delivery date, expected or past)."""

    ACTIVE = "active"  # every period the komponen still counts (its end date not passed)
    PREGNANT = "pregnant"  # the delivery is after the period's first day, or not known
    DELIVERY = "delivery"  # the delivery falls in the period
    POSTNATAL = "postnatal"  # delivered by the period's end, the komponen not ended


@dataclass(frozen=True)
class Commitment:
    key: str
    label: str
    komponen: tuple[str, ...]
    due: DueWhen = DueWhen.ACTIVE
    every_months: int = 1
    min_percent: int | None = None  # school attendance: at least this share of school days
    min_checks: int | None = None  # antenatal checks: at least this many in the pregnancy

    @property
    def title(self) -> str:
        """The label with its threshold, as shown to the pendamping."""
        if self.min_percent is not None:
            return f"{self.label} (min. {self.min_percent}%)"
        if self.min_checks is not None:
            return f"{self.label} (min. {self.min_checks} kali)"
        return self.label


def default_commitments() -> tuple[Commitment, ...]:
    return (
        Commitment(
            "periksa_kehamilan",
            "Periksa kehamilan",
            ("ibu_hamil",),
            DueWhen.PREGNANT,
            min_checks=4,
        ),
        Commitment("persalinan_faskes", "Melahirkan di faskes", ("ibu_hamil",), DueWhen.DELIVERY),
        Commitment("periksa_nifas", "Periksa nifas", ("ibu_hamil",), DueWhen.POSTNATAL),
        Commitment("timbang_imunisasi", "Timbang dan imunisasi", ("anak_usia_dini",)),
        Commitment(
            "hadir_sekolah",
            "Hadir di sekolah",
            ("anak_sd", "anak_smp", "anak_sma"),
            min_percent=85,
        ),
        Commitment(
            "kunjungan_kesehatan",
            "Pemeriksaan kesehatan atau kunjungan rumah",
            ("lansia", "disabilitas_berat"),
            every_months=12,
        ),
    )


def default_reasons() -> tuple[tuple[str, str], ...]:
    """Why a commitment was not met: key and label, in the order offered."""
    return (
        ("sakit", "Sakit"),
        ("pindah_sekolah", "Pindah sekolah"),
        ("faskes_jauh", "Faskes/sekolah jauh"),
        ("biaya", "Tidak ada biaya"),
        ("lainnya", "Lainnya"),
    )


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``first``'s month."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A verification period: ``start`` (a month's first day) up to ``end``, excluded."""

    start: date
    end: date

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    def label(self, locale: str = "id") -> str:
        """As people say it: "Desember 2026", "Oktober–Desember 2026"."""
        last = format_date(self.last_day, "MMMM y", locale=locale)
        if self.months == 1:
            return last
        return f"{format_date(self.start, 'MMMM', locale=locale)}\u2013{last}"


@dataclass(frozen=True)
class CommitmentRules:
    commitments: tuple[Commitment, ...] = field(default_factory=default_commitments)
    period_months: int = 1  # 1: monthly; 3: per payout round (tahap)
    warning_levels: int = 3  # peringatan 1..N; the last one also goes to the coordinator
    remind_days_before_end: int = 5
    reasons: tuple[tuple[str, str], ...] = field(default_factory=default_reasons)

    def __post_init__(self) -> None:
        if 12 % self.period_months:
            raise ValueError("period_months divides the year: 1, 2, 3, 4, 6 or 12")
        keys = [c.key for c in self.commitments]
        if len(set(keys)) != len(keys):
            raise ValueError("commitment keys repeat")

    def period_of(self, day: date) -> Period:
        """The period holding ``day`` (periods start in January, ``period_months`` long)."""
        first_month = (day.month - 1) // self.period_months * self.period_months + 1
        start = date(day.year, first_month, 1)
        return Period(start, add_months(start, self.period_months))

    def before(self, period: Period, count: int = 1) -> Period:
        """The period ``count`` periods before ``period``."""
        return self.period_of(add_months(period.start, -count * self.period_months))

    def get(self, key: str) -> Commitment | None:
        return next((c for c in self.commitments if c.key == key), None)

    def label(self, key: str, *, title: bool = False) -> str:
        """A commitment's label (with its threshold when ``title``), or the key itself when
        it is no longer configured."""
        commitment = self.get(key)
        if commitment is None:
            return key
        return commitment.title if title else commitment.label

    def for_komponen(self, komponen_type: str) -> tuple[Commitment, ...]:
        return tuple(c for c in self.commitments if komponen_type in c.komponen)

    def reason_label(self, key: str | None) -> str | None:
        return next((label for k, label in self.reasons if k == key), key)

    @classmethod
    def build(
        cls,
        commitments: Iterable[Commitment],
        *,
        period_months: int,
        warning_levels: int,
        remind_days_before_end: int,
        reasons: Iterable[tuple[str, str]],
    ) -> CommitmentRules:
        return cls(
            tuple(commitments),
            period_months,
            warning_levels,
            remind_days_before_end,
            tuple(reasons),
        )
