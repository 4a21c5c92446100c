"""The meeting planner's reads and writes: every kelompok's rule, the months already planned,
and the new meetings, in a few statements whatever the number of kelompok."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import (
    and_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import table_of
from models.db.sql import IN_CHUNK
from models.db.statements import upsert_insert
from models.enums import MeetingStatus
from models.regions import kelompok_zone_and_code, outer_join_all
from models.tables import Kelompok, Meeting


@dataclass(frozen=True)
class KelompokRule:
    kelompok_id: int
    name: str
    weekday: int | None  # with week_of_month: "Selasa minggu kedua"
    week_of_month: int | None
    at: time
    place: str | None
    pendamping_id: int | None
    zone: str | None
    day_of_month: int | None = None  # or a date of the month: "tiap tanggal 10"
    region_code: str | None = None  # the most specific Kemendagri code: regional holidays


async def kelompok_rules(session: AsyncSession) -> list[KelompokRule]:
    """Every kelompok with a complete meeting rule, with its province's time zone and its
    region's code."""
    zone, code, joins = kelompok_zone_and_code(Kelompok.desa_id)
    statement = select(
        Kelompok.id,
        Kelompok.name,
        Kelompok.rule_weekday,
        Kelompok.rule_week_of_month,
        Kelompok.rule_time,
        Kelompok.place,
        Kelompok.pendamping_id,
        zone,
        Kelompok.rule_day_of_month,
        code,
    ).where(
        or_(
            and_(Kelompok.rule_weekday.is_not(None), Kelompok.rule_week_of_month.is_not(None)),
            Kelompok.rule_day_of_month.is_not(None),
        ),
        Kelompok.rule_time.is_not(None),
    )
    rows = await session.execute(outer_join_all(statement, joins).order_by(Kelompok.id))
    return [KelompokRule(*row) for row in rows]


async def planned_keys(session: AsyncSession, plan_keys: Iterable[str]) -> set[tuple[int, str]]:
    """The (kelompok id, plan key) pairs that already have a meeting, whatever its status."""
    keys = sorted(set(plan_keys))
    if not keys:
        return set()
    rows = await session.execute(
        select(Meeting.kelompok_id, Meeting.plan_key).where(Meeting.plan_key.in_(keys))
    )
    return {(kelompok_id, key) for kelompok_id, key in rows}


async def insert_meetings(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert planned meetings; one that exists by (kelompok, plan key) is left alone.
    Returns how many were added (counted by RETURNING: asyncpg's executemany has no
    row count)."""
    statement = (
        upsert_insert(session.bind.dialect.name)(table_of(Meeting))
        .on_conflict_do_nothing(index_elements=["kelompok_id", "plan_key"])
        .returning(table_of(Meeting).c.id)
    )
    added = 0
    for start in range(0, len(rows), IN_CHUNK):
        result = await session.execute(statement, list(rows[start : start + IN_CHUNK]))
        added += len(result.all())
    return added


async def meeting_ids_by_plan(
    session: AsyncSession, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, date, MeetingStatus]]:
    """Id, date and status of the meetings planned as (kelompok id, plan key).

    Asked as kelompok ids and plan keys, each a plain list the unique (kelompok, plan key)
    index answers, and the pairs not wanted left out here: a list of a thousand pairs
    (``(kelompok_id, plan_key) IN (...)``) took PostgreSQL half a second each."""
    wanted = set(pairs)
    by_kelompok = sorted({kelompok_id for kelompok_id, _ in wanted})
    keys = sorted({key for _, key in wanted})
    found: dict[tuple[int, str], tuple[int, date, MeetingStatus]] = {}
    for start in range(0, len(by_kelompok), IN_CHUNK):
        rows = await session.execute(
            select(
                Meeting.kelompok_id,
                Meeting.plan_key,
                Meeting.id,
                Meeting.meeting_date,
                Meeting.status,
            ).where(Meeting.kelompok_id.in_(by_kelompok[start : start + IN_CHUNK]),
                    Meeting.plan_key.in_(keys))
        )
        for kelompok_id, key, meeting_id, day, status in rows:
            if (kelompok_id, key) in wanted:
                found[(kelompok_id, key)] = (meeting_id, day, MeetingStatus(status))
    return found
