"""Alerts to the pendamping: a KPM's last komponen ends soon or has ended (graduasi
alamiah), and a KPM absent several meetings in a row.

Each goes to the one chat address the pendamping last wrote from, once per event: the
dedupe key names the KPM and the end date (a corrected end date is a new event) or the
first missed meeting of the streak (a longer streak is the same one; a new streak after a
meeting attended is a new one). Alerts wait for the end of quiet hours local to the
kelompok.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import READ_ONLY
from models.enums import Channel
from models.meeting_changes import QUIET
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.sweeps import staff_addresses
from models.regions import kelompok_timezones
from models.rules.calendar import after_quiet_hours, day_text, zone
from reporting.absence import AbsenceStreak, absence_streaks
from reporting.graduation import AlamiahEvent, alamiah_events

log = logging.getLogger(__name__)
KIND = "alert"
BEHIND_OF_UTC = timedelta(hours=7)  # WIB, the zone whose day begins last
ENDED_CATCH_UP = timedelta(days=30)  # "has ended" is said for komponen ended this recently
STREAK_CATCH_UP = timedelta(days=60)  # streaks whose last missed meeting is this recent


@dataclass(frozen=True)
class AlertReport:
    graduation_soon: int  # KPM whose last komponen ends within the horizon
    graduation_ended: int  # KPM whose last komponen has ended
    absence_streaks: int  # KPM absent the configured number of meetings in a row
    enqueued: int  # added to the outbox by this run (the rest were sent before)
    unreachable: int  # alerts whose pendamping has no linked chat


@dataclass(frozen=True)
class _Alert:
    staff_id: int | None
    kelompok_id: int | None
    key: str
    values: dict[str, Any]
    variables: tuple[str, ...]
    dedupe_key: str


async def enqueue_alerts(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    horizon_days: int,
    absence_streak: int,
    quiet_start: time = QUIET[0],
    quiet_end: time = QUIET[1],
) -> AlertReport:
    """Enqueue the graduation and absence-streak alerts not sent yet."""
    # A day counts as begun once it has begun everywhere: "ended" is never said early.
    today = (now + BEHIND_OF_UTC).date()
    async with sessions() as session:  # read without holding SQLite's write lock
        await session.connection(execution_options=READ_ONLY)
        events = await alamiah_events(session, None, today=today, horizon_days=horizon_days)
        # A komponen that ended long before the first run is old news, not an alert.
        events = [e for e in events if not e.ended or e.end_date >= today - ENDED_CATCH_UP]
        streaks = await absence_streaks(session, None, min_streak=absence_streak)
        # A streak whose last missed meeting is long past is not news either.
        streaks = [s for s in streaks if s.last_meeting_date >= today - STREAK_CATCH_UP]
        alerts = [_graduation(e) for e in events] + [_absence(s) for s in streaks]
        addresses = await staff_addresses(session, [a.staff_id for a in alerts])
        zones = await kelompok_timezones(
            session, {a.kelompok_id for a in alerts if a.kelompok_id is not None}
        )
    quiet = (quiet_start, quiet_end)
    messages = [
        _message(alert, addresses[alert.staff_id], _not_before(now, zones, alert, quiet))
        for alert in alerts
        if alert.staff_id in addresses
    ]
    async with sessions.begin() as session:
        enqueued = await enqueue(session, messages, now=now)
    ended = sum(1 for event in events if event.ended)
    report = AlertReport(
        graduation_soon=len(events) - ended,
        graduation_ended=ended,
        absence_streaks=len(streaks),
        enqueued=enqueued,
        unreachable=len(alerts) - len(messages),
    )
    log.info(
        "alerts: %d graduating soon, %d graduated, %d absence streaks, %d enqueued, "
        "%d unreachable",
        report.graduation_soon,
        report.graduation_ended,
        report.absence_streaks,
        report.enqueued,
        report.unreachable,
    )
    return report


def _graduation(event: AlamiahEvent) -> _Alert:
    kind = "ended" if event.ended else "soon"
    return _Alert(
        staff_id=event.pendamping_id,
        kelompok_id=event.kelompok_id,
        key="alert.graduation_ended" if event.ended else "alert.graduation_soon",
        values={"kpm": event.name, "kelompok": event.kelompok, "date": day_text(event.end_date)},
        variables=("kpm", "kelompok", "date"),
        dedupe_key=f"grad-{kind}:{event.kpm_id}:{event.end_date.isoformat()}",
    )


def _absence(streak: AbsenceStreak) -> _Alert:
    return _Alert(
        staff_id=streak.pendamping_id,
        kelompok_id=streak.kelompok_id,
        key="alert.absence_streak",
        values={
            "kpm": streak.name,
            "kelompok": streak.kelompok,
            "streak": streak.streak,
            "date": day_text(streak.last_meeting_date),
        },
        variables=("kpm", "kelompok", "streak", "date"),
        dedupe_key=f"absence:{streak.kpm_id}:{streak.since or 'never'}",
    )


def _not_before(
    now: datetime, zones: dict[int, str], alert: _Alert, quiet: tuple[time, time]
) -> datetime:
    zone_name = zones.get(alert.kelompok_id) if alert.kelompok_id is not None else None
    local_now = now.astimezone(zone(zone_name))
    return after_quiet_hours(local_now, *quiet).astimezone(UTC)


def _message(alert: _Alert, reach: tuple[Channel, str], not_before: datetime) -> Enqueue:
    channel, address = reach
    variables = {
        str(n): str(alert.values[name] or "-") for n, name in enumerate(alert.variables, 1)
    }
    return Enqueue(
        channel=channel,
        address=address,
        kind=KIND,
        payload={"key": alert.key, "values": alert.values, "template_variables": variables},
        priority=Priority.ALERT,
        dedupe_key=alert.dedupe_key,
        not_before=not_before,
    )
