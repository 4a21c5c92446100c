"""The web console's outbox lists: failed messages (newest first) and those still waiting
(soonest first), a page at a time, with the reason of each failure and never a message's
body. The counts by channel and status are :func:`models.messaging.outbox.outbox_counts`,
as `pendamping outbox` shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import table_of
from models.enums import OutboxStatus
from models.messaging.outbox import RESENT_STATUSES
from models.messaging.tables import Outbox


@dataclass(frozen=True)
class OutboxMessage:
    """One outbound message as an operator sees it: no payload."""

    id: int
    channel: str
    address: str  # the full address: mask it before showing it
    kind: str
    status: str
    attempts: int
    error_code: str | None
    error: str | None
    at: datetime  # failed: when it failed; waiting: when it is due


async def failed_messages(
    session: AsyncSession, *, offset: int, limit: int
) -> list[OutboxMessage]:
    """Failed and undelivered messages, the latest failure first."""
    c = table_of(Outbox).c
    rows = await session.execute(
        select(
            c.id, c.channel, c.address, c.kind, c.status, c.attempts, c.error_code, c.error,
            c.updated_at,
        )
        .where(c.status.in_(RESENT_STATUSES))
        .order_by(c.updated_at.desc(), c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_message(*row) for row in rows]


async def waiting_messages(
    session: AsyncSession, *, offset: int, limit: int
) -> list[OutboxMessage]:
    """Messages waiting to be sent (pending), the soonest due first."""
    c = table_of(Outbox).c
    rows = await session.execute(
        select(
            c.id, c.channel, c.address, c.kind, c.status, c.attempts, c.error_code, c.error,
            c.next_attempt_at,
        )
        .where(c.status == OutboxStatus.PENDING)
        .order_by(c.next_attempt_at, c.id)
        .offset(offset)
        .limit(limit)
    )
    return [_message(*row) for row in rows]


def _message(
    row_id: int, channel: object, address: str, kind: str, status: object, attempts: int,
    error_code: str | None, error: str | None, at: datetime,
) -> OutboxMessage:
    return OutboxMessage(
        id=row_id,
        channel=str(getattr(channel, "value", channel)),
        address=address,
        kind=kind,
        status=str(getattr(status, "value", status)),
        attempts=attempts,
        error_code=error_code,
        error=error,
        at=at,
    )
