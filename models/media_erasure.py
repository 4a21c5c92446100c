"""Photos and files leaving the database: a family's on erasure, everyone's past their
retention. The rows go in the caller's transaction; the files behind them (a media store)
go through :data:`MEDIA_ERASERS`, hooks run just before the rows are deleted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import CaseNote, CommitmentCheck, MediaAttachment


@dataclass(frozen=True)
class MediaRow:
    """A ``media_attachment`` row: a case photo or a meeting photo (dokumentasi)."""

    id: int
    case_id: int | None
    meeting_id: int | None
    media_ref: str
    content_type: str | None
    created_at: datetime


@dataclass(frozen=True)
class MediaErasure:
    """What is about to leave: the attachment rows to be deleted and the commitment
    evidence references (``commitment_check.evidence_ref``, a photo of the buku KIA) to be
    cleared; ``kpm_id`` is the family erased, None when retention removes them."""

    kpm_id: int | None
    attachments: tuple[MediaRow, ...]
    evidence_refs: tuple[str, ...] = ()

    @property
    def refs(self) -> tuple[str, ...]:
        """Every reference leaving, attachments' first."""
        return (*(row.media_ref for row in self.attachments), *self.evidence_refs)


MediaEraser = Callable[[AsyncSession, MediaErasure], Awaitable[None]]
"""A hook that deletes what a media store keeps for these references (the files, their
``media_file`` rows), in the same transaction as the rows; it must not commit."""

MEDIA_ERASERS: list[MediaEraser] = []
"""The hooks run on every erasure and retention pass (empty until a media store adds
itself at start-up: ``MEDIA_ERASERS.append(store.erase)``)."""


def _rows(found: Sequence[MediaAttachment]) -> tuple[MediaRow, ...]:
    return tuple(
        MediaRow(m.id, m.case_id, m.meeting_id, m.media_ref, m.content_type, m.created_at)
        for m in found
    )


async def family_media(session: AsyncSession, kpm_id: int) -> tuple[MediaRow, ...]:
    """The ``media_attachment`` rows of a family: the photos of its cases."""
    cases = select(CaseNote.id).where(CaseNote.kpm_id == kpm_id)
    found = await session.scalars(
        select(MediaAttachment).where(MediaAttachment.case_id.in_(cases)).order_by(MediaAttachment.id)
    )
    return _rows(list(found))


async def family_evidence(session: AsyncSession, kpm_id: int) -> tuple[str, ...]:
    """The commitment evidence photos of a family (their references)."""
    found = await session.scalars(
        select(CommitmentCheck.evidence_ref).where(
            CommitmentCheck.kpm_id == kpm_id, CommitmentCheck.evidence_ref.is_not(None)
        )
    )
    return tuple(ref for ref in found if ref)


async def media_before(session: AsyncSession, cutoff: datetime, limit: int) -> tuple[MediaRow, ...]:
    """Up to ``limit`` attachment rows made before ``cutoff``, oldest first."""
    found = await session.scalars(
        select(MediaAttachment)
        .where(MediaAttachment.created_at < cutoff)
        .order_by(MediaAttachment.id)
        .limit(limit)
    )
    return _rows(list(found))


async def erase_media(
    session: AsyncSession,
    erasure: MediaErasure,
    *,
    erasers: Sequence[MediaEraser] | None = None,
) -> int:
    """Run the hooks (default :data:`MEDIA_ERASERS`), then delete the attachment rows and
    clear the evidence references of the family (or of the rows given); returns the
    attachments deleted."""
    for eraser in MEDIA_ERASERS if erasers is None else erasers:
        await eraser(session, erasure)
    ids = [row.id for row in erasure.attachments]
    for start in range(0, len(ids), 500):
        await session.execute(
            delete(MediaAttachment).where(MediaAttachment.id.in_(ids[start : start + 500]))
        )
    if erasure.kpm_id is not None and erasure.evidence_refs:
        await session.execute(
            update(CommitmentCheck)
            .where(CommitmentCheck.kpm_id == erasure.kpm_id)
            .values(evidence_ref=None)
        )
    return len(ids)
