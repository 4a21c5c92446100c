"""The demo's ketua relays: for each kelompok meeting within the next days, its ketua
kelompok (on WhatsApp) answered for the members who have no phone, the first "hadir",
the next "tidak bisa, sakit", so that /konfirmasi shows who answered for whom."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.demo.plan import PlannedGroup
from models.enums import KpmStatus, MeetingStatus, RsvpAnswer
from models.tables import Meeting, Rsvp

ANSWERS = ((RsvpAnswer.HADIR, None), (RsvpAnswer.TIDAK, "sakit"))
HORIZON = timedelta(days=9)  # the meetings a ketua may answer for


async def write_relays(
    session: AsyncSession, groups: list[PlannedGroup], today: date, at: datetime
) -> int:
    """Relayed RSVPs for the no-phone members of the meetings planned from ``today`` on,
    answered at ``at``; returns how many."""
    planned = dict(
        (await session.execute(
            select(Meeting.kelompok_id, Meeting.id).where(
                Meeting.kelompok_id.in_([g.id for g in groups]),
                Meeting.status == MeetingStatus.PLANNED,
                Meeting.meeting_date >= today,
                Meeting.meeting_date <= today + HORIZON,
            )
        )).tuples().all()
    )
    rows = []
    for group in groups:
        meeting_id = planned.get(group.id)
        ketua = next((m for m in group.members if m.special == "ketua"), None)
        if meeting_id is None or ketua is None or not ketua.row["phone"]:
            continue
        no_phone = [m for m in group.members if m is not ketua and not m.row["phone"]
                    and m.row["status"] is KpmStatus.AKTIF]
        for member, (answer, reason) in zip(no_phone, ANSWERS, strict=False):
            rows.append({"meeting_id": meeting_id, "kpm_id": member.id, "answer": answer,
                         "reason": reason, "answered_at": at, "answered_by_kpm_id": ketua.id})
    if rows:
        await session.execute(insert(Rsvp), rows)
    return len(rows)
