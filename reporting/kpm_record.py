"""Everything held on one family, for its own access request (UU PDP 27/2022: the data
subject's right of access): the record, komponen, attendance, RSVPs, cases and their
updates, commitment checks, graduation assessments, complementary programmes, pesan
KPM, the messages received from and sent to the family's chat addresses, those
addresses and their conversation state, the photos listed, and the audit entries about
it. Every column is given as stored (the NIK in full: it is the family's own), one sheet
per kind, as an XLSX workbook or a JSON document.

Read-only, a few set-based queries per kind; the caller audits the export and writes the
file so that only the service's user can read it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import orjson
from openpyxl import Workbook
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.bansos import KpmProgramme
from models.base import Base, table_of
from models.erasure import family_addresses
from models.messaging.tables import Conversation, Inbox, Outbox
from models.tables import (
    Attendance,
    AuditLog,
    CaseNote,
    CaseUpdate,
    ChannelIdentity,
    CommitmentCheck,
    GraduationAssessment,
    Kelompok,
    Komponen,
    Kpm,
    KpmMessage,
    MediaAttachment,
    Meeting,
    Rsvp,
)
from reporting.export_files import Column, ColumnType, XlsxSheet

Translate = Callable[..., str]
KINDS = (
    "kpm", "komponen", "attendance", "rsvp", "cases", "case_updates", "commitment_checks",
    "graduation_assessments", "programmes", "pesan", "inbox", "outbox",
    "channel_identities", "conversations", "media", "audit",
)
"""The sheets, in order; each has the title ``cli.kpm_export.sheet.<kind>``."""


@dataclass(frozen=True)
class KpmRecord:
    kpm_id: int
    id_pkh: str
    sheets: dict[str, list[dict[str, Any]]]  # kind -> rows (column -> value as stored)

    def count(self, kind: str) -> int:
        return len(self.sheets[kind])


def _of(model: type[Base], *conditions: ColumnElement[bool]) -> Select[Any]:
    table = table_of(model)
    return select(table).where(*conditions).order_by(*table.primary_key.columns)


async def kpm_record(session: AsyncSession, kpm: Kpm) -> KpmRecord:
    """Every row held on ``kpm``'s family, by kind."""
    addresses = await family_addresses(session, kpm)
    own = list(addresses.own)
    cases = select(CaseNote.id).where(CaseNote.kpm_id == kpm.id)
    meeting = table_of(Meeting)
    attendance = table_of(Attendance)
    rsvp = table_of(Rsvp)
    statements: dict[str, Select[Any]] = {
        "kpm": select(table_of(Kpm), Kelompok.name.label("kelompok"))
        .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(Kpm.id == kpm.id),
        "komponen": _of(Komponen, Komponen.kpm_id == kpm.id),
        "attendance": select(attendance, meeting.c.meeting_date)
        .join(meeting, meeting.c.id == attendance.c.meeting_id)
        .where(attendance.c.kpm_id == kpm.id)
        .order_by(meeting.c.meeting_date),
        "rsvp": select(rsvp, meeting.c.meeting_date)
        .join(meeting, meeting.c.id == rsvp.c.meeting_id)
        .where(rsvp.c.kpm_id == kpm.id)
        .order_by(meeting.c.meeting_date),
        "cases": _of(CaseNote, CaseNote.kpm_id == kpm.id),
        "case_updates": _of(CaseUpdate, CaseUpdate.case_id.in_(cases)),
        "commitment_checks": _of(CommitmentCheck, CommitmentCheck.kpm_id == kpm.id),
        "graduation_assessments": _of(GraduationAssessment, GraduationAssessment.kpm_id == kpm.id),
        "programmes": _of(KpmProgramme, KpmProgramme.kpm_id == kpm.id),
        "pesan": _of(KpmMessage, KpmMessage.kpm_id == kpm.id),
        "inbox": _of(Inbox, Inbox.address.in_(own)),
        "outbox": _of(Outbox, Outbox.address.in_(own)),
        "channel_identities": _of(
            ChannelIdentity,
            or_(ChannelIdentity.kpm_id == kpm.id, ChannelIdentity.address.in_(own)),
        ),
        "conversations": _of(Conversation, Conversation.address.in_(own)),
        "media": _of(MediaAttachment, MediaAttachment.case_id.in_(cases)),
    }
    sheets = {
        kind: [dict(row) for row in (await session.execute(statement)).mappings()]
        for kind, statement in statements.items()
    }
    sheets["audit"] = await _audit_rows(session, kpm.id, sheets)
    return KpmRecord(kpm.id, kpm.id_pkh, {kind: sheets[kind] for kind in KINDS})


async def _audit_rows(
    session: AsyncSession, kpm_id: int, sheets: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The audit entries about the family: of its record, cases, commitment checks, pesan
    KPM and chat addresses, and the RSVPs and attendance corrections that name it."""

    def ids(kind: str) -> list[int]:
        return [row["id"] for row in sheets[kind]]

    meetings = sorted({row["meeting_id"] for row in (*sheets["attendance"], *sheets["rsvp"])})
    about = or_(
        and_(AuditLog.entity == "kpm", AuditLog.entity_id == kpm_id),
        and_(AuditLog.entity == "case_note", AuditLog.entity_id.in_(ids("cases"))),
        and_(
            AuditLog.entity == "commitment_check",
            AuditLog.entity_id.in_(ids("commitment_checks")),
        ),
        and_(AuditLog.entity == "kpm_message", AuditLog.entity_id.in_(ids("pesan"))),
        and_(
            AuditLog.entity == "channel_identity",
            AuditLog.entity_id.in_(ids("channel_identities")),
        ),
        and_(AuditLog.entity == "meeting", AuditLog.entity_id.in_(meetings)),
    )
    rows = (await session.execute(_of(AuditLog, about))).mappings()
    return [dict(row) for row in rows if _names(dict(row), kpm_id)]


def _names(row: dict[str, Any], kpm_id: int) -> bool:
    """Whether an audit row of a meeting (an RSVP, an attendance correction) names the
    family; other rows found are about it already."""
    if row["entity"] != "meeting":
        return True
    detail = row["detail"] or {}
    return detail.get("kpm_id") == kpm_id or str(kpm_id) in (detail.get("changed") or {})


def write_json(record: KpmRecord, out: BinaryIO, *, exported_at: datetime) -> None:
    """The record as one JSON document: ``{"id_pkh", "exported_at", "sheets": {kind:
    [rows]}}``, times in UTC (ISO 8601)."""
    document = {
        "id_pkh": record.id_pkh,
        "exported_at": exported_at,
        "sheets": record.sheets,
    }
    out.write(
        orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    )


def _cell(value: Any, zone: ZoneInfo) -> Any:
    """A stored value as a cell holds it: local time without a zone, codes as text,
    JSON as its text."""
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    if isinstance(value, bool):
        return str(value).lower()
    return value


def _column(key: str, values: Sequence[Any]) -> Column:
    first = next((value for value in values if value is not None), None)
    if isinstance(first, datetime):
        return Column(key, ColumnType.DATETIME, 17)
    if isinstance(first, date):
        return Column(key, ColumnType.DATE, 12)
    return Column(key, ColumnType.TEXT, max(12, min(40, len(key) + 2)))


def write_xlsx(
    record: KpmRecord,
    out: BinaryIO,
    translate: Translate,
    *,
    exported_at: datetime,
    zone: ZoneInfo,
) -> None:
    """The record as a workbook: a summary sheet (what each sheet holds, how many rows,
    when it was made), then one sheet per kind with the stored column names as headers
    and times in ``zone``."""
    book = Workbook(write_only=True)
    summary = XlsxSheet(
        out,
        translate("cli.kpm_export.summary"),
        (Column("part", width=34), Column("rows", ColumnType.INT, 12)),
        (translate("cli.kpm_export.col_part"), translate("cli.kpm_export.col_rows")),
        book=book,
    )
    summary.append(
        (translate("cli.kpm_export.exported", id_pkh=record.id_pkh,
                   at=f"{exported_at.astimezone(zone):%Y-%m-%d %H:%M}"), None)
    )
    for kind in KINDS:
        summary.append((translate(f"cli.kpm_export.sheet.{kind}"), record.count(kind)))
    for kind in KINDS:
        rows = record.sheets[kind]
        keys = list(rows[0]) if rows else ["id"]
        columns = [_column(key, [row[key] for row in rows]) for key in keys]
        sheet = XlsxSheet(
            out, translate(f"cli.kpm_export.sheet.{kind}"), columns, keys, book=book
        )
        for row in rows:
            sheet.append([_cell(row[key], zone) for key in keys])
    book.save(out)
