"""The outbox: one row per outbound message, its attempts and its delivery status.

Status callbacks arrive out of order (a "sent" after a "delivered"); a status only ever
moves forward, by :data:`STATUS_RANK`. Failure is final once recorded, except that a read
or delivered receipt means the message did arrive after all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from itertools import chain, compress
from typing import Any, NamedTuple

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import Insert, Integer, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.db.sqlite_driver import INLINE_ROWS
from models.enums import Channel, OutboxStatus
from models.messaging.tables import Outbox

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

EXPIRED = "deadline passed before it could be sent"


class Priority:
    """Lower is sooner: interactive replies before alerts before bulk reminders."""

    REPLY = 0
    ALERT = 10
    NUDGE = 20
    REMINDER = 30
    DIGEST = 40


class Enqueue(NamedTuple):
    """One message for the dispatcher. ``payload`` is channel-neutral: ``text``, and for
    messages the business starts ``template_variables`` (WhatsApp templates outside the
    24-hour window); ``deadline_at`` is when it is no use any more (after the meeting).
    A named tuple: a sweep makes a hundred thousand of them, and a tuple is made in a
    fraction of a frozen dataclass's time."""

    channel: Channel
    address: str
    kind: str
    payload: dict[str, Any]
    priority: int
    dedupe_key: str | None = None
    not_before: datetime | None = None
    deadline_at: datetime | None = None


@dataclass
class EnqueueColumns:
    """Messages for the dispatcher column by column: the fields of :class:`Enqueue`, one
    list each, all as long. A sweep enqueueing a hundred thousand reminders fills these
    with a few list extensions per meeting instead of making an object per message (and
    leaves the garbage collector nothing per message to walk)."""

    channel: list[Channel] = field(default_factory=list)
    address: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    payload: list[dict[str, Any]] = field(default_factory=list)
    priority: list[int] = field(default_factory=list)
    dedupe_key: list[str | None] = field(default_factory=list)
    not_before: list[datetime | None] = field(default_factory=list)
    deadline_at: list[datetime | None] = field(default_factory=list)

    @classmethod
    def of(cls, messages: Sequence[Enqueue]) -> EnqueueColumns:
        if not messages:
            return cls()
        return cls(*map(list, zip(*messages, strict=True)))

    def lists(self) -> list[list[Any]]:
        return [getattr(self, name) for name in Enqueue._fields]

    def __len__(self) -> int:
        return len(self.address)

    def __getitem__(self, rows: slice) -> EnqueueColumns:
        return EnqueueColumns(*(values[rows] for values in self.lists()))

    def extend(self, other: EnqueueColumns) -> None:
        for values, more in zip(self.lists(), other.lists(), strict=True):
            values += more

    def compress(self, keep: Sequence[bool]) -> EnqueueColumns:
        """The messages whose ``keep`` is true, in order."""
        return EnqueueColumns(*(list(compress(values, keep)) for values in self.lists()))


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


async def enqueue(
    session: AsyncSession, messages: Sequence[Enqueue] | EnqueueColumns, *, now: datetime
) -> int:
    """Add messages to the outbox in the caller's transaction; a message whose dedupe key
    is already there is skipped (so a sweep that runs twice enqueues once). Returns how
    many were added."""
    if not messages:
        return 0
    if not isinstance(messages, EnqueueColumns):
        messages = EnqueueColumns.of(messages)
    connection = await session.connection()
    rows = _driver_rows(connection.dialect, _columns(messages, now))
    if connection.dialect.name == "sqlite":
        return await _enqueue_sqlite(connection, rows)
    return await _enqueue_postgres(connection, rows)


async def add(session: AsyncSession, messages: Sequence[Enqueue], *, now: datetime) -> int:
    """Add a few messages without dedupe keys (a conversation's replies) in the caller's
    transaction: one plain INSERT, none of :func:`enqueue`'s bookkeeping for keys."""
    if not messages:
        return 0
    rows = [
        dict(zip(_ENQUEUE_COLUMNS, values, strict=True))
        for values in zip(*_columns(EnqueueColumns.of(messages), now), strict=True)
    ]
    # One row (most replies) as a plain execute: the executemany path costs more.
    await session.execute(_insert_rows(), rows[0] if len(rows) == 1 else rows)
    return len(rows)


@cache
def _insert_rows() -> Insert:
    """Built once: Core, without the ORM's bulk-insert work."""
    return insert(Outbox.__table__)


def _columns(messages: EnqueueColumns, now: datetime) -> list[list[Any]]:
    """The values of each of ``_ENQUEUE_COLUMNS``, column by column."""
    count = len(messages)
    return [
        messages.channel,
        messages.address,
        messages.kind,
        messages.payload,
        messages.priority,
        messages.dedupe_key,
        [OutboxStatus.PENDING] * count,
        [0] * count,
        [now if at is None else at for at in messages.not_before],
        messages.deadline_at,
        [now] * count,
        [now] * count,
    ]


def _driver_rows(dialect: Dialect, columns: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Rows ready for the driver. Values go through the same SQLAlchemy column types as
    always (enums, JSON, UTC timestamps), converted here once per distinct value instead
    of by SQLAlchemy's per-row parameter handling, which costs more than the database's
    own work when a sweep enqueues a hundred thousand reminders."""
    table = Outbox.__table__
    converted = [
        _converted(values, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name, values in zip(_ENQUEUE_COLUMNS, columns, strict=True)
    ]
    return list(zip(*converted, strict=True))


SQLITE_ROWS_PER_STATEMENT = 80
"""Rows per INSERT on SQLite: 960 parameters, under the oldest builds' limit of 999."""


async def _enqueue_sqlite(connection: AsyncConnection, rows: list[tuple[Any, ...]]) -> int:
    """SQLite: multi-row INSERT statements through the driver's executemany (a loop in C).

    SQLite checks ``channel IN (...)`` and ``status IN (...)`` (the enum columns' CHECK
    constraints) against a small table it builds once per statement run: one statement
    per row built it for every row, a third of the insert's time at a hundred thousand
    rows; one per ``SQLITE_ROWS_PER_STATEMENT`` rows builds it that much less often.
    A batch of more than ``INLINE_ROWS`` rows stays a batch of more than ``INLINE_ROWS``
    statements, so that it still runs in the connection's thread, not on the event loop
    (see :mod:`models.db.sqlite_driver`)."""
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, len(rows) // (INLINE_ROWS + 1)))
    full = len(rows) - len(rows) % per
    before = await connection.exec_driver_sql("SELECT total_changes()")
    start_changes = before.scalar_one()
    if full:
        await connection.exec_driver_sql(
            _sqlite_insert(per),
            [tuple(chain.from_iterable(rows[at : at + per])) for at in range(0, full, per)],
        )
    if full < len(rows):
        rest = rows[full:]
        await connection.exec_driver_sql(
            _sqlite_insert(len(rest)), tuple(chain.from_iterable(rest))
        )
    after = await connection.exec_driver_sql("SELECT total_changes()")
    return int(after.scalar_one() - start_changes)


@cache
def _sqlite_insert(rows: int) -> str:
    names = ", ".join(_ENQUEUE_COLUMNS)
    values = ", ".join([f"({', '.join('?' for _ in _ENQUEUE_COLUMNS)})"] * rows)
    return f"INSERT INTO outbox ({names}) VALUES {values} ON CONFLICT (dedupe_key) DO NOTHING"


async def _enqueue_postgres(connection: AsyncConnection, records: list[tuple[Any, ...]]) -> int:
    """PostgreSQL: asyncpg's binary COPY (no SQL text, no per-row statement) straight
    into the outbox; when a key is there already, COPY into a temporary table (it lives
    for the transaction) and one INSERT ... SELECT that skips the keys already there."""
    driver = (await connection.get_raw_connection()).driver_connection
    try:
        # Usually none of the keys is there yet (the sweep left out those it found):
        # COPY straight into the outbox, in a savepoint of the caller's transaction
        # (SQLAlchemy's: it begins that transaction first if nothing has yet).
        async with connection.begin_nested():
            await driver.copy_records_to_table(
                "outbox", records=records, columns=list(_ENQUEUE_COLUMNS)
            )
        return len(records)
    except UniqueViolationError:
        pass  # some are there already (another process, a retried sweep): skip those
    names = ", ".join(_ENQUEUE_COLUMNS)
    await connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS outbox_incoming ON COMMIT DROP AS "
        f"SELECT {names} FROM outbox WITH NO DATA"
    )
    await connection.exec_driver_sql("TRUNCATE outbox_incoming")
    await driver.copy_records_to_table(
        "outbox_incoming", records=records, columns=list(_ENQUEUE_COLUMNS)
    )
    result = await connection.exec_driver_sql(
        f"INSERT INTO outbox ({names}) SELECT {names} FROM outbox_incoming "
        "ON CONFLICT (dedupe_key) DO NOTHING"
    )
    return int(result.rowcount)


def _converted(values: list[Any], convert: Any) -> list[Any]:
    """One column, converted for the driver. A sweep's rows share most values (one
    ``now``, one send time and one payload object per meeting): each distinct value is
    converted once, dictionaries by identity (they are not hashable); None stays None."""
    if convert is None:
        return values
    if isinstance(values[0], dict):
        distinct = dict(zip(map(id, values), values, strict=True))
        by_id = {key: None if value is None else convert(value) for key, value in distinct.items()}
        return list(map(by_id.__getitem__, map(id, values)))
    memo = {value: None if value is None else convert(value) for value in set(values)}
    return list(map(memo.__getitem__, values))


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
            row.status, row.error = OutboxStatus.FAILED, EXPIRED
            row.updated_at = now
            continue
        row.status, row.claimed_until = OutboxStatus.SENDING, now + lease
        row.attempts += 1
        row.updated_at = now
        claimed.append(
            Claimed(row.id, row.channel, row.address, row.kind, dict(row.payload), row.attempts)
        )
    return claimed


class Attempt(NamedTuple):
    """The outcome of one attempt to send outbox row ``id``: sent (with the provider's
    id), failed for good, or back to pending until ``retry_at``. ``attempts``: set the
    count (None: the dispatcher already counted it when claiming)."""

    id: int
    status: OutboxStatus
    provider_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    attempts: int | None = None


@cache
def _finish_statements() -> tuple[Any, Any]:
    """(final, retry): the two UPDATEs of :func:`finish_all`, Core statements built once
    with bound parameters, so a batch of outcomes is one executemany per kind."""
    c = Outbox.__table__.c
    common = {
        c.updated_at: bindparam("b_now", type_=c.updated_at.type),
        c.claimed_until: None,
        c.error_code: bindparam("b_error_code", type_=c.error_code.type),
        c.error: bindparam("b_error", type_=c.error.type),
        c.attempts: func.coalesce(bindparam("b_attempts", type_=Integer), c.attempts),
    }
    table = update(Outbox.__table__).where(c.id == bindparam("b_id", type_=Integer))
    final = table.values(
        {
            **common,
            c.status: bindparam("b_status", type_=c.status.type),
            c.provider_id: bindparam("b_provider_id", type_=c.provider_id.type),
            c.sent_at: func.coalesce(bindparam("b_sent_at", type_=c.sent_at.type), c.sent_at),
        }
    )
    retry = table.values(
        {
            **common,
            c.status: OutboxStatus.PENDING,
            c.next_attempt_at: bindparam("b_retry_at", type_=c.next_attempt_at.type),
        }
    )
    return final, retry


async def finish_all(session: AsyncSession, attempts: Sequence[Attempt], *, now: datetime) -> None:
    """Record the outcomes of several attempts (one statement per kind of outcome)."""
    final, retry = [], []
    for attempt in attempts:
        params = {
            "b_id": attempt.id,
            "b_now": now,
            "b_error_code": attempt.error_code,
            "b_error": (attempt.error or None) and attempt.error[:500],
            "b_attempts": attempt.attempts,
        }
        if attempt.retry_at is not None:
            params["b_retry_at"] = attempt.retry_at
            retry.append(params)
        else:
            params["b_status"] = attempt.status
            params["b_provider_id"] = attempt.provider_id
            params["b_sent_at"] = now if attempt.provider_id else None
            final.append(params)
    final_statement, retry_statement = _finish_statements()
    for statement, rows in ((final_statement, final), (retry_statement, retry)):
        if rows:
            await session.execute(statement, rows)


async def next_due(session: AsyncSession, channels: Sequence[Channel]) -> datetime | None:
    """When a message of ``channels`` can next be claimed (for the dispatcher's sleep):
    the earliest pending message's time, or the earliest running-out lease of a claim
    another process holds. Messages of other channels do not count: a dispatcher that has
    no sender for them must not wake for them. One indexed MIN per channel and state."""
    times = []
    for channel in channels:
        result = await session.execute(_next_due_statement(), {"b_channel": channel})
        pending, leased = result.one()
        times += [at for at in (pending, leased) if at is not None]
    return min(times, default=None)


@cache
def _next_due_statement() -> Any:
    """Both earliest times of one channel in one round trip, built once."""
    c = Outbox.__table__.c
    channel = bindparam("b_channel", type_=c.channel.type)
    pending = (
        select(func.min(c.next_attempt_at))
        .where(c.status == OutboxStatus.PENDING, c.channel == channel)
        .scalar_subquery()
    )
    leased = (
        select(func.min(c.claimed_until))
        .where(c.status == OutboxStatus.SENDING, c.channel == channel)
        .scalar_subquery()
    )
    return select(pending, leased)


async def expire_overdue(session: AsyncSession, *, now: datetime) -> dict[Channel, int]:
    """Fail the pending messages of every channel whose deadline has passed (a reminder
    after its meeting), with a readable reason, whether or not any process has a sender
    for their channel: past its deadline no one should send it. Returns how many per
    channel."""
    c = Outbox.__table__.c
    expired: dict[Channel, int] = {}
    for channel in Channel:
        result = await session.execute(
            update(Outbox.__table__)
            .where(c.status == OutboxStatus.PENDING, c.channel == channel, c.deadline_at <= now)
            .values(status=OutboxStatus.FAILED, error=EXPIRED, updated_at=now)
        )
        if result.rowcount:
            expired[channel] = int(result.rowcount)
    return expired


async def waiting_by_channel(session: AsyncSession) -> dict[Channel, int]:
    """Pending messages per channel (for saying which wait for a channel no one sends)."""
    c = Outbox.__table__.c
    rows = await session.execute(
        select(c.channel, func.count()).where(c.status == OutboxStatus.PENDING).group_by(c.channel)
    )
    return {channel: count for channel, count in rows}
