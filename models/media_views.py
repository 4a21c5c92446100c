"""Files people send, as shown: beside a meeting, with a pesan KPM, in an export's
manifest, and counted for `doctor` (read-only, set-based)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import MediaStatus
from models.media import MEDIA
from models.tables import MediaAttachment, MediaFile, Meeting


@dataclass(frozen=True)
class MediaView:
    """One file as shown beside what it is attached to."""

    provider_ref: str
    status: MediaStatus | None  # None: sent before files were kept (no row)
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    storage_key: str | None
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    error: str | None


_VIEW_COLUMNS = (
    MediaFile.status,
    MediaFile.content_type,
    MediaFile.size_bytes,
    MediaFile.sha256,
    MediaFile.storage_key,
    MediaFile.taken_at,
    MediaFile.latitude,
    MediaFile.longitude,
    MediaFile.error,
)


@dataclass(frozen=True)
class MeetingEvidence:
    """A held meeting with its planned place and time and the photos attached to it."""

    meeting_id: int
    kelompok_id: int
    meeting_date: date
    starts_at: datetime
    place: str | None
    photos: list[MediaView]


async def meeting_evidence(
    session: AsyncSession, kelompok_id: int, *, limit: int = 3
) -> list[MeetingEvidence]:
    """The latest ``limit`` meetings of a kelompok that have attachments, newest first,
    with each file's state (two statements whatever the number)."""
    meetings = (
        await session.execute(
            select(
                Meeting.id, Meeting.kelompok_id, Meeting.meeting_date, Meeting.starts_at,
                Meeting.place,
            )
            .where(
                Meeting.kelompok_id == kelompok_id,
                select(MediaAttachment.id)
                .where(MediaAttachment.meeting_id == Meeting.id)
                .exists(),
            )
            .order_by(Meeting.meeting_date.desc(), Meeting.id.desc())
            .limit(limit)
        )
    ).all()
    if not meetings:
        return []
    rows = await session.execute(
        select(MediaAttachment.meeting_id, MediaAttachment.media_ref, *_VIEW_COLUMNS)
        .outerjoin(MediaFile, MediaFile.provider_ref == MediaAttachment.media_ref)
        .where(MediaAttachment.meeting_id.in_([m.id for m in meetings]))
        .order_by(MediaAttachment.id)
    )
    photos: dict[int, list[MediaView]] = {}
    for meeting_id, ref, *view in rows:
        photos.setdefault(meeting_id, []).append(MediaView(ref, *view))
    return [
        MeetingEvidence(m.id, m.kelompok_id, m.meeting_date, m.starts_at, m.place,
                        photos.get(m.id, []))
        for m in meetings
    ]


async def media_of_message(session: AsyncSession, message_id: int) -> list[MediaView]:
    """The files that came with a pesan KPM."""
    rows = await session.execute(
        select(MediaFile.provider_ref, *_VIEW_COLUMNS)
        .where(MediaFile.kpm_message_id == message_id)
        .order_by(MediaFile.id)
    )
    return [MediaView(*row) for row in rows]


@dataclass(frozen=True)
class StoredFile:
    """A stored file for an export: where it is, its type, and what it is attached to."""

    id: int
    storage_key: str
    content_type: str
    size_bytes: int
    sha256: str
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    received_at: datetime
    meeting_id: int | None
    case_id: int | None
    kpm_message_id: int | None


async def stored_files(
    session: AsyncSession, *, since: datetime | None = None, until: datetime | None = None
) -> list[StoredFile]:
    """Every stored file received in ``[since, until)`` with what it is attached to (a
    meeting, a case, a pesan KPM), oldest first: an export's manifest."""
    c = MediaFile
    query = (
        select(
            c.id, c.storage_key, c.content_type, c.size_bytes, c.sha256, c.taken_at,
            c.latitude, c.longitude, c.received_at, MediaAttachment.meeting_id,
            MediaAttachment.case_id, c.kpm_message_id,
        )
        .outerjoin(MediaAttachment, MediaAttachment.media_ref == c.provider_ref)
        .where(c.status == MediaStatus.STORED)
        .order_by(c.id)
    )
    if since is not None:
        query = query.where(c.received_at >= since)
    if until is not None:
        query = query.where(c.received_at < until)
    seen: set[int] = set()
    found = []
    for row in await session.execute(query):
        if row[0] not in seen:  # one line per file, the first attachment named
            seen.add(row[0])
            found.append(StoredFile(*row))
    return found


@dataclass(frozen=True)
class MediaCounts:
    by_status: list[tuple[str, int]]
    failing: list[tuple[int, str, int, str | None, datetime]]  # id, channel, tries, error, next
    given_up: int
    provider_copies_left: int


async def media_counts(
    session: AsyncSession, *, failing_after: int = 3, shown: int = 5
) -> MediaCounts:
    """For `doctor` and `pendamping media`: files by status, the downloads that keep
    failing (``failing_after`` attempts or more, still pending) with their last error (ids
    and reasons only), those given up on, and provider copies waiting to be deleted."""
    c = MEDIA.c
    counts = await session.execute(
        select(c.status, func.count()).group_by(c.status).order_by(c.status)
    )
    failing = await session.execute(
        select(c.id, c.channel, c.attempts, c.error, c.next_attempt_at)
        .where(c.status == MediaStatus.PENDING, c.attempts >= failing_after)
        .order_by(c.id)
        .limit(shown)
    )
    given_up = await session.scalar(
        select(func.count()).where(c.status == MediaStatus.FAILED)
    )
    left = await session.scalar(select(func.count()).where(c.provider_delete.is_(True)))
    return MediaCounts(
        by_status=[(status.value, n) for status, n in counts],
        failing=[(i, ch.value, n, err, at) for i, ch, n, err, at in failing],
        given_up=int(given_up or 0),
        provider_copies_left=int(left or 0),
    )


async def failing_count(session: AsyncSession, *, failing_after: int = 3) -> int:
    c = MEDIA.c
    return int(
        await session.scalar(
            select(func.count()).where(
                c.status == MediaStatus.PENDING, c.attempts >= failing_after
            )
        )
        or 0
    )


