"""The inbox: every inbound message, stored before it is acknowledged, the outbox's mirror.

A webhook route or the Telegram poller stores what arrived in one short transaction and
only then answers the provider (HTTP 200, a confirmed offset); workers claim rows with a
lease, run the engine, and mark a row done in the same transaction as the step it
produced. A process killed at any point loses nothing: a row stored is claimed again when
its lease runs out, and a step that committed is never run again. A provider's
redelivery (the same channel and provider id) is not stored a second time.

One sender's messages are handled one at a time, in the order they arrived: only the
oldest unfinished row of an address can be claimed, in every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import table_of
from models.db.sql import rowcount
from models.db.statements import upsert_insert
from models.enums import Channel, InboxStatus
from models.messaging.tables import Inbox

INBOX = table_of(Inbox)
UNFINISHED = (InboxStatus.PENDING, InboxStatus.PROCESSING)


class Arrival(NamedTuple):
    """One message as it arrived: the provider's own form and who sent it."""

    channel: Channel
    external_id: str
    address: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    """An inbox row claimed for handling, detached from any session."""

    id: int
    channel: Channel
    address: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


async def store(session: AsyncSession, arrivals: list[Arrival], *, now: datetime) -> int:
    """Store what arrived, in the caller's transaction; a provider id already stored is
    skipped (a redelivery). Returns how many rows were added."""
    if not arrivals:
        return 0
    rows = [
        {
            "channel": arrival.channel,
            "external_id": arrival.external_id[:120],
            "address": arrival.address,
            "payload": arrival.payload,
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "received_at": now,
            "next_attempt_at": now,
        }
        for arrival in arrivals
    ]
    statement = _store_statement(session.bind.dialect.name)
    added = 0
    for row in rows:  # one at a time: each row's count (executemany does not give them)
        result = await session.execute(statement, row)
        added += rowcount(result)
    return added


@cache
def _store_statement(dialect: str) -> Any:
    return upsert_insert(dialect)(INBOX).on_conflict_do_nothing(
        index_elements=["channel", "external_id"]
    )


async def claim(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    """Claim up to ``limit`` rows for ``lease``, oldest first, at most one per address:
    the oldest unfinished row of its address, pending and due, or left by a process whose
    lease ran out. On PostgreSQL rows another process is claiming are skipped."""
    c = INBOX.c
    earlier = INBOX.alias("earlier")
    waiting_behind = exists().where(
        earlier.c.address == c.address,
        earlier.c.id < c.id,
        earlier.c.status.in_(UNFINISHED),
    )
    due = or_(
        and_(c.status == InboxStatus.PENDING, c.next_attempt_at <= now),
        and_(c.status == InboxStatus.PROCESSING, c.claimed_until <= now),
    )
    query = select(c.id).where(due, ~waiting_behind).order_by(c.id).limit(limit)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=INBOX)
    ids = list(await session.scalars(query))
    if not ids:
        return []
    result = await session.execute(
        update(INBOX)
        .where(c.id.in_(ids))
        .values(status=InboxStatus.PROCESSING, claimed_until=now + lease, attempts=c.attempts + 1)
        .returning(c.id, c.channel, c.address, c.payload, c.received_at, c.attempts)
    )
    claimed = [Claimed(*row) for row in result]
    return sorted(claimed, key=lambda row: row.id)


async def mark_done(session: AsyncSession, inbox_id: int, *, now: datetime) -> bool:
    """In the step's own transaction: the row is handled. False when it was already (a
    step that committed in another process, whose lease had run out)."""
    result = await session.execute(_done_statement(), {"b_id": inbox_id, "b_now": now})
    return bool(rowcount(result))


@cache
def _done_statement() -> Any:
    c = INBOX.c
    return (
        update(INBOX)
        .where(c.id == bindparam("b_id"), c.status == InboxStatus.PROCESSING)
        .values(
            status=InboxStatus.DONE,
            done_at=bindparam("b_now", type_=c.done_at.type),
            claimed_until=None,
        )
    )


async def retry_later(
    session: AsyncSession, inbox_id: int, *, retry_at: datetime, error: str
) -> None:
    """Handling raised: the row waits until ``retry_at`` (its address's later rows wait
    behind it, so the order holds)."""
    c = INBOX.c
    await session.execute(
        update(INBOX)
        .where(c.id == inbox_id, c.status == InboxStatus.PROCESSING)
        .values(
            status=InboxStatus.PENDING,
            next_attempt_at=retry_at,
            claimed_until=None,
            error=error[:500],
        )
    )


async def mark_failed(session: AsyncSession, inbox_id: int, *, now: datetime, error: str) -> bool:
    """Handling raised for the last time: kept as failed with its reason, never dropped."""
    c = INBOX.c
    result = await session.execute(
        update(INBOX)
        .where(c.id == inbox_id, c.status == InboxStatus.PROCESSING)
        .values(status=InboxStatus.FAILED, done_at=now, claimed_until=None, error=error[:500])
    )
    return bool(rowcount(result))


async def release_claims(session: AsyncSession) -> int:
    """Every claim back to pending: for a process that knows it is the only one serving
    the database (SQLite), at start-up, so what a killed process held goes on at once."""
    c = INBOX.c
    result = await session.execute(
        update(INBOX)
        .where(c.status == InboxStatus.PROCESSING)
        .values(status=InboxStatus.PENDING, claimed_until=None)
    )
    return int(rowcount(result))


async def next_due(session: AsyncSession) -> datetime | None:
    """When a row can next be claimed (a retry's time or a lease running out), for the
    workers' sleep; rows due now but waiting behind their address count as now."""
    c = INBOX.c
    pending = select(func.min(c.next_attempt_at)).where(c.status == InboxStatus.PENDING)
    leased = select(func.min(c.claimed_until)).where(c.status == InboxStatus.PROCESSING)
    times = [await session.scalar(pending), await session.scalar(leased)]
    return min((at for at in times if at is not None), default=None)


@dataclass(frozen=True)
class InboxCounts:
    by_status_and_channel: list[tuple[str, str, int]]
    oldest_unfinished: datetime | None
    latest_failures: list[tuple[int, str, str | None, datetime | None]]


async def inbox_counts(session: AsyncSession, failures: int = 10) -> InboxCounts:
    """For `doctor` and `pendamping inbox`: counts, the backlog's oldest arrival and the
    latest failures with their reasons (ids and reasons only: no text, no number)."""
    c = INBOX.c
    counts = await session.execute(
        select(c.status, c.channel, func.count())
        .group_by(c.status, c.channel)
        .order_by(c.channel, c.status)
    )
    oldest = await session.scalar(select(func.min(c.received_at)).where(c.status.in_(UNFINISHED)))
    failed = await session.execute(
        select(c.id, c.channel, c.error, c.done_at)
        .where(c.status == InboxStatus.FAILED)
        .order_by(c.id.desc())
        .limit(failures)
    )
    return InboxCounts(
        by_status_and_channel=[(s.value, ch.value, n) for s, ch, n in counts],
        oldest_unfinished=oldest,
        latest_failures=[(i, ch.value, err, at) for i, ch, err, at in failed],
    )


INBOX_PURGE_BATCH = 5000


async def forget_done_before(sessions: async_sessionmaker[AsyncSession], before: datetime) -> int:
    """Delete handled rows (texts included) finished before ``before``, in batches; rows
    that failed are kept for the operator. Returns how many were deleted."""
    c = INBOX.c
    deleted = 0
    while True:
        async with sessions.begin() as session:
            batch = (
                select(c.id)
                .where(c.status == InboxStatus.DONE, c.done_at < before)
                .limit(INBOX_PURGE_BATCH)
                .scalar_subquery()
            )
            result = await session.execute(delete(INBOX).where(c.id.in_(batch)))
        count = int(rowcount(result))
        deleted += count
        if count < INBOX_PURGE_BATCH:
            return deleted
