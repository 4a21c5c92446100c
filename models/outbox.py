"""The outbox: one row per outbound message, its attempts and its delivery status.

Status callbacks arrive out of order (a "sent" after a "delivered"); a status only ever
moves forward, by :data:`STATUS_RANK`. Failure is final once recorded, except that a read
or delivered receipt means the message did arrive after all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Channel, Outbox, OutboxStatus

BUSINESS_INITIATED_KINDS = (
    "meeting_reminder",
    "meeting_changed",
    "pendamping_nudge",
    "weekly_digest",
    "digest_file",
    "alert",
)
"""Kinds of messages the business starts: on WhatsApp each needs an approved template."""

STATUS_RANK = {
    OutboxStatus.PENDING: 0,
    OutboxStatus.SENDING: 1,
    OutboxStatus.QUEUED: 2,
    OutboxStatus.SENT: 3,
    OutboxStatus.FAILED: 4,
    OutboxStatus.UNDELIVERED: 4,
    OutboxStatus.CANCELLED: 4,
    OutboxStatus.DELIVERED: 5,
    OutboxStatus.READ: 6,
}


class Priority:
    """Lower is sooner: interactive replies before alerts before bulk reminders."""

    REPLY = 0
    ALERT = 10
    NUDGE = 20
    REMINDER = 30
    DIGEST = 40


@dataclass(frozen=True)
class Enqueue:
    """One message for the dispatcher. ``payload`` is channel-neutral: ``text``, and for
    messages the business starts ``template_variables`` (WhatsApp templates outside the
    24-hour window); ``deadline_at`` is when it is no use any more (after the meeting)."""

    channel: Channel
    address: str
    kind: str
    payload: dict[str, Any]
    priority: int
    dedupe_key: str | None = None
    not_before: datetime | None = None
    deadline_at: datetime | None = None


_ENQUEUE_COLUMNS = (
    "channel",
    "address",
    "kind",
    "payload",
    "priority",
    "dedupe_key",
    "status",
    "attempts",
    "next_attempt_at",
    "deadline_at",
    "created_at",
    "updated_at",
)


async def enqueue(session: AsyncSession, messages: list[Enqueue], *, now: datetime) -> int:
    """Add messages to the outbox in the caller's transaction; a message whose dedupe key
    is already there is skipped (so a sweep that runs twice enqueues once). Returns how
    many were added."""
    if not messages:
        return 0
    rows = [
        (
            m.channel,
            m.address,
            m.kind,
            m.payload,
            m.priority,
            m.dedupe_key,
            OutboxStatus.PENDING,
            0,
            m.not_before or now,
            m.deadline_at,
            now,
            now,
        )
        for m in messages
    ]
    if session.bind.dialect.name == "sqlite":
        return await _enqueue_sqlite(session, rows)
    added = 0
    for start in range(0, len(rows), 1000):
        result = await session.execute(
            pg_insert(Outbox)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(Outbox.id),
            [dict(zip(_ENQUEUE_COLUMNS, row, strict=True)) for row in rows[start : start + 1000]],
        )
        added += len(result.all())
    return added


async def _enqueue_sqlite(session: AsyncSession, rows: list[tuple[Any, ...]]) -> int:
    """SQLite: the driver's own executemany (a loop in C). Values go through the same
    SQLAlchemy column types as always (enums, JSON, UTC timestamps), converted here once
    per value instead of by SQLAlchemy's per-row parameter handling, which costs more
    than SQLite's own work when a sweep enqueues a hundred thousand reminders."""
    connection = await session.connection()
    dialect = connection.dialect
    table = Outbox.__table__
    converters = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in _ENQUEUE_COLUMNS
    ]
    columns = ", ".join(_ENQUEUE_COLUMNS)
    marks = ", ".join("?" for _ in _ENQUEUE_COLUMNS)
    sql = f"INSERT INTO outbox ({columns}) VALUES ({marks}) ON CONFLICT (dedupe_key) DO NOTHING"
    params = [
        tuple(
            convert(value) if convert and value is not None else value
            for convert, value in zip(converters, row, strict=True)
        )
        for row in rows
    ]
    before = await connection.exec_driver_sql("SELECT total_changes()")
    start_changes = before.scalar_one()
    await connection.exec_driver_sql(sql, params)
    after = await connection.exec_driver_sql("SELECT total_changes()")
    return int(after.scalar_one() - start_changes)


def new_message(
    *,
    channel: Channel,
    address: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    priority: int = 0,
    dedupe_key: str | None = None,
) -> Outbox:
    return Outbox(
        channel=channel,
        address=address,
        kind=kind,
        payload=payload,
        priority=priority,
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


async def record_status(
    session: AsyncSession,
    provider_id: str,
    status: OutboxStatus,
    *,
    now: datetime,
    error_code: str | None = None,
) -> bool:
    """Apply a delivery receipt; False when it is unknown or would move backwards."""
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if error_code:
        values["error_code"] = error_code[:40]
    result = await session.execute(
        update(Outbox)
        .where(Outbox.provider_id == provider_id, Outbox.status.in_(lower))
        .values(**values)
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class OutboxCounts:
    by_status_and_channel: list[tuple[str, str, int]]
    latest_failures: list[tuple[int, str, str, str | None, str | None, datetime]]


async def outbox_counts(session: AsyncSession, failures: int = 10) -> OutboxCounts:
    """For `doctor` and `pendamping outbox`: counts and the latest failures with reasons."""
    counts = await session.execute(
        select(Outbox.status, Outbox.channel, func.count())
        .group_by(Outbox.status, Outbox.channel)
        .order_by(Outbox.channel, Outbox.status)
    )
    failed = await session.execute(
        select(
            Outbox.id,
            Outbox.channel,
            Outbox.kind,
            Outbox.error_code,
            Outbox.error,
            Outbox.updated_at,
        )
        .where(Outbox.status.in_([OutboxStatus.FAILED, OutboxStatus.UNDELIVERED]))
        .order_by(Outbox.updated_at.desc())
        .limit(failures)
    )
    return OutboxCounts(
        by_status_and_channel=[(s.value, c.value, n) for s, c, n in counts],
        latest_failures=[(i, c.value, k, code, err, at) for i, c, k, code, err, at in failed],
    )


@dataclass(frozen=True)
class Claimed:
    """A message claimed for sending, detached from any session."""

    id: int
    channel: Channel
    address: str
    kind: str
    payload: dict[str, Any]
    attempts: int


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    channels: list[Channel] | None = None,
) -> list[Claimed]:
    """Claim due messages, most urgent first, for ``lease``; a claim whose lease ran out
    (its process died) is due again. On PostgreSQL rows locked by another dispatcher are
    skipped, so several dispatchers never take the same row."""
    due = or_(
        and_(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now),
        and_(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_until < now),
    )
    query = (
        select(Outbox)
        .where(due)
        .order_by(Outbox.priority, Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
    )
    if channels:
        query = query.where(Outbox.channel.in_(channels))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    claimed = []
    for row in rows:
        if row.deadline_at is not None and row.deadline_at <= now:
            row.status, row.error = OutboxStatus.FAILED, "deadline passed before it could be sent"
            row.updated_at = now
            continue
        row.status, row.claimed_until = OutboxStatus.SENDING, now + lease
        row.attempts += 1
        row.updated_at = now
        claimed.append(
            Claimed(row.id, row.channel, row.address, row.kind, dict(row.payload), row.attempts)
        )
    return claimed


async def finish(
    session: AsyncSession,
    message_id: int,
    *,
    now: datetime,
    status: OutboxStatus,
    provider_id: str | None = None,
    error_code: str | None = None,
    error: str | None = None,
    retry_at: datetime | None = None,
    attempts: int | None = None,
) -> None:
    """Record the outcome of one attempt: sent (with the provider's id), failed for good,
    or back to pending until ``retry_at``. ``attempts``: set the count (the dispatcher
    already counted it when claiming)."""
    values: dict[str, Any] = {
        "updated_at": now,
        "claimed_until": None,
        "error_code": error_code,
        "error": (error or None) and error[:500],
    }
    if attempts is not None:
        values["attempts"] = attempts
    if retry_at is not None:
        values.update(status=OutboxStatus.PENDING, next_attempt_at=retry_at)
    else:
        values.update(status=status, provider_id=provider_id)
        if provider_id:
            values["sent_at"] = now
    await session.execute(update(Outbox).where(Outbox.id == message_id).values(**values))


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next pending message falls due (for the dispatcher's sleep)."""
    return await session.scalar(
        select(func.min(Outbox.next_attempt_at)).where(Outbox.status == OutboxStatus.PENDING)
    )
