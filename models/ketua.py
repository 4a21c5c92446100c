"""The ketua kelompok: a KPM who leads a kelompok and relays for the members no reminder
reaches. Who it is (set from the roster or in chat, audited), how to reach them before a
meeting, which meetings they may answer for, and their answers recorded for the members.

The messages a ketua gets before a meeting are keyed ``ketua:{meeting id}:{version}:
{ketua id}:list`` and ``...:forward`` (:func:`ketua_prefix`): a meeting moved withdraws
those of the old version with its reminders (:mod:`models.meeting_changes`), and a new
ketua gets their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Exists, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import actor_of, audit
from models.db.sql import IN_CHUNK, rowcount
from models.enums import Channel, KpmStatus, MeetingStatus, OutboxStatus, RsvpAnswer
from models.messaging.sweeps import WITHDRAWN, addressed
from models.messaging.tables import Outbox
from models.rsvp import RSVP_HORIZON, record_rsvp
from models.rules.text import name_key
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting, Rsvp, Staff

KETUA_CHANGED = "withdrawn: the ketua changed"


def ketua_prefix(meeting_id: int, version: str | None = None) -> str:
    """The dedupe-key prefix of a meeting's messages to its ketua (of one version)."""
    return f"ketua:{meeting_id}:{version}:" if version else f"ketua:{meeting_id}:"


class KetuaError(ValueError):
    """A ketua that cannot be set: ``key`` names the reason (``not_member``)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _stopped() -> Exists:
    """The KPM said stop on one of their chats."""
    return exists().where(
        ChannelIdentity.kpm_id == Kpm.id, ChannelIdentity.opted_out_at.is_not(None)
    )


# -- who the ketua is --------------------------------------------------------------------


async def set_ketua(
    session: AsyncSession,
    kelompok: Kelompok,
    kpm_id: int | None,
    *,
    by: Staff | None,
    now: datetime,
) -> int | None:
    """Make ``kpm_id`` (an active member of ``kelompok``; None: nobody) its ketua, audited;
    what still waits in the outbox for the former ketua about the coming meetings is
    withdrawn (the next sweep writes to the new one). Returns the former ketua's id."""
    before = kelompok.ketua_kpm_id
    if kpm_id is not None:
        member = await session.scalar(
            select(Kpm.id).where(
                Kpm.id == kpm_id, Kpm.kelompok_id == kelompok.id, Kpm.status == KpmStatus.AKTIF
            )
        )
        if member is None:
            raise KetuaError("not_member")
    if before == kpm_id:
        return before
    kelompok.ketua_kpm_id = kpm_id
    coming = await session.scalars(
        select(Meeting.id).where(
            Meeting.kelompok_id == kelompok.id,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.starts_at > now,
        )
    )
    for meeting_id in coming:  # a few: the kelompok's planned meetings
        await session.execute(
            update(Outbox)
            .where(
                Outbox.dedupe_key.startswith(ketua_prefix(meeting_id), autoescape=True),
                Outbox.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.CANCELLED, error=KETUA_CHANGED, updated_at=now)
        )
    await audit(
        session,
        action="kelompok.ketua",
        entity="kelompok",
        entity_id=kelompok.id,
        detail={"before": before, "after": kpm_id},
        at=now,
        **actor_of(by),
    )
    return before


@dataclass(frozen=True)
class KetuaContact:
    """The ketua of a meeting's kelompok and where their chats are."""

    kpm_id: int
    addressed: str  # "Ibu Rina Wati"
    phone: str | None
    preferred: Channel
    linked: dict[Channel, str] = field(default_factory=dict)


async def ketua_of_meetings(
    session: AsyncSession, meeting_ids: Iterable[int]
) -> dict[int, KetuaContact]:
    """The ketua of each of ``meeting_ids``' kelompok that has one who is still an active,
    not opted-out member of it; two statements per thousand meetings."""
    wanted = sorted(set(meeting_ids))
    found: dict[int, KetuaContact] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        rows = (
            await session.execute(
                select(Meeting.id, Kpm.id, Kpm.nik, Kpm.nama_pengurus, Kpm.phone,
                       Kpm.preferred_channel)
                .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
                .join(Kpm, Kpm.id == Kelompok.ketua_kpm_id)
                .where(
                    Meeting.id.in_(chunk),
                    Kpm.kelompok_id == Kelompok.id,
                    Kpm.status == KpmStatus.AKTIF,
                    Kpm.opted_out_at.is_(None),
                    ~_stopped(),
                )
            )
        ).all()
        linked: dict[int, dict[Channel, str]] = {}
        ketua_ids = sorted({row[1] for row in rows})
        if ketua_ids:
            identities = await session.execute(
                select(ChannelIdentity.kpm_id, ChannelIdentity.channel, ChannelIdentity.address)
                .where(ChannelIdentity.kpm_id.in_(ketua_ids))
                .order_by(ChannelIdentity.kpm_id, ChannelIdentity.linked_at.desc())
            )
            for kpm_id, channel, address in identities:
                linked.setdefault(kpm_id, {}).setdefault(Channel(channel), address)
        for meeting_id, kpm_id, nik, name, phone, preferred in rows:
            found[meeting_id] = KetuaContact(
                kpm_id, addressed(nik, name), phone, Channel(preferred), linked.get(kpm_id, {})
            )
    return found


# -- the ketua's answers -------------------------------------------------------------------


@dataclass(frozen=True)
class LedMeeting:
    """A coming meeting of a kelompok the writer leads, with its members."""

    meeting_id: int
    kelompok_id: int
    kelompok: str
    starts_at: datetime
    ketua_id: int
    members: list[tuple[int, str]]  # (kpm id, nama pengurus) of its active members, by name


async def led_meetings(
    session: AsyncSession, kpm_id: int, phone: str | None, *, now: datetime
) -> list[LedMeeting]:
    """The next planned meeting, close enough to answer for, of each kelompok led by
    ``kpm_id`` or by a KPM whose roster phone is ``phone`` (a ketua writing from a phone
    shared with other KPM), with their members; empty for anyone who leads none."""
    ketua = Kpm.id == kpm_id if phone is None else or_(Kpm.id == kpm_id, Kpm.phone == phone)
    rows = (
        await session.execute(
            select(Meeting.id, Kelompok.id, Kelompok.name, Meeting.starts_at, Kpm.id)
            .join(Kelompok, Kelompok.id == Meeting.kelompok_id)
            .join(Kpm, Kpm.id == Kelompok.ketua_kpm_id)
            .where(
                ketua,
                Kpm.status == KpmStatus.AKTIF,
                Kpm.kelompok_id == Kelompok.id,
                Meeting.status == MeetingStatus.PLANNED,
                Meeting.starts_at > now,
                Meeting.starts_at <= now + RSVP_HORIZON,
            )
            .order_by(Meeting.starts_at, Meeting.id)
        )
    ).all()
    first: dict[int, tuple[int, str, datetime, int]] = {}
    for meeting_id, kelompok_id, name, starts_at, ketua_id in rows:
        first.setdefault(kelompok_id, (meeting_id, name, starts_at, ketua_id))
    if not first:
        return []
    members: dict[int, list[tuple[int, str]]] = {}
    for member_id, name, kelompok_id in await session.execute(
        select(Kpm.id, Kpm.nama_pengurus, Kpm.kelompok_id).where(
            Kpm.kelompok_id.in_(list(first)), Kpm.status == KpmStatus.AKTIF
        )
    ):
        members.setdefault(kelompok_id, []).append((member_id, name))
    return [
        LedMeeting(meeting_id, kelompok_id, name, starts_at, ketua_id, sorted(
            members.get(kelompok_id, []), key=lambda row: (name_key(row[1]), row[0])
        ))
        for kelompok_id, (meeting_id, name, starts_at, ketua_id) in first.items()
    ]


async def answers_given(
    session: AsyncSession, meeting_ids: Sequence[int]
) -> dict[tuple[int, int], RsvpAnswer]:
    """The answers already recorded for these meetings, by (meeting id, kpm id)."""
    rows = await session.execute(
        select(Rsvp.meeting_id, Rsvp.kpm_id, Rsvp.answer).where(Rsvp.meeting_id.in_(meeting_ids))
    )
    return {(meeting_id, kpm_id): answer for meeting_id, kpm_id, answer in rows}


async def record_relayed(
    session: AsyncSession,
    meeting_id: int,
    answers: Sequence[tuple[int, RsvpAnswer, str | None]],
    *,
    ketua_id: int,
    now: datetime,
) -> None:
    """Record what the ketua answered for members: (kpm id, answer, reason) each, marked
    as answered by the ketua (their own answer among them is simply theirs)."""
    for kpm_id, answer, reason in answers:
        await record_rsvp(
            session, meeting_id, kpm_id, answer, reason, now=now,
            answered_by=None if kpm_id == ketua_id else ketua_id,
        )


async def restore_withdrawn_ketua(
    session: AsyncSession, meeting_id: int, version: str, *, now: datetime
) -> int:
    """Put back the messages to the ketua of ``version`` that a change withdrew, when the
    change was undone (a meeting moved away and back) before the meeting: their dedupe
    keys are taken, so the sweep would never write them again."""
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.dedupe_key.startswith(ketua_prefix(meeting_id, version), autoescape=True),
            Outbox.status == OutboxStatus.CANCELLED,
            Outbox.error == WITHDRAWN,
            Outbox.deadline_at > now,
        )
        .values(status=OutboxStatus.PENDING, error=None, updated_at=now)
    )
    return rowcount(result)
