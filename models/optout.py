"""Opt-out and opt-in of messages the business starts (reminders, digests, alerts).

Recorded on the chat address and, when the address is a phone number, on every KPM with
that roster phone, so an opted-out family gets no reminder on any channel. What was queued
before is held back when its time comes (:func:`withheld`, asked by the dispatcher):
it still waits in the outbox, so a "mulai" before then lets it go, and a "mulai" after puts
it back while its meeting is still ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import audit
from models.db.sql import rowcount
from models.enums import KpmStatus, OutboxStatus
from models.messaging.tables import Outbox
from models.staff import channel_of
from models.tables import ChannelIdentity, Kpm

PHONE_CHANNELS = ("whatsapp", "sms")
KEYED_BY_KPM = ("reminder:", "changed:")
"""The dedupe keys whose last part names the KPM a message is for (the reminder sweep's and
a meeting notice's)."""
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
    restored = await _restore_withheld(session, address, identity.kpm_id, now=now)
    await audit(
        session,
        actor="system",
        action="optout.start",
        entity="channel_identity",
        entity_id=identity.id,
        detail={"restored": restored} if restored else None,
    )
    return True


async def _restore_withheld(
    session: AsyncSession, address: str, kpm_id: int | None, *, now: datetime
) -> int:
    """Put back the reminders and meeting notices withheld from this family while it had
    stopped them (:func:`withheld`) whose meeting has not begun: they go now, the family
    having just written. Its chats: this one, its phone's on either channel and, for a
    chat linked to a KPM, that KPM's chats and roster phone. The dispatcher asks again
    when they go (another chat of the family may still be stopped)."""
    addresses = {address}
    phones = {phone_of(address)}
    if kpm_id is not None:
        phones.add(await session.scalar(select(Kpm.phone).where(Kpm.id == kpm_id)))
        addresses.update(
            await session.scalars(
                select(ChannelIdentity.address).where(ChannelIdentity.kpm_id == kpm_id)
            )
        )
    addresses.update(
        f"{channel}:{phone}" for phone in phones if phone for channel in PHONE_CHANNELS
    )
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.status == OutboxStatus.CANCELLED,
            Outbox.error == OPTED_OUT,
            Outbox.address.in_(sorted(addresses)),
            or_(Outbox.deadline_at.is_(None), Outbox.deadline_at > now),
        )
        .values(status=OutboxStatus.PENDING, error=None, next_attempt_at=now, updated_at=now)
    )
    return rowcount(result)


async def is_opted_out(session: AsyncSession, address: str) -> bool:
    opted = await session.scalar(
        select(ChannelIdentity.opted_out_at).where(ChannelIdentity.address == address)
    )
    return opted is not None


def _for_kpm(key: str | None) -> frozenset[int] | None:
    """The KPM a reminder or a meeting notice is for, from the last part of its dedupe key
    (``12``, ``12+15``; its SMS fallback's too); None when the key does not say (a group
    chat, a ketua's list, a phone of many keyed by its first id and count)."""
    if not key or not key.startswith(KEYED_BY_KPM):
        return None
    parts = key.rpartition(":")[2].split("+")
    return frozenset(map(int, parts)) if all(part.isdigit() for part in parts) else None


async def withheld(
    session: AsyncSession, messages: Iterable[tuple[str, str | None]]
) -> set[tuple[str, str | None]]:
    """Those of ``messages`` (address, dedupe key), reminders and meeting notices to
    families, that must not go now, by the rules the reminder sweep enqueues by:

    - their chat opted out;
    - their phone opted out on its other channel (a "berhenti" on WhatsApp stops the SMS);
    - the families they are for all stopped, on any channel (a KPM's "berhenti" on
      Telegram stops their WhatsApp reminders): those their key names, else those their
      address reaches (the KPM its chat is linked to and, for a phone, the active KPM
      with that roster number). A phone shared with a family that did not stop still
      gets what is for that family.

    Three or four statements, whatever the number of messages (a dispatcher's batch)."""
    wanted = set(messages)
    if not wanted:
        return set()
    addresses = {address for address, _ in wanted}
    phones = {address: phone for address in addresses if (phone := phone_of(address))}
    looked = addresses | {
        f"{channel}:{phone}" for phone in phones.values() for channel in PHONE_CHANNELS
    }
    identities = (
        await session.execute(
            select(ChannelIdentity.address, ChannelIdentity.kpm_id, ChannelIdentity.opted_out_at)
            .where(ChannelIdentity.address.in_(sorted(looked)))
        )
    ).all()
    opted = {address for address, _, at in identities if at is not None}
    opted_phones = {phone_of(address) for address in opted} - {None}
    stopped_addresses = {
        address for address in addresses
        if address in opted or phones.get(address) in opted_phones
    }
    found = {message for message in wanted if message[0] in stopped_addresses}
    keyed: dict[tuple[str, str | None], frozenset[int]] = {}
    by_address: set[str] = set()
    for message in wanted - found:
        kpm_ids = _for_kpm(message[1])
        if kpm_ids is None:
            by_address.add(message[0])
        else:
            keyed[message] = kpm_ids
    families: dict[str, set[int]] = {}
    for address, kpm_id, _ in identities:
        if address in by_address and kpm_id is not None:
            families.setdefault(address, set()).add(kpm_id)
    on_phone: dict[str, list[str]] = {}  # phone -> the addresses of it to look up
    for address in by_address & phones.keys():
        on_phone.setdefault(phones[address], []).append(address)
    if on_phone:
        rows = await session.execute(
            select(Kpm.phone, Kpm.id).where(
                Kpm.phone.in_(sorted(on_phone)), Kpm.status == KpmStatus.AKTIF
            )
        )
        for phone, kpm_id in rows:
            for address in on_phone[phone]:
                families.setdefault(address, set()).add(kpm_id)
    everyone = set().union(*keyed.values(), *families.values())
    if not everyone:
        return found
    opted_identity = exists().where(
        ChannelIdentity.kpm_id == Kpm.id, ChannelIdentity.opted_out_at.is_not(None)
    )
    rows = await session.execute(
        select(Kpm.id, Kpm.status, or_(Kpm.opted_out_at.is_not(None), opted_identity))
        .where(Kpm.id.in_(sorted(everyone)))
    )
    stopped_kpm, active = set(), set()
    for kpm_id, status, stopped in rows:
        if stopped:
            stopped_kpm.add(kpm_id)
        if status == KpmStatus.AKTIF:
            active.add(kpm_id)
    found.update(message for message, kpm_ids in keyed.items() if kpm_ids <= stopped_kpm)
    for message in wanted - found:
        reached = families.get(message[0], set()) & active  # one who left does not count
        if message not in keyed and reached and reached <= stopped_kpm:
            found.add(message)
    return found
