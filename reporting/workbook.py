"""The digest's workbook: the detail per kelompok, per pendamping and the absentees.

Written with openpyxl in write-only mode (rows streamed, no cell objects kept). Rates
are real numbers with a percent format, so a coordinator can sort and chart them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reporting.figures import DigestFigures

Translate = Callable[..., str]
PERCENT = "0.0%"
DATE = "DD/MM/YYYY"

KELOMPOK_COLUMNS = (
    "kelompok",
    "desa",
    "pendamping",
    "kpm_active",
    "planned",
    "held",
    "rate",
    "previous_rate",
    "absentees",
    "open_cases",
    "urgent_cases",
    "overdue_cases",
    "graduated",
)
PENDAMPING_COLUMNS = (
    "pendamping",
    "kelompok_count",
    "kpm_active",
    "planned",
    "held",
    "rate",
    "previous_rate",
    "absentees",
    "open_cases",
    "urgent_cases",
    "overdue_cases",
    "candidates_alamiah",
    "candidates_mandiri",
    "graduated",
    "target",
)
ABSENTEE_COLUMNS = ("name", "kelompok", "pendamping", "streak", "last_meeting")


def digest_workbook(
    figures: DigestFigures, *, t: Translate, categories: Sequence[str], target: int
) -> bytes:
    """XLSX bytes with three sheets (kelompok, pendamping, absentees); the pendamping
    sheet also has one column per case category."""
    book = Workbook(write_only=True)
    names = {p.id: p.name for p in figures.pendamping}

    sheet = _sheet(
        book, t("digest.sheet.kelompok"), [t(f"digest.col.{c}") for c in KELOMPOK_COLUMNS]
    )
    for person in figures.pendamping:
        for k in person.kelompok:
            _row(
                sheet,
                [
                    k.name,
                    k.desa,
                    person.name,
                    k.kpm_active,
                    k.planned,
                    k.held,
                    (k.rate, PERCENT),
                    (k.previous_rate, PERCENT),
                    k.absentees,
                    k.open_cases,
                    k.urgent_cases,
                    k.overdue_cases,
                    k.graduated_this_year,
                ],
            )

    headers = [t(f"digest.col.{c}") for c in PENDAMPING_COLUMNS]
    headers += [t(f"case.category.{c}") for c in categories]
    sheet = _sheet(book, t("digest.sheet.pendamping"), headers)
    for person in figures.pendamping:
        _row(
            sheet,
            [
                person.name,
                len(person.kelompok),
                person.kpm_active,
                person.planned,
                person.held,
                (person.rate, PERCENT),
                (person.previous_rate, PERCENT),
                len(person.absentees),
                person.open_cases,
                person.urgent_cases,
                person.overdue_cases,
                person.candidates_alamiah,
                person.candidates_mandiri,
                person.graduated_this_year,
                target,
                *(person.cases_by_category.get(c, 0) for c in categories),
            ],
        )

    sheet = _sheet(
        book, t("digest.sheet.absentees"), [t(f"digest.col.{c}") for c in ABSENTEE_COLUMNS]
    )
    for streak in figures.absentees:
        _row(
            sheet,
            [
                streak.name,
                streak.kelompok or "",
                names.get(streak.pendamping_id or 0, ""),
                streak.streak,
                (streak.last_meeting_date, DATE),
            ],
        )

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet(book: Workbook, title: str, headers: Sequence[str]) -> WriteOnlyWorksheet:
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers):
        sheet.column_dimensions[get_column_letter(index + 1)].width = max(
            10, min(40, len(header) + 2)
        )
    bold = Font(bold=True)
    cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    return sheet


def _row(sheet: WriteOnlyWorksheet, values: Sequence[Any]) -> None:
    cells: list[Any] = []
    for value in values:
        if isinstance(value, tuple):
            cell = WriteOnlyCell(sheet, value=value[0])
            cell.number_format = value[1]
            cells.append(cell)
        elif isinstance(value, str):
            cells.append(_text(sheet, value))
        else:
            cells.append(value)
    sheet.append(cells)


def _text(sheet: WriteOnlyWorksheet, value: str) -> Any:
    """A name as typed: control characters (which a roster may carry and XLSX refuses)
    dropped, and text starting with ``=`` kept as text, never run as a formula."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
