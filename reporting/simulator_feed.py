"""What the web simulator shows (read-only): who is on each of its phones, each phone's
transcript from the inbox (what was typed) and the outbox (what was sent to it), and
which demo KPM plays the family's phone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.enums import Channel, InboxStatus, KpmStatus, MeetingStatus, OutboxStatus
from models.messaging.tables import Inbox, Outbox
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting, Staff

_DAY = timedelta(days=1)
SHOWN = (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ)


@dataclass(frozen=True)
class FeedEntry:
    """One message of a phone's transcript: typed on it (``incoming``) or sent to it."""

    key: str  # "i12" (inbox row 12) or "o34" (outbox row 34): stable, for the page's script
    at: datetime
    incoming: bool
    address: str
    payload: dict[str, Any]


async def transcript(
    session: AsyncSession, addresses: Sequence[str], *, limit: int = 60
) -> list[FeedEntry]:
    """The latest ``limit`` messages typed from or sent to ``addresses``, oldest first
    (two statements)."""
    wanted = list(addresses)
    if not wanted:
        return []
    typed = await session.execute(
        select(Inbox.id, Inbox.received_at, Inbox.address, Inbox.payload)
        .where(Inbox.address.in_(wanted))
        .order_by(Inbox.id.desc())
        .limit(limit)
    )
    sent = await session.execute(
        select(Outbox.id, Outbox.sent_at, Outbox.address, Outbox.payload)
        .where(Outbox.address.in_(wanted), Outbox.status.in_(SHOWN), Outbox.sent_at.is_not(None))
        .order_by(Outbox.sent_at.desc(), Outbox.id.desc())
        .limit(limit)
    )
    entries = [FeedEntry(f"i{i}", at, True, address, dict(payload or {}))
               for i, at, address, payload in typed]
    entries += [FeedEntry(f"o{i}", at, False, address, dict(payload or {}))
                for i, at, address, payload in sent]
    entries.sort(key=lambda entry: (entry.at, not entry.incoming, entry.key))
    return entries[-limit:]


async def settled(
    session: AsyncSession, external_id: str | None, addresses: Sequence[str], *, now: datetime
) -> bool:
    """Whether a typed line (its inbox ``external_id``; None: none) was handled and
    nothing due for ``addresses`` waits in the outbox: its replies are in the transcript."""
    if external_id is not None:
        handled = await session.scalar(
            select(Inbox.status).where(
                Inbox.channel == Channel.CONSOLE, Inbox.external_id == external_id
            )
        )
        if handled not in (InboxStatus.DONE, InboxStatus.FAILED):
            return False
    waiting = await session.scalar(
        select(
            exists().where(
                Outbox.address.in_(list(addresses)),
                or_(
                    and_(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now),
                    Outbox.status == OutboxStatus.SENDING,
                ),
            )
        )
    )
    return not waiting


@dataclass(frozen=True)
class PhoneOwner:
    """Who a simulator phone's console address is linked to."""

    address: str
    name: str
    staff_id: int | None
    role: str | None  # the staff role; None for a KPM
    kpm_id: int | None
    kpm_phone: str | None
    kelompok: str | None  # the KPM's kelompok


async def phone_owners(session: AsyncSession, addresses: Sequence[str]) -> dict[str, PhoneOwner]:
    """The staff member or KPM each of ``addresses`` is linked to (one statement)."""
    rows = await session.execute(
        select(
            ChannelIdentity.address, Staff.id, Staff.name, Staff.role, Kpm.id,
            Kpm.nama_pengurus, Kpm.phone, Kelompok.name,
        )
        .outerjoin(Staff, Staff.id == ChannelIdentity.staff_id)
        .outerjoin(Kpm, Kpm.id == ChannelIdentity.kpm_id)
        .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(ChannelIdentity.address.in_(list(addresses)))
    )
    owners = {}
    for address, staff_id, staff_name, role, kpm_id, kpm_name, phone, kelompok in rows:
        name = staff_name or kpm_name
        if name is None:
            continue
        owners[address] = PhoneOwner(
            address, name, staff_id, role.value if role is not None else None, kpm_id, phone,
            kelompok,
        )
    return owners


async def family_to_simulate(
    session: AsyncSession, pendamping_id: int, *, now: datetime
) -> tuple[int, str] | None:
    """A KPM of the pendamping's kelompok for the family's phone, as (id, phone): an
    active member, not the ketua, not opted out, with a phone of her own, of the kelompok
    whose next meeting comes first among those at least a day away (so its reminders are
    still to come), else the first to come. One statement."""
    upcoming = (
        select(Meeting.kelompok_id, func.min(Meeting.starts_at).label("starts_at"))
        .where(Meeting.status == MeetingStatus.PLANNED, Meeting.starts_at > now)
        .group_by(Meeting.kelompok_id)
        .subquery()
    )
    other = aliased(Kpm, name="other_kpm")
    later = upcoming.c.starts_at > now + _DAY
    row = (
        await session.execute(
            select(Kpm.id, Kpm.phone)
            .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
            .join(upcoming, upcoming.c.kelompok_id == Kelompok.id)
            .where(
                Kelompok.pendamping_id == pendamping_id,
                Kpm.status == KpmStatus.AKTIF,
                Kpm.opted_out_at.is_(None),
                Kpm.phone.is_not(None),
                Kpm.preferred_channel == Channel.WHATSAPP,
                or_(Kelompok.ketua_kpm_id.is_(None), Kelompok.ketua_kpm_id != Kpm.id),
                ~exists().where(other.phone == Kpm.phone, other.id != Kpm.id),
            )
            .order_by(later.desc(), upcoming.c.starts_at, Kpm.nama_pengurus, Kpm.id)
            .limit(1)
        )
    ).first()
    if row is None or row[1] is None:
        return None
    return int(row[0]), str(row[1])
