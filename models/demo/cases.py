"""The demo's cases: each of :data:`models.demo.names.CASES` opened for an aktif family (not a
ketua, one with the case's komponen when it names one) of the pendamping in turn, some
urgent, some overdue, child protection ones escalated to the supervisor, and the follow-up
note of those already in follow-up."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.demo import names
from models.demo.plan import PlannedGroup
from models.enums import CaseSeverity, CaseStatus, KpmStatus
from models.tables import CaseNote, CaseUpdate

_BULK = {"render_nulls": True}  # None as NULL, so rows with and without values batch together


async def write_cases(
    session: AsyncSession,
    groups: list[PlannedGroup],
    pendamping_ids: list[int],
    supervisor: int,
    today: date,
    rng: random.Random,
    local: Callable[[date], datetime],
) -> int:
    """Write the cases and their updates; ``local`` turns a day into the moment a case is
    opened."""
    case_rows, update_rows = [], []
    for number, case in enumerate(names.CASES):
        own = [g for g in groups if g.pendamping_id == pendamping_ids[number % 3]]
        pool = [(g, m) for g in own for m in g.members
                if m.row["status"] is KpmStatus.AKTIF and m.special != "ketua"]
        fitting = [(g, m) for g, m in pool if case.komponen in {k for k, _ in m.komponen}]
        group, member = rng.choice(fitting or pool)
        opened = local(today - timedelta(days=case.age_days))
        urgent = case.mendesak or case.category == "perlindungan_anak"
        status = CaseStatus.TINDAK_LANJUT if case.in_follow_up else CaseStatus.BARU
        updated = opened + timedelta(days=case.age_days // 2) if case.in_follow_up else opened
        case_rows.append({
            "kpm_id": member.id, "staff_id": group.pendamping_id, "category": case.category,
            "description": case.description,
            "severity": CaseSeverity.MENDESAK if urgent else CaseSeverity.BIASA,
            "status": status, "follow_up_date": today + timedelta(days=case.follow_up_days),
            "escalated_to_id": supervisor if case.category == "perlindungan_anak" else None,
            "escalated_at": updated if case.category == "perlindungan_anak" else None,
            "created_at": opened, "updated_at": updated,
        })
        update_rows.append((group.pendamping_id, case.update_note, updated))
    # one statement per row on SQLite, so that the ids come back in the order given
    statement = insert(CaseNote).returning(CaseNote.id, sort_by_parameter_order=True)
    case_ids = list((await session.scalars(statement, case_rows)).all())
    updates = [{"case_id": case_id, "staff_id": staff_id, "status": CaseStatus.TINDAK_LANJUT,
                "note": note, "created_at": at}
               for case_id, (staff_id, note, at) in zip(case_ids, update_rows, strict=True)
               if note is not None]
    if updates:
        await session.execute(insert(CaseUpdate), updates, execution_options=_BULK)
    return len(case_rows)
