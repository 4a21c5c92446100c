"""Importing the sistem sumber from a CSV file, and listing it for the command line.

Headers are Indonesian (``wilayah`` or ``kode_wilayah``, ``nama``, ``jenis``, ``kategori``,
``telepon``, ``alamat``, ``catatan``, optional ``aktif``); case, spaces, dashes and dots in
them are ignored. Every row is checked before anything is written: a file with a bad row
writes nothing, and each bad row gets a reason naming the row (as a spreadsheet numbers it:
the header is row 1) and the column. A contact is matched by its region and name, so a
second import updates what changed. Reasons are data (a catalog key and its values): the
command line says them in the configured language. Only counts are logged.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import RegionLevel
from models.referral_tables import ReferralContact, ReferralService
from models.referrals import ContactFields, add_contact, change_contact
from models.regions import region_key
from models.rules.phone import PhoneError, normalize_phone
from models.rules.referrals import (
    MAX_ADDRESS,
    MAX_NAME,
    MAX_NOTES,
    REFERRAL_KINDS,
    CategoryReader,
    default_categories,
    read_kind,
)
from models.rules.text import clean_name, name_key
from models.tables import Region

log = logging.getLogger(__name__)

ALIASES: dict[str, tuple[str, ...]] = {
    "wilayah": ("kecamatan/kabupaten", "kabupaten/kecamatan", "nama wilayah"),
    "kode_wilayah": ("kode", "kode kemendagri"),
    "nama": ("nama layanan", "nama kontak", "lembaga", "instansi"),
    "jenis": ("jenis layanan", "tipe"),
    "kategori": ("kategori kasus", "melayani", "layanan"),
    "telepon": ("telp", "no telepon", "nomor telepon", "hp", "no hp", "whatsapp", "wa"),
    "alamat": (),
    "catatan": ("keterangan",),
    "aktif": ("status",),
}
_HEADER_NOISE = re.compile(r"[\s\-_.]+")
_LEVEL_PREFIX = (
    (re.compile(r"^(kab\.?|kabupaten)\s+", re.I), RegionLevel.KABUPATEN),
    (re.compile(r"^kota\s+", re.I), RegionLevel.KABUPATEN),
    (re.compile(r"^(kec\.?|kecamatan)\s+", re.I), RegionLevel.KECAMATAN),
)
_PATH = re.compile(r"\s*[/>]\s*")
_CODE = re.compile(r"\d{2}(\.\d{2,4}){1,3}")
YES = {"ya", "y", "aktif", "1", "true", "yes"}
NO = {"tidak", "t", "nonaktif", "non aktif", "tidak aktif", "0", "false", "no"}


@dataclass(frozen=True)
class Problem:
    """Why a row (or the file: ``row`` None) is refused: a catalog key and its values."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)
    row: int | None = None
    column: str | None = None  # the header as the file writes it


class ReferralFileError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.key)
        self.problem = problem


@dataclass(frozen=True)
class ImportReport:
    rows_read: int
    imported: int
    updated: int
    unchanged: int
    problems: list[Problem]
    written: bool


def _header_key(header: str) -> str:
    return _HEADER_NOISE.sub("", header).casefold()


_FIELD_BY_HEADER = {
    _header_key(written): column
    for column, aliases in ALIASES.items()
    for written in (column, *aliases)
}


def read_rows(path: Path) -> tuple[dict[str, str], list[tuple[int, dict[str, str]]]]:
    """The file's columns (field -> header as written) and its rows (row number, field ->
    cell); a :class:`ReferralFileError` when it cannot be read or lacks a column."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReferralFileError(
            Problem("referral_import.file_unreadable", {"file": path.name, "why": exc.strerror})
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise ReferralFileError(Problem("referral_import.file_empty", {"file": path.name}))
    delimiter = max((";", ",", "\t"), key=first.count)
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    start = next(number for number, record in enumerate(records) if any(c.strip() for c in record))
    headers = [cell.strip() for cell in records[start]]
    columns: dict[str, int] = {}
    for position, header in enumerate(headers):
        column = _FIELD_BY_HEADER.get(_header_key(header))
        if column is not None and column not in columns:
            columns[column] = position
    missing = [c for c in ("nama", "jenis") if c not in columns]
    if "wilayah" not in columns and "kode_wilayah" not in columns:
        missing.insert(0, "wilayah")
    if missing:
        found = ", ".join(h for h in headers if h) or "-"
        raise ReferralFileError(
            Problem(
                "referral_import.missing_columns",
                {"file": path.name, "columns": ", ".join(missing), "found": found},
            )
        )
    rows = []
    for number, record in enumerate(records[start + 1 :], start=start + 2):
        if not any(cell.strip() for cell in record):
            continue
        cells = {c: record[p].strip() if p < len(record) else "" for c, p in columns.items()}
        rows.append((number, cells))
    return {c: headers[p] for c, p in columns.items()}, rows


class RegionReader:
    """The kecamatan and kabupaten known, by code and by name (in memory: one query)."""

    def __init__(self, regions: Sequence[tuple[int, str | None, str, RegionLevel, str | None]]):
        self.by_code: dict[str, tuple[int, RegionLevel]] = {}
        self.by_name: dict[tuple[RegionLevel, str], list[tuple[int, str | None]]] = {}
        for region_id, code, key, level, parent_key in regions:
            if code:
                self.by_code[code] = (region_id, level)
            self.by_name.setdefault((level, key), []).append((region_id, parent_key))

    @classmethod
    async def load(cls, session: AsyncSession) -> RegionReader:
        parent = Region.__table__.alias("parent")
        rows = await session.execute(
            select(Region.id, Region.code, Region.name_key, Region.level, parent.c.name_key)
            .outerjoin(parent, parent.c.id == Region.parent_id)
        )
        return cls([(i, code, key, RegionLevel(level), p) for i, code, key, level, p in rows])

    def read(self, name: str, code: str) -> int | Problem:
        """The region a ``kode_wilayah`` (it wins) or a ``wilayah`` names: "Kec. Sumber",
        "Kab. Sukamaju", "Sukamaju / Sumber" (kabupaten / kecamatan), or a code."""
        if not code and _CODE.fullmatch(name.strip()):
            code = name
        if code:
            found = self.by_code.get(code.strip())
            if found is None:
                return Problem("referral_import.code_unknown", {"value": code})
            if found[1] not in (RegionLevel.KABUPATEN, RegionLevel.KECAMATAN):
                return Problem("referral_import.code_level", {"value": code})
            return found[0]
        *above, last = _PATH.split(name.strip())
        levels = [RegionLevel.KECAMATAN, RegionLevel.KABUPATEN]
        for pattern, level in _LEVEL_PREFIX:
            if pattern.match(last):
                levels = [level]
        matches = [
            (region_id, level)
            for level in levels
            for region_id, parent in self.by_name.get((level, region_key(level, last)), [])
            if not above or parent == region_key(RegionLevel.KABUPATEN, above[-1])
        ]
        if len(matches) == 1:
            return matches[0][0]
        key = "referral_import.region_ambiguous" if matches else "referral_import.region_unknown"
        return Problem(key, {"value": name})


@dataclass
class _Checked:
    row: int
    fields: ContactFields
    active: bool | None


def _phone(written: str) -> str | None | Problem:
    if not written:
        return None
    compact = re.sub(r"[\s.\-()/]+", "", written)
    if compact.isdigit() and compact.startswith("8") and 9 <= len(compact) <= 12:
        written = "0" + compact  # a spreadsheet dropped the leading 0
    try:
        return normalize_phone(written)
    except PhoneError:
        return Problem("referral_import.phone_invalid")


def check_row(
    number: int, cells: dict[str, str], regions: RegionReader, categories: CategoryReader
) -> _Checked | list[Problem]:
    """The checked row, or every problem it has (each naming its column)."""
    problems: list[tuple[str, Problem]] = []
    region = regions.read(cells.get("wilayah", ""), cells.get("kode_wilayah", ""))
    if isinstance(region, Problem):
        column = "kode_wilayah" if cells.get("kode_wilayah") else "wilayah"
        if not cells.get("wilayah") and not cells.get("kode_wilayah"):
            region = Problem("referral_import.empty")
        problems.append((column, region))
    name = clean_name(cells.get("nama", ""))
    if not name:
        problems.append(("nama", Problem("referral_import.empty")))
    elif len(name) > MAX_NAME:
        problems.append(("nama", Problem("referral_import.too_long", {"limit": MAX_NAME})))
    kind = read_kind(cells.get("jenis", ""))
    if kind is None:
        problems.append(("jenis", Problem(
            "referral_import.kind_unknown" if cells.get("jenis") else "referral_import.empty",
            {"value": cells.get("jenis", ""), "kinds": ", ".join(REFERRAL_KINDS)},
        )))
    keys: list[str] = []
    if cells.get("kategori"):
        keys, unknown = categories.read_cell(cells["kategori"])
        if unknown:
            problems.append(("kategori", Problem(
                "referral_import.category_unknown",
                {"value": "; ".join(unknown), "keys": ", ".join(categories.labels)},
            )))
    elif kind is not None:
        keys = default_categories(kind, categories.labels)
        if not keys:
            problems.append(("kategori", Problem("referral_import.categories_needed")))
    phone = _phone(cells.get("telepon", ""))
    if isinstance(phone, Problem):
        problems.append(("telepon", phone))
        phone = None
    for column, limit in (("alamat", MAX_ADDRESS), ("catatan", MAX_NOTES)):
        if len(cells.get(column, "")) > limit:
            problems.append((column, Problem("referral_import.too_long", {"limit": limit})))
    active = None
    written_active = name_key(cells.get("aktif", ""))
    if written_active:
        active = True if written_active in YES else False if written_active in NO else None
        if active is None:
            problems.append(("aktif", Problem("referral_import.active_invalid")))
    if problems or isinstance(region, Problem) or kind is None:
        return [
            Problem(p.key, {"value": "", **p.values}, row=number, column=column)
            for column, p in problems
        ]
    fields = ContactFields(
        region_id=region, name=name, kind=kind, categories=keys, phone=phone,
        address=cells.get("alamat") or None, notes=cells.get("catatan") or None,
        active=active is not False,
    )
    return _Checked(number, fields, active)


Known = dict[tuple[int, str], tuple[ReferralContact, set[str]]]


async def _existing(session: AsyncSession) -> Known:
    contacts = {c.id: c for c in await session.scalars(select(ReferralContact))}
    served: dict[int, set[str]] = {}
    for contact_id, category in await session.execute(
        select(ReferralService.contact_id, ReferralService.category)
    ):
        served.setdefault(contact_id, set()).add(category)
    return {(c.region_id, c.name_key): (c, served.get(c.id, set())) for c in contacts.values()}


def _changes(
    contact: ReferralContact, served: set[str], row: _Checked, present: set[str]
) -> tuple[dict[str, Any], list[str] | None]:
    """What a row changes in a known contact (only the columns the file has)."""
    wanted: dict[str, Any] = {"kind": row.fields.kind, "name": row.fields.name}
    for column, attribute in (("telepon", "phone"), ("alamat", "address"), ("catatan", "notes")):
        if column in present:
            wanted[attribute] = getattr(row.fields, attribute)
    if row.active is not None:
        wanted["active"] = row.active
    changes = {k: v for k, v in wanted.items() if getattr(contact, k) != v}
    categories = list(row.fields.categories) if set(row.fields.categories) != served else None
    return changes, categories


async def import_referrals(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    categories: CategoryReader,
    dry_run: bool,
    now: datetime,
) -> ImportReport:
    """Check every row of ``path``; write them all in one transaction when none is bad and
    this is not a dry run. Raises :class:`ReferralFileError` for a file that cannot be
    read or lacks a column."""
    headers, rows = read_rows(path)
    async with sessions.begin() as session:
        regions = await RegionReader.load(session)
        checked: list[_Checked] = []
        problems: list[Problem] = []
        first_row: dict[tuple[int, str], int] = {}
        for number, cells in rows:
            result = check_row(number, cells, regions, categories)
            if isinstance(result, list):
                problems.extend(result)
                continue
            key = (result.fields.region_id, name_key(result.fields.name))
            if key in first_row:
                problems.append(Problem(
                    "referral_import.duplicate", {"value": result.fields.name,
                                                  "first": first_row[key]},
                    row=number, column="nama",
                ))
                continue
            first_row[key] = number
            checked.append(result)
        problems = [
            Problem(p.key, p.values, p.row, headers.get(p.column or "", p.column))
            for p in problems
        ]
        existing = await _existing(session)
        imported = updated = unchanged = 0
        write = not problems and not dry_run
        for row in checked:
            found = existing.get((row.fields.region_id, name_key(row.fields.name)))
            if found is None:
                imported += 1
                if write:
                    await add_contact(session, row.fields, by=None, now=now)
                continue
            changes, new_categories = _changes(*found, row, set(headers))
            if not changes and new_categories is None:
                unchanged += 1
                continue
            updated += 1
            if write:
                await change_contact(
                    session, found[0].id, changes, categories=new_categories, by=None, now=now
                )
    log.info(
        "referral import: %d rows, %d new, %d updated, %d unchanged, %d problems%s",
        len(rows), imported, updated, unchanged, len(problems), "" if write else " (not written)",
    )
    return ImportReport(len(rows), imported, updated, unchanged, problems, write)
