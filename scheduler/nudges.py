"""Nudges to the pendamping: the morning of a meeting, attendance not recorded a day after
it, a case whose follow-up date has come, a pesan KPM left unanswered too long, near
the end of a verification period the commitment checks still to do (one per pendamping
and period, with the count per kelompok), and once a week, on the configured weekday's
morning, the advocacy line: how many families still need a complementary programme (one
per pendamping and ISO week, only when there are any); and the morning after KPM of theirs
were switched to SMS (their number is not on WhatsApp), one line naming them (one per
pendamping and day, only when there are any, each switch told once).

Each goes to the one chat address the pendamping last wrote from, once (dedupe key per
meeting or case), outside quiet hours local to the kelompok. A sweep that did not run for a
while catches up on the last ``catch_up_days`` only, so a first start does not flood anyone
with old news.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.bansos import PendampingNeeds, needs_per_pendamping
from models.commitments import commitment_counts
from models.db import READ_ONLY
from models.enums import Channel
from models.kpm_messages import Unanswered, unanswered_between
from models.meeting_changes import QUIET, meeting_version
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.reminder_changes import existing_keys
from models.messaging.sms_fallback import Switched, mark_told, switches_not_told
from models.messaging.sweeps import (
    FollowUp,
    HeldKelompok,
    MeetingInfo,
    follow_ups_between,
    held_kelompok,
    kelompok_not_told,
    planned_meetings_between,
    staff_addresses,
    staff_regions,
)
from models.reach_view import meeting_reach
from models.rules.calendar import after_quiet_hours, day_text, time_text, zone
from models.rules.commitments import CommitmentRules, Period
from models.rules.text import shorten

log = logging.getLogger(__name__)
KIND = "pendamping_nudge"
AHEAD_OF_UTC = timedelta(hours=9)  # WIT, the zone whose day begins first
BEHIND_OF_UTC = timedelta(hours=7)  # WIB, the zone whose day begins last


@dataclass(frozen=True)
class NudgeReport:
    today: int  # meeting-day nudges due (today's and tomorrow's meetings)
    no_attendance: int  # meetings a day past without attendance
    follow_ups: int  # cases whose follow-up date has come
    enqueued: int  # added to the outbox by this run
    unreachable: int  # nudges whose pendamping has no linked chat
    pesan: int = 0  # pesan KPM unanswered past ``pesan_after``
    commitments: int = 0  # pendamping with commitment checks still to do near a period's end
    advocacy: int = 0  # pendamping told this week how many families still need a programme
    sms_switched: int = 0  # pendamping told this morning of KPM switched to SMS
    reach: int = 0  # meeting days with members no reminder reaches directly, named to them


@dataclass(frozen=True)
class Advocacy:
    """The weekly advocacy line: the complementary programmes (key, label) in their
    configured order, and the weekday (0 = Monday) on whose morning it goes out."""

    programmes: tuple[tuple[str, str], ...]
    weekday: int = 0


@dataclass(frozen=True)
class _Nudge:
    staff_id: int | None
    key: str
    values: dict[str, Any]
    dedupe_key: str
    not_before: datetime
    deadline_at: datetime | None = None


async def enqueue_nudges(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    morning_time: time,
    quiet_start: time = QUIET[0],
    quiet_end: time = QUIET[1],
    catch_up_days: int = 7,
    pesan_after: timedelta = timedelta(hours=24),
    commitments: CommitmentRules | None = None,
    advocacy: Advocacy | None = None,
) -> NudgeReport:
    """Enqueue the pendamping nudges due now or by tomorrow morning (with
    ``commitments``, the end-of-period commitment checks too; with ``advocacy``, the
    weekly count of families still needing a complementary programme)."""
    quiet = (quiet_start, quiet_end)
    catch_up = timedelta(days=catch_up_days)
    checks: list[_Nudge] = []
    if commitments is not None:
        async with sessions() as session:  # counted without holding SQLite's write lock
            await session.connection(execution_options=READ_ONLY)
            checks = await _commitment_checks(session, commitments, now, morning_time, quiet)
    weekly: list[_Nudge] = []
    if advocacy is not None and advocacy.programmes:
        async with sessions() as session:
            await session.connection(execution_options=READ_ONLY)
            weekly = await _advocacy(session, advocacy, now, morning_time, quiet)
    async with sessions.begin() as session:
        upcoming = await planned_meetings_between(session, now, now + timedelta(days=2))
        on_day = [(m, n) for m in upcoming if (n := _today(m, now, morning_time, quiet))]
        today = [n for _, n in on_day]
        reach = await _reach(session, on_day)
        day_ago = now - timedelta(hours=24)
        unrecorded = await planned_meetings_between(
            session, day_ago - catch_up, day_ago, unrecorded_only=True
        )
        attendance = [_no_attendance(m, now, quiet) for m in unrecorded]
        first = (now + BEHIND_OF_UTC).date() - catch_up
        cases = await follow_ups_between(session, first, (now + AHEAD_OF_UTC).date())
        follow_ups = [n for c in cases if (n := _follow_up(c, now, morning_time, catch_up, quiet))]
        late = await unanswered_between(session, now - pesan_after - catch_up, now - pesan_after)
        pesan = [_pesan(m, now, quiet) for m in late]
        switched, told = _sms_switches(
            await switches_not_told(session), now, morning_time, quiet
        )
        nudges = today + reach + attendance + follow_ups + pesan + checks + weekly + switched
        addresses = await staff_addresses(session, [n.staff_id for n in nudges])
        regions = await staff_regions(session, addresses)
        messages = [
            _message(n, addresses[n.staff_id], regions.get(n.staff_id))
            for n in nudges
            if n.staff_id in addresses
        ]
        if told:  # each switch told once: those in a line enqueued now
            sent = {key for m in messages if (key := m.dedupe_key) in told}
            sent -= await existing_keys(session, sent)
            await mark_told(session, [i for key in sent for i in told[key]], now=now)
        enqueued = await enqueue(session, messages, now=now)
    report = NudgeReport(
        today=len(today),
        no_attendance=len(attendance),
        follow_ups=len(follow_ups),
        enqueued=enqueued,
        unreachable=len(nudges) - len(messages),
        pesan=len(pesan),
        commitments=len(checks),
        advocacy=len(weekly),
        sms_switched=len(switched),
        reach=len(reach),
    )
    log.info(
        "nudges: %d meeting days, %d without attendance, %d follow-ups, %d pesan KPM, "
        "%d commitment checks, %d advocacy, %d switched to SMS, %d enqueued, %d unreachable",
        report.today,
        report.no_attendance,
        report.follow_ups,
        report.pesan,
        report.commitments,
        report.advocacy,
        report.sms_switched,
        report.enqueued,
        report.unreachable,
    )
    return report


def _local(moment: datetime, zone_name: str | None) -> datetime:
    return moment.astimezone(zone(zone_name))


def _today(
    meeting: MeetingInfo, now: datetime, morning: time, quiet: tuple[time, time]
) -> _Nudge | None:
    """The morning nudge of a meeting today or tomorrow (local), if it is still of use."""
    start = _local(meeting.starts_at, meeting.zone)
    due = datetime.combine(start.date(), morning, start.tzinfo)
    at = after_quiet_hours(max(due, _local(now, meeting.zone)), *quiet)
    if at >= start or start.date() > _local(now, meeting.zone).date() + timedelta(days=1):
        return None
    version = meeting_version(meeting.starts_at, meeting.place)
    return _Nudge(
        staff_id=meeting.pendamping_id,
        key="nudge.today",
        values={
            "kelompok": meeting.kelompok,
            "date": day_text(start.date()),
            "time": time_text(start.time()),
            "place": meeting.place,
        },
        dedupe_key=f"nudge-today:{meeting.meeting_id}:{version}:",
        not_before=at.astimezone(UTC),
        deadline_at=meeting.starts_at,
    )


async def _reach(
    session: AsyncSession, on_day: list[tuple[MeetingInfo, _Nudge]]
) -> list[_Nudge]:
    """With a meeting's morning nudge, the members no reminder reaches directly (told
    through the ketua, or by nobody), when there are any; keyed under the morning nudge,
    so a moved meeting withdraws both."""
    reached = await meeting_reach(session, [meeting.meeting_id for meeting, _ in on_day])
    found = []
    for meeting, nudge in on_day:
        view = reached.get(meeting.meeting_id)
        if view is None or not (view.via_ketua or view.not_reached):
            continue
        values = {
            "kelompok": meeting.kelompok,
            "via_ketua": ", ".join(view.via_ketua) or "-",
            "not_reached": ", ".join(view.not_reached) or "-",
        }
        found.append(replace(nudge, key="nudge.reach", values=values,
                             dedupe_key=f"{nudge.dedupe_key}reach"))
    return found


def _no_attendance(meeting: MeetingInfo, now: datetime, quiet: tuple[time, time]) -> _Nudge:
    start = _local(meeting.starts_at, meeting.zone)
    return _Nudge(
        staff_id=meeting.pendamping_id,
        key="nudge.no_attendance",
        values={"kelompok": meeting.kelompok, "date": day_text(start.date())},
        dedupe_key=f"nudge-attendance:{meeting.meeting_id}",
        not_before=after_quiet_hours(_local(now, meeting.zone), *quiet).astimezone(UTC),
    )


def _follow_up(
    case: FollowUp, now: datetime, morning: time, catch_up: timedelta, quiet: tuple[time, time]
) -> _Nudge | None:
    local_now = _local(now, case.zone)
    today = local_now.date()
    if not today - catch_up <= case.follow_up_date <= today:
        return None
    due = datetime.combine(case.follow_up_date, morning, local_now.tzinfo)
    return _Nudge(
        staff_id=case.staff_id,
        key="nudge.follow_up",
        values={
            "case_id": case.case_id,
            "category": case.category,
            "kpm": case.kpm_name,
            "date": day_text(case.follow_up_date),
        },
        dedupe_key=f"nudge-case:{case.case_id}:{case.follow_up_date.isoformat()}",
        not_before=after_quiet_hours(max(due, local_now), *quiet).astimezone(UTC),
    )


def _pesan(message: Unanswered, now: datetime, quiet: tuple[time, time]) -> _Nudge:
    """Once per message, when the pendamping is awake."""
    hours = int((now - message.received_at).total_seconds() // 3600)
    return _Nudge(
        staff_id=message.staff_id,
        key="nudge.pesan",
        values={"kpm": message.kpm_name, "kelompok": message.kelompok_name, "hours": hours},
        dedupe_key=f"nudge-pesan:{message.message_id}",
        not_before=after_quiet_hours(_local(now, message.zone), *quiet).astimezone(UTC),
    )


async def _commitment_checks(
    session: AsyncSession,
    rules: CommitmentRules,
    now: datetime,
    morning: time,
    quiet: tuple[time, time],
) -> list[_Nudge]:
    """One nudge per pendamping and period, from the morning ``remind_days_before_end``
    days before the period's last day (local to the kelompok) to its end, listing the
    pairs not verified yet per kelompok; none when everything is verified."""
    first_day, last_day = (now + BEHIND_OF_UTC).date(), (now + AHEAD_OF_UTC).date()
    periods = {rules.period_of(first_day), rules.period_of(last_day)}
    nudges = []
    for period in sorted(periods, key=lambda p: p.start):
        if last_day < _reminder_day(rules, period):
            continue  # no zone is near this period's end yet: no query
        prefix = f"nudge-commitments:{period.start.isoformat()}:"
        waiting = kelompok_not_told(prefix)
        groups = [g for g in await held_kelompok(session, waiting) if _in(rules, period, g, now)]
        reminded = {g.pendamping_id for g in groups if _due(rules, period, g, now, morning)}
        if not reminded:
            continue
        counts = await commitment_counts(session, rules, period, waiting)
        listed: dict[int, list[tuple[HeldKelompok, int]]] = {}
        for group in groups:
            found = counts.get(group.kelompok_id)
            open_ = found.due - found.done if found else 0
            if group.pendamping_id in reminded and open_ > 0:
                listed.setdefault(group.pendamping_id, []).append((group, open_))
        nudges += [
            _commitments(staff_id, period, rows, now, prefix, quiet)
            for staff_id, rows in listed.items()
        ]
    return nudges


def _reminder_day(rules: CommitmentRules, period: Period) -> date:
    return period.last_day - timedelta(days=rules.remind_days_before_end)


def _in(rules: CommitmentRules, period: Period, group: HeldKelompok, now: datetime) -> bool:
    """Whether it is ``period`` where the kelompok is."""
    return rules.period_of(_local(now, group.zone).date()) == period


def _due(
    rules: CommitmentRules, period: Period, group: HeldKelompok, now: datetime, morning: time
) -> bool:
    """Whether the reminder's first morning has come where the kelompok is."""
    local_now = _local(now, group.zone)
    due = datetime.combine(_reminder_day(rules, period), morning, local_now.tzinfo)
    return local_now >= due


def _commitments(
    staff_id: int,
    period: Period,
    rows: list[tuple[HeldKelompok, int]],
    now: datetime,
    prefix: str,
    quiet: tuple[time, time],
) -> _Nudge:
    """The kelompok in name order ("Kelompok Mawar 5, Kelompok Melati 3"); sent when
    every one of their zones is out of quiet hours, of no use after the period's end."""
    counts = ", ".join(f"{group.name} {count}" for group, count in rows)
    zones = [zone(group.zone) for group, _ in rows]
    at = max(after_quiet_hours(now.astimezone(z), *quiet).astimezone(UTC) for z in zones)
    end = max(datetime.combine(period.end, time(0), z).astimezone(UTC) for z in zones)
    return _Nudge(
        staff_id=staff_id,
        key="nudge.commitments",
        values={
            "period": period.label(),
            "date": day_text(period.last_day),
            "counts": shorten(counts, 500),
        },
        dedupe_key=f"{prefix}{staff_id}",
        not_before=at,
        deadline_at=end,
    )


async def _advocacy(
    session: AsyncSession,
    advocacy: Advocacy,
    now: datetime,
    morning: time,
    quiet: tuple[time, time],
) -> list[_Nudge]:
    """One nudge per pendamping and ISO week, from the morning of ``advocacy.weekday``
    (local to the kelompok) to the week's end, counting the active families still needing
    a programme, per programme; none for a pendamping without any."""
    first_day, last_day = (now + BEHIND_OF_UTC).date(), (now + AHEAD_OF_UTC).date()
    mondays = {day - timedelta(days=day.weekday()) for day in (first_day, last_day)}
    nudges = []
    for monday in sorted(mondays):
        day = monday + timedelta(days=advocacy.weekday)
        if last_day < day:
            continue  # no zone has reached this week's day yet: no query
        year, week, _ = monday.isocalendar()
        prefix = f"nudge-bansos:{year}-W{week:02d}:"
        waiting = kelompok_not_told(prefix)
        needs = await needs_per_pendamping(session, waiting, [k for k, _ in advocacy.programmes])
        if not needs:
            continue
        groups: dict[int, list[HeldKelompok]] = {}
        for group in await held_kelompok(session, waiting):
            if group.pendamping_id in needs:
                groups.setdefault(group.pendamping_id, []).append(group)
        for staff_id, held in groups.items():
            local_now = [_local(now, group.zone) for group in held]
            if any(n.date() - timedelta(days=n.weekday()) != monday for n in local_now):
                continue  # a kelompok of theirs is not in this week (yet, or any more)
            if not all(n >= datetime.combine(day, morning, n.tzinfo) for n in local_now):
                continue
            nudges.append(
                _advocacy_nudge(staff_id, advocacy, needs[staff_id], held, now, prefix, quiet)
            )
    return nudges


def _advocacy_nudge(
    staff_id: int,
    advocacy: Advocacy,
    needs: PendampingNeeds,
    held: list[HeldKelompok],
    now: datetime,
    prefix: str,
    quiet: tuple[time, time],
) -> _Nudge:
    """"KIS/PBI-JKN 3, KIP/PIP 2": the programmes in configured order; sent when every
    one of the kelompok's zones is out of quiet hours, of no use after the week (the next
    one counts again)."""
    counts = ", ".join(
        f"{label} {needs.per_programme[key]}"
        for key, label in advocacy.programmes
        if needs.per_programme.get(key)
    )
    zones = [zone(group.zone) for group in held]
    today = _local(now, held[0].zone).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    at = max(after_quiet_hours(now.astimezone(z), *quiet).astimezone(UTC) for z in zones)
    end = max(datetime.combine(next_monday, time(0), z).astimezone(UTC) for z in zones)
    return _Nudge(
        staff_id=staff_id,
        key="nudge.bansos",
        values={"count": needs.families, "counts": shorten(counts, 500)},
        dedupe_key=f"{prefix}{staff_id}",
        not_before=at,
        deadline_at=end,
    )


def _sms_switches(
    switches: list[Switched], now: datetime, morning: time, quiet: tuple[time, time]
) -> tuple[list[_Nudge], dict[str, list[int]]]:
    """One line per pendamping naming the KPM switched to SMS since they were last told,
    on the first morning after the first of those switches (local to its kelompok), once
    a day; and, per line's dedupe key, the switches (identity ids) it tells."""
    by_staff: dict[int, list[Switched]] = {}
    for switch in switches:
        by_staff.setdefault(switch.pendamping_id, []).append(switch)
    nudges, told = [], {}
    for staff_id, rows in by_staff.items():
        first = min(rows, key=lambda row: row.switched_at)
        local_now = _local(now, first.zone)
        since = _local(first.switched_at, first.zone)
        due = datetime.combine(since.date(), morning, since.tzinfo)
        if due <= since:
            due += timedelta(days=1)  # the next morning message
        due = max(due, datetime.combine(local_now.date(), morning, local_now.tzinfo))
        if local_now < due:
            continue
        key = f"nudge-sms:{local_now.date().isoformat()}:{staff_id}"
        nudges.append(
            _Nudge(
                staff_id=staff_id,
                key="nudge.sms_switched",
                values={
                    "count": len(rows),
                    "names": shorten(", ".join(row.kpm_name for row in rows), 500),
                },
                dedupe_key=key,
                not_before=after_quiet_hours(local_now, *quiet).astimezone(UTC),
            )
        )
        told[key] = sorted({row.identity_id for row in rows})
    return nudges, told


def _message(nudge: _Nudge, reach: tuple[Channel, str], region: str | None = None) -> Enqueue:
    channel, address = reach
    # On WhatsApp, enqueue adds the template variables (models.messaging.templates).
    payload: dict[str, Any] = {"key": nudge.key, "values": nudge.values}
    if "case_id" in nudge.values:
        payload["case_id"] = nudge.values["case_id"]
    return Enqueue(
        channel=channel,
        address=address,
        kind=KIND,
        payload=payload,
        priority=Priority.NUDGE,
        dedupe_key=nudge.dedupe_key,
        not_before=nudge.not_before,
        deadline_at=nudge.deadline_at,
        region=region,
    )
