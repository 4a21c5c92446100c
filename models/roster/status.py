"""Reading the dates and the status of a roster row: ``status`` and ``tanggal_graduasi``.

Nothing here touches the database; a problem is a :class:`Reason` (a catalog key and its
values) that the command line says in the operator's language. A status is matched
whatever its case, spaces, dashes and underscores ("Graduasi Sejahtera Mandiri",
"non-aktif", "graduasi_alamiah"); a date is written YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY
(an Excel date cell reads as YYYY-MM-DD).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from models.enums import ExitReason, KpmStatus
from models.roster.reasons import Reason, reason
from models.rules.calendar import zone

STATUS_WORDS: dict[KpmStatus, tuple[str, ...]] = {  # how operators write each status
    KpmStatus.AKTIF: ("aktif",),
    KpmStatus.GRADUASI_ALAMIAH: ("graduasi alamiah", "alamiah"),
    KpmStatus.GRADUASI_MANDIRI: (
        "graduasi mandiri", "graduasi sejahtera mandiri", "sejahtera mandiri", "mandiri",
    ),
    KpmStatus.KELUAR: ("keluar", "dikeluarkan", "non aktif", "nonaktif"),
}
EXIT_WORDS: dict[ExitReason, tuple[str, ...]] = {  # a status cell may say why a KPM left
    ExitReason.MENINGGAL: ("meninggal", "meninggal dunia", "wafat"),
    ExitReason.PINDAH: ("pindah", "pindah domisili", "pindah alamat"),
    ExitReason.MENGUNDURKAN_DIRI: ("mengundurkan diri", "undur diri"),
    ExitReason.TIDAK_MEMENUHI_SYARAT: ("tidak memenuhi syarat", "tidak eligible", "tms"),
}
GRADUASI = frozenset({KpmStatus.GRADUASI_ALAMIAH, KpmStatus.GRADUASI_MANDIRI})

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY_DATE = re.compile(r"(\d{1,2})([-/])(\d{1,2})\2(\d{4})")
_STATUS_NOISE = re.compile(r"[\s\-_.]+")


def status_key(text: str) -> str:
    """How a status is matched: case, spaces, dashes, dots and underscores ignored."""
    return _STATUS_NOISE.sub("", text).casefold()


_STATUS_BY_KEY = {
    status_key(written): status
    for status, spellings in STATUS_WORDS.items()
    for written in (status.value, *spellings)
}
_EXIT_BY_KEY = {
    status_key(written): reason
    for reason, spellings in EXIT_WORDS.items()
    for written in (reason.value, *spellings)
}


def parse_date(text: str) -> date | None:
    """A date written YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY; None when it is none of them."""
    text = text.strip()
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
            return date.fromisoformat(text)
        if match := _ISO_DATE.fullmatch(text):
            year, month, day = match.groups()
            return date(int(year), int(month), int(day))
        if match := _DMY_DATE.fullmatch(text):
            day, _, month, year = match.groups()
            return date(int(year), int(month), int(day))
    except ValueError:  # 31-02-2020
        return None
    return None


def parse_status(text: str) -> KpmStatus | None:
    """The status a cell names ("Graduasi Sejahtera Mandiri", "nonaktif", "meninggal":
    keluar); None when unknown."""
    key = status_key(text)
    return _STATUS_BY_KEY.get(key) or (KpmStatus.KELUAR if key in _EXIT_BY_KEY else None)


def exit_reason(status: KpmStatus | None, written: str) -> ExitReason | None:
    """Why a KPM with the status a cell names left: a graduasi is its own reason, a
    keluar cell may name one ("meninggal"); None otherwise."""
    if status is KpmStatus.GRADUASI_ALAMIAH:
        return ExitReason.GRADUASI_ALAMIAH
    if status is KpmStatus.GRADUASI_MANDIRI:
        return ExitReason.GRADUASI_MANDIRI
    return _EXIT_BY_KEY.get(status_key(written)) if status is KpmStatus.KELUAR else None


def local_today(now: datetime, zone_name: str | None = None) -> date:
    """The calendar day of ``now`` on the wall clock of ``zone_name`` (Jakarta by default)."""
    return now.astimezone(zone(zone_name)).date()


class StatusReader:
    """Reads the ``status`` and ``tanggal_graduasi`` cells of rows, remembering each
    spelling and each date it has seen (a roster repeats them thousands of times). A
    problem names the column by its header as the file writes it."""

    def __init__(
        self, today: date, *, status_column: str = "status",
        date_column: str = "tanggal_graduasi",
    ) -> None:
        self._today = today
        self._status_column = status_column
        self._date_column = date_column
        self._statuses: dict[str, KpmStatus | None] = {}
        self._dates: dict[str, date | None] = {}

    def read(
        self, written_status: str, written_date: str
    ) -> tuple[KpmStatus | None, date | None, list[Reason]]:
        """(status, graduation date, problems) of a row's two cells, already stripped.
        An empty status leaves the stored one alone; a date needs a graduasi status and
        must not be after today."""
        status: KpmStatus | None = None
        problems: list[Reason] = []
        status_column, date_column = self._status_column, self._date_column
        if written_status:
            status = self._status(written_status)
            if status is None:
                problems.append(
                    reason("roster.status_unknown", column=status_column, value=written_status)
                )
        if not written_date:
            return status, None, problems
        graduated_on = self._date(written_date)
        if graduated_on is None:
            problems.append(reason(
                "roster.graduation_date_bad", column=date_column, value=written_date,
                iso=f"{self._today:%Y-%m-%d}", dmy=f"{self._today:%d/%m/%Y}",
            ))
        elif graduated_on > self._today:
            problems.append(reason(
                "roster.graduation_date_future", column=date_column,
                value=f"{graduated_on:%Y-%m-%d}", today=f"{self._today:%Y-%m-%d}",
            ))
        if not written_status:
            problems.append(reason(
                "roster.graduation_date_no_status", column=date_column,
                status_column=status_column,
            ))
        elif status is not None and status not in GRADUASI:
            problems.append(reason(
                "roster.graduation_date_wrong_status", column=date_column,
                status_column=status_column, value=written_status,
            ))
        return status, graduated_on, problems

    def _status(self, written: str) -> KpmStatus | None:
        try:
            return self._statuses[written]
        except KeyError:
            found = self._statuses[written] = parse_status(written)
            return found

    def _date(self, written: str) -> date | None:
        try:
            return self._dates[written]
        except KeyError:
            found = self._dates[written] = parse_date(written)
            return found
