"""The outbox: one row per outbound message, its attempts and its delivery status
(messages are put in by :mod:`models.messaging.enqueue`).

Status callbacks arrive out of order (a "sent" after a "delivered"); a status only ever
moves forward, by :data:`STATUS_RANK`. Failure is final once recorded, except that a read
or delivered receipt means the message did arrive after all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.base import table_of
from models.db.sql import rowcount
from models.enums import Channel, OutboxStatus
from models.messaging.tables import Outbox

BUSINESS_INITIATED_KINDS = (
    "meeting_reminder",
    "meeting_changed",
    "pendamping_nudge",
    "weekly_digest",
    "digest_file",
    "alert",
    "pesan_kpm",
)
"""Kinds of messages the business starts: on WhatsApp each needs an approved template."""
FAMILY_KINDS = ("meeting_reminder", "meeting_changed")
"""Of those, the kinds sent to families (and their group chats); the rest go to staff."""

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
    return bool(rowcount(result))


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
    region: str | None = None  # the recipient's Kemendagri code (a regional sender's)
    sender: str | None = None  # the sender it goes from, once routed (bot.senders)
    dedupe_key: str | None = None  # a reminder's names the KPM it is for (models.optout)


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    channels: list[Channel] | None = None,
    addresses: Sequence[str] | None = None,
) -> list[Claimed]:
    """Claim due messages, most urgent first, for ``lease``; a claim whose lease ran out
    (its process died) is due again. On PostgreSQL rows locked by another dispatcher are
    skipped, so several dispatchers never take the same row. ``addresses``: only the
    messages to these (the web simulator's phones)."""
    due = or_(
        and_(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now),
        and_(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_until <= now),
    )
    query = (
        select(Outbox)
        .where(due)
        .order_by(Outbox.priority, Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
    )
    if channels:
        query = query.where(Outbox.channel.in_(channels))
    if addresses is not None:
        query = query.where(Outbox.address.in_(list(addresses)))
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
            Claimed(
                row.id, row.channel, row.address, row.kind, dict(row.payload), row.attempts,
                row.region, dedupe_key=row.dedupe_key,
            )
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
    segments: int | None = None  # an SMS sent: the segments it was billed as


@cache
def _finish_statements() -> tuple[Any, Any]:
    """(final, retry): the two UPDATEs of :func:`finish_all`, Core statements built once
    with bound parameters, so a batch of outcomes is one executemany per kind."""
    c = table_of(Outbox).c
    common = {
        c.updated_at: bindparam("b_now", type_=c.updated_at.type),
        c.claimed_until: None,
        c.error_code: bindparam("b_error_code", type_=c.error_code.type),
        c.error: bindparam("b_error", type_=c.error.type),
        c.attempts: func.coalesce(bindparam("b_attempts", type_=Integer), c.attempts),
    }
    table = update(table_of(Outbox)).where(c.id == bindparam("b_id", type_=Integer))
    final = table.values(
        {
            **common,
            c.status: bindparam("b_status", type_=c.status.type),
            c.provider_id: bindparam("b_provider_id", type_=c.provider_id.type),
            c.sent_at: func.coalesce(bindparam("b_sent_at", type_=c.sent_at.type), c.sent_at),
            c.segments: func.coalesce(bindparam("b_segments", type_=Integer), c.segments),
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
            params["b_segments"] = attempt.segments if attempt.provider_id else None
            final.append(params)
    final_statement, retry_statement = _finish_statements()
    for statement, rows in ((final_statement, final), (retry_statement, retry)):
        if rows:
            await session.execute(statement, rows)


async def next_due(
    session: AsyncSession, channels: Sequence[Channel], addresses: Sequence[str] | None = None
) -> datetime | None:
    """When a message of ``channels`` can next be claimed (for the dispatcher's sleep):
    the earliest pending message's time, or the earliest running-out lease of a claim
    another process holds. Messages of other channels do not count: a dispatcher that has
    no sender for them must not wake for them. One indexed MIN per channel and state.
    ``addresses``: only the messages to these (a few: the web simulator's phones)."""
    if addresses is not None:
        c = table_of(Outbox).c
        wanted = and_(c.channel.in_(list(channels)), c.address.in_(list(addresses)))
        pending, leased = (
            await session.execute(
                select(
                    select(func.min(c.next_attempt_at))
                    .where(c.status == OutboxStatus.PENDING, wanted)
                    .scalar_subquery(),
                    select(func.min(c.claimed_until))
                    .where(c.status == OutboxStatus.SENDING, wanted)
                    .scalar_subquery(),
                )
            )
        ).one()
        return min((at for at in (pending, leased) if at is not None), default=None)
    times = []
    for channel in channels:
        result = await session.execute(_next_due_statement(), {"b_channel": channel})
        pending, leased = result.one()
        times += [at for at in (pending, leased) if at is not None]
    return min(times, default=None)


@cache
def _next_due_statement() -> Any:
    """Both earliest times of one channel in one round trip, built once."""
    c = table_of(Outbox).c
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
    c = table_of(Outbox).c
    expired: dict[Channel, int] = {}
    for channel in Channel:
        result = await session.execute(
            update(table_of(Outbox))
            .where(c.status == OutboxStatus.PENDING, c.channel == channel, c.deadline_at <= now)
            .values(status=OutboxStatus.FAILED, error=EXPIRED, updated_at=now)
        )
        if rowcount(result):
            expired[channel] = int(rowcount(result))
    return expired


async def waiting_by_channel(session: AsyncSession) -> dict[Channel, int]:
    """Pending messages per channel (for saying which wait for a channel no one sends)."""
    c = table_of(Outbox).c
    rows = await session.execute(
        select(c.channel, func.count()).where(c.status == OutboxStatus.PENDING).group_by(c.channel)
    )
    return {channel: count for channel, count in rows}


RESENT_STATUSES = (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED)
CANCELLED_BY_OPERATOR = "cancelled by an operator"


async def resend_failed(
    session: AsyncSession, outbox_id: int, *, now: datetime, by_staff_id: int | None = None
) -> bool:
    """Queue a failed (or undelivered) message again, due now, its attempts counted from
    zero; a deadline already passed is lifted (the operator asks for it to go). Audited.
    False when the message is not failed (any more)."""
    c = table_of(Outbox).c
    row = (
        await session.execute(
            select(c.status, c.deadline_at).where(c.id == outbox_id, c.status.in_(RESENT_STATUSES))
        )
    ).first()
    if row is None:
        return False
    before, deadline = row
    deadline = None if deadline is not None and deadline <= now else deadline
    result = await session.execute(
        update(table_of(Outbox))
        .where(c.id == outbox_id, c.status.in_(RESENT_STATUSES))
        .values(
            status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, deadline_at=deadline,
            claimed_until=None, provider_id=None, error_code=None, error=None, updated_at=now,
        )
    )
    if not rowcount(result):
        return False
    await _audit_change(session, "outbox.resend", outbox_id, before, OutboxStatus.PENDING,
                        now=now, by_staff_id=by_staff_id)
    return True


async def cancel_pending(
    session: AsyncSession, outbox_id: int, *, now: datetime, by_staff_id: int | None = None
) -> bool:
    """Cancel a message still waiting to be sent (not one being sent). Audited. False when
    it is not pending (any more)."""
    c = table_of(Outbox).c
    result = await session.execute(
        update(table_of(Outbox))
        .where(c.id == outbox_id, c.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, error=CANCELLED_BY_OPERATOR, updated_at=now)
    )
    if not rowcount(result):
        return False
    await _audit_change(session, "outbox.cancel", outbox_id, OutboxStatus.PENDING,
                        OutboxStatus.CANCELLED, now=now, by_staff_id=by_staff_id)
    return True


async def _audit_change(
    session: AsyncSession, action: str, outbox_id: int, before: OutboxStatus,
    after: OutboxStatus, *, now: datetime, by_staff_id: int | None,
) -> None:
    actor = {"actor": "staff", "actor_staff_id": by_staff_id} if by_staff_id else {"actor": "cli"}
    await audit(
        session, action=action, entity="outbox", entity_id=outbox_id, at=now,
        detail={"before": {"status": before.value}, "after": {"status": after.value}}, **actor,
    )


async def send_now(session: AsyncSession, addresses: Sequence[str], *, now: datetime) -> int:
    """Make the pending messages to ``addresses`` due now, even those timed for later
    (the web simulator's "run now", for its own phones only): all of them but the
    meeting reminders, of which only the next one per address (the 1-day reminder stays
    for later when the 3-day one is brought forward). Returns how many."""
    c = table_of(Outbox).c
    rows = await session.execute(
        select(c.id, c.address, c.kind)
        .where(
            c.status == OutboxStatus.PENDING,
            c.address.in_(list(addresses)),
            c.next_attempt_at > now,
        )
        .order_by(c.next_attempt_at, c.id)
    )
    reminded: set[str] = set()
    ids = []
    for row_id, address, kind in rows:
        if kind == "meeting_reminder":
            if address in reminded:
                continue
            reminded.add(address)
        ids.append(row_id)
    if not ids:
        return 0
    await session.execute(
        update(table_of(Outbox)).where(c.id.in_(ids)).values(next_attempt_at=now, updated_at=now)
    )
    return len(ids)
