"""The digest's workbook: the detail per kelompok, per pendamping and the absentees.

Commitment checks are those of the verification period of the digest's reference day;
"held by the ketua" counts the meetings held without the pendamping.

Written with the exports' sheet writer (openpyxl write-only: bold frozen header, names
made safe, real dates). Rates are real numbers with a percent format, so a coordinator
can sort and chart them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

from openpyxl import Workbook

from models.rules.case_categories import category_label
from reporting.export_files import Column, ColumnType, XlsxSheet
from reporting.figures import DigestFigures

Translate = Callable[..., str]
T = ColumnType

KELOMPOK_COLUMNS = (
    "kelompok",
    "desa",
    "pendamping",
    "kpm_active",
    "planned",
    "held",
    "held_by_ketua",
    "rate",
    "previous_rate",
    "absentees",
    "open_cases",
    "urgent_cases",
    "overdue_cases",
    "graduated",
    "commitments_due",
    "commitments_done",
    "commitments_not_met",
)
PENDAMPING_COLUMNS = (
    "pendamping",
    "kelompok_count",
    "kpm_active",
    "planned",
    "held",
    "held_by_ketua",
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
    "commitments_due",
    "commitments_done",
    "commitments_not_met",
)
ABSENTEE_COLUMNS = ("name", "kelompok", "pendamping", "streak", "last_meeting")
TYPES = {  # the columns that are not counts
    "kelompok": T.TEXT,
    "desa": T.TEXT,
    "pendamping": T.TEXT,
    "name": T.TEXT,
    "rate": T.PERCENT,
    "previous_rate": T.PERCENT,
    "last_meeting": T.DATE,
}


def digest_workbook(
    figures: DigestFigures,
    *,
    t: Translate,
    categories: Sequence[str],
    target: int,
    locale: str = "id",
    category_labels: Mapping[str, str] | None = None,
) -> bytes:
    """XLSX bytes with three sheets (kelompok, pendamping, absentees); the pendamping
    sheet also has one column per case category. The commitment columns name their
    period ("November 2026")."""
    book = Workbook(write_only=True)
    buffer = io.BytesIO()
    names = {p.id: p.name for p in figures.pendamping}
    period = figures.commitment_period.label(locale) if figures.commitment_period else "-"

    def sheet(title: str, keys: Sequence[str], extra: Sequence[str] = ()) -> XlsxSheet:
        headers = [t(f"digest.col.{key}", period=period) for key in keys] + list(extra)
        columns = [
            Column(key, TYPES.get(key, T.INT), max(10, min(40, len(header) + 2)))
            for key, header in zip([*keys, *extra], headers, strict=True)
        ]
        return XlsxSheet(buffer, t(f"digest.sheet.{title}"), columns, headers, book=book)

    groups = sheet("kelompok", KELOMPOK_COLUMNS)
    for person in figures.pendamping:
        for k in person.kelompok:
            groups.append(
                [
                    k.name,
                    k.desa,
                    person.name,
                    k.kpm_active,
                    k.planned,
                    k.held,
                    k.held_by_ketua,
                    k.rate,
                    k.previous_rate,
                    k.absentees,
                    k.open_cases,
                    k.urgent_cases,
                    k.overdue_cases,
                    k.graduated_this_year,
                    k.commitments_due,
                    k.commitments_done,
                    k.commitments_not_met,
                ]
            )

    people = sheet(
        "pendamping",
        PENDAMPING_COLUMNS,
        [category_label(t, c, category_labels) for c in categories],
    )
    for person in figures.pendamping:
        people.append(
            [
                person.name,
                len(person.kelompok),
                person.kpm_active,
                person.planned,
                person.held,
                person.held_by_ketua,
                person.rate,
                person.previous_rate,
                len(person.absentees),
                person.open_cases,
                person.urgent_cases,
                person.overdue_cases,
                person.candidates_alamiah,
                person.candidates_mandiri,
                person.graduated_this_year,
                target,
                person.commitments_due,
                person.commitments_done,
                person.commitments_not_met,
                *(person.cases_by_category.get(c, 0) for c in categories),
            ]
        )

    absent = sheet("absentees", ABSENTEE_COLUMNS)
    for streak in figures.absentees:
        absent.append(
            [
                streak.name,
                streak.kelompok or "",
                names.get(streak.pendamping_id or 0, ""),
                streak.streak,
                streak.last_meeting_date,
            ]
        )

    book.save(buffer)
    return buffer.getvalue()
