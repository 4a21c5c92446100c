"""What changed, from the audit log: a KPM's moves and departure, the marks of their
attendance corrected, their cases' status changes, or everything a staff member did, with
who, when, before and after. Read by `pendamping audit` and by /riwayat in chat.

The audit rows hold ids and codes only; names are looked up here, for whoever is allowed
to read them (the command line's operator, or staff in scope)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Attendance, AuditLog, CaseNote, Kelompok, Kpm, Meeting, Staff


@dataclass(frozen=True)
class Change:
    """One audited change, as read back."""

    at: datetime
    actor: str  # a staff member's name, or "cli" / "system" / "kpm"
    action: str
    entity: str
    entity_id: int | None
    kpm_id: int | None  # the KPM it is about, when it is about one
    before: Any
    after: Any
    detail: dict[str, Any]


def _kpm_rows(kpm_id: int) -> Select[Any]:
    """The audit rows about one KPM: itself, its cases, and corrections of meetings it has
    a mark in (whether the correction touched its mark is read from the detail)."""
    cases = select(CaseNote.id).where(CaseNote.kpm_id == kpm_id)
    meetings = select(Attendance.meeting_id).where(Attendance.kpm_id == kpm_id)
    return select(AuditLog).where(
        or_(
            and_(AuditLog.entity == "kpm", AuditLog.entity_id == kpm_id),
            and_(AuditLog.entity == "case_note", AuditLog.entity_id.in_(cases)),
            and_(
                AuditLog.action == "attendance.update",
                AuditLog.entity == "meeting",
                AuditLog.entity_id.in_(meetings),
            ),
        )
    )


async def changes(
    session: AsyncSession,
    *,
    kpm_id: int | None = None,
    staff_id: int | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Change]:
    """The changes that match, oldest first (the latest ``limit`` of them, after skipping
    the ``offset`` latest: a page of the web console's audit log)."""
    statement = _kpm_rows(kpm_id) if kpm_id is not None else select(AuditLog)
    if staff_id is not None:
        statement = statement.where(AuditLog.actor_staff_id == staff_id)
    if since is not None:
        statement = statement.where(AuditLog.at >= since)
    latest = statement.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    if offset:
        latest = latest.offset(offset)
    rows = list(await session.scalars(latest))
    names = await _staff_names(session, {r.actor_staff_id for r in rows if r.actor_staff_id})
    case_kpm = await _case_kpm(session, [r.entity_id for r in rows if r.entity == "case_note"])
    found: list[Change] = []
    for row in reversed(rows):
        actor = names.get(row.actor_staff_id or 0, row.actor)
        found.extend(_read(row, actor, kpm_id, case_kpm))
    return found


def _read(
    row: AuditLog, actor: str, kpm_id: int | None, case_kpm: dict[int, int]
) -> list[Change]:
    """One audit row as changes: a correction of several marks is one change per KPM."""
    detail = row.detail or {}

    def change(about: int | None, before: Any, after: Any) -> Change:
        return Change(
            row.at, actor, row.action, row.entity, row.entity_id, about, before, after, detail
        )

    if row.action == "attendance.update":
        marks = detail.get("changed") or {}
        return [
            change(int(about), before, after)
            for about, (before, after) in marks.items()
            if kpm_id is None or int(about) == kpm_id
        ]
    about = row.entity_id if row.entity == "kpm" else case_kpm.get(row.entity_id or 0)
    if kpm_id is not None and about != kpm_id:
        return []
    before, after = detail.get("before"), detail.get("after")
    if row.action == "case.update":
        after = {"status": detail.get("status")}
    elif row.action == "case.open":
        after = {"category": detail.get("category"), "status": "baru"}
    return [change(about, before, after)]


async def _staff_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids)))
    return {staff_id: name for staff_id, name in rows}


async def _case_kpm(session: AsyncSession, case_ids: list[int | None]) -> dict[int, int]:
    wanted = [case_id for case_id in case_ids if case_id is not None]
    if not wanted:
        return {}
    rows = await session.execute(
        select(CaseNote.id, CaseNote.kpm_id).where(CaseNote.id.in_(wanted))
    )
    return {case_id: kpm for case_id, kpm in rows}


async def kelompok_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Kelompok.id, Kelompok.name).where(Kelompok.id.in_(ids)))
    return {kelompok_id: name for kelompok_id, name in rows}


async def meeting_dates(session: AsyncSession, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Meeting.id, Meeting.meeting_date).where(Meeting.id.in_(ids))
    )
    return {meeting_id: day for meeting_id, day in rows}


async def id_pkh_of(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Kpm.id, Kpm.id_pkh).where(Kpm.id.in_(ids)))
    return {kpm_id: id_pkh for kpm_id, id_pkh in rows}


def moved_kelompok(found: list[Change]) -> set[int]:
    """The kelompok ids the moves among ``found`` name, to look their names up."""
    return {
        value
        for change in found
        if change.action == "kpm.move"
        for side in (change.before, change.after)
        for value in (side or {}).values()
        if isinstance(value, int)
    }


def kelompok_name(groups: dict[int, str], side: dict[str, Any] | None) -> str:
    """The name of the kelompok one side of a move names ("-" when it is not known)."""
    kelompok_id = (side or {}).get("kelompok_id")
    return groups.get(kelompok_id, "-") if isinstance(kelompok_id, int) else "-"
