"""Alerts to the pendamping: a KPM's last komponen ends soon or has ended (graduasi
alamiah), a KPM absent several meetings in a row, and a member's commitment not met in
consecutive verification periods (peringatan 1, 2, ... ``warning_levels``; the last one
also to the coordinators over the KPM and the pendamping's supervisor).

Each goes to the one chat address the pendamping last wrote from, once per event: the
dedupe key names the KPM and the end date (a corrected end date is a new event), the
first missed meeting of the streak (a longer streak is the same one; a new streak after a
meeting attended is a new one), or the member, the commitment, the streak's first period
and the level (a longer streak is the next level; one met starts a new streak). Alerts
wait for the end of quiet hours local to the kelompok.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.cases import escalation_addresses
from models.commitment_history import NotMetStreak, not_met_streaks
from models.db import READ_ONLY
from models.enums import Channel
from models.meeting_changes import QUIET
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.reminder_changes import existing_keys
from models.messaging.sweeps import staff_addresses, staff_names, staff_regions
from models.regions import kelompok_timezones
from models.rules.calendar import after_quiet_hours, day_text, zone
from models.rules.commitments import CommitmentRules
from models.rules.komponen import KomponenCatalog
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
    commitment_streaks: int = 0  # members not meeting a commitment, recent periods in a row
    commitment_last_level: int = 0  # of which at the last warning level (coordinators too)


@dataclass(frozen=True)
class _Alert:
    staff_id: int | None
    kelompok_id: int | None
    key: str
    values: dict[str, Any]
    dedupe_key: str


async def enqueue_alerts(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    horizon_days: int,
    absence_streak: int,
    quiet_start: time = QUIET[0],
    quiet_end: time = QUIET[1],
    commitments: CommitmentRules | None = None,
    catalog: KomponenCatalog | None = None,
) -> AlertReport:
    """Enqueue the graduation, absence-streak and (with ``commitments``) commitment
    alerts not sent yet; ``catalog`` names the komponen in the commitment alerts."""
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
        warned: list[NotMetStreak] = []
        last_level = 0
        if commitments is not None:
            warned = await _not_met(session, commitments, today)
            last_level = sum(1 for s in warned if s.periods >= commitments.warning_levels)
            alerts += await _commitment_alerts(session, warned, commitments, catalog)
        addresses = await staff_addresses(session, [a.staff_id for a in alerts])
        regions = await staff_regions(session, addresses)
        zones = await kelompok_timezones(
            session, {a.kelompok_id for a in alerts if a.kelompok_id is not None}
        )
    quiet = (quiet_start, quiet_end)
    messages = [
        _message(
            alert, addresses[alert.staff_id], _not_before(now, zones, alert, quiet),
            regions.get(alert.staff_id),
        )
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
        commitment_streaks=len(warned),
        commitment_last_level=last_level,
    )
    log.info(
        "alerts: %d graduating soon, %d graduated, %d absence streaks, %d commitment "
        "streaks (%d at the last level), %d enqueued, %d unreachable",
        report.graduation_soon,
        report.graduation_ended,
        report.absence_streaks,
        report.commitment_streaks,
        report.commitment_last_level,
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
        dedupe_key=f"absence:{streak.kpm_id}:{streak.since or 'never'}",
    )


async def _not_met(
    session: AsyncSession, rules: CommitmentRules, today: date
) -> list[NotMetStreak]:
    """The streaks whose last period is the current or the previous one: an older
    streak is old news."""
    since = rules.before(rules.period_of(today)).start
    return await not_met_streaks(session, since=since)


def _level(streak: NotMetStreak, rules: CommitmentRules) -> int:
    return min(streak.periods, rules.warning_levels)


def _warning_key(streak: NotMetStreak, level: int) -> str:
    return (
        f"commitment:{streak.komponen_id}:{streak.commitment}:"
        f"{streak.first_period.isoformat()}:{level}"
    )


async def _commitment_alerts(
    session: AsyncSession,
    streaks: list[NotMetStreak],
    rules: CommitmentRules,
    catalog: KomponenCatalog | None,
) -> list[_Alert]:
    """Peringatan N to each pendamping; at the last level, to the coordinators over the
    KPM and the pendamping's supervisor too (asked only for streaks not alerted yet)."""
    levels = rules.warning_levels
    alerts = [_warning(s, rules, catalog) for s in streaks]
    last = {_warning_key(s, levels): s for s in streaks if s.periods >= levels}
    done = await existing_keys(session, list(last)) if last else set()
    pending = [s for key, s in last.items() if key not in done]
    if not pending:
        return alerts
    names = await staff_names(session, {s.pendamping_id for s in pending})
    for streak in pending:
        pendamping = names.get(streak.pendamping_id) if streak.pendamping_id else None
        told = {
            staff_id
            for staff_id, _, _ in await escalation_addresses(session, streak.kpm_id)
            if staff_id != streak.pendamping_id
        }
        alerts += [
            _escalation(streak, staff_id, pendamping, rules, catalog)
            for staff_id in sorted(told)
        ]
    return alerts


def _warning_values(
    streak: NotMetStreak, rules: CommitmentRules, catalog: KomponenCatalog | None
) -> dict[str, Any]:
    kind = streak.komponen_type
    return {
        "level": _level(streak, rules),
        "levels": rules.warning_levels,
        "kpm": streak.kpm_name,
        "kelompok": streak.kelompok,
        "commitment": rules.label(streak.commitment),
        "komponen": catalog.label(kind) if catalog is not None else kind,
        "periods": streak.periods,
        "period": rules.period_of(streak.last_period).label(),
    }


def _warning(
    streak: NotMetStreak, rules: CommitmentRules, catalog: KomponenCatalog | None
) -> _Alert:
    level = _level(streak, rules)
    last = level >= rules.warning_levels
    return _Alert(
        staff_id=streak.pendamping_id,
        kelompok_id=streak.kelompok_id,
        key="alert.commitment_warning_last" if last else "alert.commitment_warning",
        values=_warning_values(streak, rules, catalog),
        dedupe_key=_warning_key(streak, level),
    )


def _escalation(
    streak: NotMetStreak,
    staff_id: int,
    pendamping: str | None,
    rules: CommitmentRules,
    catalog: KomponenCatalog | None,
) -> _Alert:
    level = _level(streak, rules)
    return _Alert(
        staff_id=staff_id,
        kelompok_id=streak.kelompok_id,
        key="alert.commitment_escalated",
        values={**_warning_values(streak, rules, catalog), "pendamping": pendamping or "-"},
        dedupe_key=f"{_warning_key(streak, level)}:staff:{staff_id}",
    )


def _not_before(
    now: datetime, zones: dict[int, str], alert: _Alert, quiet: tuple[time, time]
) -> datetime:
    zone_name = zones.get(alert.kelompok_id) if alert.kelompok_id is not None else None
    local_now = now.astimezone(zone(zone_name))
    return after_quiet_hours(local_now, *quiet).astimezone(UTC)


def _message(
    alert: _Alert, reach: tuple[Channel, str], not_before: datetime, region: str | None = None
) -> Enqueue:
    channel, address = reach
    return Enqueue(
        channel=channel,
        address=address,
        kind=KIND,
        payload={"key": alert.key, "values": alert.values},
        priority=Priority.ALERT,
        dedupe_key=alert.dedupe_key,
        not_before=not_before,
        region=region,
    )
