"""Who cannot be reached directly: the members of a meeting's kelompok that no reminder
reaches, so that someone else (the ketua kelompok) must tell them, and the pendamping
can see them.

A member cannot be reached directly when they have no phone and no linked chat, or when
the last message to any of their addresses (``whatsapp:`` and ``sms:`` on their roster
phone, their linked chats) that reached a final result failed for good: a provider's
refusal (an invalid number, not on WhatsApp, blocked...) or an undelivered receipt. A
failure that says nothing about the number does not count: a message that waited for a
channel nobody configured (expired), one refused before sending (its template), or
temporary errors that ran out of attempts (network, rate limits). Members who said stop
(``kpm.opted_out_at``, or an opted-out chat) are never listed: they chose not to be
reached.

Set-based: three statements per thousand meetings, whatever the number of kelompok.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import and_, case, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.db.sql import IN_CHUNK
from models.enums import KpmStatus, OutboxStatus
from models.messaging.tables import DONE_STATUSES_SQL, Outbox
from models.tables import ChannelIdentity, Kpm, Meeting

NO_CONTACT = "no_contact"  # no phone and no linked chat
FAILED = "failed"  # the last message to them failed for good
SOFT_ERROR_CODES = ("network", "429")
"""Error codes of temporary failures (ours or a rate limit) that ran out of attempts:
they say nothing about the member's number."""


class Unreachable(NamedTuple):
    """A member no reminder reaches, and why (:data:`NO_CONTACT` or :data:`FAILED`)."""

    kpm_id: int
    name: str  # nama pengurus
    cause: str


async def unreachable_members(
    session: AsyncSession, meeting_ids: Iterable[int]
) -> dict[int, list[Unreachable]]:
    """For each of ``meeting_ids``, the active members of its kelompok who cannot be
    reached directly, by name; meetings where everyone can be reached are left out."""
    wanted = sorted(set(meeting_ids))
    found: dict[int, list[Unreachable]] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        found.update(await _unreachable(session, wanted[start : start + IN_CHUNK]))
    return found


async def _unreachable(
    session: AsyncSession, meeting_ids: list[int]
) -> dict[int, list[Unreachable]]:
    connection = await session.connection()  # plain rows, no ORM loading
    stopped = exists().where(
        ChannelIdentity.kpm_id == Kpm.id, ChannelIdentity.opted_out_at.is_not(None)
    )
    members = (
        await connection.execute(
            select(Meeting.id, Kpm.id, Kpm.nama_pengurus, Kpm.phone)
            .join(Kpm, Kpm.kelompok_id == Meeting.kelompok_id)
            .where(
                Meeting.id.in_(meeting_ids),
                Kpm.status == KpmStatus.AKTIF,
                Kpm.opted_out_at.is_(None),
                ~stopped,
            )
            .order_by(Meeting.id, Kpm.nama_pengurus, Kpm.id)
        )
    ).all()
    if not members:
        return {}
    kelompok_members = select(Kpm.id).join(
        Meeting, Meeting.kelompok_id == Kpm.kelompok_id
    ).where(Meeting.id.in_(meeting_ids))
    linked = await connection.execute(
        select(ChannelIdentity.kpm_id, ChannelIdentity.address).where(
            ChannelIdentity.kpm_id.in_(kelompok_members), ChannelIdentity.opted_out_at.is_(None)
        )
    )
    addresses: dict[int, set[str]] = {}
    for kpm_id, address in linked:
        addresses.setdefault(kpm_id, set()).add(address)
    for _, kpm_id, _, phone in members:
        if phone:
            addresses.setdefault(kpm_id, set()).update((f"whatsapp:{phone}", f"sms:{phone}"))
    results = await last_results(session, {a for each in addresses.values() for a in each})
    found: dict[int, list[Unreachable]] = {}
    for meeting_id, kpm_id, name, _ in members:
        own = addresses.get(kpm_id)
        if not own:
            cause = NO_CONTACT
        elif _last_failed(own, results):
            cause = FAILED
        else:
            continue
        found.setdefault(meeting_id, []).append(Unreachable(kpm_id, name, cause))
    return found


def _last_failed(own: set[str], results: dict[str, tuple[int, int]]) -> bool:
    """Whether, of all the member's addresses, the latest final result is a failure."""
    failed = max((results[a][0] for a in own if a in results), default=0)
    return failed > max((results[a][1] for a in own if a in results), default=0)


async def last_results(
    session: AsyncSession, addresses: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """For each of ``addresses`` with a message that reached a final result: (the outbox
    id of its last failure for good, of its last message that went out; 0 for none).
    Read through ``ix_outbox_address_done``."""
    wanted = sorted(set(addresses))
    failure = and_(
        Outbox.status.in_([OutboxStatus.FAILED, OutboxStatus.UNDELIVERED]),
        Outbox.error_code.is_not(None),
        Outbox.error_code.not_in(SOFT_ERROR_CODES),
    )
    went = Outbox.status.in_([OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.READ])
    last_failed = func.max(case((failure, Outbox.id), else_=0))
    last_went = func.max(case((went, Outbox.id), else_=0))
    connection = await session.connection()
    found: dict[str, tuple[int, int]] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        rows = await connection.execute(
            select(Outbox.address, last_failed, last_went)
            .where(Outbox.address.in_(wanted[start : start + IN_CHUNK]), text(DONE_STATUSES_SQL))
            .group_by(Outbox.address)
        )
        found.update({address: (failed, ok) for address, failed, ok in rows})
    return found
