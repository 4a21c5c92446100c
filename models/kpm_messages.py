"""Pesan KPM: what a KPM writes that is not an answer to a pending question, kept for the
pendamping of the KPM's kelompok (whoever that is now: a handed-over kelompok brings its
messages along) until it is answered through the bot or marked done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.db.sql import rowcount
from models.enums import Channel, KpmMessageStatus
from models.households import sharers
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.sweeps import staff_addresses
from models.regions import kelompok_zone, outer_join_all
from models.tables import Kelompok, Kpm, KpmMessage, Staff


@dataclass(frozen=True)
class KpmMessageView:
    id: int
    kpm_id: int
    kpm_name: str
    kelompok_name: str
    address: str
    text: str
    media_count: int
    received_at: datetime
    status: KpmMessageStatus


@dataclass(frozen=True)
class Recipient:
    """Who a KPM's message is for: the kelompok's pendamping (None when it has none)."""

    staff_id: int | None
    kpm_name: str
    kelompok_name: str


async def recipient_of(session: AsyncSession, kpm_id: int) -> Recipient:
    row = (
        await session.execute(
            select(Kelompok.pendamping_id, Kpm.nama_pengurus, Kelompok.name)
            .select_from(Kpm)
            .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
            .where(Kpm.id == kpm_id)
        )
    ).one()
    return Recipient(row[0], row[1], row[2] or "-")


async def tell_pendamping(
    session: AsyncSession,
    kpm_id: int,
    kind: str,
    payload: Callable[[Recipient], dict[str, Any]],
    *,
    dedupe_key: str,
    now: datetime,
) -> bool:
    """Queue a message about a KPM for their pendamping, in the caller's transaction;
    False when the pendamping has no chat to reach them at."""
    recipient = await recipient_of(session, kpm_id)
    addresses = await staff_addresses(session, [recipient.staff_id])
    if recipient.staff_id is None or recipient.staff_id not in addresses:
        return False
    channel, address = addresses[recipient.staff_id]
    message = Enqueue(
        Channel(channel), address, kind, payload(recipient), Priority.ALERT, dedupe_key
    )
    await enqueue(session, [message], now=now)
    return True


async def keep_message(
    session: AsyncSession, kpm_id: int, address: str, text: str, media_count: int, *, now: datetime
) -> int:
    """Store a pesan KPM in the caller's transaction; returns its id."""
    message = KpmMessage(
        kpm_id=kpm_id, address=address, text=text, media_count=media_count, received_at=now
    )
    session.add(message)
    await session.flush()
    return message.id


async def wrote_since(session: AsyncSession, kpm_id: int, since: datetime) -> bool:
    """Whether the KPM left a pesan KPM after ``since`` (their last answer)."""
    return bool(
        await session.scalar(
            select(
                exists().where(KpmMessage.kpm_id == kpm_id, KpmMessage.received_at > since)
            )
        )
    )


def _view_query() -> Select[Any]:
    return (
        select(
            KpmMessage.id,
            KpmMessage.kpm_id,
            Kpm.nama_pengurus,
            Kelompok.name,
            KpmMessage.address,
            KpmMessage.text,
            KpmMessage.media_count,
            KpmMessage.received_at,
            KpmMessage.status,
        )
        .join(Kpm, Kpm.id == KpmMessage.kpm_id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
    )


async def open_messages(
    session: AsyncSession, staff: Staff, limit: int = 10
) -> list[KpmMessageView]:
    """The open pesan KPM of the staff member's own kelompok, oldest first."""
    rows = await session.execute(
        _view_query()
        .where(Kelompok.pendamping_id == staff.id, KpmMessage.status == KpmMessageStatus.OPEN)
        .order_by(KpmMessage.received_at, KpmMessage.id)
        .limit(limit)
    )
    return [KpmMessageView(*row) for row in rows]


async def message_for(
    session: AsyncSession, staff: Staff, message_id: int
) -> KpmMessageView | None:
    """One pesan KPM of the staff member's own kelompok, or None (another's, or none)."""
    row = (
        await session.execute(
            _view_query().where(KpmMessage.id == message_id, Kelompok.pendamping_id == staff.id)
        )
    ).one_or_none()
    return KpmMessageView(*row) if row is not None else None


async def close_message(
    session: AsyncSession,
    message_id: int,
    status: KpmMessageStatus,
    *,
    staff_id: int,
    now: datetime,
) -> bool:
    """Answered or done, once: False when it was closed already."""
    result = await session.execute(
        update(KpmMessage)
        .where(KpmMessage.id == message_id, KpmMessage.status == KpmMessageStatus.OPEN)
        .values(status=status, closed_at=now, closed_by_staff_id=staff_id)
    )
    closed = rowcount(result) > 0
    if closed:
        await audit(
            session,
            actor="staff",
            actor_staff_id=staff_id,
            action=f"kpm_message.{status.value}",
            entity="kpm_message",
            entity_id=message_id,
            detail=None,
        )
    return closed


@dataclass(frozen=True)
class Unanswered:
    """An open pesan KPM past the time a pendamping should have answered it."""

    message_id: int
    staff_id: int | None  # the kelompok's pendamping
    kpm_name: str
    kelompok_name: str
    received_at: datetime
    zone: str | None


async def unanswered_between(
    session: AsyncSession, first: datetime, cutoff: datetime
) -> list[Unanswered]:
    """Open pesan KPM received in ``[first, cutoff)``, with the pendamping and kelompok
    zone (one statement whatever their number)."""
    zone, joins = kelompok_zone(Kelompok.desa_id)
    statement = (
        select(
            KpmMessage.id,
            Kelompok.pendamping_id,
            Kpm.nama_pengurus,
            Kelompok.name,
            KpmMessage.received_at,
            zone,
        )
        .join(Kpm, Kpm.id == KpmMessage.kpm_id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(
            KpmMessage.status == KpmMessageStatus.OPEN,
            KpmMessage.received_at >= first,
            KpmMessage.received_at < cutoff,
        )
    )
    rows = await session.execute(outer_join_all(statement, joins).order_by(KpmMessage.id))
    return [Unanswered(*row) for row in rows]


async def move_message(
    session: AsyncSession, staff: Staff, message_id: int, kpm_id: int, *, now: datetime
) -> bool:
    """Say that a pesan KPM from a phone several KPM share is about another of them (one of
    the staff member's own kelompok); False when it cannot be."""
    view = await message_for(session, staff, message_id)
    if view is None or view.kpm_id == kpm_id:
        return False
    if kpm_id not in {person.kpm_id for person in await sharers(session, view.address, None)}:
        return False
    mine = await session.scalar(
        select(Kpm.id)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(Kpm.id == kpm_id, Kelompok.pendamping_id == staff.id)
    )
    if mine is None:
        return False
    await session.execute(
        update(KpmMessage).where(KpmMessage.id == message_id).values(kpm_id=kpm_id)
    )
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="kpm_message.about",
        entity="kpm_message",
        entity_id=message_id,
        detail={"before": {"kpm_id": view.kpm_id}, "after": {"kpm_id": kpm_id}},
        at=now,
    )
    return True
