"""A kelompok's meeting rule (and the future meetings it planned, re-planned when it
changes), moving or cancelling its next planned meeting."""

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
from models.rules.calendar import rule_day
from models.scope import OutOfScope
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
    day_of_month: int | None = None


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
        day_of_month=kelompok.rule_day_of_month,
    )


async def set_rule(
    session: AsyncSession,
    staff: Staff,
    kelompok_id: int,
    *,
    weekday: int | None,
    week_of_month: int | None,
    at: time,
    place: str | None,
    today: date,
    day_of_month: int | None = None,
    now: datetime,
) -> list[int]:
    """Set the rule, and re-plan the kelompok's planned meetings from ``today`` on to it
    (each on the new rule's day of its month, that day not yet past); returns the ids of
    the meetings that changed, whose reminders the caller re-times."""
    kelompok = await group_in_scope(session, staff, kelompok_id)
    before = _rule_of(
        kelompok.rule_weekday,
        kelompok.rule_week_of_month,
        kelompok.rule_time,
        kelompok.rule_day_of_month,
    )
    kelompok.rule_weekday, kelompok.rule_week_of_month = weekday, week_of_month
    kelompok.rule_day_of_month = day_of_month
    kelompok.rule_time = at
    if place:
        kelompok.place = place
    zone = (await kelompok_timezones(session, [kelompok.id])).get(kelompok.id, "Asia/Jakarta")
    future = await session.scalars(
        select(Meeting).where(
            Meeting.kelompok_id == kelompok.id,
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.meeting_date >= today,
        )
    )
    changed: list[int] = []
    for meeting in future:
        day = rule_day(
            meeting.meeting_date.year, meeting.meeting_date.month, weekday, week_of_month,
            day_of_month,
        )
        starts_at = datetime.combine(day, at, ZoneInfo(zone))
        new_place = place or meeting.place
        if day < today or (starts_at, new_place) == (meeting.starts_at, meeting.place):
            continue
        meeting.meeting_date, meeting.starts_at, meeting.place = day, starts_at, new_place
        meeting.updated_at = now
        changed.append(meeting.id)
    await session.flush()
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="kelompok.rule",
        entity="kelompok",
        entity_id=kelompok.id,
        detail={
            "before": before,
            "after": _rule_of(weekday, week_of_month, at, day_of_month),
            "replanned": changed,
        },
        at=now,
    )
    return changed


def _rule_of(
    weekday: int | None, week_of_month: int | None, at: time | None, day_of_month: int | None
) -> list[object]:
    """A rule as the audit keeps it: [weekday, week, "HH:MM"], and the date of the month
    when it is one."""
    rule: list[object] = [weekday, week_of_month, at.strftime("%H:%M") if at else None]
    return rule if day_of_month is None else [*rule, day_of_month]


async def cancel_meeting(
    session: AsyncSession, staff: Staff, kelompok_id: int, meeting_id: int, *, now: datetime
) -> Meeting:
    """Cancel a planned meeting of the kelompok: it is neither planned nor held any more,
    and keeps its plan key (the planner never plans that month again)."""
    kelompok = await group_in_scope(session, staff, kelompok_id)
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None or meeting.kelompok_id != kelompok.id:
        raise OutOfScope(f"meeting {meeting_id}")
    if meeting.status is not MeetingStatus.PLANNED:
        raise MeetingNotPlanned(meeting.status.value)
    meeting.status, meeting.updated_at = MeetingStatus.CANCELLED, now
    await session.flush()
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="meeting.cancel",
        entity="meeting",
        entity_id=meeting.id,
        detail={"before": {"status": "planned"}, "after": {"status": "cancelled"}},
        at=now,
    )
    return meeting


class MeetingNotPlanned(ValueError):
    """The meeting is held or cancelled already: there is nothing to cancel."""


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
