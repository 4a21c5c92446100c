"""The business number each chat address last wrote to (Twilio's ``To``), kept on its
channel identity: with several senders a reply inside WhatsApp's 24-hour window must
come from that number (``bot.senders``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.messaging.tables import Inbox
from models.regions import kelompok_zone_and_code, outer_join_all
from models.tables import ChannelIdentity, Kelompok, Kpm, Region, Staff


class WrittenTo(NamedTuple):
    """The number an address last wrote to, when it last wrote (its window), and its
    owner's region code (a staff member's region, a KPM's kelompok's desa)."""

    number: str | None
    last_inbound_at: datetime | None
    region: str | None = None


async def note_written_to(session: AsyncSession, address: str, number: str) -> None:
    """Remember ``number`` as the one ``address`` wrote to (a write only when it changed;
    an address not linked yet has no identity: its replies look in the inbox)."""
    await session.execute(
        update(ChannelIdentity)
        .where(
            ChannelIdentity.address == address,
            or_(ChannelIdentity.last_to.is_(None), ChannelIdentity.last_to != number),
        )
        .values(last_to=number)
    )


async def written_to(session: AsyncSession, addresses: Sequence[str]) -> dict[str, WrittenTo]:
    """Per address that has an identity: the number it last wrote to, when, and the
    region of whom it belongs to."""
    if not addresses:
        return {}
    _, kelompok_code, joins = kelompok_zone_and_code(Kelompok.desa_id)
    statement = (
        select(
            ChannelIdentity.address,
            ChannelIdentity.last_to,
            ChannelIdentity.last_inbound_at,
            func.coalesce(Region.code, kelompok_code),
        )
        .outerjoin(Staff, Staff.id == ChannelIdentity.staff_id)
        .outerjoin(Region, Region.id == Staff.region_id)
        .outerjoin(Kpm, Kpm.id == ChannelIdentity.kpm_id)
        .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
    )
    rows = await session.execute(
        outer_join_all(statement, joins).where(
            ChannelIdentity.address.in_(sorted(set(addresses)))
        )
    )
    return {address: WrittenTo(number, at, code) for address, number, at, code in rows}


async def last_inbox_to(session: AsyncSession, address: str) -> str | None:
    """The ``To`` of the last message stored from ``address`` (someone not linked yet,
    whose identity is not there to remember it)."""
    payload = await session.scalar(
        select(Inbox.payload).where(Inbox.address == address).order_by(Inbox.id.desc()).limit(1)
    )
    to = payload.get("To") if isinstance(payload, dict) else None
    return str(to).removeprefix("whatsapp:") if to else None
