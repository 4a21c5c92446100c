"""Opt-out and opt-in of messages the business starts (reminders, digests, alerts).

Recorded on the chat address and, when the address is a phone number, on every KPM with
that roster phone, so an opted-out family gets no reminder on any channel. What was queued
before is held back when its time comes (:func:`stopped_among`, asked by the dispatcher):
it still waits in the outbox, so a "mulai" before then lets it go.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.enums import KpmStatus
from models.staff import channel_of
from models.tables import ChannelIdentity, Kpm

PHONE_CHANNELS = ("whatsapp", "sms")
OPTED_OUT = "withdrawn: the recipient opted out (BERHENTI)"
"""The error of a queued message the business starts whose recipient stopped them."""


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


async def stopped_among(session: AsyncSession, addresses: Iterable[str]) -> set[str]:
    """Those of ``addresses`` that must get no message the business starts now, by the
    rules the reminder sweep enqueues by:

    - the chat opted out;
    - its phone opted out on its other channel (a "berhenti" on WhatsApp stops the SMS);
    - every family it reaches stopped, on any channel (a KPM's "berhenti" on Telegram
      stops their WhatsApp reminders): the family its chat is linked to and, for a phone,
      the active families with that roster number. A phone shared with a family that did
      not stop still gets its messages.

    A staff member's chat is stopped only by its own opt-out: their alerts (an urgent
    case) never stop because a KPM on the same number said "berhenti".

    Three statements, whatever the number of addresses (a dispatcher's batch)."""
    wanted = set(addresses)
    if not wanted:
        return set()
    phones = {address: phone for address in wanted if (phone := phone_of(address))}
    looked = wanted | {
        f"{channel}:{phone}" for phone in phones.values() for channel in PHONE_CHANNELS
    }
    identities = (
        await session.execute(
            select(
                ChannelIdentity.address,
                ChannelIdentity.kpm_id,
                ChannelIdentity.staff_id,
                ChannelIdentity.opted_out_at,
            ).where(ChannelIdentity.address.in_(sorted(looked)))
        )
    ).all()
    opted = {address for address, _, _, at in identities if at is not None}
    staff = {address for address, _, staff_id, _ in identities if staff_id is not None}
    opted_phones = {phone_of(address) for address in opted} - {None}
    stopped = {
        address
        for address in wanted
        if address in opted or (address not in staff and phones.get(address) in opted_phones)
    }
    families: dict[str, set[int]] = {}
    for address, kpm_id, _, _ in identities:
        if address in wanted and address not in stopped and kpm_id is not None:
            families.setdefault(address, set()).add(kpm_id)
    families_phones = {
        address: phone
        for address, phone in phones.items()
        if address not in stopped and address not in staff
    }
    on_phone = set(families_phones.values())
    if on_phone:
        rows = await session.execute(
            select(Kpm.phone, Kpm.id).where(
                Kpm.phone.in_(sorted(on_phone)), Kpm.status == KpmStatus.AKTIF
            )
        )
        by_phone: dict[str, set[int]] = {}
        for phone, kpm_id in rows:
            by_phone.setdefault(phone, set()).add(kpm_id)
        for address, phone in families_phones.items():
            if phone in by_phone:
                families.setdefault(address, set()).update(by_phone[phone])
    everyone = set().union(*families.values()) if families else set()
    if not everyone:
        return stopped
    opted_identity = exists().where(
        ChannelIdentity.kpm_id == Kpm.id, ChannelIdentity.opted_out_at.is_not(None)
    )
    stopped_kpm = set(
        await session.scalars(
            select(Kpm.id).where(
                Kpm.id.in_(sorted(everyone)),
                or_(Kpm.opted_out_at.is_not(None), opted_identity),
            )
        )
    )
    stopped.update(address for address, kpm in families.items() if kpm <= stopped_kpm)
    return stopped
