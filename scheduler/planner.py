"""The meeting planner: the next meetings of every kelompok, from its monthly rule.

A meeting is planned per kelompok and month (``plan_key`` "2026-12"), on the rule's date in
the kelompok's own time zone. The unique (kelompok, plan key) makes planning idempotent: a
meeting the pendamping moved or cancelled keeps its plan key, so it is never planned again.
A rule date on a holiday (national, cuti bersama, or a regional one of the kelompok's
region: the configured :class:`~models.rules.calendar.HolidayCalendar`) is still planned,
and the pendamping is told once, with the next working day there offered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import Channel, MeetingStatus
from models.meeting_plan import (
    KelompokRule,
    insert_meetings,
    kelompok_rules,
    meeting_ids_by_plan,
    planned_keys,
)
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.sweeps import staff_addresses
from models.rules.calendar import (
    NATIONAL_CALENDAR,
    HolidayCalendar,
    after_quiet_hours,
    day_text,
    local_datetime,
    rule_dates,
    zone,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanReport:
    kelompok: int  # with a complete rule
    created: int  # meetings added by this run
    on_holidays: int  # planned meetings (new or not) that fall on a holiday
    holiday_notices: int  # messages to pendamping enqueued by this run


@dataclass(frozen=True)
class _Planned:
    rule: KelompokRule
    day: date

    @property
    def plan_key(self) -> str:
        return f"{self.day:%Y-%m}"


def _due_dates(rules: list[KelompokRule], now: datetime, horizon_days: int) -> list[_Planned]:
    planned = []
    for rule in rules:
        today = now.astimezone(zone(rule.zone)).date()
        last = today + timedelta(days=horizon_days)
        for day in rule_dates(rule.weekday, rule.week_of_month, today, last, rule.day_of_month):
            planned.append(_Planned(rule, day))
    return planned


async def plan_meetings(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    horizon_days: int = 45,
    quiet_start: time = time(21, 0),
    quiet_end: time = time(6, 0),
    calendar: HolidayCalendar = NATIONAL_CALENDAR,
) -> PlanReport:
    """Make sure every kelompok with a complete rule has a meeting for each month whose rule
    date is within ``[today, today + horizon_days]`` (local dates); tell the pendamping of
    those on a holiday of ``calendar`` in the kelompok's region (outside quiet hours, local
    to the kelompok)."""
    async with sessions.begin() as session:
        rules = await kelompok_rules(session)
        wanted = _due_dates(rules, now, horizon_days)
        existing = await planned_keys(session, {p.plan_key for p in wanted})
        rows = [
            {
                "kelompok_id": p.rule.kelompok_id,
                "meeting_date": p.day,
                "starts_at": local_datetime(p.day, p.rule.at, p.rule.zone),
                "place": p.rule.place,
                "status": MeetingStatus.PLANNED,
                "plan_key": p.plan_key,
                "created_at": now,
                "updated_at": now,
            }
            for p in wanted
            if (p.rule.kelompok_id, p.plan_key) not in existing
        ]
        created = await insert_meetings(session, rows)
        on_holidays = [p for p in wanted if calendar.is_holiday(p.day, p.rule.region_code)]
        notices = await _tell_holidays(
            session, on_holidays, now, (quiet_start, quiet_end), calendar
        )
    log.info(
        "planner: %d kelompok, %d meetings created, %d on holidays, %d notices",
        len(rules),
        created,
        len(on_holidays),
        notices,
    )
    return PlanReport(len(rules), created, len(on_holidays), notices)


async def _tell_holidays(
    session: AsyncSession,
    planned: list[_Planned],
    now: datetime,
    quiet: tuple[time, time],
    calendar: HolidayCalendar,
) -> int:
    """One message per meeting still on its holiday date, to its pendamping."""
    if not planned:
        return 0
    meetings = await meeting_ids_by_plan(
        session, [(p.rule.kelompok_id, p.plan_key) for p in planned]
    )
    addresses = await staff_addresses(session, [p.rule.pendamping_id for p in planned])
    messages = []
    for p in planned:
        found = meetings.get((p.rule.kelompok_id, p.plan_key))
        reach = addresses.get(p.rule.pendamping_id) if p.rule.pendamping_id else None
        if found is None or reach is None:
            continue
        meeting_id, day, status = found
        if day != p.day or status is not MeetingStatus.PLANNED:
            continue  # already moved or cancelled by the pendamping
        local_now = now.astimezone(zone(p.rule.zone))
        not_before = after_quiet_hours(local_now, *quiet).astimezone(UTC)
        messages.append(_holiday_message(p, meeting_id, reach, not_before, calendar))
    return await enqueue(session, messages, now=now)


def _holiday_message(
    planned: _Planned,
    meeting_id: int,
    reach: tuple[Channel, str],
    not_before: datetime,
    calendar: HolidayCalendar,
) -> Enqueue:
    region = planned.rule.region_code
    holiday = calendar.is_holiday(planned.day, region) or ""
    alternative = calendar.next_working_day(planned.day, region)
    values = {
        "kelompok": planned.rule.name,
        "date": day_text(planned.day),
        "holiday": holiday,
        "next_day": day_text(alternative),
    }
    channel, address = reach
    return Enqueue(
        channel=channel,
        address=address,
        kind="alert",
        payload={
            "key": "planner.holiday",
            "values": values,
            "meeting_id": meeting_id,
            "options": [
                {
                    "value": f"move:{meeting_id}:{alternative.isoformat()}",
                    "label": values["next_day"],
                    "key": "planner.holiday.move",
                    "values": {"date": values["next_day"]},
                }
            ],
        },
        priority=Priority.ALERT,
        dedupe_key=f"holiday:{meeting_id}",
        not_before=not_before,
        deadline_at=local_datetime(planned.day, planned.rule.at, planned.rule.zone),
    )
