"""Reading a roster file: CSV (its encoding and delimiter guessed) or XLSX, opened as rows of
text with a map from its headers to our fields; a file that is neither gets a clear error
(a :class:`Reason` the command line says in the operator's language)."""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import Any

from models.roster.parse import ALIASES, REQUIRED
from models.roster.reasons import Reason, reason

CSV_SUFFIXES = {".csv", ".txt"}


XLSX_SUFFIXES = {".xlsx", ".xlsm"}


_HEADER_NOISE = re.compile(r"[\s\-_.]+")


_ZIP_MAGIC = b"PK\x03\x04"


_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class RosterFileError(ValueError):
    """A problem with the whole file (unreadable, unknown format, missing columns):
    ``reason`` says which, as a catalog key (``roster.file_*``) and its values."""

    def __init__(self, why: Reason) -> None:
        super().__init__(str(why))
        self.reason = why


def header_key(header: str) -> str:
    """How a header is matched: case, spaces, dashes, dots and underscores ignored."""
    return _HEADER_NOISE.sub("", header).casefold()


_FIELD_BY_HEADER = {
    header_key(name): field
    for field, aliases in ALIASES.items()
    for name in (field, *aliases)
}


@dataclass(frozen=True)
class ColumnMap:
    """The file's headers as written, and which column holds each roster field."""

    headers: tuple[str, ...]
    index: dict[str, int]

    @property
    def has_komponen(self) -> bool:
        return "komponen" in self.index

    @property
    def has_status(self) -> bool:
        return "status" in self.index


def map_columns(headers: list[str], source: str | Reason) -> ColumnMap:
    """Match headers to fields; a missing required column or an ambiguous one is a
    :class:`RosterFileError` that names it and lists the headers found. ``source``: the
    file's name (or a reason naming the file and its sheet)."""
    index: dict[str, int] = {}
    for position, header in enumerate(headers):
        field = _FIELD_BY_HEADER.get(header_key(header))
        if field is None:
            continue
        if field in index:
            raise RosterFileError(reason(
                "roster.file_same_field", source=source, first=headers[index[field]],
                second=header, field=field,
            ))
        index[field] = position
    missing = [field for field in REQUIRED if field not in index]
    if missing:
        found = ", ".join(f'"{header}"' for header in headers if header) or "-"
        raise RosterFileError(reason(
            "roster.file_missing_columns", source=source, columns=", ".join(missing),
            found=found,
        ))
    return ColumnMap(tuple(headers), index)


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text the operator typed (3301234567890001, not 3.3e15)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class RosterSource:
    """An open roster: its columns, its data rows and the CSV delimiter it used."""

    columns: ColumnMap
    rows: Iterator[tuple[int, list[str]]]  # (spreadsheet row number, cells)
    delimiter: str


@contextmanager
def open_roster(path: Path) -> Iterator[RosterSource]:
    """Open a CSV or XLSX roster and read its header row; raise RosterFileError when the
    file cannot be read or lacks a required column. Rows are read lazily."""
    path = Path(path)
    try:
        with path.open("rb") as probe:
            magic = probe.read(4)
    except FileNotFoundError:
        raise RosterFileError(reason("roster.file_not_found", file=path.name)) from None
    except PermissionError:
        raise RosterFileError(reason("roster.file_no_permission", file=path.name)) from None
    except OSError as exc:
        raise RosterFileError(
            reason("roster.file_unreadable", file=path.name, error=exc.strerror or exc)
        ) from None
    suffix = path.suffix.lower()
    if magic == _ZIP_MAGIC and suffix in CSV_SUFFIXES | XLSX_SUFFIXES:
        with _open_xlsx(path) as source:
            yield source
    elif suffix in XLSX_SUFFIXES:
        raise RosterFileError(reason("roster.file_not_xlsx", file=path.name))
    elif magic == _OLE_MAGIC or suffix == ".xls":
        raise RosterFileError(reason("roster.file_xls", file=path.name))
    elif suffix in CSV_SUFFIXES:
        with _open_csv(path) as source:
            yield source
    else:
        raise RosterFileError(
            reason("roster.file_unknown_type", file=path.name, suffix=suffix)
            if suffix
            else reason("roster.file_no_suffix", file=path.name)
        )


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else the
    Windows code page Excel uses for "CSV (Comma delimited)"."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as raw:
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def detect_delimiter(header_line: str) -> str:
    """The delimiter of a header line: the most frequent of ``;``, ``,`` and tab."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


@contextmanager
def _open_csv(path: Path) -> Iterator[RosterSource]:
    encoding = _csv_encoding(path)
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        skipped = 0
        first_line = ""
        for line in handle:
            if line.strip():
                first_line = line
                break
            skipped += 1
        if not first_line:
            raise RosterFileError(reason("roster.file_empty", file=path.name))
        delimiter = detect_delimiter(first_line)
        reader = csv.reader(chain([first_line], handle), delimiter=delimiter)
        headers = [cell.strip() for cell in _next_csv_record(reader, path) or ()]
        columns = map_columns(headers, path.name)

        def rows() -> Iterator[tuple[int, list[str]]]:
            row_number = skipped + 1
            while True:
                record = _next_csv_record(reader, path)
                if record is None:
                    return
                row_number += 1
                yield row_number, record

        yield RosterSource(columns, rows(), delimiter)


def _next_csv_record(reader: Any, path: Path) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as exc:
        raise RosterFileError(
            reason("roster.file_bad_csv", file=path.name, line=reader.line_num, error=exc)
        ) from None


@contextmanager
def _open_xlsx(path: Path) -> Iterator[RosterSource]:
    from openpyxl import load_workbook  # imported here: CSV imports do not pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise RosterFileError(
            reason("roster.file_unreadable_xlsx", file=path.name, error=exc)
        ) from None
    try:
        sheet = workbook.active or workbook.worksheets[0]
        cells = sheet.iter_rows(min_row=1, values_only=True)
        header_number = 0
        headers: list[str] = []
        for header_number, values in enumerate(cells, start=1):  # noqa: B007
            headers = [cell_text(value).strip() for value in values]
            if any(headers):
                break
        if not any(headers):
            raise RosterFileError(
                reason("roster.file_sheet_empty", file=path.name, sheet=sheet.title)
            )
        while headers and not headers[-1]:
            headers.pop()
        columns = map_columns(
            headers, reason("roster.file_sheet", file=path.name, sheet=sheet.title)
        )

        def rows() -> Iterator[tuple[int, list[str]]]:
            for row_number, values in enumerate(cells, start=header_number + 1):
                yield row_number, [cell_text(value) for value in values]

        yield RosterSource(columns, rows(), ",")
    finally:
        workbook.close()


def count_rows(path: Path) -> int | None:
    """About how many data rows a roster has, cheaply, for a progress bar: the line count
    of a CSV minus its header; None for a workbook."""
    path = Path(path)
    if path.suffix.lower() not in CSV_SUFFIXES:
        return None
    try:
        with path.open("rb") as raw:
            newlines = 0
            last = b"\n"
            while chunk := raw.read(1 << 20):
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return None
    lines = newlines + (last != b"\n")
    return max(lines - 1, 0)
