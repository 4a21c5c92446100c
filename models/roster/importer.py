"""Importing a KPM roster: regions, pendamping, kelompok, KPM and komponen in one go.

The file is read and checked row by row (:mod:`models.roster.parse`) and written in
batches with bulk statements, all in one transaction: the whole import lands or nothing
does. KPM are matched by ID PKH; rows whose values did not change are not written; KPM
missing from the file are never touched. Only counts are logged, never names or numbers.

A ``status`` column sets each KPM's status (an empty cell leaves it alone). Entering a
graduasi status stamps ``graduated_on`` with the row's ``tanggal_graduasi``, or with the
import day (``now`` in the configured time zone); leaving graduasi clears it.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.audit import actor_of, audit
from models.households import shared_phone_counts
from models.private_files import open_private
from models.roster.files import RosterFileError, count_rows, header_key, open_roster
from models.roster.parse import REASON_COLUMN, RosterRow, RowValidator
from models.roster.reasons import Reason, reason
from models.roster.status import local_today
from models.roster.writer import RosterWriter
from models.rules.komponen import KomponenCatalog
from models.tables import Staff

__all__ = [
    "ImportReport", "Reason", "RejectedRow", "RosterFileError", "count_rows", "import_roster",
]

logger = logging.getLogger(__name__)

BATCH_ROWS = 2_000
PROGRESS_EVERY = 1_000



@dataclass(frozen=True)
class RejectedRow:
    row_number: int  # as the operator sees it in a spreadsheet: the header is row 1
    reasons: tuple[Reason, ...]  # every reason, each a catalog key and its values
    values: dict[str, str]  # the row as written, by header


def plain_reasons(rejected: RejectedRow) -> str:
    """A refused row's reasons without a catalog (see :meth:`Reason.__str__`)."""
    return "; ".join(map(str, rejected.reasons))


@dataclass(frozen=True)
class ImportReport:
    rows_read: int
    imported: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow]
    written: bool  # False for a dry run, or a strict import that found bad rows
    moved: int = 0  # of the updated: KPM now in another kelompok
    left: int = 0  # of the updated: KPM who left the programme with this file
    phones_changed: int = 0  # of the updated: KPM with another phone number
    shared_phones: tuple[SharedPhone, ...] = ()  # rows whose phone other KPM have too
    ketua_named: int = 0  # kelompok whose ketua the file names
    ketua_changed: int = 0  # of those, kelompok whose ketua is new or another
    erased: int = 0  # rows of families whose personal data was erased: not written


class SharedPhone(NamedTuple):
    """A row whose phone several active KPM hold: one reminder names them all."""

    row_number: int
    kpm: int  # active KPM with this phone, the row's own included


@contextmanager
def _rejects_file(
    path: Path | None, roster: Path, headers: tuple[str, ...], delimiter: str,
    describe: Callable[[RejectedRow], str],
) -> Iterator[Callable[[RejectedRow], None] | None]:
    """A CSV of the refused rows (UTF-8 with BOM, so Excel shows it right) with the
    input's own columns and delimiter and a last column saying why (``describe``); a
    reason column left from an earlier import is replaced."""
    if path is None:
        yield None
        return
    if Path(path).resolve() == roster.resolve():
        raise RosterFileError(reason("roster.file_rejects_is_roster", file=roster.name))
    keep = [position for position, header in enumerate(headers)
            if header_key(header) != REASON_COLUMN]
    with open_private(Path(path), "w", encoding="utf-8-sig", newline="") as handle:  # NIKs
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow([headers[position] for position in keep] + [REASON_COLUMN])

        def write(rejected: RejectedRow) -> None:
            values = list(rejected.values.values())
            writer.writerow([values[position] for position in keep] + [describe(rejected)])

        yield write


async def import_roster(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    catalog: KomponenCatalog,
    strict: bool = False,
    dry_run: bool = False,
    rejects_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
    timezone: str | None = None,
    describe: Callable[[RejectedRow], str] = plain_reasons,
    by: Staff | None = None,
) -> ImportReport:
    """Import a CSV or XLSX roster in one transaction and say what happened.

    ``strict``: any bad row means nothing is written. ``dry_run``: everything is checked
    and matched, then rolled back. ``rejects_path``: where to write the refused rows as
    CSV for the operator to fix and import again. ``progress`` is called with the number
    of rows read, every thousand rows and at the end (:func:`count_rows` gives a total).
    ``timezone`` (IANA name, default Asia/Jakarta) says which day ``now`` is: the import
    day, which dates a graduation without a tanggal_graduasi and bounds those given.
    ``describe`` says why a row was refused in the rejects file's reason column (the
    command line gives the catalog's text in the configured locale). ``by``: the operator
    who imports in the web console (None: the command line), for the audit log.
    Raises :class:`RosterFileError`, before touching the database, for a problem with
    the whole file.
    """
    now = now or datetime.now(UTC)
    today = local_today(now, timezone)
    path = Path(path)
    rejected: list[RejectedRow] = []
    phones: list[tuple[int, str]] = []  # (row number, phone) of the rows taken
    rows_read = 0
    with open_roster(path) as source, _rejects_file(
        rejects_path, path, source.columns.headers, source.delimiter, describe
    ) as write_reject:
        validator = RowValidator(source.columns, catalog, today=today)
        async with sessions() as session:
            writer = RosterWriter(
                session, now=now, today=today, replace_komponen=source.columns.has_komponen,
                has_status=source.columns.has_status,
            )
            try:
                await writer.load()
                batch: list[RosterRow] = []
                for row_number, cells in source.rows:
                    if not "".join(cells).strip():
                        continue  # a blank line
                    rows_read += 1
                    checked = validator.validate(row_number, cells)
                    if not isinstance(checked, RosterRow):
                        reject = RejectedRow(
                            row_number, tuple(checked), validator.values(cells)
                        )
                        rejected.append(reject)
                        if write_reject is not None:
                            write_reject(reject)
                    else:
                        batch.append(checked)
                        if checked.phone:
                            phones.append((checked.row_number, checked.phone))
                        if len(batch) >= BATCH_ROWS:
                            await writer.write(batch)
                            batch = []
                    if progress is not None and rows_read % PROGRESS_EVERY == 0:
                        progress(rows_read)
                if batch:
                    await writer.write(batch)
                if progress is not None:
                    progress(rows_read)
                await writer.finish()
                shared = await _shared_phones(session, phones)
                written = not dry_run and not (strict and rejected)
                if written:
                    await audit(
                        session,
                        **actor_of(by),
                        action="roster.import",
                        entity="import",
                        entity_id=None,
                        detail={
                            "rows_read": rows_read,
                            "rejected": len(rejected),
                            **asdict(writer.counts),
                        },
                    )
                    await session.commit()
                else:
                    await session.rollback()
            except StatementError as error:
                await session.rollback()
                error.hide_parameters = True  # names and NIKs: keep them out of every log
                raise
            except BaseException:
                await session.rollback()
                raise
    counts = writer.counts
    logger.info(
        "roster import %s: %s rows read, %s imported, %s updated, %s unchanged, %s rejected",
        "written" if written else "rolled back", rows_read, counts.imported, counts.updated,
        counts.unchanged, len(rejected),
    )
    return ImportReport(
        rows_read=rows_read, imported=counts.imported, updated=counts.updated,
        unchanged=counts.unchanged, rejected=rejected, written=written, moved=counts.moved,
        left=counts.left, phones_changed=counts.phones_changed, shared_phones=shared,
        ketua_named=counts.ketua_named, ketua_changed=counts.ketua_changed,
        erased=counts.erased,
    )


async def _shared_phones(
    session: AsyncSession, phones: list[tuple[int, str]]
) -> tuple[SharedPhone, ...]:
    """The rows whose phone several active KPM hold (counted after the file's rows are
    in: in the file, or the file and the database)."""
    counts = await shared_phone_counts(session, [phone for _, phone in phones])
    return tuple(
        SharedPhone(row_number, counts[phone]) for row_number, phone in phones if phone in counts
    )
