"""Set-based reads for the scheduler's sweeps: due meetings, the members to remind, the
addresses to reach staff at, case follow-ups, opt-outs (the planner's are in
:mod:`models.meeting_plan`, a changed meeting's reminders in
:mod:`models.messaging.reminder_changes`).

Every function is one or two statements whatever the number of rows (no query in a loop).
Rows come back as small tuples or dataclasses; the sweeps decide what to send.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby, repeat
from typing import Any

from sqlalchemy import (
    Select,
    String,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.sql import IN_CHUNK
from models.enums import CaseStatus, Channel, KpmStatus, MeetingStatus
from models.messaging.tables import Outbox
from models.regions import kelompok_zone, kelompok_zone_and_code, outer_join_all
from models.rules.text import salutation
from models.tables import CaseNote, ChannelIdentity, Kelompok, Kpm, Meeting, Region, Staff

WITHDRAWN = "withdrawn: the meeting changed"
"""The error text of a reminder withdrawn because its meeting moved (models.messaging.outbox's)."""


@dataclass(frozen=True)
class MeetingInfo:
    meeting_id: int
    kelompok_id: int
    kelompok: str
    meeting_date: date
    starts_at: datetime
    place: str | None
    status: MeetingStatus
    updated_at: datetime
    group_chat_address: str | None
    pendamping_id: int | None
    zone: str | None
    pendamping: str | None = None  # the pendamping's name, who signs the reminders
    region: str | None = None  # the kelompok's Kemendagri code: its regional sender


def _meeting_info() -> Select[Any]:
    zone, code, joins = kelompok_zone_and_code(Kelompok.desa_id)
    statement = select(
        Meeting.id,
        Meeting.kelompok_id,
        Kelompok.name,
        Meeting.meeting_date,
        Meeting.starts_at,
        func.coalesce(Meeting.place, Kelompok.place),
        Meeting.status,
        Meeting.updated_at,
        Kelompok.group_chat_address,
        Kelompok.pendamping_id,
        zone,
        Staff.name,
        code,
    ).join(Kelompok, Kelompok.id == Meeting.kelompok_id)
    statement = statement.outerjoin(Staff, Staff.id == Kelompok.pendamping_id)
    return outer_join_all(statement, joins)


def _as_info(row: Any) -> MeetingInfo:
    return MeetingInfo(*row)


async def planned_meetings_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    unrecorded_only: bool = False,
) -> list[MeetingInfo]:
    """Planned meetings starting in ``(start, end]``, with their kelompok and time zone."""
    statement = _meeting_info().where(
        Meeting.status == MeetingStatus.PLANNED,
        Meeting.starts_at > start,
        Meeting.starts_at <= end,
    )
    if unrecorded_only:
        statement = statement.where(Meeting.attendance_recorded_at.is_(None))
    rows = await session.execute(statement.order_by(Meeting.starts_at, Meeting.id))
    return [_as_info(row) for row in rows]


async def planned_meetings_now(
    session: AsyncSession, meeting_ids: Iterable[int]
) -> dict[int, tuple[datetime, str | None]]:
    """Start and place of those of ``meeting_ids`` still planned, holding the rows until
    the end of the transaction (FOR SHARE on PostgreSQL; SQLite's write transaction holds
    the whole database): a meeting moved meanwhile waits, and the withdrawal of its stale
    reminders comes after what this transaction adds."""
    wanted = sorted(set(meeting_ids))
    found: dict[int, tuple[datetime, str | None]] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        rows = await session.execute(
            select(Meeting.id, Meeting.starts_at, func.coalesce(Meeting.place, Kelompok.place))
            .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
            .where(Meeting.id.in_(wanted[start : start + IN_CHUNK]),
                   Meeting.status == MeetingStatus.PLANNED)
            .with_for_update(read=True, of=Meeting)
        )
        found.update({meeting_id: (starts_at, place) for meeting_id, starts_at, place in rows})
    return found


async def meeting_info(session: AsyncSession, meeting_id: int) -> MeetingInfo | None:
    row = (await session.execute(_meeting_info().where(Meeting.id == meeting_id))).first()
    return _as_info(row) if row else None


@dataclass(frozen=True)
class Members:
    """The active, not opted-out KPM of the due meetings and how to reach them, ordered by
    meeting then KPM, column by column: a sweep reads a hundred thousand, and an object
    each would be a hundred thousand more for the garbage collector to walk, again and
    again while they pile up. ``spans``: meeting id -> (start, stop) of its members."""

    kpm_id: list[int] = field(default_factory=list)
    phone: list[str | None] = field(default_factory=list)
    preferred: list[Channel] = field(default_factory=list)
    addressed: list[str] = field(default_factory=list)  # "Ibu Siti Aminah"
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)

    def of(self, meeting_id: int) -> Iterator[tuple[int, str | None, Channel, str]]:
        """(KPM id, phone, preferred channel, how they are addressed) of the members of
        one meeting, in order."""
        start, stop = self.spans.get(meeting_id, (0, 0))
        return zip(
            self.kpm_id[start:stop], self.phone[start:stop], self.preferred[start:stop],
            self.addressed[start:stop], strict=True,
        )


async def members_to_remind(
    session: AsyncSession, start: datetime, end: datetime,
    meeting_ids: Sequence[int] | None = None, *, names: bool = True,
) -> tuple[Members, dict[int, dict[Channel, str]], set[int]]:
    """For the planned meetings starting in ``(start, end]`` (those of them in
    ``meeting_ids``, when given): their active, not opted-out
    members; the chat identities linked to those members (kpm id -> channel -> address);
    and the members who said stop on one of those identities. A member whose phone's
    WhatsApp address is marked as not on WhatsApp has SMS as preferred channel (unless
    they prefer a chat they linked): their reminders go by SMS directly. ``names``: how
    each member is addressed ("Ibu Siti Aminah"); without, "" (for counting only)."""
    due_meetings = select(Meeting.id, Meeting.kelompok_id).where(
        Meeting.status == MeetingStatus.PLANNED,
        Meeting.starts_at > start,
        Meeting.starts_at <= end,
    )
    if meeting_ids is not None:
        due_meetings = due_meetings.where(Meeting.id.in_(meeting_ids))
    due = due_meetings.subquery()
    connection = await session.connection()  # plain rows: no ORM loading for 100,000 of them
    rows = await connection.execute(
        select(due.c.id, Kpm.id, Kpm.phone, Kpm.preferred_channel, Kpm.nik, Kpm.nama_pengurus)
        .join(Kpm, Kpm.kelompok_id == due.c.kelompok_id)
        .where(Kpm.status == KpmStatus.AKTIF, Kpm.opted_out_at.is_(None))
        .order_by(due.c.id, Kpm.id)
    )
    members, meeting_ids = Members(), list[int]()
    for part in rows.partitions(5000):  # rows a part at a time, into columns
        of_meeting, kpm_ids, phones, channels, niks, pengurus = zip(*part, strict=True)
        meeting_ids += of_meeting
        members.kpm_id.extend(kpm_ids)
        members.phone.extend(phones)
        members.preferred.extend(channels)  # Channel members already: the column's type
        if names:
            members.addressed.extend(map(addressed, niks, pengurus))
        else:  # only counted (the reminder sweep's sizes): how each is addressed is not needed
            members.addressed.extend(repeat("", len(part)))
    at = 0
    for meeting_id, run in groupby(meeting_ids):
        count = sum(1 for _ in run)
        members.spans[meeting_id] = (at, at + count)
        at += count
    identities = await connection.execute(
        select(ChannelIdentity.kpm_id, ChannelIdentity.channel, ChannelIdentity.address,
               ChannelIdentity.opted_out_at)
        .join(Kpm, Kpm.id == ChannelIdentity.kpm_id)
        .where(Kpm.kelompok_id.in_(select(due.c.kelompok_id)), Kpm.status == KpmStatus.AKTIF)
        .order_by(ChannelIdentity.kpm_id, ChannelIdentity.linked_at.desc())
    )
    linked: dict[int, dict[Channel, str]] = {}
    stopped: set[int] = set()
    for kpm_id, channel, address, opted_out_at in identities:
        if opted_out_at is not None:
            stopped.add(kpm_id)
        else:
            linked.setdefault(kpm_id, {}).setdefault(Channel(channel), address)
    not_on_whatsapp = set(
        await connection.scalars(
            select(ChannelIdentity.address).where(ChannelIdentity.not_on_whatsapp_at.is_not(None))
        )
    )
    if not_on_whatsapp:  # a few numbers: one pass over the members only when there are any
        _by_sms(members, linked, not_on_whatsapp)
    return members, linked, stopped


_OWN_CHATS = (Channel.TELEGRAM, Channel.CONSOLE)


def _by_sms(
    members: Members, linked: dict[int, dict[Channel, str]], not_on_whatsapp: set[str]
) -> None:
    """Members whose phone is not on WhatsApp prefer SMS, unless they prefer a chat of
    their own that they linked (changed in place)."""
    preferred = members.preferred
    for index, (kpm_id, phone) in enumerate(zip(members.kpm_id, members.phone, strict=True)):
        if phone is None or f"whatsapp:{phone}" not in not_on_whatsapp:
            continue
        if preferred[index] in _OWN_CHATS and preferred[index] in linked.get(kpm_id, {}):
            continue
        preferred[index] = Channel.SMS


async def staff_addresses(
    session: AsyncSession, staff_ids: Iterable[int | None]
) -> dict[int, tuple[Channel, str]]:
    """The one chat address to reach each active staff member at: the identity they last
    wrote from (then the last linked), not opted out."""
    wanted = sorted({staff_id for staff_id in staff_ids if staff_id is not None})
    if not wanted:
        return {}
    found: dict[int, tuple[Channel, str]] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        rows = await session.execute(
            select(ChannelIdentity.staff_id, ChannelIdentity.channel, ChannelIdentity.address)
            .join(Staff, Staff.id == ChannelIdentity.staff_id)
            .where(
                ChannelIdentity.staff_id.in_(wanted[start : start + IN_CHUNK]),
                ChannelIdentity.opted_out_at.is_(None),
                Staff.active,  # a deactivated staff member gets no more names
            )
            .order_by(
                ChannelIdentity.staff_id,
                ChannelIdentity.last_inbound_at.desc().nulls_last(),
                ChannelIdentity.linked_at.desc(),
                ChannelIdentity.id.desc(),
            )
        )
        for staff_id, channel, address in rows:
            found.setdefault(staff_id, (Channel(channel), address))
    return found


async def staff_regions(
    session: AsyncSession, staff_ids: Iterable[int | None]
) -> dict[int, str | None]:
    """Each staff member's region code (Kemendagri): the regional sender of what the
    business sends them (``outbox.region``)."""
    wanted = sorted({staff_id for staff_id in staff_ids if staff_id is not None})
    found: dict[int, str | None] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        rows = await session.execute(
            select(Staff.id, Region.code)
            .outerjoin(Region, Region.id == Staff.region_id)
            .where(Staff.id.in_(wanted[start : start + IN_CHUNK]))
        )
        found.update({staff_id: code for staff_id, code in rows})
    return found


async def staff_names(session: AsyncSession, staff_ids: Iterable[int | None]) -> dict[int, str]:
    """The name of each of ``staff_ids`` (a few: those an alert names), in one query."""
    wanted = sorted({staff_id for staff_id in staff_ids if staff_id is not None})
    if not wanted:
        return {}
    rows = await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(wanted)))
    return {staff_id: name for staff_id, name in rows}


@dataclass(frozen=True)
class FollowUp:
    case_id: int
    category: str
    follow_up_date: date
    kpm_name: str
    staff_id: int | None
    zone: str | None


async def follow_ups_between(session: AsyncSession, first: date, last: date) -> list[FollowUp]:
    """Open cases whose follow-up date is within ``[first, last]``, with who handles them
    (the case's staff member, else the kelompok's pendamping) and the kelompok's zone."""
    zone, joins = kelompok_zone(Kelompok.desa_id)
    statement = (
        select(
            CaseNote.id,
            CaseNote.category,
            CaseNote.follow_up_date,
            Kpm.nama_pengurus,
            func.coalesce(CaseNote.staff_id, Kelompok.pendamping_id),
            zone,
        )
        .join(Kpm, Kpm.id == CaseNote.kpm_id)
        .outerjoin(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .where(
            CaseNote.status != CaseStatus.SELESAI,
            CaseNote.follow_up_date >= first,
            CaseNote.follow_up_date <= last,
        )
    )
    rows = await session.execute(outer_join_all(statement, joins).order_by(CaseNote.id))
    return [FollowUp(*row) for row in rows]


async def opted_out_kpm(session: AsyncSession, kpm_ids: Iterable[int]) -> set[int]:
    """Those of ``kpm_ids`` who have opted out or are no longer active."""
    wanted = sorted(set(kpm_ids))
    if not wanted:
        return set()
    rows = await session.scalars(
        select(Kpm.id).where(
            Kpm.id.in_(wanted),
            or_(Kpm.opted_out_at.is_not(None), Kpm.status != KpmStatus.AKTIF),
        )
    )
    return set(rows)


@dataclass(frozen=True)
class HeldKelompok:
    """A kelompok, its pendamping and its time zone (for a message to that pendamping)."""

    kelompok_id: int
    name: str
    pendamping_id: int
    zone: str | None


def kelompok_not_told(key_prefix: str) -> Select[tuple[int]]:
    """The kelompok whose pendamping has no outbox row keyed ``key_prefix`` followed by
    their staff id (one message per pendamping and period: those told already are left
    out), matched on the key's unique index."""
    key = literal(key_prefix) + cast(Kelompok.pendamping_id, String)
    return select(Kelompok.id).where(
        Kelompok.pendamping_id.is_not(None), ~exists().where(Outbox.dedupe_key == key)
    )


async def held_kelompok(
    session: AsyncSession, kelompok_ids: Select[tuple[int]]
) -> list[HeldKelompok]:
    """Each of ``kelompok_ids`` that has a pendamping, with its time zone, by name."""
    zone, joins = kelompok_zone(Kelompok.desa_id)
    statement = outer_join_all(
        select(Kelompok.id, Kelompok.name, Kelompok.pendamping_id, zone), joins
    ).where(Kelompok.id.in_(kelompok_ids), Kelompok.pendamping_id.is_not(None))
    rows = await session.execute(statement.order_by(Kelompok.name, Kelompok.id))
    return [HeldKelompok(*row) for row in rows]


def addressed(nik: str | None, name: str) -> str:
    """How a message to one KPM names them: "Ibu Siti Aminah" (or "Bapak ...")."""
    return f"{salutation(nik)} {name}"


def group_readers(kelompok: str) -> str:
    """How a message to a kelompok's group chat names its readers."""
    return f"anggota {kelompok}"


async def addressed_kpm(session: AsyncSession, kpm_ids: Iterable[int]) -> dict[int, str]:
    """:func:`addressed` for each of ``kpm_ids``."""
    wanted = sorted(set(kpm_ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        rows = await session.execute(
            select(Kpm.id, Kpm.nik, Kpm.nama_pengurus).where(
                Kpm.id.in_(wanted[start : start + IN_CHUNK])
            )
        )
        found.update({kpm_id: addressed(nik, name) for kpm_id, nik, name in rows})
    return found

