"""Keeping personal data no longer than its purpose needs (UU PDP 27/2022): what people
wrote, photos, conversation state, the texts of messages sent and the audit log are
kept for configured months, then deleted by the housekeeping sweep.

The figures stay: a pesan KPM keeps its row (who, when, status) without its text, an RSVP
its answer without its reason, an outbox row its status, channel and SMS segments without
its payload; only rows no figure counts are deleted whole (inbox rows, photos,
conversation state, audit rows). Each kind goes in batches of a few thousand rows, each
batch its own short transaction, so PostgreSQL holds no lock for long and the bot keeps
answering on SQLite meanwhile."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, cast, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from models.db.sql import rowcount
from models.enums import InboxStatus, OutboxStatus
from models.media_erasure import MediaEraser, MediaErasure, erase_media, media_before
from models.messaging.tables import Conversation, Inbox, Outbox
from models.tables import AuditLog, CommitmentCheck, KpmMessage, MediaAttachment, Rsvp

log = logging.getLogger(__name__)

KINDS = ("inbound_texts", "media", "conversations", "outbox_payloads", "outbox_rows", "audit")
"""The kinds kept for a time, in the order the sweep and `doctor` take them."""
SETTLED_OUTBOX = (
    OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ, OutboxStatus.FAILED,
    OutboxStatus.UNDELIVERED, OutboxStatus.CANCELLED,
)
SETTLED_INBOX = (InboxStatus.DONE, InboxStatus.FAILED)


@dataclass(frozen=True)
class Retention:
    """Months each kind is kept (0: for ever) and the rows a batch takes."""

    inbound_text_months: int = 12
    media_months: int = 24
    conversation_months: int = 3
    outbox_payload_months: int = 6
    audit_months: int = 60
    batch_rows: int = 2000
    outbox_row_months: int = 13
    """Settled outbox rows themselves: what keeps the table bounded (a national year is
    about 250 million rows). The figures that read the outbox look at this month (SMS
    segments) and each address's latest results (reach), so a year and a month is plenty."""

    def months(self, kind: str) -> int:
        return {
            "inbound_texts": self.inbound_text_months,
            "media": self.media_months,
            "conversations": self.conversation_months,
            "outbox_payloads": self.outbox_payload_months,
            "outbox_rows": self.outbox_row_months,
            "audit": self.audit_months,
        }[kind]


def months_before(now: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (the last day of a shorter
    month when the day does not exist there)."""
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=now.tzinfo)
    last_day = (following - datetime(year, month, 1, tzinfo=now.tzinfo)).days
    return now.replace(year=year, month=month, day=min(now.day, last_day))


Sessions = async_sessionmaker[AsyncSession]


async def _batches(
    sessions: Sessions,
    key: InstrumentedAttribute[int],
    chosen: Select[tuple[int]],
    apply: Callable[[AsyncSession, list[int]], Awaitable[Any]],
    size: int,
) -> int:
    """Run ``apply`` on the ids ``chosen`` selects, ``size`` at a time in key order, each
    batch in its own transaction; returns the rows done."""
    done, after = 0, 0
    while True:
        async with sessions.begin() as session:
            ids = list(await session.scalars(chosen.where(key > after).order_by(key).limit(size)))
            if ids:
                await apply(session, ids)
        done += len(ids)
        if len(ids) < size:
            return done
        after = ids[-1]


async def _id_windows(
    sessions: Sessions,
    key: InstrumentedAttribute[int],
    condition: ColumnElement[bool],
    statement: Callable[[ColumnElement[bool]], Any],
    size: int,
) -> int:
    """Run ``statement`` (an UPDATE or DELETE taking its WHERE) on the rows meeting
    ``condition``, one window of ``size`` consecutive ids at a time, each in its own
    transaction; returns the rows done. For the big tables (the outbox): a window is found
    through the primary key, where :func:`_batches`' "next ``size`` ids meeting the
    condition, in id order" may walk another index and sort, once per batch (measured on
    500,000 rows: each batch held SQLite's lock about 300 ms)."""
    async with sessions() as session:
        low, high = (
            await session.execute(select(func.min(key), func.max(key)).where(condition))
        ).one()
    if low is None:
        return 0
    done = 0
    for start in range(low, high + 1, size):
        async with sessions.begin() as session:
            result = await session.execute(
                statement(and_(key >= start, key < start + size, condition))
                .execution_options(synchronize_session=False)
            )
            done += rowcount(result)
    return done


def _updater(model: Any, key: InstrumentedAttribute[int], **values: Any) -> Callable[
    [AsyncSession, list[int]], Awaitable[Any]
]:
    async def apply(session: AsyncSession, ids: list[int]) -> None:
        await session.execute(update(model).where(key.in_(ids)).values(**values))

    return apply


def _deleter(model: Any, key: InstrumentedAttribute[int]) -> Callable[
    [AsyncSession, list[int]], Awaitable[Any]
]:
    async def apply(session: AsyncSession, ids: list[int]) -> None:
        await session.execute(delete(model).where(key.in_(ids)))

    return apply


async def _inbound_texts(sessions: Sessions, cutoff: datetime, size: int) -> int:
    """Pesan KPM texts, RSVP reasons and the inbox rows (the providers' payloads) of
    messages received before ``cutoff``."""
    texts = await _batches(
        sessions, KpmMessage.id,
        select(KpmMessage.id).where(KpmMessage.received_at < cutoff, KpmMessage.text != ""),
        _updater(KpmMessage, KpmMessage.id, text=""), size,
    )
    reasons = await _batches(
        sessions, Rsvp.id,
        select(Rsvp.id).where(Rsvp.answered_at < cutoff, Rsvp.reason.is_not(None)),
        _updater(Rsvp, Rsvp.id, reason=None), size,
    )
    inbox = await _batches(
        sessions, Inbox.id,
        select(Inbox.id).where(Inbox.received_at < cutoff, Inbox.status.in_(SETTLED_INBOX)),
        _deleter(Inbox, Inbox.id), size,
    )
    return texts + reasons + inbox


async def _media(
    sessions: Sessions, cutoff: datetime, size: int, erasers: Sequence[MediaEraser] | None
) -> int:
    """Photos (attachment rows, and their files through the hooks) and commitment
    evidence references made before ``cutoff``."""
    done = 0
    while True:
        async with sessions.begin() as session:
            rows = await media_before(session, cutoff, size)
            if rows:
                await erase_media(session, MediaErasure(None, rows), erasers=erasers)
        done += len(rows)
        if len(rows) < size:
            break

    async def clear_evidence(session: AsyncSession, ids: list[int]) -> None:
        refs = await session.scalars(
            select(CommitmentCheck.evidence_ref).where(CommitmentCheck.id.in_(ids))
        )
        await erase_media(session, MediaErasure(None, (), tuple(r for r in refs if r)),
                          erasers=erasers)
        await session.execute(
            update(CommitmentCheck).where(CommitmentCheck.id.in_(ids)).values(evidence_ref=None)
        )

    return done + await _batches(
        sessions, CommitmentCheck.id,
        select(CommitmentCheck.id).where(
            CommitmentCheck.recorded_at < cutoff, CommitmentCheck.evidence_ref.is_not(None)
        ),
        clear_evidence, size,
    )


def _payload_kept() -> Any:
    return cast(Outbox.payload, Text) != "{}"


async def apply_retention(
    sessions: Sessions,
    retention: Retention,
    *,
    now: datetime,
    erasers: Sequence[MediaEraser] | None = None,
) -> dict[str, int]:
    """Delete what is past its retention, kind by kind; the rows (or texts) done per kind
    that has a retention."""
    size = retention.batch_rows
    done: dict[str, int] = {}
    for kind in KINDS:
        months = retention.months(kind)
        if months <= 0:
            continue
        cutoff = months_before(now, months)
        if kind == "inbound_texts":
            done[kind] = await _inbound_texts(sessions, cutoff, size)
        elif kind == "media":
            done[kind] = await _media(sessions, cutoff, size, erasers)
        elif kind == "conversations":
            done[kind] = await _batches(
                sessions, Conversation.id,
                select(Conversation.id).where(Conversation.updated_at < cutoff),
                _deleter(Conversation, Conversation.id), size,
            )
        elif kind == "outbox_payloads":
            done[kind] = await _id_windows(
                sessions, Outbox.id,
                and_(Outbox.created_at < cutoff, Outbox.status.in_(SETTLED_OUTBOX),
                     _payload_kept()),
                lambda where: update(Outbox).where(where).values(payload={}), size,
            )
        elif kind == "outbox_rows":
            done[kind] = await _id_windows(
                sessions, Outbox.id,
                and_(Outbox.created_at < cutoff, Outbox.status.in_(SETTLED_OUTBOX)),
                lambda where: delete(Outbox).where(where), size,
            )
        else:
            done[kind] = await _batches(
                sessions, AuditLog.id, select(AuditLog.id).where(AuditLog.at < cutoff),
                _deleter(AuditLog, AuditLog.id), size,
            )
    return done


async def oldest_rows(session: AsyncSession) -> dict[str, datetime | None]:
    """The time of the oldest row still held of each kind (None: none held)."""

    async def oldest(*statements: Select[Any]) -> datetime | None:
        found = [at for statement in statements if (at := await session.scalar(statement))]
        return min(found) if found else None

    return {
        "inbound_texts": await oldest(
            select(func.min(KpmMessage.received_at)).where(KpmMessage.text != ""),
            select(func.min(Rsvp.answered_at)).where(Rsvp.reason.is_not(None)),
            select(func.min(Inbox.received_at)),
        ),
        "media": await oldest(
            select(func.min(MediaAttachment.created_at)),
            select(func.min(CommitmentCheck.recorded_at)).where(
                CommitmentCheck.evidence_ref.is_not(None)
            ),
        ),
        "conversations": await oldest(select(func.min(Conversation.updated_at))),
        "outbox_payloads": await oldest(
            select(func.min(Outbox.created_at)).where(
                Outbox.status.in_(SETTLED_OUTBOX), _payload_kept()
            )
        ),
        "outbox_rows": await oldest(
            select(func.min(Outbox.created_at)).where(Outbox.status.in_(SETTLED_OUTBOX))
        ),
        "audit": await oldest(select(func.min(AuditLog.at))),
    }
