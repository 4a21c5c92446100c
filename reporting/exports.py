"""Exports: attendance, cases, graduation and commitment checks of a scope and period, as
XLSX or CSV.

Read-only and set-based: a small query for the time zones in scope, then one statement
per export, streamed in batches (``yield_per``), so a kabupaten-year of attendance never
sits in memory. Timestamps are shown in each kelompok's own time zone (its province's;
``default_timezone`` where none is set), and a period is a range of local dates, so
"November" means November in Jayapura for a group in Papua and in Jakarta for one in
Java. Headers and labels come from the caller's ``translate`` (the chat's message
catalog), so reporting carries no user-facing text of its own; the labels that are
configured (komponen types, commitments, reasons) come with the request. NIK is never
exported. Commitment checks are those of the verification periods that overlap the range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import (
    AttendanceMark,
    CaseSeverity,
    CaseStatus,
    CommitmentResult,
    Facilitator,
    KpmStatus,
)
from models.rules.commitments import CommitmentRules
from reporting import export_queries as queries
from reporting.export_files import Column, ExportFormat, open_sheet
from reporting.export_files import ColumnType as T

Translate = Callable[[str], str]
BATCH = 2000


class ExportTooLarge(Exception):
    """More rows than the caller allows (a chat export; the command line has no cap)."""

    def __init__(self, max_rows: int) -> None:
        super().__init__(f"more than {max_rows} rows")
        self.max_rows = max_rows


class ExportKind(StrEnum):
    ATTENDANCE = "attendance"
    CASES = "cases"
    GRADUATION = "graduation"
    KOMITMEN = "komitmen"  # commitment checks (verifikasi komitmen)


@dataclass(frozen=True)
class Period:
    """Local dates, both ends included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")


@dataclass(frozen=True)
class ExportRequest:
    kind: ExportKind
    period: Period
    scope: Select[tuple[int]]  # the kelompok ids the requester may see
    region_id: int | None = None  # narrow to one provinsi/kabupaten/kecamatan/desa
    default_timezone: str = "Asia/Jakarta"
    commitments: CommitmentRules = field(default_factory=CommitmentRules)
    komponen_labels: Mapping[str, str] = field(default_factory=dict)  # type: label
    case_category_labels: Mapping[str, str] = field(default_factory=dict)  # configured ones
    locale: str = "id"  # for the period labels ("November 2026")

    def configured_labels(self) -> dict[tuple[str, str], str]:
        """Labels from configuration rather than the catalog, by (prefix, stored value):
        komponen types, case categories named in the configuration, commitments, reasons
        and the verification periods in range."""
        rules = self.commitments
        labels = {("komponen", kind): label for kind, label in self.komponen_labels.items()}
        labels |= {("case.category", key): name for key, name in self.case_category_labels.items()}
        labels |= {("commitment", c.key): c.label for c in rules.commitments}
        labels |= {("commitment_reason", key): label for key, label in rules.reasons}
        period = rules.period_of(self.period.start)
        while period.start <= self.period.end:
            labels[("commitment_period", str(period.start))] = period.label(self.locale)
            period = rules.period_of(period.end)
        return labels


COLUMNS: dict[ExportKind, tuple[Column, ...]] = {
    ExportKind.ATTENDANCE: (
        Column("meeting_date", T.DATE, 12),
        Column("kelompok", width=24),
        Column("desa", width=20),
        Column("kecamatan", width=18),
        Column("kabupaten", width=18),
        Column("pendamping", width=22),
        Column("id_pkh", width=16),
        Column("nama_pengurus", width=26),
        Column("mark", width=10),
        Column("note", width=24),
        Column("modul", T.INT, 7),
        Column("sesi", T.INT, 7),
        Column("recorded_at", T.DATETIME, 17),
        Column("facilitator", width=22),  # the pendamping, or the ketua without them
    ),
    ExportKind.CASES: (
        Column("case_id", T.INT, 10),
        Column("opened_at", T.DATETIME, 17),
        Column("id_pkh", width=16),
        Column("nama_pengurus", width=26),
        Column("kelompok", width=24),
        Column("pendamping", width=22),
        Column("category", width=20),
        Column("severity", width=10),
        Column("status", width=14),
        Column("follow_up", T.DATE, 13),
        Column("closed_at", T.DATETIME, 17),
        Column("description", width=60),
    ),
    ExportKind.GRADUATION: (
        Column("id_pkh", width=16),
        Column("nama", width=26),
        Column("kelompok", width=24),
        Column("pendamping", width=22),
        Column("kpm_status", width=26),
        Column("graduated_on", T.DATE, 14),
        Column("last_komponen_end", T.DATE, 16),
        Column("score", T.NUMBER, 10),
        Column("threshold", T.NUMBER, 10),
        Column("assessed_at", T.DATETIME, 17),
    ),
    ExportKind.KOMITMEN: (
        Column("period", width=22),
        Column("kelompok", width=24),
        Column("pendamping", width=22),
        Column("nama_pengurus", width=26),
        Column("id_pkh", width=16),
        Column("komponen", width=20),
        Column("birth_date", T.DATE, 14),
        Column("commitment", width=30),
        Column("result", width=16),
        Column("reason", width=20),
        Column("recorded_by", width=22),
        Column("recorded_at", T.DATETIME, 17),
    ),
}


def catalog_keys() -> set[str]:
    """Every catalog key an export needs, but the case categories (configurable: an
    unknown one is shown as stored)."""
    keys = {f"export.sheet.{kind.value}" for kind in ExportKind}
    keys |= {f"export.column.{column.key}" for columns in COLUMNS.values() for column in columns}
    for prefix, values in (
        ("export.mark", AttendanceMark),
        ("case.severity", CaseSeverity),
        ("export.case_status", CaseStatus),
        ("export.kpm_status", KpmStatus),
        ("export.commitment_result", CommitmentResult),
        ("export.facilitator", Facilitator),
    ):
        keys |= {f"{prefix}.{value.value}" for value in values}
    return keys


class _Labels:
    """Catalog labels of stored values, looked up once each; an unknown value (a case
    category added in configuration without a text) is shown as stored."""

    def __init__(
        self, translate: Translate, configured: Mapping[tuple[str, str], str] | None = None
    ) -> None:
        self._translate = translate
        self._known: dict[tuple[str, str], str] = dict(configured or {})

    def __call__(self, prefix: str, value: object) -> str | None:
        if value is None:
            return None
        raw = getattr(value, "value", value)
        key = (prefix, str(raw))
        if key not in self._known:
            try:
                self._known[key] = self._translate(f"{prefix}.{raw}")
            except KeyError:
                self._known[key] = str(raw)
        return self._known[key]


_KINDS = {
    ExportKind.ATTENDANCE: (queries.attendance, queries.attendance_row),
    ExportKind.CASES: (queries.cases, queries.case_row),
    ExportKind.GRADUATION: (queries.graduation, queries.graduation_row),
    ExportKind.KOMITMEN: (queries.commitments, queries.commitment_row),
}


async def write_export(
    session: AsyncSession,
    request: ExportRequest,
    out: BinaryIO,
    fmt: ExportFormat,
    translate: Translate,
    max_rows: int | None = None,
) -> int:
    """Write the export to ``out`` (header row first) and return the number of rows.
    More than ``max_rows`` rows raise :class:`ExportTooLarge` as soon as it is known
    (the rest is not read)."""
    period = request.period
    place = queries.places(request.scope, request.region_id, request.default_timezone)
    zones = list(await session.scalars(select(place.c.zone).distinct()))
    window = queries.Window.of(period.start, period.end, zones)
    build, convert = _KINDS[request.kind]
    columns = COLUMNS[request.kind]
    sheet = open_sheet(
        fmt,
        out,
        translate(f"export.sheet.{request.kind.value}"),
        columns,
        [translate(f"export.column.{column.key}") for column in columns],
    )
    start = period.start
    if request.kind is ExportKind.KOMITMEN:  # the periods overlapping the range
        start = request.commitments.period_of(start).start
    label = _Labels(translate, request.configured_labels())
    count = 0
    statement = build(place, start, period.end, window)
    result = await session.stream(statement.execution_options(yield_per=BATCH))
    try:
        async for batch in result.partitions():
            count += len(batch)
            if max_rows is not None and count > max_rows:
                sheet.close()  # finish the file (discarded) rather than leave it half open
                raise ExportTooLarge(max_rows)
            for row in batch:
                sheet.append(convert(row, label))
    finally:
        await result.close()
    sheet.close()
    return count
