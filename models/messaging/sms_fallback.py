"""SMS where WhatsApp cannot reach: a KPM's WhatsApp message that failed because the number
is not on WhatsApp goes again, once, by SMS to the same number; the switch is recorded on
the ``whatsapp:`` address, and told to the pendamping the next morning.

"Once" is the outbox's dedupe key: the SMS is keyed by the WhatsApp message's key with
:data:`SUFFIX` before its last part (``reminder:12:v:3~sms:45``: the KPM id stays last,
where the meeting-change and phone-change queries read it), so a dispatcher restarted or
a second status callback finds it there and adds nothing.

The mark (``channel_identity.not_on_whatsapp_at``) is read by the reminder sweep (the
KPM's reminders go by SMS directly) and by the channel (a message still waiting for that
address goes by SMS without another WhatsApp attempt); it is cleared when the address
writes from WhatsApp again (:mod:`models.conversations`) or the KPM's number changes
(:mod:`models.phone_changes`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.statements import upsert_insert
from models.enums import Channel, KpmStatus
from models.messaging.enqueue import Enqueue, enqueue
from models.messaging.tables import Outbox
from models.optout import phone_of
from models.regions import kelompok_zone, outer_join_all
from models.tables import ChannelIdentity, Kelompok, Kpm

log = logging.getLogger(__name__)
SUFFIX = "~sms"
KEY_LIMIT = 200  # outbox.dedupe_key's length


def fallback_key(key: str | None, outbox_id: int) -> str:
    """The SMS's dedupe key: the WhatsApp message's with :data:`SUFFIX` before its last
    part, or one of the row's own when it had none (or the result would not fit)."""
    if key:
        head, colon, last = key.rpartition(":")
        keyed = f"{head}{SUFFIX}{colon}{last}" if colon else f"{key}{SUFFIX}"
        if len(keyed) <= KEY_LIMIT:
            return keyed
    return f"sms-fallback:{outbox_id}"


async def fall_back_to_sms(
    session: AsyncSession, outbox_ids: Iterable[int], *, now: datetime
) -> int:
    """Enqueue each of ``outbox_ids`` (WhatsApp messages that failed as "not on WhatsApp")
    once more as an SMS to the same number, when the number is an active KPM's and the
    message is still of use, and mark the WhatsApp address; in the caller's transaction
    (with the failure itself). Returns how many SMS were added (0 for those added before)."""
    wanted = sorted(set(outbox_ids))
    if not wanted:
        return 0
    rows = (
        await session.execute(
            select(
                Outbox.id,
                Outbox.address,
                Outbox.kind,
                Outbox.payload,
                Outbox.priority,
                Outbox.dedupe_key,
                Outbox.deadline_at,
                Outbox.region,
            ).where(Outbox.id.in_(wanted), Outbox.channel == Channel.WHATSAPP)
        )
    ).all()
    phones = {phone for row in rows if (phone := phone_of(row.address))}
    owners = await _kpm_of_phones(session, phones)
    messages = []
    for row in rows:
        phone = phone_of(row.address)
        if phone not in owners or (row.deadline_at is not None and row.deadline_at <= now):
            continue
        payload = {name: value for name, value in row.payload.items()
                   if name != "template_variables"}  # WhatsApp's, not an SMS's
        payload["fallback_of"] = row.id
        messages.append(
            Enqueue(
                channel=Channel.SMS,
                address=f"sms:{phone}",
                kind=row.kind,
                payload=payload,
                priority=row.priority,
                dedupe_key=fallback_key(row.dedupe_key, row.id),
                not_before=now,
                deadline_at=row.deadline_at,
                region=row.region,  # from the region's SMS sender
            )
        )
    added = await enqueue(session, messages, now=now)
    reached = {phone: owners[phone] for row in rows if (phone := phone_of(row.address)) in owners}
    await mark_not_on_whatsapp(session, reached, now=now)
    if reached:
        log.info("not on WhatsApp: %d message(s) sent again by SMS", added)
    return added


async def _kpm_of_phones(session: AsyncSession, phones: Iterable[str]) -> dict[str, int]:
    """The first active, not opted-out KPM on each of ``phones`` (those that have one)."""
    wanted = sorted(set(phones))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Kpm.phone, Kpm.id)
        .where(
            Kpm.phone.in_(wanted), Kpm.status == KpmStatus.AKTIF, Kpm.opted_out_at.is_(None)
        )
        .order_by(Kpm.id)
    )
    found: dict[str, int] = {}
    for phone, kpm_id in rows:
        found.setdefault(phone, kpm_id)
    return found


async def mark_not_on_whatsapp(
    session: AsyncSession, kpm_of_phone: Mapping[str, int], *, now: datetime
) -> None:
    """Record on each phone's ``whatsapp:`` address (its identity row, made for the KPM
    when there is none) that it is not on WhatsApp since ``now``, unless it already was."""
    if not kpm_of_phone:
        return
    addresses = {f"whatsapp:{phone}": kpm_id for phone, kpm_id in kpm_of_phone.items()}
    insert = upsert_insert(session.bind.dialect.name)
    await session.execute(
        insert(ChannelIdentity)
        .values(
            [
                {"address": address, "channel": Channel.WHATSAPP, "kpm_id": kpm_id,
                 "linked_at": now}
                for address, kpm_id in sorted(addresses.items())
            ]
        )
        .on_conflict_do_nothing(index_elements=["address"])
    )
    await session.execute(
        update(ChannelIdentity)
        .where(
            ChannelIdentity.address.in_(sorted(addresses)),
            ChannelIdentity.not_on_whatsapp_at.is_(None),
        )
        .values(not_on_whatsapp_at=now, sms_switch_told_at=None)
        .execution_options(synchronize_session=False)
    )


async def not_on_whatsapp(session: AsyncSession, address: str) -> bool:
    """Whether ``address`` is marked as not on WhatsApp."""
    marked = await session.scalar(
        select(ChannelIdentity.not_on_whatsapp_at).where(ChannelIdentity.address == address)
    )
    return marked is not None


async def marked_addresses(session: AsyncSession) -> set[str]:
    """Every ``whatsapp:`` address marked as not on WhatsApp (a few: numbers without it)."""
    rows = await session.scalars(
        select(ChannelIdentity.address).where(ChannelIdentity.not_on_whatsapp_at.is_not(None))
    )
    return set(rows)


@dataclass(frozen=True)
class Switched:
    """A KPM switched to SMS whose pendamping has not been told yet."""

    identity_id: int
    switched_at: datetime
    kpm_name: str
    pendamping_id: int
    zone: str | None


async def switches_not_told(session: AsyncSession) -> list[Switched]:
    """The KPM (every active one on the number) of each address marked as not on WhatsApp
    whose pendamping was not told since, with the kelompok's pendamping and time zone."""
    zone, joins = kelompok_zone(Kelompok.desa_id)
    statement = (
        select(
            ChannelIdentity.id,
            ChannelIdentity.not_on_whatsapp_at,
            Kpm.nama_pengurus,
            Kelompok.pendamping_id,
            zone,
        )
        .select_from(ChannelIdentity)
        .join(Kpm, ChannelIdentity.address == literal("whatsapp:") + Kpm.phone)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(
            ChannelIdentity.not_on_whatsapp_at.is_not(None),
            ChannelIdentity.sms_switch_told_at.is_(None),
            Kpm.status == KpmStatus.AKTIF,
            Kelompok.pendamping_id.is_not(None),
        )
    )
    rows = await session.execute(
        outer_join_all(statement, joins).order_by(Kpm.nama_pengurus, Kpm.id)
    )
    return [Switched(*row) for row in rows]


async def mark_told(session: AsyncSession, identity_ids: Iterable[int], *, now: datetime) -> None:
    """The pendamping were told of these switches."""
    wanted = sorted(set(identity_ids))
    if wanted:
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.id.in_(wanted))
            .values(sms_switch_told_at=now)
            .execution_options(synchronize_session=False)
        )
