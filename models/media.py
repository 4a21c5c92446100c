"""Files people send (photos, voice notes, documents): registered on arrival, fetched later.

A message's media are registered in the step's own transaction (:func:`register_media`),
one ``media_file`` row per provider reference: nothing is downloaded while a webhook or a
step waits. Fetch workers (``bot.media_fetch``) claim due rows with a lease, download,
check and store the file, and record the result here: stored (hash, size, type, key, EXIF
time and place), refused (too large, a type not accepted), or tried again later. The
message itself was handled when it arrived, so a download that fails loses nothing.

Attachments name a file by its provider reference (``media_attachment.media_ref``,
``commitment_check.evidence_ref``), as they did before files were kept by us.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import table_of
from models.db.sql import rowcount
from models.db.statements import upsert_insert
from models.enums import Channel, MediaStatus
from models.tables import (
    CaseNote,
    CommitmentCheck,
    KpmMessage,
    MediaAttachment,
    MediaFile,
)

MEDIA = table_of(MediaFile)
MAX_REF = 500


class BlobStore(Protocol):
    """What erasure and retention need of the media store (``bot.media_store``)."""

    async def delete(self, key: str) -> None: ...


async def register_media(
    session: AsyncSession,
    *,
    channel: str,
    address: str,
    external_id: str | None,
    media: Iterable[tuple[str, str]],
    kpm_id: int | None,
    now: datetime,
) -> int:
    """In the step's transaction: a fetch job for each (provider ref, provider type) not
    registered before (a redelivery, or a file forwarded again, is one row). Returns how
    many were added."""
    rows = [
        {
            "channel": Channel(channel),
            "address": address[:80],
            "external_id": (external_id or "")[:120] or None,
            "provider_ref": ref,
            "provider_type": (kind or "")[:120] or None,
            "kpm_id": kpm_id,
            "status": MediaStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "received_at": now,
            "provider_delete": False,
        }
        for ref, kind in media
        if ref and len(ref) <= MAX_REF
    ]
    added = 0
    statement = _register_statement(session.bind.dialect.name)
    for row in rows:
        added += rowcount(await session.execute(statement, row))
    return added


@cache
def _register_statement(dialect: str) -> Any:
    return upsert_insert(dialect)(MEDIA).on_conflict_do_nothing(index_elements=["provider_ref"])


@dataclass(frozen=True)
class Claimed:
    """A media row claimed by a fetch worker: to fetch (pending), or, once fetched, to
    delete at the provider (``provider_delete``)."""

    id: int
    channel: Channel
    address: str
    provider_ref: str
    provider_type: str | None
    status: MediaStatus
    attempts: int
    provider_delete: bool
    received_at: datetime


def _due(now: datetime) -> Any:
    c = MEDIA.c
    free = or_(c.claimed_until.is_(None), c.claimed_until <= now)
    return and_(
        free,
        c.next_attempt_at <= now,
        or_(c.status == MediaStatus.PENDING, c.provider_delete.is_(True)),
    )


async def claim(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    """Claim up to ``limit`` due rows for ``lease``, oldest first (rows another process is
    claiming are skipped on PostgreSQL); a fetch counts as an attempt."""
    c = MEDIA.c
    query = select(c.id).where(_due(now)).order_by(c.next_attempt_at, c.id).limit(limit)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(await session.scalars(query))
    if not ids:
        return []
    result = await session.execute(
        update(MEDIA)
        .where(c.id.in_(ids))
        .values(
            claimed_until=now + lease,
            attempts=case((c.status == MediaStatus.PENDING, c.attempts + 1), else_=c.attempts),
        )
        .returning(
            c.id,
            c.channel,
            c.address,
            c.provider_ref,
            c.provider_type,
            c.status,
            c.attempts,
            c.provider_delete,
            c.received_at,
        )
    )
    return sorted((Claimed(*row) for row in result), key=lambda row: row.id)


@dataclass(frozen=True)
class Stored:
    """What a fetch found: the content's hash, size and type, where it is kept, and for a
    photo the camera's time and place."""

    sha256: str
    size_bytes: int
    content_type: str
    storage_key: str
    taken_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


async def mark_stored(
    session: AsyncSession, media_id: int, stored: Stored, *, delete_at_provider: bool, now: datetime
) -> None:
    c = MEDIA.c
    await session.execute(
        update(MEDIA)
        .where(c.id == media_id)
        .values(
            status=MediaStatus.STORED,
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            content_type=stored.content_type,
            storage_key=stored.storage_key,
            taken_at=stored.taken_at,
            latitude=stored.latitude,
            longitude=stored.longitude,
            stored_at=now,
            error=None,
            claimed_until=None,
            provider_delete=delete_at_provider,
            next_attempt_at=now,
        )
    )


async def mark_refused(
    session: AsyncSession,
    media_id: int,
    reason: str,
    *,
    content_type: str | None,
    delete_at_provider: bool,
    now: datetime,
) -> bool:
    """Refused for good (its sender is told once); False when it was not pending."""
    c = MEDIA.c
    result = await session.execute(
        update(MEDIA)
        .where(c.id == media_id, c.status == MediaStatus.PENDING)
        .values(
            status=MediaStatus.REFUSED,
            error=reason[:200],
            content_type=content_type,
            claimed_until=None,
            provider_delete=delete_at_provider,
            next_attempt_at=now,
        )
    )
    return bool(rowcount(result))


async def fetch_later(
    session: AsyncSession, media_id: int, *, error: str, retry_at: datetime | None, now: datetime
) -> None:
    """A fetch failed: tried again at ``retry_at``, or (None) given up on, kept as failed."""
    c = MEDIA.c
    values: dict[str, Any] = {"error": error[:200], "claimed_until": None}
    if retry_at is None:
        values |= {"status": MediaStatus.FAILED, "next_attempt_at": now}
    else:
        values["next_attempt_at"] = retry_at
    await session.execute(update(MEDIA).where(c.id == media_id).values(**values))


async def provider_deleted(
    session: AsyncSession, media_id: int, *, now: datetime, retry_at: datetime | None = None
) -> None:
    """The provider's copy is gone (``retry_at`` None), or its deletion is tried again."""
    c = MEDIA.c
    values: dict[str, Any] = {"claimed_until": None}
    if retry_at is None:
        values |= {"provider_delete": False, "provider_deleted_at": now}
    else:
        values["next_attempt_at"] = retry_at
    await session.execute(update(MEDIA).where(c.id == media_id).values(**values))


async def link_to_kpm_message(
    session: AsyncSession, refs: Sequence[str], *, message_id: int, kpm_id: int
) -> None:
    """The files that came with a pesan KPM belong to it and to its family."""
    if refs:
        await session.execute(
            update(MEDIA)
            .where(MEDIA.c.provider_ref.in_(list(refs)))
            .values(kpm_message_id=message_id, kpm_id=kpm_id)
        )


async def link_to_kpm(session: AsyncSession, refs: Sequence[str], kpm_id: int) -> None:
    """Files attached to a record about a family (a case, a commitment's evidence) are
    that family's: erased with it."""
    if refs:
        await session.execute(
            update(MEDIA).where(MEDIA.c.provider_ref.in_(list(refs))).values(kpm_id=kpm_id)
        )


# -- erasure and retention -----------------------------------------------------------------


async def _delete_rows(session: AsyncSession, store: BlobStore, condition: Any) -> int:
    """Delete the media rows matching ``condition`` and their attachments, then each
    stored file no other row still names. Returns how many rows were deleted."""
    c = MEDIA.c
    doomed = (
        await session.execute(select(c.id, c.provider_ref, c.storage_key).where(condition))
    ).all()
    if not doomed:
        return 0
    ids = [row.id for row in doomed]
    refs = [row.provider_ref for row in doomed]
    keys = {row.storage_key for row in doomed if row.storage_key}
    await session.execute(
        delete(table_of(MediaAttachment)).where(MediaAttachment.media_ref.in_(refs))
    )
    await session.execute(
        update(table_of(CommitmentCheck))
        .where(CommitmentCheck.evidence_ref.in_(refs))
        .values(evidence_ref=None)
    )
    await session.execute(delete(MEDIA).where(c.id.in_(ids)))
    if keys:
        still = set(
            await session.scalars(select(c.storage_key).where(c.storage_key.in_(list(keys))))
        )
        for key in sorted(keys - still):  # a file another family also sent stays
            await store.delete(key)
    return len(ids)


async def delete_media_of_kpm(session: AsyncSession, store: BlobStore, kpm_id: int) -> int:
    """Erasure: every file from or about a family, in the caller's transaction, with its
    stored copy: what the family sent (their pesan KPM), what is attached to their cases,
    their commitments' evidence. Attachments naming those files go too. Call it before the
    family's rows are removed or pseudonymised. Returns how many files were deleted;
    asked again, it deletes nothing more (0)."""
    c = MEDIA.c
    case_refs = (
        select(MediaAttachment.media_ref)
        .join(CaseNote, CaseNote.id == MediaAttachment.case_id)
        .where(CaseNote.kpm_id == kpm_id)
    )
    evidence_refs = select(CommitmentCheck.evidence_ref).where(
        CommitmentCheck.kpm_id == kpm_id, CommitmentCheck.evidence_ref.is_not(None)
    )
    messages = select(KpmMessage.id).where(KpmMessage.kpm_id == kpm_id)
    condition = or_(
        c.kpm_id == kpm_id,
        c.provider_ref.in_(case_refs),
        c.provider_ref.in_(evidence_refs),
        c.kpm_message_id.in_(messages),
    )
    return await _delete_rows(session, store, condition)


async def forget_media_before(
    session: AsyncSession, store: BlobStore, before: datetime, *, batch: int = 500
) -> int:
    """Retention: one batch of the files received before ``before`` (and their stored
    copies); call again until it returns less than ``batch``."""
    c = MEDIA.c
    oldest = select(c.id).where(c.received_at < before).order_by(c.id).limit(batch)
    return await _delete_rows(session, store, c.id.in_(oldest.scalar_subquery()))


async def referenced_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` a media row still names (the rest are orphans: a fetch that died
    between storing and recording, a family erased by deleting its row)."""
    if not keys:
        return set()
    return set(
        await session.scalars(select(MEDIA.c.storage_key).where(MEDIA.c.storage_key.in_(keys)))
    )


class Erasure(Protocol):
    """What an erasure or retention pass says is leaving (``models.media_erasure``'s
    ``MediaErasure``): the family erased (None for retention) and the references."""

    @property
    def kpm_id(self) -> int | None: ...

    @property
    def refs(self) -> tuple[str, ...]: ...


def media_eraser(store: BlobStore) -> Callable[[AsyncSession, Erasure], Awaitable[None]]:
    """The hook that makes an erasure or a retention pass remove our copies too: the
    files named by the references leaving and, for a family erased, every file from or
    about it (:func:`delete_media_of_kpm`), with their stored copies."""

    async def erase(session: AsyncSession, erasure: Erasure) -> None:
        if erasure.kpm_id is not None:
            await delete_media_of_kpm(session, store, erasure.kpm_id)
        refs = [ref for ref in erasure.refs if ref]
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            await _delete_rows(session, store, MEDIA.c.provider_ref.in_(chunk))

    return erase
