"""A kelompok's meeting rule and moving its next planned meeting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.attendance import DEFAULT_MEETING_TIME, group_in_scope
from models.audit import audit
from models.enums import MeetingStatus
from models.regions import kelompok_timezones
from models.tables import Meeting, Staff


@dataclass(frozen=True)
class ScheduleView:
    kelompok_id: int
    name: str
    weekday: int | None
    week_of_month: int | None
    at: time | None
    place: str | None
    next_meeting_id: int | None
    next_date: date | None
    next_place: str | None


async def schedule_of(
    session: AsyncSession, staff: Staff, kelompok_id: int, today: date
) -> ScheduleView:
    kelompok = await group_in_scope(session, staff, kelompok_id)
    upcoming = await session.scalar(
        select(Meeting)
        .where(
            Meeting.kelompok_id == kelompok.id,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.meeting_date >= today,
        )
        .order_by(Meeting.meeting_date)
        .limit(1)
    )
    return ScheduleView(
        kelompok_id=kelompok.id,
        name=kelompok.name,
        weekday=kelompok.rule_weekday,
        week_of_month=kelompok.rule_week_of_month,
        at=kelompok.rule_time,
        place=kelompok.place,
        next_meeting_id=upcoming.id if upcoming else None,
        next_date=upcoming.meeting_date if upcoming else None,
        next_place=upcoming.place if upcoming else None,
    )


async def set_rule(
    session: AsyncSession,
    staff: Staff,
    kelompok_id: int,
    *,
    weekday: int,
    week_of_month: int,
    at: time,
    place: str | None,
) -> None:
    kelompok = await group_in_scope(session, staff, kelompok_id)
    kelompok.rule_weekday, kelompok.rule_week_of_month = weekday, week_of_month
    kelompok.rule_time = at
    if place:
        kelompok.place = place
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="kelompok.rule",
        entity="kelompok",
        entity_id=kelompok.id,
    )


async def move_meeting(
    session: AsyncSession,
    staff: Staff,
    kelompok_id: int,
    meeting_id: int | None,
    *,
    day: date,
    at: time | None,
    place: str | None,
    now: datetime,
) -> int:
    """Move the next planned meeting (or plan one when there is none) to ``day``."""
    kelompok = await group_in_scope(session, staff, kelompok_id)
    zone = (await kelompok_timezones(session, [kelompok.id])).get(kelompok.id, "Asia/Jakarta")
    meeting = await session.get(Meeting, meeting_id) if meeting_id else None
    if meeting is None or meeting.kelompok_id != kelompok.id:
        meeting = Meeting(
            kelompok_id=kelompok.id,
            status=MeetingStatus.PLANNED,
            created_by_id=staff.id,
            created_at=now,
            place=kelompok.place,
        )
        session.add(meeting)
    clock_time = at or kelompok.rule_time or DEFAULT_MEETING_TIME
    meeting.meeting_date = day
    meeting.starts_at = datetime.combine(day, clock_time, ZoneInfo(zone))
    if place:
        meeting.place = place
    meeting.updated_at = now
    await session.flush()
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="meeting.move",
        entity="meeting",
        entity_id=meeting.id,
    )
    return meeting.id
