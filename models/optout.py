"""Opt-out and opt-in of messages the business starts (reminders, digests, alerts).

Recorded on the chat address and, when the address is a phone number, on every KPM with
that roster phone, so an opted-out family gets no reminder on any channel.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.staff import channel_of
from models.tables import ChannelIdentity, Kpm

PHONE_CHANNELS = ("whatsapp", "sms")


def phone_of(address: str) -> str | None:
    """The E.164 number of a phone-based address (``whatsapp:+62...``), else None."""
    channel, _, rest = address.partition(":")
    return rest if channel in PHONE_CHANNELS and rest.startswith("+") else None


async def _identity(session: AsyncSession, address: str, now: datetime) -> ChannelIdentity:
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.address == address)
    )
    if identity is None:
        identity = ChannelIdentity(address=address, channel=channel_of(address), linked_at=now)
        session.add(identity)
    return identity


async def opt_out(session: AsyncSession, address: str, *, now: datetime) -> bool:
    """Stop business-initiated messages to ``address``; True when newly stopped."""
    identity = await _identity(session, address, now)
    if identity.opted_out_at is not None:
        return False
    identity.opted_out_at = now
    phone = phone_of(address)
    if phone:
        await session.execute(
            update(Kpm)
            .where(Kpm.phone == phone, Kpm.opted_out_at.is_(None))
            .values(opted_out_at=now)
        )
    await session.flush()
    await audit(
        session,
        actor="system",
        action="optout.stop",
        entity="channel_identity",
        entity_id=identity.id,
    )
    return True


async def opt_in(session: AsyncSession, address: str, *, now: datetime) -> bool:
    """Resume business-initiated messages; True when ``address`` had opted out."""
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.address == address)
    )
    if identity is None or identity.opted_out_at is None:
        return False
    identity.opted_out_at = None
    phone = phone_of(address)
    if phone:
        await session.execute(
            update(Kpm).where(Kpm.phone == phone).values(opted_out_at=None, consent_at=now)
        )
    await audit(
        session,
        actor="system",
        action="optout.start",
        entity="channel_identity",
        entity_id=identity.id,
    )
    return True


async def is_opted_out(session: AsyncSession, address: str) -> bool:
    opted = await session.scalar(
        select(ChannelIdentity.opted_out_at).where(ChannelIdentity.address == address)
    )
    return opted is not None
