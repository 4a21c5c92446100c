"""Reading and checking a KPM roster: CSV or XLSX, one row per KPM, streamed.

Nothing here touches the database. :func:`open_roster` maps the header row onto the
roster fields (case, spaces, dashes, dots and underscores ignored, common aliases
accepted) and yields the data rows with the number the operator sees in a spreadsheet
(header = row 1). :class:`RowValidator` turns each row into a :class:`RosterRow` or a
reason it was refused.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from models.enums import KpmStatus, RegionLevel
from models.regions import UnknownProvince, find_province, region_key
from models.roster.status import DATE_FORMATS, StatusReader, local_today, parse_date
from models.rules.komponen import KomponenCatalog
from models.rules.phone import PhoneError, normalize_phone
from models.rules.text import clean_name, name_key

REQUIRED = (
    "id_pkh", "nama_pengurus", "nik", "kelompok", "desa", "kecamatan", "kabupaten",
    "provinsi", "pendamping",
)
OPTIONAL = ("no_hp", "komponen", "status", "tanggal_graduasi")
FIELDS = (  # the order RowValidator reads them in
    "id_pkh", "nama_pengurus", "nik", "no_hp", "kelompok", "desa", "kecamatan", "kabupaten",
    "provinsi", "pendamping", "komponen", "status", "tanggal_graduasi",
)
ALIASES: dict[str, tuple[str, ...]] = {
    "id_pkh": ("id pkh", "idpkh", "no pkh"),
    "nama_pengurus": ("nama", "nama kpm", "pengurus", "nama ibu"),
    "nik": ("no nik", "nik pengurus"),
    "no_hp": ("hp", "telepon", "no telp", "nomor hp", "whatsapp", "wa"),
    "kelompok": ("nama kelompok",),
    "desa": ("kelurahan", "desa/kelurahan"),
    "kecamatan": (),
    "kabupaten": ("kabupaten/kota", "kota", "kab"),
    "provinsi": (),
    "pendamping": ("nama pendamping",),
    "komponen": (),
    "status": ("status kpm", "status kepesertaan", "keterangan status"),
    "tanggal_graduasi": ("tgl graduasi", "tmt graduasi"),
}
MAX_LENGTHS = {  # the column sizes of the tables
    "id_pkh": 40, "nama_pengurus": 120, "kelompok": 120, "desa": 120, "kecamatan": 120,
    "kabupaten": 120, "pendamping": 120,
}
REASON_COLUMN = "alasan"
CSV_SUFFIXES = {".csv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}

_HEADER_NOISE = re.compile(r"[\s\-_.]+")
_KOMPONEN_SEPARATORS = re.compile(r"[;,|\r\n]+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]+")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class RosterFileError(ValueError):
    """A problem with the whole file (unreadable, unknown format, missing columns)."""


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


def map_columns(headers: list[str], source: str) -> ColumnMap:
    """Match headers to fields; a missing required column or an ambiguous one is a
    :class:`RosterFileError` that names it and lists the headers found."""
    index: dict[str, int] = {}
    for position, header in enumerate(headers):
        field = _FIELD_BY_HEADER.get(header_key(header))
        if field is None:
            continue
        if field in index:
            raise RosterFileError(
                f"{source}: columns {headers[index[field]]!r} and {header!r} both mean "
                f"{field}; keep one of them"
            )
        index[field] = position
    missing = [field for field in REQUIRED if field not in index]
    if missing:
        found = ", ".join(repr(header) for header in headers if header) or "none"
        raise RosterFileError(
            f"{source}: missing required column(s) {', '.join(missing)}; headers found: {found}"
        )
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
    except OSError as exc:
        raise RosterFileError(f"{path.name}: cannot be read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if magic == _ZIP_MAGIC and suffix in CSV_SUFFIXES | XLSX_SUFFIXES:
        with _open_xlsx(path) as source:
            yield source
    elif suffix in XLSX_SUFFIXES:
        raise RosterFileError(f"{path.name}: not an XLSX workbook (damaged, or renamed?)")
    elif magic == _OLE_MAGIC or suffix == ".xls":
        raise RosterFileError(
            f"{path.name}: old Excel .xls format is not supported; save it as .xlsx or CSV"
        )
    elif suffix in CSV_SUFFIXES:
        with _open_csv(path) as source:
            yield source
    else:
        raise RosterFileError(
            f"{path.name}: unknown file type {suffix or '(no extension)'!r}; use .csv or .xlsx"
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
            raise RosterFileError(f"{path.name}: the file is empty")
        delimiter = detect_delimiter(first_line)
        reader = csv.reader(chain([first_line], handle), delimiter=delimiter)
        headers = [cell.strip() for cell in _next_csv_record(reader, path)]
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
        return next(reader, None)  # type: ignore[no-any-return]
    except csv.Error as exc:
        raise RosterFileError(f"{path.name}: line {reader.line_num}: {exc}") from None


@contextmanager
def _open_xlsx(path: Path) -> Iterator[RosterSource]:
    from openpyxl import load_workbook  # imported here: CSV imports do not pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise RosterFileError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
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
            raise RosterFileError(f"{path.name}: sheet {sheet.title!r} is empty")
        while headers and not headers[-1]:
            headers.pop()
        columns = map_columns(headers, f"{path.name} (sheet {sheet.title!r})")

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


class KomponenItem(NamedTuple):
    type: str
    birth_date: date | None
    end_date: date | None


class RosterRow(NamedTuple):
    """A checked roster row, its texts tidied and its phone number in E.164 (a named
    tuple: a hundred thousand of them are made in a few milliseconds)."""

    row_number: int
    id_pkh: str
    nama_pengurus: str
    nik: str
    phone: str | None
    kelompok: str
    desa: str
    kecamatan: str
    kabupaten: str
    provinsi: str  # the catalog's official province name
    pendamping: str
    komponen: tuple[KomponenItem, ...] | None  # None when the file has no komponen column
    status: KpmStatus | None = None  # None: the cell is empty or the file has no such column
    graduated_on: date | None = None  # tanggal_graduasi, only with a graduasi status

    @property
    def region_path(self) -> tuple[str, str, str, str]:
        return (self.provinsi, self.kabupaten, self.kecamatan, self.desa)


class KomponenReader:
    """Reads komponen cells such as ``"SD:2015-07-01; balita=03/02/2021 | lansia"``,
    remembering the type of each spelling and the value of each date it has seen (a
    roster repeats both thousands of times)."""

    def __init__(self, catalog: KomponenCatalog) -> None:
        self._catalog = catalog
        self._types: dict[str, str | None] = {}
        self._dates: dict[str, date | None] = {}

    def read(self, text: str) -> tuple[tuple[KomponenItem, ...], list[str]]:
        """The komponen of a cell and the problems found in it (unknown type, bad date,
        more of a type than a family may have)."""
        if not text:
            return (), []
        items: list[KomponenItem] = []
        problems: list[str] = []
        for written in _KOMPONEN_SEPARATORS.split(text):
            written = written.strip()
            if not written:
                continue
            spelling, separator, written_date = written.partition(
                ":" if ":" in written else "="
            )
            komponen_type = self._type(spelling)
            if komponen_type is None:
                problems.append(f"unknown komponen {written!r}")
                continue
            birth_date = None
            if separator:
                birth_date = self._date(written_date)
                if birth_date is None:
                    problems.append(
                        f"komponen {written!r}: bad date {written_date.strip()!r} "
                        f"({DATE_FORMATS})"
                    )
                    continue
            end_date = self._catalog[komponen_type].end_date(birth_date)
            items.append(KomponenItem(komponen_type, birth_date, end_date))
        if len(items) > 1:
            problems.extend(_over_family_limit(items, self._catalog))
        return tuple(items), problems

    def _type(self, spelling: str) -> str | None:
        try:
            return self._types[spelling]
        except KeyError:
            stripped = spelling.strip()
            found = self._types[spelling] = self._catalog.resolve(stripped) if stripped else None
            return found

    def _date(self, written: str) -> date | None:
        try:
            return self._dates[written]
        except KeyError:
            found = self._dates[written] = parse_date(written)
            return found


def parse_komponen(
    text: str, catalog: KomponenCatalog
) -> tuple[tuple[KomponenItem, ...], list[str]]:
    """The komponen of one cell and the problems found (see :class:`KomponenReader`)."""
    return KomponenReader(catalog).read(text)


def _over_family_limit(items: list[KomponenItem], catalog: KomponenCatalog) -> list[str]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.type] = counts.get(item.type, 0) + 1
    problems = []
    for komponen_type, count in counts.items():
        limit = catalog[komponen_type].max_per_family
        if limit is not None and count > limit:
            problems.append(f"{count} x {komponen_type}, at most {limit} per family")
    return problems


def fix_phone_text(raw: str) -> str:
    """Give back the leading 0 a spreadsheet drops from a number typed as 812...: digits
    starting with 8, 9 to 12 of them."""
    compact = _PHONE_SEPARATORS.sub("", raw)
    if compact.isdigit() and compact.startswith("8") and 9 <= len(compact) <= 12:
        return "0" + compact
    return raw


def _check_nik(raw: str) -> tuple[str, str | None]:
    nik = "".join(raw.split())
    if not nik.isdigit():
        return nik, (
            "NIK must contain digits only (shown as 3.3E+15? format the column as text)"
        )
    if len(nik) != 16:
        return nik, f"NIK must have 16 digits, got {len(nik)}"
    return nik, None


class RowValidator:
    """Checks rows one by one, remembering what a file-wide check needs: the first row
    of each ID PKH and the pendamping each kelompok was first given."""

    def __init__(self, columns: ColumnMap, catalog: KomponenCatalog, *,
                 today: date | None = None) -> None:  # the import day; default: in Jakarta
        self._columns = columns
        self._has_komponen = columns.has_komponen
        # Absent optional columns read an empty cell added after the last column.
        pad = len(columns.headers)
        positions = [columns.index.get(name, pad) for name in FIELDS]
        self._width = max(positions) + 1
        self._cells = itemgetter(*positions)
        self._first_row: dict[str, int] = {}
        self._provinces: dict[str, str | None] = {}
        self._kelompok_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._kelompok_owner: dict[tuple[str, ...], tuple[str, str, int]] = {}
        self._komponen = KomponenReader(catalog)
        self._status = StatusReader(today or local_today(datetime.now(UTC)))
        self._name_keys: dict[str, str] = {}

    def values(self, cells: list[str]) -> dict[str, str]:
        """The row as the operator wrote it, by header (duplicate headers numbered)."""
        values: dict[str, str] = {}
        for position, header in enumerate(self._columns.headers):
            label = header
            if label in values:
                label = f"{header} ({position + 1})"
            values[label] = cells[position] if position < len(cells) else ""
        return values

    def validate(self, row_number: int, cells: list[str]) -> RosterRow | str:
        """The checked row, or why it was refused (reasons joined by "; ")."""
        if len(cells) < self._width:
            cells = cells + [""] * (self._width - len(cells))
        texts = tuple(map(str.strip, self._cells(cells)))
        (id_pkh, nama, nik, raw_phone, kelompok, desa, kecamatan, kabupaten, raw_provinsi,
         pendamping, raw_komponen, raw_status, raw_graduated) = texts
        problems: list[str] = []
        if not (id_pkh and nama and nik and kelompok and desa and kecamatan and kabupaten
                and raw_provinsi and pendamping):
            problems.append(_missing(texts))
        if len(id_pkh) > MAX_LENGTHS["id_pkh"] or max(
            len(nama), len(kelompok), len(desa), len(kecamatan), len(kabupaten), len(pendamping)
        ) > MAX_LENGTHS["nama_pengurus"]:
            problems.extend(_too_long(texts))

        if id_pkh:
            first = self._first_row.setdefault(id_pkh, row_number)
            if first != row_number:
                problems.append(f"id_pkh duplicates row {first}")
        if nik:
            nik, problem = _check_nik(nik)
            if problem:
                problems.append(problem)
        phone: str | None = None
        if raw_phone:
            try:
                phone = normalize_phone(fix_phone_text(raw_phone))
            except PhoneError as exc:
                problems.append(f"phone: {exc}")
        provinsi = self._province(raw_provinsi) if raw_provinsi else ""
        if provinsi is None:
            problems.append(f"unknown province {raw_provinsi!r}")
        komponen: tuple[KomponenItem, ...] | None = None
        if self._has_komponen:
            komponen, komponen_problems = self._komponen.read(raw_komponen)
            problems.extend(komponen_problems)
        status = graduated_on = None
        if raw_status or raw_graduated:
            status, graduated_on, status_problems = self._status.read(raw_status, raw_graduated)
            problems.extend(status_problems)

        if not problems and provinsi:
            problem = self._check_kelompok_owner(
                row_number, (provinsi, kabupaten, kecamatan, desa, kelompok), pendamping
            )
            if problem:
                problems.append(problem)
        if problems:
            return "; ".join(problems)
        assert provinsi
        return RosterRow(
            row_number, id_pkh, clean_name(nama), nik, phone, kelompok, desa, kecamatan,
            kabupaten, provinsi, pendamping, komponen, status, graduated_on,
        )

    def _province(self, written: str) -> str | None:
        if written not in self._provinces:
            try:
                self._provinces[written] = find_province(written).name
            except UnknownProvince:
                self._provinces[written] = None
        return self._provinces[written]

    def _check_kelompok_owner(
        self, row_number: int, place: tuple[str, str, str, str, str], pendamping: str
    ) -> str | None:
        """A kelompok has one pendamping: a later row naming another one is refused."""
        key = self._kelompok_keys.get(place)
        if key is None:
            key = self._kelompok_keys[place] = (
                name_key(place[0]),
                region_key(RegionLevel.KABUPATEN, place[1]),
                region_key(RegionLevel.KECAMATAN, place[2]),
                region_key(RegionLevel.DESA, place[3]),
                name_key(place[4]),
            )
        pendamping_key = self._name_keys.get(pendamping)
        if pendamping_key is None:
            pendamping_key = self._name_keys[pendamping] = name_key(pendamping)
        owner = self._kelompok_owner.setdefault(key, (pendamping_key, pendamping, row_number))
        if owner[2] != row_number and owner[0] != pendamping_key:
            return (
                f"kelompok {place[4]!r} has pendamping {owner[1]!r} in row {owner[2]}, "
                f"not {pendamping!r}"
            )
        return None


def _missing(texts: tuple[str, ...]) -> str:
    absent = [name for name, text in zip(FIELDS, texts, strict=True)
              if name in REQUIRED and not text]
    return f"missing {', '.join(absent)}"


def _too_long(texts: tuple[str, ...]) -> list[str]:
    return [
        f"{name} longer than {MAX_LENGTHS[name]} characters"
        for name, text in zip(FIELDS, texts, strict=True)
        if name in MAX_LENGTHS and len(text) > MAX_LENGTHS[name]
    ]
