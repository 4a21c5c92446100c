"""How each KPM is reached, visible: per meeting (WhatsApp, Telegram, SMS, through the
ketua kelompok, or not at all) for the pendamping's /jadwal and morning message, and per
pendamping (the share of their families a message reaches directly) for the digest.

A member is reached directly on the channel the reminder sweep picks for them
(:func:`reach`), unless :mod:`models.reach` finds them unreachable (no phone and no linked
chat, or the last message to them failed for good); then they are reached through the
ketua when their kelompok has a ketua who is reached directly, else not at all. Members who
said stop are not counted: they chose not to be reached.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.sql import IN_CHUNK
from models.enums import Channel, KpmStatus, OutboxStatus
from models.messaging.tables import DONE_STATUSES_SQL, Outbox
from models.reach import SOFT_ERROR_CODES, unreachable_members
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting

VIA_KETUA = "ketua"
NOT_REACHED = "none"
ORDER = ("whatsapp", "telegram", "sms", "console", VIA_KETUA, NOT_REACHED)
_OWN_CHATS = (Channel.TELEGRAM, Channel.CONSOLE)


def reach(
    preferred: Channel, phone: str | None, linked: Mapping[Channel, str]
) -> tuple[Channel, str] | None:
    """Where a KPM gets reminders: their preferred channel when it can be reached, else
    WhatsApp on the roster phone, else any chat they linked."""
    if preferred in _OWN_CHATS and preferred in linked:
        return preferred, linked[preferred]
    if preferred is Channel.SMS and phone:
        return Channel.SMS, f"sms:{phone}"
    if phone:
        return Channel.WHATSAPP, f"whatsapp:{phone}"
    for channel in (Channel.WHATSAPP, Channel.TELEGRAM, Channel.SMS, Channel.CONSOLE):
        if channel in linked:
            return channel, linked[channel]
    return None


@dataclass(frozen=True)
class MeetingReach:
    """How a meeting's members are reached: KPM per way (:data:`ORDER`), and by name those
    reached only through the ketua or not at all."""

    counts: dict[str, int]
    via_ketua: list[str] = field(default_factory=list)
    not_reached: list[str] = field(default_factory=list)

    @property
    def direct(self) -> int:
        return sum(n for how, n in self.counts.items() if how not in (VIA_KETUA, NOT_REACHED))


async def meeting_reach(
    session: AsyncSession, meeting_ids: Iterable[int]
) -> dict[int, MeetingReach]:
    """For each of ``meeting_ids``: how its kelompok's active members are reached."""
    wanted = sorted(set(meeting_ids))
    found: dict[int, MeetingReach] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        found.update(await _meeting_reach(session, wanted[start : start + IN_CHUNK]))
    return found


async def _meeting_reach(session: AsyncSession, meeting_ids: list[int]) -> dict[int, MeetingReach]:
    connection = await session.connection()
    members = (
        await connection.execute(
            select(Meeting.id, Kpm.id, Kpm.nama_pengurus, Kpm.phone, Kpm.preferred_channel,
                   Kelompok.ketua_kpm_id)
            .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
            .join(Kpm, Kpm.kelompok_id == Meeting.kelompok_id)
            .where(Meeting.id.in_(meeting_ids), Kpm.status == KpmStatus.AKTIF,
                   Kpm.opted_out_at.is_(None))
            .order_by(Meeting.id, Kpm.nama_pengurus, Kpm.id)
        )
    ).all()
    kpm_ids = sorted({row[1] for row in members})
    linked, stopped, no_whatsapp = await _identities(session, kpm_ids)
    unreachable = await unreachable_members(session, meeting_ids)
    cut_off = {(meeting_id, u.kpm_id) for meeting_id, each in unreachable.items() for u in each}
    counts: dict[int, Counter[str]] = {}
    via: dict[int, list[str]] = {}
    lost: dict[int, list[str]] = {}
    for meeting_id, kpm_id, name, phone, preferred, ketua in members:
        if kpm_id in stopped:
            continue
        tally = counts.setdefault(meeting_id, Counter())
        if (meeting_id, kpm_id) in cut_off:
            ketua_ok = (ketua is not None and ketua != kpm_id and ketua not in stopped
                        and (meeting_id, ketua) not in cut_off)
            tally[VIA_KETUA if ketua_ok else NOT_REACHED] += 1
            (via if ketua_ok else lost).setdefault(meeting_id, []).append(name)
            continue
        own = linked.get(kpm_id, {})
        if (phone and f"whatsapp:{phone}" in no_whatsapp
                and not (preferred in _OWN_CHATS and preferred in own)):
            preferred = Channel.SMS  # as the reminder sweep does after a switch
        where = reach(preferred, phone, own)
        tally[where[0].value if where else NOT_REACHED] += 1
    return {
        meeting_id: MeetingReach(dict(tally), via.get(meeting_id, []), lost.get(meeting_id, []))
        for meeting_id, tally in counts.items()
    }


async def _identities(
    session: AsyncSession, kpm_ids: list[int]
) -> tuple[dict[int, dict[Channel, str]], set[int], set[str]]:
    """The members' linked chats (latest first per channel), who said stop on one, and
    which of their WhatsApp addresses are marked not on WhatsApp."""
    linked: dict[int, dict[Channel, str]] = {}
    stopped: set[int] = set()
    no_whatsapp: set[str] = set()
    connection = await session.connection()
    for start in range(0, len(kpm_ids), IN_CHUNK):
        rows = await connection.execute(
            select(ChannelIdentity.kpm_id, ChannelIdentity.channel, ChannelIdentity.address,
                   ChannelIdentity.opted_out_at, ChannelIdentity.not_on_whatsapp_at)
            .where(ChannelIdentity.kpm_id.in_(kpm_ids[start : start + IN_CHUNK]))
            .order_by(ChannelIdentity.kpm_id, ChannelIdentity.linked_at.desc())
        )
        for kpm_id, channel, address, opted_out_at, not_on_whatsapp_at in rows:
            if opted_out_at is not None:
                stopped.add(kpm_id)
            elif not_on_whatsapp_at is not None:
                no_whatsapp.add(address)
            else:
                linked.setdefault(kpm_id, {}).setdefault(Channel(channel), address)
    return linked, stopped, no_whatsapp


async def direct_share_per_pendamping(
    session: AsyncSession, meeting_ids: Iterable[int]
) -> dict[int, tuple[int, int]]:
    """Per pendamping, of the members of the given meetings: (reached directly, all)."""
    reached = await meeting_reach(session, meeting_ids)
    if not reached:
        return {}
    rows = await session.execute(
        select(Meeting.id, Kelompok.pendamping_id)
        .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
        .where(Meeting.id.in_(list(reached)))
    )
    owners: dict[int, int | None] = {meeting_id: owner for meeting_id, owner in rows}
    shares: dict[int, tuple[int, int]] = {}
    for meeting_id, view in reached.items():
        owner = owners.get(meeting_id)
        if owner is None:
            continue
        direct, total = shares.get(owner, (0, 0))
        shares[owner] = (direct + view.direct, total + sum(view.counts.values()))
    return shares


async def direct_share_of_meetings(
    session: AsyncSession, meeting_ids: Select[tuple[int]]
) -> dict[int, tuple[int, int]]:
    """:func:`direct_share_per_pendamping` in one statement, for the meetings a query
    selects (a region's coming meetings: tens of thousands of members): the members are
    counted by the database instead of read one by one.

    The same rules, member by member: those who said stop are not counted; a member is
    reached directly when they have an address (their roster phone, or a linked chat not
    opted out), the last final result to any of their addresses is not a failure for good
    (:func:`models.reach.last_results`), and a reminder has somewhere to go (their phone,
    or a chat linked on a channel that is not marked not on WhatsApp). The last final
    result is that of the highest outbox id among the failures for good and the messages
    that went out: each address's highest one is looked up in ``ix_outbox_address_done``
    (a subquery per address, which the database cannot turn into a scan of the outbox),
    doubled plus one for a failure, so that the member's highest tells both."""
    stopped = exists().where(
        ChannelIdentity.kpm_id == Kpm.id, ChannelIdentity.opted_out_at.is_not(None)
    )
    members = (
        select(
            Kelompok.pendamping_id.label("pendamping_id"),
            Kpm.id.label("kpm_id"),
            Kpm.phone.label("phone"),
        )
        .select_from(Meeting)
        .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
        .join(Kpm, Kpm.kelompok_id == Meeting.kelompok_id)
        .where(
            Meeting.id.in_(meeting_ids),
            Kelompok.pendamping_id.is_not(None),
            Kpm.status == KpmStatus.AKTIF,
            Kpm.opted_out_at.is_(None),
            ~stopped,
        )
        .cte("members")
    )
    has_phone = and_(members.c.phone.is_not(None), members.c.phone != "")
    addresses = union_all(
        select(members.c.kpm_id, (literal("whatsapp:") + members.c.phone).label("address"))
        .where(has_phone),
        select(members.c.kpm_id, (literal("sms:") + members.c.phone).label("address"))
        .where(has_phone),
        select(ChannelIdentity.kpm_id, ChannelIdentity.address).where(
            ChannelIdentity.kpm_id.in_(select(members.c.kpm_id)),
            ChannelIdentity.opted_out_at.is_(None),
        ),
    ).subquery("addresses")
    failure = and_(
        Outbox.status.in_([OutboxStatus.FAILED, OutboxStatus.UNDELIVERED]),
        Outbox.error_code.is_not(None),
        Outbox.error_code.not_in(SOFT_ERROR_CODES),
    )
    went = Outbox.status.in_([OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ])
    doubled = cast(Outbox.id, BigInteger) * 2
    last_result = (
        select(func.max(case((failure, doubled + 1), (went, doubled))))
        .where(Outbox.address == addresses.c.address, text(DONE_STATUSES_SQL))
        .scalar_subquery()
    )
    results = (
        select(addresses.c.kpm_id, func.max(last_result).label("last"))
        .group_by(addresses.c.kpm_id)
        .subquery("results")
    )
    linked = exists().where(
        ChannelIdentity.kpm_id == members.c.kpm_id,
        ChannelIdentity.opted_out_at.is_(None),
        ChannelIdentity.not_on_whatsapp_at.is_(None),
        ChannelIdentity.channel.in_(
            [Channel.WHATSAPP, Channel.TELEGRAM, Channel.SMS, Channel.CONSOLE]
        ),
    )
    direct = and_(
        results.c.kpm_id.is_not(None),  # an address: not without contact
        or_(results.c.last.is_(None), results.c.last % 2 == 0),  # not failed for good
        or_(has_phone, linked),  # somewhere a reminder goes
    )
    rows = await session.execute(
        select(members.c.pendamping_id, func.sum(case((direct, 1), else_=0)), func.count())
        .select_from(members)
        .outerjoin(results, results.c.kpm_id == members.c.kpm_id)
        .group_by(members.c.pendamping_id)
    )
    return {owner: (int(reached or 0), total) for owner, reached, total in rows}
