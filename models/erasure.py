"""Erasure of one family's personal data on request (UU PDP 27/2022: the data subject's
right to erasure), from the command line or a coordinator's chat.

The family's row stays, under a pseudonym ("KPM terhapus #<id>") with its ID PKH (the
programme's own key: the figures and a second request find it by it), so attendance
marks, RSVP answers, cases (category, severity, status, dates), komponen (type, end
date), commitment results and graduation stay counted where they were. What goes: the
name, the NIK, the phone number, the chat addresses (their identities, conversations,
inbox rows; the outbox rows to them keep their status and counts but lose the text and
the address), the texts (pesan KPM, RSVP reasons, attendance notes, case descriptions and
update notes), the photos (case photos, commitment evidence; a media store's files
through :data:`models.media_erasure.MEDIA_ERASERS`) and every copy of the name, the
numbers and the texts in payloads, conversation state and audit details
(:mod:`models.scrub`). Everything still waiting to be sent to them or about them is
withdrawn, open pesan KPM are closed (they can no longer be answered), and the family
gets no more messages. One audit row says who erased which family, with counts only.

A phone shared with another family keeps its chat addresses (they are the other
family's too); only this family's link to them goes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import actor_of, audit
from models.db.sql import rowcount
from models.enums import Channel, KpmMessageStatus, OutboxStatus
from models.households import key_patterns
from models.media_erasure import (
    MEDIA_ERASERS,
    MediaEraser,
    MediaErasure,
    erase_media,
    family_evidence,
    family_media,
)
from models.messaging.tables import Conversation, Inbox, Outbox
from models.optout import PHONE_CHANNELS, phone_of
from models.scrub import Needles, blank_rows, phone_forms, scrub_everywhere, scrub_rows
from models.tables import (
    Attendance,
    AuditLog,
    CaseNote,
    CaseUpdate,
    ChannelIdentity,
    Kelompok,
    Komponen,
    Kpm,
    KpmMessage,
    Rsvp,
    Staff,
)

__all__ = ["MEDIA_ERASERS", "MediaEraser", "family_media"]  # the hook point, for a media store

ERASED_NIK = "0" * 16
"""The NIK of an erased family: 16 characters (the column's check), no one's number."""
WITHDRAWN = "withdrawn: the KPM's personal data was erased"
MIN_NAME = 5
"""A shorter name is never looked for in other rows' text: it would be part of others'."""
LONG_TEXT = 20
"""A family's text is looked for in every payload only from this length (a short one,
"sakit", would match other families' words); in the messages keyed to the family, at
any length."""


def pseudonym(kpm_id: int) -> str:
    return f"KPM terhapus #{kpm_id}"


def erased_address(kpm_id: int) -> str:
    """What stands for an erased family's chat address in the rows kept (a channel that
    sends nothing)."""
    return f"{Channel.NONE.value}:erased-{kpm_id}"


class ErasureError(ValueError):
    """A request that cannot be done; ``key`` names the catalog message (``erasure.<key>``
    in chat, ``cli.kpm_error.<key>`` with ``values`` at the command line)."""

    def __init__(self, key: str, text: str, **values: object) -> None:
        super().__init__(text)
        self.key = key
        self.values = values


async def find_subject(session: AsyncSession, written: str) -> Kpm:
    """A family by ID PKH (exact) or by the NIK of its pengurus (an erased family has no
    NIK any more: by its ID PKH only)."""
    text = written.strip()
    kpm = await session.scalar(select(Kpm).where(Kpm.id_pkh == text))
    if kpm is None and len(text) == 16 and text.isdigit() and text != ERASED_NIK:
        found = list(await session.scalars(select(Kpm).where(Kpm.nik == text).limit(2)))
        if len(found) > 1:
            raise ErasureError("several_nik", "several KPM hold this NIK: give the ID PKH")
        kpm = found[0] if found else None
    if kpm is None:
        raise ErasureError("unknown_subject", "no KPM with this ID PKH or NIK", id=text[:40])
    return kpm


@dataclass(frozen=True)
class FamilyAddresses:
    own: tuple[str, ...]  # chat addresses only this family uses
    shared: tuple[str, ...]  # phone addresses another family's roster phone shares


async def family_addresses(session: AsyncSession, kpm: Kpm) -> FamilyAddresses:
    """The chat addresses of a family: linked to it, those of its phone, those its pesan
    KPM came from and those its reminders went to (a number it had before); a phone
    address is shared when another family (not erased) has the number on the roster, or
    a staff member's chat is on it."""
    linked = await session.scalars(
        select(ChannelIdentity.address).where(ChannelIdentity.kpm_id == kpm.id)
    )
    wrote_from = await session.scalars(
        select(KpmMessage.address).where(KpmMessage.kpm_id == kpm.id).distinct()
    )
    patterns = [*key_patterns("reminder:", kpm.id), *key_patterns("changed:", kpm.id)]
    reminded = await session.scalars(
        select(Outbox.address).where(or_(*(Outbox.dedupe_key.like(p) for p in patterns))).distinct()
    )
    addresses = {*linked, *wrote_from, *reminded}
    if kpm.phone:
        addresses |= {f"{channel}:{kpm.phone}" for channel in PHONE_CHANNELS}
    addresses.discard(erased_address(kpm.id))
    phones = sorted({phone for address in addresses if (phone := phone_of(address))})
    others = set(
        await session.scalars(
            select(Kpm.phone).where(
                Kpm.phone.in_(phones), Kpm.id != kpm.id, Kpm.erased_at.is_(None)
            )
        )
    )
    staff_owned = set(
        await session.scalars(
            select(ChannelIdentity.address).where(
                ChannelIdentity.address.in_(sorted(addresses)),
                ChannelIdentity.staff_id.is_not(None),
            )
        )
    )
    shared = {a for a in addresses if phone_of(a) in others or a in staff_owned}
    return FamilyAddresses(tuple(sorted(addresses - shared)), tuple(sorted(shared)))


@dataclass(frozen=True)
class FamilyRecords:
    """The ids of what a family has that messages are keyed by."""

    messages: tuple[int, ...]
    cases: tuple[int, ...]
    komponen: tuple[int, ...]


async def _records(session: AsyncSession, kpm_id: int) -> FamilyRecords:
    messages = await session.scalars(select(KpmMessage.id).where(KpmMessage.kpm_id == kpm_id))
    cases = await session.scalars(select(CaseNote.id).where(CaseNote.kpm_id == kpm_id))
    komponen = await session.scalars(select(Komponen.id).where(Komponen.kpm_id == kpm_id))
    return FamilyRecords(tuple(messages), tuple(cases), tuple(komponen))


def _keyed_about(kpm_id: int, records: FamilyRecords) -> list[str]:
    """LIKE patterns of the outbox keys of messages to or about the family: reminders and
    meeting changes (shared phones too), alerts, pesan KPM notices and their nudges,
    urgent-case alerts and follow-up nudges, commitment warnings, phone changes."""
    patterns = [*key_patterns("reminder:", kpm_id), *key_patterns("changed:", kpm_id)]
    patterns += [f"grad-%:{kpm_id}:%", f"absence:{kpm_id}:%", f"phone-change:{kpm_id}:%"]
    patterns += [f"pesan-kpm:{i}" for i in records.messages]
    patterns += [f"nudge-pesan:{i}" for i in records.messages]
    patterns += [f"urgent-case:{i}:%" for i in records.cases]
    patterns += [f"nudge-case:{i}:%" for i in records.cases]
    patterns += [f"commitment:{i}:%" for i in records.komponen]
    return patterns


def _chunks(patterns: Sequence[str], size: int = 200) -> list[ColumnElement[bool]]:
    return [
        or_(*(Outbox.dedupe_key.like(p) for p in patterns[start : start + size]))
        for start in range(0, len(patterns), size)
    ]


@dataclass(frozen=True)
class Preview:
    """What an erasure will touch, for the confirmation."""

    kpm_id: int
    id_pkh: str
    addresses: int
    messages: int
    cases: int
    photos: int
    waiting: int  # messages still to be sent to or about the family


async def preview(session: AsyncSession, kpm: Kpm) -> Preview:
    if kpm.erased_at is not None:
        raise _already(kpm)
    addresses = await family_addresses(session, kpm)
    records = await _records(session, kpm.id)
    photos = len(await family_media(session, kpm.id)) + len(
        await family_evidence(session, kpm.id)
    )
    waiting = await session.scalar(
        select(func.count()).select_from(Outbox).where(
            Outbox.status == OutboxStatus.PENDING,
            or_(*_chunks(_keyed_about(kpm.id, records)), Outbox.address.in_(addresses.own)),
        )
    )
    return Preview(
        kpm.id, kpm.id_pkh, await _identities(session, kpm.id, addresses),
        len(records.messages), len(records.cases), photos, waiting or 0,
    )


async def _identities(session: AsyncSession, kpm_id: int, addresses: FamilyAddresses) -> int:
    """The chat identities an erasure removes (its own) or unlinks (a shared phone's)."""
    return await session.scalar(
        select(func.count()).select_from(ChannelIdentity).where(
            or_(
                and_(ChannelIdentity.address.in_(addresses.own),
                     ChannelIdentity.staff_id.is_(None)),
                ChannelIdentity.kpm_id == kpm_id,
            )
        )
    ) or 0


def _already(kpm: Kpm) -> ErasureError:
    assert kpm.erased_at is not None
    return ErasureError(
        "already_erased", "the KPM's personal data was already erased",
        id_pkh=kpm.id_pkh, date=f"{kpm.erased_at:%Y-%m-%d}",
    )


@dataclass(frozen=True)
class Erased:
    kpm_id: int
    id_pkh: str
    pseudonym: str
    addresses: int  # chat identities removed (or unlinked, a shared phone's)
    messages: int  # pesan KPM whose text was erased
    cases: int  # cases whose description and notes were erased
    photos: int  # photos and evidence references removed
    withdrawn: int  # messages that were waiting, withdrawn
    scrubbed: int  # copies in payloads, conversation state and audit details rewritten


async def _texts(session: AsyncSession, kpm_id: int, records: FamilyRecords) -> list[str]:
    """The free texts of a family, to find their copies elsewhere."""
    found: list[str | None] = []
    found += await session.scalars(select(KpmMessage.text).where(KpmMessage.kpm_id == kpm_id))
    found += await session.scalars(select(CaseNote.description).where(CaseNote.kpm_id == kpm_id))
    found += await session.scalars(
        select(CaseUpdate.note).where(CaseUpdate.case_id.in_(records.cases))
    )
    found += await session.scalars(select(Rsvp.reason).where(Rsvp.kpm_id == kpm_id))
    found += await session.scalars(select(Attendance.note).where(Attendance.kpm_id == kpm_id))
    return [text for text in found if text]


async def erase(
    session: AsyncSession,
    kpm: Kpm,
    reason: str,
    *,
    by: Staff | None,
    now: datetime,
    erasers: Sequence[MediaEraser] | None = None,
) -> Erased:
    """Erase ``kpm``'s personal data in the caller's transaction (see the module
    docstring); :class:`ErasureError` ``already_erased`` when it was done before."""
    if kpm.erased_at is not None:
        raise _already(kpm)
    kpm_id, name, alias = kpm.id, kpm.nama_pengurus, pseudonym(kpm.id)
    addresses = await family_addresses(session, kpm)
    records = await _records(session, kpm_id)
    texts = await _texts(session, kpm_id, records)
    phones = {kpm.phone, *(phone_of(address) for address in addresses.own)}
    numbers = Needles.of(
        [(name, alias), (kpm.nik, ""),
         *((form, "") for phone in phones for form in phone_forms(phone))]
    )
    needles = numbers + Needles.of((text, "") for text in texts if len(text) >= LONG_TEXT)
    keyed = numbers + Needles.of((text, "") for text in texts)
    media = MediaErasure(
        kpm_id, await family_media(session, kpm_id), await family_evidence(session, kpm_id)
    )
    await erase_media(session, media, erasers=erasers)
    photos = len(media.refs)
    withdrawn = await _stop_messages(session, kpm_id, records, addresses, now=now)
    scrubbed = await _scrub_copies(session, kpm, records, addresses, needles, keyed)
    await _erase_texts(session, kpm_id, records, by=by, now=now)
    removed = await _identities(session, kpm_id, addresses)
    await _remove_addresses(session, kpm_id, addresses)
    await session.execute(
        update(Kelompok).where(Kelompok.ketua_kpm_id == kpm_id).values(ketua_kpm_id=None)
    )
    kpm.nama_pengurus, kpm.nik, kpm.phone = alias, ERASED_NIK, None
    kpm.preferred_channel = Channel.NONE
    kpm.opted_out_at = kpm.opted_out_at or now
    kpm.erased_at, kpm.updated_at = now, now
    kpm.erasure_reason = needles.text(reason.strip())[:200] or None
    erased = Erased(
        kpm_id, kpm.id_pkh, alias, removed, len(records.messages), len(records.cases),
        photos, withdrawn, scrubbed,
    )
    await audit(
        session, action="kpm.erase", entity="kpm", entity_id=kpm_id, at=now, **actor_of(by),
        detail={
            "addresses": removed, "messages": erased.messages, "cases": erased.cases,
            "photos": photos, "withdrawn": withdrawn, "scrubbed": scrubbed,
        },
    )
    return erased


async def _stop_messages(
    session: AsyncSession,
    kpm_id: int,
    records: FamilyRecords,
    addresses: FamilyAddresses,
    *,
    now: datetime,
) -> int:
    """Withdraw what waits to be sent to the family or about it; the rows sent to its own
    addresses keep their status and counts, without the text and the address."""
    withdraw = {"status": OutboxStatus.CANCELLED, "error": WITHDRAWN, "updated_at": now}
    withdrawn = 0
    for condition in [*_chunks(_keyed_about(kpm_id, records)), Outbox.address.in_(addresses.own)]:
        result = await session.execute(
            update(Outbox).where(Outbox.status == OutboxStatus.PENDING, condition).values(withdraw)
        )
        withdrawn += rowcount(result)
    await session.execute(
        update(Outbox)
        .where(Outbox.address.in_(addresses.own))
        .values(payload={}, address=erased_address(kpm_id))
    )
    return withdrawn


async def _scrub_copies(
    session: AsyncSession,
    kpm: Kpm,
    records: FamilyRecords,
    addresses: FamilyAddresses,
    needles: Needles,
    keyed: Needles,
) -> int:
    """The name, numbers and texts out of every payload, conversation state and audit
    detail that holds them; the personal values (the masked numbers of a phone change)
    out of the family's own audit rows."""
    about = and_(AuditLog.entity == "kpm", AuditLog.entity_id == kpm.id)
    scrubbed = await blank_rows(session, AuditLog.id, AuditLog.detail, about)
    for condition in _chunks(_keyed_about(kpm.id, records)):
        scrubbed += await scrub_rows(session, Outbox.id, Outbox.payload, keyed, only=condition)
    await session.execute(delete(Conversation).where(Conversation.address.in_(addresses.own)))
    await session.execute(delete(Inbox).where(Inbox.address.in_(addresses.own)))
    if await _name_shared(session, kpm):  # the name is another family's too: leave it
        name = kpm.nama_pengurus.strip().casefold()
        needles = Needles(tuple(pair for pair in needles.pairs if pair[0].casefold() != name))
    scrubbed += sum((await scrub_everywhere(session, needles)).values())
    return scrubbed


async def _name_shared(session: AsyncSession, kpm: Kpm) -> bool:
    """Whether the name is part of another's: another family's, a staff member's or a
    kelompok's ("Ani" of "Ani Suryani"), so that a message with it may be about them."""
    name = kpm.nama_pengurus.strip().lower()
    if len(name) < MIN_NAME:
        return True
    for column, others in (
        (Kpm.nama_pengurus, Kpm.id != kpm.id), (Staff.name, None), (Kelompok.name, None)
    ):
        statement = select(func.count()).where(func.lower(column).contains(name, autoescape=True))
        if others is not None:
            statement = statement.where(others)
        if await session.scalar(statement):
            return True
    return False


async def _erase_texts(
    session: AsyncSession, kpm_id: int, records: FamilyRecords, *, by: Staff | None,
    now: datetime,
) -> None:
    await session.execute(
        update(KpmMessage)
        .where(KpmMessage.kpm_id == kpm_id, KpmMessage.status == KpmMessageStatus.OPEN)
        .values(
            status=KpmMessageStatus.DONE, closed_at=now,
            closed_by_staff_id=by.id if by is not None else None,
        )
    )
    await session.execute(
        update(KpmMessage)
        .where(KpmMessage.kpm_id == kpm_id)
        .values(text="", address=erased_address(kpm_id))
    )
    await session.execute(update(CaseNote).where(CaseNote.kpm_id == kpm_id).values(description=""))
    if records.cases:
        await session.execute(
            update(CaseUpdate).where(CaseUpdate.case_id.in_(records.cases)).values(note=None)
        )
    await session.execute(update(Rsvp).where(Rsvp.kpm_id == kpm_id).values(reason=None))
    await session.execute(update(Attendance).where(Attendance.kpm_id == kpm_id).values(note=None))


async def _remove_addresses(
    session: AsyncSession, kpm_id: int, addresses: FamilyAddresses
) -> None:
    """Delete the family's own chat identities; unlink it from shared ones."""
    await session.execute(
        delete(ChannelIdentity).where(
            ChannelIdentity.address.in_(addresses.own), ChannelIdentity.staff_id.is_(None)
        )
    )
    await session.execute(
        update(ChannelIdentity).where(ChannelIdentity.kpm_id == kpm_id).values(kpm_id=None)
    )
