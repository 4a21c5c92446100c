"""RSVPs: a KPM's answer to a meeting reminder, and the pendamping's overview of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.attendance import group_in_scope, members_of
from models.audit import audit
from models.db.statements import upsert_insert
from models.enums import MeetingStatus, RsvpAnswer
from models.kpm_messages import wrote_since
from models.messaging.sweeps import addressed
from models.tables import Kpm, Meeting, Rsvp, Staff

RSVP_HORIZON = timedelta(days=10)


async def pending_meeting(session: AsyncSession, kpm_id: int, now: datetime) -> Meeting | None:
    """The next planned meeting of the KPM's group, if it is close enough to answer for."""
    return await session.scalar(
        select(Meeting)
        .join(Kpm, Kpm.kelompok_id == Meeting.kelompok_id)
        .where(
            Kpm.id == kpm_id,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.starts_at > now,
            Meeting.starts_at <= now + RSVP_HORIZON,
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    )


async def record_rsvp(
    session: AsyncSession,
    meeting_id: int,
    kpm_id: int,
    answer: RsvpAnswer,
    reason: str | None,
    *,
    now: datetime,
    answered_by: int | None = None,
) -> None:
    """Record (or replace) a KPM's answer; ``answered_by``: the ketua kelompok who
    answered for them (None: they answered themselves)."""
    statement = upsert_insert(session.bind.dialect.name)(Rsvp).values(
        meeting_id=meeting_id, kpm_id=kpm_id, answer=answer, reason=reason, answered_at=now,
        answered_by_kpm_id=answered_by,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["meeting_id", "kpm_id"],
            set_={
                "answer": statement.excluded.answer,
                "reason": statement.excluded.reason,
                "answered_at": statement.excluded.answered_at,
                "answered_by_kpm_id": statement.excluded.answered_by_kpm_id,
            },
        )
    )
    detail: dict[str, object] = {"kpm_id": kpm_id, "answer": answer.value}
    if answered_by is not None:
        detail["answered_by_kpm_id"] = answered_by
    await audit(
        session,
        actor="kpm",
        action="rsvp.answer",
        entity="meeting",
        entity_id=meeting_id,
        detail=detail,
    )


async def has_answered(session: AsyncSession, meeting_id: int, kpm_id: int) -> bool:
    return (
        await session.scalar(
            select(Rsvp.id).where(Rsvp.meeting_id == meeting_id, Rsvp.kpm_id == kpm_id)
        )
    ) is not None


async def add_reason(
    session: AsyncSession, meeting_id: int, kpm_id: int, reason: str, *, since: datetime
) -> bool:
    """Attach a reason to a "tidak bisa" given without one at or after ``since``, when this
    is the KPM's very next message (no pesan KPM came in between); False otherwise."""
    rsvp = await session.scalar(
        select(Rsvp).where(
            Rsvp.meeting_id == meeting_id,
            Rsvp.kpm_id == kpm_id,
            Rsvp.answer == RsvpAnswer.TIDAK,
            Rsvp.reason.is_(None),
            Rsvp.answered_at >= since,
        )
    )
    if rsvp is None or await wrote_since(session, kpm_id, rsvp.answered_at):
        return False
    rsvp.reason = reason
    return True


@dataclass(frozen=True)
class RsvpOverview:
    meeting_id: int
    starts_at: datetime
    coming: list[str]
    declined: list[tuple[str, str | None]]
    unanswered: list[str]
    # Of ``coming`` and ``declined``, in the same order: the ketua kelompok who answered
    # for the KPM ("Ibu Rina Wati"), None when the KPM answered themselves.
    coming_by: list[str | None] = field(default_factory=list)
    declined_by: list[str | None] = field(default_factory=list)


async def rsvp_overview(
    session: AsyncSession, staff: Staff, kelompok_id: int, now: datetime
) -> RsvpOverview | None:
    """Who confirmed, who declined (and why) and who has not answered, for the group's
    next planned meeting; None when none is planned."""
    kelompok = await group_in_scope(session, staff, kelompok_id)
    meeting = await session.scalar(
        select(Meeting)
        .where(
            Meeting.kelompok_id == kelompok.id,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.starts_at > now,
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    )
    if meeting is None:
        return None
    ketua = aliased(Kpm)
    answers = {
        kpm_id: (answer, reason, addressed(nik, name) if name is not None else None)
        for kpm_id, answer, reason, nik, name in await session.execute(
            select(Rsvp.kpm_id, Rsvp.answer, Rsvp.reason, ketua.nik, ketua.nama_pengurus)
            .outerjoin(ketua, ketua.id == Rsvp.answered_by_kpm_id)
            .where(Rsvp.meeting_id == meeting.id)
        )
    }
    coming, declined, unanswered = [], [], []
    coming_by: list[str | None] = []
    declined_by: list[str | None] = []
    for kpm_id, name in await members_of(session, kelompok.id):
        answer = answers.get(kpm_id)
        if answer is None:
            unanswered.append(name)
        elif answer[0] is RsvpAnswer.HADIR:
            coming.append(name)
            coming_by.append(answer[2])
        else:
            declined.append((name, answer[1]))
            declined_by.append(answer[2])
    return RsvpOverview(
        meeting.id, meeting.starts_at, coming, declined, unanswered, coming_by, declined_by
    )
