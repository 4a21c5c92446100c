"""Checking a KPM roster's rows: one row per KPM, streamed.

Nothing here touches the database. :func:`models.roster.files.open_roster` maps the header
row onto the roster fields declared here (case, spaces, dashes, dots and underscores
ignored, common aliases accepted) and yields the data rows with the number the operator
sees in a spreadsheet (header = row 1). :class:`RowValidator` turns each row into a
:class:`RosterRow` or the reasons it was refused (:class:`Reason`: a catalog key and its
values, naming each column by its header as the file writes it; never a NIK or a phone).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

from models.enums import ExitReason, KpmStatus, RegionLevel
from models.regions import UnknownProvince, find_province, region_key
from models.roster.reasons import Reason, reason
from models.roster.status import StatusReader, exit_reason, local_today, parse_date
from models.rules.komponen import KomponenCatalog
from models.rules.phone import PhoneError, normalize_phone
from models.rules.text import clean_name, name_key

if TYPE_CHECKING:  # the file reader imports this module's field names
    from models.roster.files import ColumnMap

REQUIRED = (
    "id_pkh", "nama_pengurus", "nik", "kelompok", "desa", "kecamatan", "kabupaten",
    "provinsi", "pendamping",
)
OPTIONAL = ("no_hp", "komponen", "status", "tanggal_graduasi", "ketua")
FIELDS = (  # the order RowValidator reads them in
    "id_pkh", "nama_pengurus", "nik", "no_hp", "kelompok", "desa", "kecamatan", "kabupaten",
    "provinsi", "pendamping", "komponen", "status", "tanggal_graduasi", "ketua",
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
    "ketua": ("ketua kelompok", "ketua kel"),
}
KETUA_YES = frozenset({"ya", "y", "iya", "yes", "1", "true", "ketua", "x", "v", "✓", "√"})
KETUA_NO = frozenset({"", "tidak", "tdk", "t", "no", "n", "0", "false", "bukan", "-"})
MAX_LENGTHS = {  # the column sizes of the tables
    "id_pkh": 40, "nama_pengurus": 120, "kelompok": 120, "desa": 120, "kecamatan": 120,
    "kabupaten": 120, "pendamping": 120,
}
REASON_COLUMN = "alasan"

_KOMPONEN_SEPARATORS = re.compile(r"[;,|\r\n]+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]+")


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
    exit_reason: ExitReason | None = None  # why a KPM with this status left
    ketua: bool = False  # the ketua kelompok of the row's kelompok

    @property
    def region_path(self) -> tuple[str, str, str, str]:
        return (self.provinsi, self.kabupaten, self.kecamatan, self.desa)


class KomponenReader:
    """Reads komponen cells such as ``"SD:2015-07-01; balita=03/02/2021 | lansia"``,
    remembering the type of each spelling and the value of each date it has seen (a
    roster repeats both thousands of times). ``column``: the header problems name."""

    def __init__(self, catalog: KomponenCatalog, column: str = "komponen") -> None:
        self._catalog = catalog
        self._column = column
        self._types: dict[str, str | None] = {}
        self._dates: dict[str, date | None] = {}

    def read(self, text: str) -> tuple[tuple[KomponenItem, ...], list[Reason]]:
        """The komponen of a cell and the problems found in it (unknown type, bad date,
        more of a type than a family may have)."""
        if not text:
            return (), []
        items: list[KomponenItem] = []
        problems: list[Reason] = []
        for written in _KOMPONEN_SEPARATORS.split(text):
            written = written.strip()
            if not written:
                continue
            spelling, separator, written_date = written.partition(
                ":" if ":" in written else "="
            )
            komponen_type = self._type(spelling)
            if komponen_type is None:
                problems.append(
                    reason("roster.komponen_unknown", column=self._column, value=written)
                )
                continue
            birth_date = None
            if separator:
                birth_date = self._date(written_date)
                if birth_date is None:
                    problems.append(reason(
                        "roster.komponen_bad_date", column=self._column, value=written,
                        date=written_date.strip(),
                    ))
                    continue
            end_date = self._catalog[komponen_type].end_date(birth_date)
            items.append(KomponenItem(komponen_type, birth_date, end_date))
        if len(items) > 1:
            problems.extend(_over_family_limit(items, self._catalog, self._column))
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
) -> tuple[tuple[KomponenItem, ...], list[Reason]]:
    """The komponen of one cell and the problems found (see :class:`KomponenReader`)."""
    return KomponenReader(catalog).read(text)


def _over_family_limit(
    items: list[KomponenItem], catalog: KomponenCatalog, column: str
) -> list[Reason]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.type] = counts.get(item.type, 0) + 1
    problems = []
    for komponen_type, count in counts.items():
        limit = catalog[komponen_type].max_per_family
        if limit is not None and count > limit:
            problems.append(reason(
                "roster.komponen_over_limit", column=column, komponen=komponen_type,
                count=count, limit=limit,
            ))
    return problems


def fix_phone_text(raw: str) -> str:
    """Give back the leading 0 a spreadsheet drops from a number typed as 812...: digits
    starting with 8, 9 to 12 of them."""
    compact = _PHONE_SEPARATORS.sub("", raw)
    if compact.isdigit() and compact.startswith("8") and 9 <= len(compact) <= 12:
        return "0" + compact
    return raw


def _check_nik(raw: str, column: str) -> tuple[str, Reason | None]:
    """The NIK without spaces, and why it cannot be one (its digits never shown)."""
    nik = "".join(raw.split())
    if not nik.isdigit():
        return nik, reason("roster.nik_not_digits", column=column)
    if len(nik) != 16:
        return nik, reason("roster.nik_length", column=column, digits=len(nik))
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
        self._ketua_rows: dict[tuple[str, ...], int] = {}  # kelompok -> the row of its ketua
        # A problem names a column by its header as the file writes it.
        self._header = {
            name: columns.headers[columns.index[name]] if name in columns.index else name
            for name in FIELDS
        }
        self._komponen = KomponenReader(catalog, self._header["komponen"])
        self._status = StatusReader(
            today or local_today(datetime.now(UTC)),
            status_column=self._header["status"],
            date_column=self._header["tanggal_graduasi"],
        )
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

    def validate(self, row_number: int, cells: list[str]) -> RosterRow | list[Reason]:
        """The checked row, or every reason it was refused."""
        if len(cells) < self._width:
            cells = cells + [""] * (self._width - len(cells))
        texts = tuple(map(str.strip, self._cells(cells)))
        (id_pkh, nama, nik, raw_phone, kelompok, desa, kecamatan, kabupaten, raw_provinsi,
         pendamping, raw_komponen, raw_status, raw_graduated, raw_ketua) = texts
        problems: list[Reason] = []
        header = self._header
        if not (id_pkh and nama and nik and kelompok and desa and kecamatan and kabupaten
                and raw_provinsi and pendamping):
            problems.append(_missing(texts, header))
        if len(id_pkh) > MAX_LENGTHS["id_pkh"] or max(
            len(nama), len(kelompok), len(desa), len(kecamatan), len(kabupaten), len(pendamping)
        ) > MAX_LENGTHS["nama_pengurus"]:
            problems.extend(_too_long(texts, header))

        if id_pkh:
            first = self._first_row.setdefault(id_pkh, row_number)
            if first != row_number:
                problems.append(reason(
                    "roster.id_pkh_duplicate", column=header["id_pkh"], value=id_pkh,
                    first=first,
                ))
        if nik:
            nik, problem = _check_nik(nik, header["nik"])
            if problem:
                problems.append(problem)
        phone: str | None = None
        if raw_phone:
            try:
                phone = normalize_phone(fix_phone_text(raw_phone))
            except PhoneError as exc:  # the number is not shown
                problems.append(reason(f"roster.phone_{exc.code}", column=header["no_hp"]))
        provinsi = self._province(raw_provinsi) if raw_provinsi else ""
        if provinsi is None:
            problems.append(
                reason("roster.province_unknown", column=header["provinsi"], value=raw_provinsi)
            )
        komponen: tuple[KomponenItem, ...] | None = None
        if self._has_komponen:
            komponen, komponen_problems = self._komponen.read(raw_komponen)
            problems.extend(komponen_problems)
        status = graduated_on = left_why = None
        if raw_status or raw_graduated:
            status, graduated_on, status_problems = self._status.read(raw_status, raw_graduated)
            problems.extend(status_problems)
            left_why = exit_reason(status, raw_status)
        ketua = raw_ketua.casefold() in KETUA_YES
        if not ketua and raw_ketua.casefold() not in KETUA_NO:
            problems.append(
                reason("roster.ketua_unknown", column=self._header["ketua"], value=raw_ketua)
            )
        elif ketua and status not in (None, KpmStatus.AKTIF):
            problems.append(reason("roster.ketua_not_active", column=self._header["ketua"]))

        if not problems and provinsi:
            place = (provinsi, kabupaten, kecamatan, desa, kelompok)
            problem = self._check_kelompok_owner(row_number, place, pendamping)
            if problem is None and ketua:
                problem = self._check_ketua(row_number, place)
            if problem:
                problems.append(problem)
        if problems:
            return problems
        assert provinsi
        return RosterRow(
            row_number, id_pkh, clean_name(nama), nik, phone, kelompok, desa, kecamatan,
            kabupaten, provinsi, pendamping, komponen, status, graduated_on, left_why, ketua,
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
    ) -> Reason | None:
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
            return reason(
                "roster.kelompok_other_pendamping", column=self._header["pendamping"],
                kelompok=place[4], owner=owner[1], first=owner[2], value=pendamping,
            )
        return None

    def _check_ketua(self, row_number: int, place: tuple[str, str, str, str, str]) -> Reason | None:
        """A kelompok has one ketua: a later row claiming it too is refused (the key was
        made by :meth:`_check_kelompok_owner`)."""
        first = self._ketua_rows.setdefault(self._kelompok_keys[place], row_number)
        if first != row_number:
            return reason(
                "roster.ketua_duplicate", column=self._header["ketua"], kelompok=place[4],
                first=first,
            )
        return None


def _missing(texts: tuple[str, ...], header: dict[str, str]) -> Reason:
    absent = [header[name] for name, text in zip(FIELDS, texts, strict=True)
              if name in REQUIRED and not text]
    return reason("roster.missing", columns=", ".join(absent))


def _too_long(texts: tuple[str, ...], header: dict[str, str]) -> list[Reason]:
    return [
        reason("roster.too_long", column=header[name], limit=MAX_LENGTHS[name])
        for name, text in zip(FIELDS, texts, strict=True)
        if name in MAX_LENGTHS and len(text) > MAX_LENGTHS[name]
    ]
