"""Putting messages in the outbox: one at a time or a sweep's hundred thousand, in a few
statements (multi-row INSERTs on SQLite, ``COPY``-like ``executemany`` on PostgreSQL),
with a dedupe key so a sweep run twice enqueues each message once."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import chain, compress
from typing import Any, NamedTuple

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import Insert, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.base import table_of
from models.db.sqlite_driver import INLINE_ROWS
from models.enums import Channel, OutboxStatus
from models.messaging.outbox import BUSINESS_INITIATED_KINDS
from models.messaging.tables import Outbox
from models.messaging.template_checks import TemplateCheck, addressed

log = logging.getLogger(__name__)


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
    region: str | None = None  # the recipient's Kemendagri code: picks a regional sender
    reader: str | None = None
    """Who the message names ("Ibu Siti Aminah"): stored as the payload's value
    ``penerima`` (:func:`~models.messaging.template_checks.addressed`). A sweep gives the
    members of a meeting one payload object and each their reader, instead of a payload
    each."""


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
    region: list[str | None] = field(default_factory=list)
    reader: list[str | None] = field(default_factory=list)

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
    "error",
    "attempts",
    "next_attempt_at",
    "deadline_at",
    "created_at",
    "updated_at",
    "region",
)


async def enqueue(
    session: AsyncSession,
    messages: Sequence[Enqueue] | EnqueueColumns,
    *,
    now: datetime,
    check: TemplateCheck | None = None,
) -> int:
    """Add messages to the outbox in the caller's transaction; a message whose dedupe key
    is already there is skipped (so a sweep that runs twice enqueues once). Returns how
    many were added. ``check``: the template check of several enqueues that share
    payloads (a sweep's part written a slice at a time), so each payload and name is
    checked once for all of them."""
    if not messages:
        return 0
    if not isinstance(messages, EnqueueColumns):
        messages = EnqueueColumns.of(messages)
    connection = await session.connection()
    rows = _driver_rows(connection.dialect, _columns(messages, now, check or TemplateCheck()))
    if connection.dialect.name == "sqlite":
        return await _enqueue_sqlite(connection, rows)
    return await _enqueue_postgres(connection, rows)


async def add(session: AsyncSession, messages: Sequence[Enqueue], *, now: datetime) -> int:
    """Add a few messages without dedupe keys (a conversation's replies) in the caller's
    transaction: one plain INSERT, none of :func:`enqueue`'s bookkeeping for keys."""
    if not messages:
        return 0
    plain = [message if message.reader is None
             else message._replace(payload=addressed(message.payload, message.reader),
                                   reader=None)
             for message in messages]  # the statement's JSON type writes the payloads
    rows = [
        dict(zip(_ENQUEUE_COLUMNS, values, strict=True))
        for values in zip(*_columns(EnqueueColumns.of(plain), now, TemplateCheck()),
                          strict=True)
    ]
    # One row (most replies) as a plain execute: the executemany path costs more.
    await session.execute(_insert_rows(), rows[0] if len(rows) == 1 else rows)
    return len(rows)


@cache
def _insert_rows() -> Insert:
    """Built once: Core, without the ORM's bulk-insert work."""
    return insert(table_of(Outbox))


def _columns(messages: EnqueueColumns, now: datetime, check: TemplateCheck) -> list[list[Any]]:
    """The values of each of ``_ENQUEUE_COLUMNS``, column by column."""
    count = len(messages)
    payloads, statuses, errors = _template_checks(messages, check)
    return [
        messages.channel,
        messages.address,
        messages.kind,
        payloads,
        messages.priority,
        messages.dedupe_key,
        statuses,
        errors,
        [0] * count,
        [now if at is None else at for at in messages.not_before],
        messages.deadline_at,
        [now] * count,
        [now] * count,
        messages.region,
    ]


def _template_checks(
    messages: EnqueueColumns, check: TemplateCheck
) -> tuple[list[dict[str, Any] | str], list[OutboxStatus], list[str | None]]:
    """Each WhatsApp message the business starts, checked against its template and given
    its ``template_variables`` (:class:`TemplateCheck`, once per payload object): one that
    cannot go out as its template is written failed, with the reason, for `pendamping
    outbox` to show, instead of failing later at send time. Returns the payloads to store
    (the WhatsApp rows' with their variables), the statuses and the errors. A message with
    a reader (:attr:`Enqueue.reader`) gets its payload as the JSON text to store, made
    from its shared payload's (:meth:`TemplateCheck.addressed`)."""
    count = len(messages)
    payloads: list[dict[str, Any] | str] = list(messages.payload)
    statuses: list[OutboxStatus] = [OutboxStatus.PENDING] * count
    errors: list[str | None] = [None] * count
    refused: Counter[str] = Counter()
    readers = messages.reader or [None] * count
    for row, (channel, kind, payload, reader) in enumerate(
        zip(messages.channel, messages.kind, messages.payload, readers, strict=True)
    ):
        checked = channel == Channel.WHATSAPP and kind in BUSINESS_INITIATED_KINDS
        if reader is not None:
            payloads[row], reason = check.addressed(payload, reader, checked=checked)
        elif not checked:
            continue
        else:
            payloads[row], reason = check(payload)
        if reason is not None:
            statuses[row], errors[row] = OutboxStatus.FAILED, reason[:500]
            refused[reason] += 1
    for reason, times in refused.items():  # names no person: a template and a variable
        log.warning("%d message(s) not enqueued for sending: %s", times, reason)
    return payloads, statuses, errors


def _driver_rows(dialect: Dialect, columns: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Rows ready for the driver. Values go through the same SQLAlchemy column types as
    always (enums, JSON, UTC timestamps), converted here once per distinct value instead
    of by SQLAlchemy's per-row parameter handling, which costs more than the database's
    own work when a sweep enqueues a hundred thousand reminders."""
    table = table_of(Outbox)
    converted = [
        (_payloads if name == "payload" else _converted)(
            values, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name, values in zip(_ENQUEUE_COLUMNS, columns, strict=True)
    ]
    return list(zip(*converted, strict=True))


SQLITE_ROWS_PER_STATEMENT = 999 // len(_ENQUEUE_COLUMNS)
"""Rows per INSERT on SQLite: under the oldest builds' limit of 999 parameters."""


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
    assert driver is not None  # asyncpg's connection, checked out for this transaction
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


def _payloads(values: list[dict[str, Any] | str], convert: Any) -> list[Any]:
    """The payload column for the driver: a payload given as its JSON text already (a
    message with a reader) as it is; the others converted once per payload object (by
    identity: dictionaries are not hashable)."""
    if convert is None:
        return values
    by_id = {id(value): convert(value) for value in values if not isinstance(value, str)}
    return [value if isinstance(value, str) else by_id[id(value)] for value in values]


def _converted(values: list[Any], convert: Any) -> list[Any]:
    """One column, converted for the driver. A sweep's rows share most values (one
    ``now``, one send time per batch): each distinct value is converted once; None stays
    None."""
    if convert is None:
        return values
    memo = {value: None if value is None else convert(value) for value in set(values)}
    return list(map(memo.__getitem__, values))
