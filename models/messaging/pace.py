"""A sending pace shared by every dispatcher process: the next free send slot of each
sender, in the database, so several `pendamping scheduler` processes together keep to a
sender's rate (each process alone would keep to it, and together go N times over).

A process reserves a block of slots at a time with one UPDATE (the row is locked for that
statement only): the block starts at the later of now and the sender's next free slot,
and the row moves past it. Slots are seconds since the epoch (every process of a
deployment reads a clock kept by NTP).
"""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.statements import upsert_insert
from models.messaging.tables import SendPace


async def reserve_slots(
    session: AsyncSession, sender: str, *, count: int, interval: float, now: float
) -> float:
    """Reserve ``count`` slots ``interval`` seconds apart for ``sender``; returns the first
    (the others follow it), in the caller's transaction."""
    dialect = session.bind.dialect.name
    await session.execute(
        upsert_insert(dialect)(SendPace)
        .values(sender=sender, next_at=0.0)
        .on_conflict_do_nothing(index_elements=["sender"])
    )
    later = func.greatest if dialect == "postgresql" else func.max  # SQLite's scalar max
    end = await session.scalar(
        update(SendPace)
        .where(SendPace.sender == sender)
        .values(next_at=later(SendPace.next_at, now) + count * interval)
        .returning(SendPace.next_at)
    )
    assert end is not None  # the row exists: inserted above when it did not
    return float(end) - count * interval
