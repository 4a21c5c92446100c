"""The reminders of a meeting that changed: those already sent or due, withdrawn while pending
and restored when the change is undone, and the dedupe keys already used."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import (
    String,
    any_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.sql import rowcount
from models.enums import Channel, OutboxStatus
from models.messaging.sweeps import WITHDRAWN
from models.messaging.tables import Outbox


@dataclass(frozen=True)
class SentReminder:
    channel: Channel
    address: str
    dedupe_key: str


async def reminders_sent_or_due(
    session: AsyncSession,
    prefix: str,
    *,
    now: datetime,
    since: datetime,
    except_prefix: str | None = None,
) -> list[SentReminder]:
    """Reminders under ``prefix`` due between ``since`` and ``now`` that went out (or are
    going) or are about to, leaving out those under ``except_prefix`` (the meeting's
    current version). ``since`` bounds the scan by the (status, due time) index."""
    gone = [
        OutboxStatus.SENDING,
        OutboxStatus.QUEUED,
        OutboxStatus.SENT,
        OutboxStatus.DELIVERED,
        OutboxStatus.READ,
    ]
    statement = select(Outbox.channel, Outbox.address, Outbox.dedupe_key).where(
        Outbox.dedupe_key.startswith(prefix, autoescape=True),
        or_(
            Outbox.status.in_(gone),
            Outbox.status == OutboxStatus.PENDING,
        ),
        Outbox.next_attempt_at >= since,
        Outbox.next_attempt_at <= now,
    )
    if except_prefix:
        statement = statement.where(~Outbox.dedupe_key.startswith(except_prefix, autoescape=True))
    rows = await session.execute(statement.order_by(Outbox.id))
    return [SentReminder(Channel(channel), address, key) for channel, address, key in rows]


async def existing_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` already in the outbox, by exact match on the unique index (a key
    range or LIKE would depend on the database's collation to use it).

    Counted first: usually none of them is there (a sweep's first run) or all are (every
    run after), and then no key needs to come back; only a mix is read key by key."""
    wanted = list(set(keys))
    connection = await session.connection()
    postgres = session.bind.dialect.name == "postgresql"
    found: set[str] = set()
    for start in range(0, len(wanted), 20000):
        chunk = wanted[start : start + 20000]
        if postgres:  # one array parameter, not thousands
            condition = Outbox.dedupe_key == any_(bindparam("keys", chunk, type_=ARRAY(String)))
        else:  # one JSON parameter, not thousands
            as_json = orjson.dumps(chunk).decode()
            each = func.json_each(bindparam("keys", as_json)).table_valued("value")
            condition = Outbox.dedupe_key.in_(select(each.c.value))
        there = (await connection.execute(select(func.count()).where(condition))).scalar_one()
        if there == len(chunk):
            found.update(chunk)
        elif there:
            rows = await connection.execute(select(Outbox.dedupe_key).where(condition))
            found.update(key for key in rows.scalars() if key is not None)
    return found


async def withdraw_pending(
    session: AsyncSession, prefix: str, *, now: datetime, except_prefix: str | None = None
) -> int:
    """Withdraw messages not yet sent under ``prefix``, except those under
    ``except_prefix``; returns how many."""
    statement = update(Outbox).where(
        Outbox.dedupe_key.startswith(prefix, autoescape=True),
        Outbox.status == OutboxStatus.PENDING,
    )
    if except_prefix:
        statement = statement.where(~Outbox.dedupe_key.startswith(except_prefix, autoescape=True))
    result = await session.execute(
        statement.values(status=OutboxStatus.CANCELLED, error=WITHDRAWN, updated_at=now)
    )
    return rowcount(result)


async def restore_withdrawn(session: AsyncSession, prefix: str, *, now: datetime) -> int:
    """Put back reminders under ``prefix`` withdrawn by a change that was undone (a meeting
    moved away and back), when their time has not come yet."""
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.dedupe_key.startswith(prefix, autoescape=True),
            Outbox.status == OutboxStatus.CANCELLED,
            Outbox.error == WITHDRAWN,
            Outbox.next_attempt_at > now,
        )
        .values(status=OutboxStatus.PENDING, error=None, updated_at=now)
    )
    return rowcount(result)
