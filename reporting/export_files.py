"""Spreadsheet writers for exports: XLSX (streamed, write-only) and CSV for Excel.

Both take rows of plain values (``str``, ``int``, ``float``, ``date``, naive local
``datetime`` or ``None``) column by column, write them as they come and keep nothing
in memory. The CSV is what Indonesian Excel opens without an import dialog: UTF-8
with a BOM, ``;`` between fields, a decimal comma and dates as dd/mm/yyyy.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import BinaryIO, Protocol

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CELL_VALUES = (int, float, Decimal, date, datetime, time)
"""What a formatted (number, date) column holds."""


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class ColumnType(StrEnum):
    TEXT = "text"
    INT = "int"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    PERCENT = "percent"  # a share, 0..1


@dataclass(frozen=True)
class Column:
    key: str  # the catalog key is ``export.column.<key>``
    type: ColumnType = ColumnType.TEXT
    width: int = 16


XLSX_FORMATS = {
    ColumnType.DATE: "DD/MM/YYYY",
    ColumnType.DATETIME: "DD/MM/YYYY HH:MM",
    ColumnType.NUMBER: "0.00",
    ColumnType.PERCENT: "0.0%",
}
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv"
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Sheet(Protocol):
    def append(self, values: Sequence[object]) -> None: ...

    def close(self) -> None: ...


class XlsxSheet:
    """One worksheet in a write-only workbook: bold frozen header, set widths, real
    date cells with a dd/mm/yyyy format. Rows go to a temporary file as they come.
    ``book``: add the sheet to a workbook of several sheets (the caller saves it)."""

    def __init__(
        self,
        out: BinaryIO,
        title: str,
        columns: Sequence[Column],
        headers: Sequence[str],
        *,
        book: Workbook | None = None,
    ) -> None:
        self._out = out
        self._book = book or Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=title[:31])
        self._sheet.freeze_panes = "A2"
        for number, column in enumerate(columns, start=1):
            self._sheet.column_dimensions[get_column_letter(number)].width = column.width
        bold = Font(bold=True)
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(self._sheet, value=header)
            cell.font = bold
            header_cells.append(cell)
        self._sheet.append(header_cells)
        # One styled cell per formatted column, reused: a row is written as it is appended.
        self._styled: dict[int, Cell] = {}
        for index, column in enumerate(columns):
            number_format = XLSX_FORMATS.get(column.type)
            if number_format is not None:
                cell = WriteOnlyCell(self._sheet)
                cell.number_format = number_format
                self._styled[index] = cell

    def append(self, values: Sequence[object]) -> None:
        row: list[object] = []
        for index, value in enumerate(values):
            if value is None:
                row.append(None)
            elif isinstance(value, str):
                row.append(self._text(value))
            elif index in self._styled and isinstance(value, CELL_VALUES):
                cell = self._styled[index]
                cell.value = value
                row.append(cell)
            else:
                row.append(value)
        self._sheet.append(row)

    def _text(self, value: str) -> object:
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):  # typed text, not a formula
            cell = WriteOnlyCell(self._sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def close(self) -> None:
        self._book.save(self._out)


class CsvSheet:
    """``;``-separated UTF-8 with a BOM; text that Excel would run as a formula is
    quoted with a leading apostrophe."""

    def __init__(
        self, out: BinaryIO, title: str, columns: Sequence[Column], headers: Sequence[str]
    ) -> None:
        out.write(codecs.BOM_UTF8)
        self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        self._writer = csv.writer(self._text, delimiter=";", lineterminator="\r\n")
        self._types = [column.type for column in columns]
        self._writer.writerow(headers)

    def append(self, values: Sequence[object]) -> None:
        self._writer.writerow(
            [_csv_value(value, kind) for value, kind in zip(values, self._types, strict=True)]
        )

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # leave the caller's stream open


def _csv_value(value: object, kind: ColumnType) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    text = str(value)
    if kind is ColumnType.TEXT and text.startswith(CSV_FORMULA_START):
        return "'" + text
    return text


def open_sheet(
    fmt: ExportFormat,
    out: BinaryIO,
    title: str,
    columns: Sequence[Column],
    headers: Sequence[str],
) -> Sheet:
    if fmt is ExportFormat.XLSX:
        return XlsxSheet(out, title, columns, headers)
    return CsvSheet(out, title, columns, headers)


def content_type(fmt: ExportFormat) -> str:
    return XLSX_CONTENT_TYPE if fmt is ExportFormat.XLSX else CSV_CONTENT_TYPE
