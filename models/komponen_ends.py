"""Stored komponen end dates kept in step with the configured rules.

A komponen's end date is computed from the member's birth date when a roster is imported
and stored, so that the graduation queries stay set-based. When the rules change (a new
programme year: anak SMA covered up to 21 instead of 19), :func:`refresh_end_dates`
recomputes the stored dates of the members whose birth date is known, so the graduasi
alamiah dates follow the configuration. A komponen without a birth date keeps its date
(it was given, not computed), and a type no longer configured is left alone.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, extract, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import table_of
from models.rules.komponen import KomponenCatalog
from models.tables import Komponen


def _maybe_stale(catalog: KomponenCatalog) -> ColumnElement[bool]:
    """Rows whose stored end date may not be what the rules say (a cheap filter in SQL;
    the exact date is computed in Python, where 29 February is handled the same way)."""
    conditions: list[ColumnElement[bool]] = []
    for rule in catalog.rules.values():
        of_type = Komponen.type == rule.type
        if rule.ends_at_age is not None:
            years = extract("year", Komponen.end_date) - extract("year", Komponen.birth_date)
            conditions.append(
                and_(of_type, or_(Komponen.end_date.is_(None), years != rule.ends_at_age))
            )
        elif rule.ends_after_days is not None:
            conditions.append(of_type)  # few rows (pregnancies): every one is checked
        else:
            conditions.append(and_(of_type, Komponen.end_date.is_not(None)))
    return or_(*conditions) if conditions else Komponen.id.is_(None)


async def refresh_end_dates(session: AsyncSession, catalog: KomponenCatalog) -> int:
    """Recompute the end dates of komponen with a birth date from ``catalog``; return how
    many changed."""
    rows = await session.execute(
        select(Komponen.id, Komponen.type, Komponen.birth_date, Komponen.end_date).where(
            Komponen.birth_date.is_not(None), _maybe_stale(catalog)
        )
    )
    changed = [
        {"row_id": row_id, "new_end": end}
        for row_id, kind, born, stored in rows
        if (end := catalog[kind].end_date(born)) != stored
    ]
    if changed:
        table = table_of(Komponen)
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(end_date=bindparam("new_end")),
            changed,
        )
    return len(changed)
