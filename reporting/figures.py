"""The digest's figures for the pendamping in one staff member's scope.

Every figure comes from a handful of set-based statements over the whole scope (one per
kind of figure, grouped by kelompok), folded per pendamping in Python; nothing is
queried per pendamping, kelompok or KPM. Meetings and attendance belong to the
kelompok that held them and so to its pendamping: a KPM moved to another group leaves
their past attendance where it was.

"This month" is the month of the reference day (the last day counted). Planned
meetings are those of the whole month not cancelled; held ones are those recorded
held up to the reference day, of which some held by the ketua without the pendamping
(an obligation missed, shown as a warning). Commitment checks are those of the verification period
holding the reference day (:mod:`models.commitments` decides what is due). The SMS sent
this month to KPM of the scope and their segments (SMS cost money) are counted when the
month's bounds are given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.commitments import commitment_counts
from models.db.sql import is_postgres
from models.enums import (
    AttendanceMark,
    CaseSeverity,
    CaseStatus,
    Facilitator,
    KpmMessageStatus,
    KpmStatus,
    MeetingStatus,
)
from models.messaging.sms_usage import SmsUsage, sms_in_scope
from models.reach_view import direct_share_of_meetings
from models.rules.commitments import CommitmentRules, Period
from models.tables import Attendance, CaseNote, Kelompok, Kpm, KpmMessage, Meeting, Region, Staff
from reporting.absence import AbsenceStreak, absence_streaks
from reporting.graduation import DEFAULT_PROGRAMME_KEYS, candidate_counts

PREVIOUS_MONTHS = 3  # the attendance rate is compared with these months before
REACH_DAYS = 35  # how far ahead a kelompok's next meeting counts for its members' reach


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``first``'s month."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def rate(present: int, recorded: int) -> float | None:
    return present / recorded if recorded else None


@dataclass
class KelompokFigures:
    id: int
    name: str
    desa: str
    pendamping_id: int | None
    kpm_active: int = 0
    planned: int = 0
    held: int = 0
    held_by_ketua: int = 0  # of the held: by the ketua without the pendamping
    present: int = 0  # this month
    recorded: int = 0
    previous_present: int = 0  # the three months before
    previous_recorded: int = 0
    absentees: int = 0
    open_cases: int = 0
    urgent_cases: int = 0
    overdue_cases: int = 0
    graduated_this_year: int = 0
    pesan_late: int = 0  # open pesan KPM older than the configured time
    commitments_due: int = 0  # (member, commitment) pairs due in the verification period
    commitments_done: int = 0  # of which verified (met or not)
    commitments_not_met: int = 0  # KPM not meeting a commitment in the period

    @property
    def rate(self) -> float | None:
        return rate(self.present, self.recorded)

    @property
    def previous_rate(self) -> float | None:
        return rate(self.previous_present, self.previous_recorded)


@dataclass
class PendampingFigures:
    id: int
    name: str
    kelompok: list[KelompokFigures] = field(default_factory=list)
    monthly: dict[date, tuple[int, int]] = field(default_factory=dict)  # month: (present, recorded)
    cases_by_category: Counter[str] = field(default_factory=Counter)
    absentees: list[AbsenceStreak] = field(default_factory=list)
    candidates_alamiah: int = 0
    candidates_mandiri: int = 0
    reach: tuple[int, int] = (0, 0)  # members of the coming meetings: reached directly, all

    def _sum(self, name: str) -> int:
        return sum(getattr(k, name) for k in self.kelompok)

    planned = property(lambda self: self._sum("planned"))
    held = property(lambda self: self._sum("held"))
    held_by_ketua = property(lambda self: self._sum("held_by_ketua"))
    open_cases = property(lambda self: self._sum("open_cases"))
    urgent_cases = property(lambda self: self._sum("urgent_cases"))
    overdue_cases = property(lambda self: self._sum("overdue_cases"))
    graduated_this_year = property(lambda self: self._sum("graduated_this_year"))
    pesan_late = property(lambda self: self._sum("pesan_late"))
    kpm_active = property(lambda self: self._sum("kpm_active"))
    commitments_due = property(lambda self: self._sum("commitments_due"))
    commitments_done = property(lambda self: self._sum("commitments_done"))
    commitments_not_met = property(lambda self: self._sum("commitments_not_met"))

    @property
    def rate(self) -> float | None:
        return rate(self._sum("present"), self._sum("recorded"))

    @property
    def previous_rate(self) -> float | None:
        return rate(self._sum("previous_present"), self._sum("previous_recorded"))

    @property
    def candidates(self) -> int:
        return self.candidates_alamiah + self.candidates_mandiri

    def month_rate(self, month: date) -> float | None:
        return rate(*self.monthly.get(month, (0, 0)))


@dataclass
class DigestFigures:
    ref_day: date
    months: list[date]  # the chart's months, oldest first; the last is "this month"
    pendamping: list[PendampingFigures]
    absentees: list[AbsenceStreak]
    commitment_period: Period | None = None  # the verification period of ``ref_day``
    sms: SmsUsage = SmsUsage(0, 0)  # SMS sent this month to KPM of the scope

    def total(self, name: str) -> int:
        return sum(getattr(p, name) for p in self.pendamping)

    def _kelompok_sum(self, name: str) -> int:
        return sum(getattr(k, name) for p in self.pendamping for k in p.kelompok)

    @property
    def rate(self) -> float | None:
        return rate(self._kelompok_sum("present"), self._kelompok_sum("recorded"))

    @property
    def previous_rate(self) -> float | None:
        return rate(self._kelompok_sum("previous_present"), self._kelompok_sum("previous_recorded"))

    @property
    def cases_by_category(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for p in self.pendamping:
            total.update(p.cases_by_category)
        return total

    def month_rate(self, month: date) -> float | None:
        present = sum(p.monthly.get(month, (0, 0))[0] for p in self.pendamping)
        recorded = sum(p.monthly.get(month, (0, 0))[1] for p in self.pendamping)
        return rate(present, recorded)


async def digest_figures(
    session: AsyncSession,
    kelompok_ids: Select[tuple[int]],
    *,
    ref_day: date,
    chart_months: int,
    horizon_days: int,
    threshold: float,
    commitments: CommitmentRules,
    pesan_late_before: datetime | None = None,
    programmes: Sequence[str] = DEFAULT_PROGRAMME_KEYS,
    sms_month: tuple[datetime, datetime] | None = None,
) -> DigestFigures:
    this_month = month_start(ref_day)
    next_month = add_months(this_month, 1)
    months = [add_months(this_month, -n) for n in range(chart_months - 1, -1, -1)]
    first = min(months[0], add_months(this_month, -PREVIOUS_MONTHS))
    previous = {add_months(this_month, -n) for n in range(1, PREVIOUS_MONTHS + 1)}

    if is_postgres(session):
        # The planner under-estimates a region's kelompok (four ORs over the region tree)
        # tenfold, and then plans parallel workers that each build the whole scope's
        # join again: three processes for the work of one, on the digest's largest
        # statements. One process per statement, for this read transaction only.
        await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    groups, people = await _kelompok(session, kelompok_ids)

    held = and_(Meeting.status == MeetingStatus.HELD, Meeting.meeting_date <= ref_day)
    by_ketua = and_(held, Meeting.facilitator == Facilitator.KETUA)
    meetings = await session.execute(
        select(
            Meeting.kelompok_id,
            func.count(),
            func.sum(case((held, 1), else_=0)),
            func.sum(case((by_ketua, 1), else_=0)),
        )
        .where(
            Meeting.kelompok_id.in_(kelompok_ids),
            Meeting.meeting_date >= this_month,
            Meeting.meeting_date < next_month,
            Meeting.status != MeetingStatus.CANCELLED,
        )
        .group_by(Meeting.kelompok_id)
    )
    for kelompok_id, planned, held_count, ketua_count in meetings:
        group = groups[kelompok_id]
        group.planned, group.held = planned, int(held_count or 0)
        group.held_by_ketua = int(ketua_count or 0)

    present = func.sum(case((Attendance.mark == AttendanceMark.HADIR, 1), else_=0))
    attendance = await session.execute(
        select(Meeting.kelompok_id, Meeting.meeting_date, present, func.count())
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .where(
            Meeting.kelompok_id.in_(kelompok_ids),
            Meeting.status == MeetingStatus.HELD,
            Meeting.meeting_date >= first,
            Meeting.meeting_date <= ref_day,
        )
        .group_by(Meeting.kelompok_id, Meeting.meeting_date)
    )
    for kelompok_id, day, hadir, recorded in attendance:
        group, month = groups[kelompok_id], month_start(day)
        hadir = int(hadir or 0)
        if month == this_month:
            group.present += hadir
            group.recorded += recorded
        elif month in previous:
            group.previous_present += hadir
            group.previous_recorded += recorded
        owner = people.get(group.pendamping_id) if group.pendamping_id else None
        if owner is not None:
            before = owner.monthly.get(month, (0, 0))
            owner.monthly[month] = (before[0] + hadir, before[1] + recorded)

    overdue = and_(CaseNote.follow_up_date.is_not(None), CaseNote.follow_up_date < ref_day)
    cases = await session.execute(
        select(
            Kpm.kelompok_id,
            CaseNote.category,
            func.count(),
            func.sum(case((CaseNote.severity == CaseSeverity.MENDESAK, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .join(Kpm, Kpm.id == CaseNote.kpm_id)
        .where(Kpm.kelompok_id.in_(kelompok_ids), CaseNote.status != CaseStatus.SELESAI)
        .group_by(Kpm.kelompok_id, CaseNote.category)
    )
    for kelompok_id, category, count, urgent, late in cases:
        group = groups[kelompok_id]
        group.open_cases += count
        group.urgent_cases += int(urgent or 0)
        group.overdue_cases += int(late or 0)
        if group.pendamping_id in people:
            people[group.pendamping_id].cases_by_category[category] += count

    graduated = await session.execute(
        select(Kpm.kelompok_id, func.count())
        .where(
            Kpm.kelompok_id.in_(kelompok_ids),
            Kpm.status.in_((KpmStatus.GRADUASI_ALAMIAH, KpmStatus.GRADUASI_MANDIRI)),
            Kpm.graduated_on >= date(ref_day.year, 1, 1),
            Kpm.graduated_on <= ref_day,
        )
        .group_by(Kpm.kelompok_id)
    )
    for kelompok_id, count in graduated:
        groups[kelompok_id].graduated_this_year = count

    if pesan_late_before is not None:
        late = await session.execute(
            select(Kpm.kelompok_id, func.count())
            .select_from(KpmMessage)
            .join(Kpm, Kpm.id == KpmMessage.kpm_id)
            .where(
                Kpm.kelompok_id.in_(kelompok_ids),
                KpmMessage.status == KpmMessageStatus.OPEN,
                KpmMessage.received_at < pesan_late_before,
            )
            .group_by(Kpm.kelompok_id)
        )
        for kelompok_id, count in late:
            groups[kelompok_id].pesan_late = count

    streaks = await absence_streaks(session, kelompok_ids, min_streak=2, until=ref_day)
    for streak in streaks:
        if streak.kelompok_id in groups:
            groups[streak.kelompok_id].absentees += 1
        if streak.pendamping_id in people:
            people[streak.pendamping_id].absentees.append(streak)

    period = commitments.period_of(ref_day)
    checks = (
        await commitment_counts(session, commitments, period, kelompok_ids)
        if commitments.commitments
        else {}
    )
    for kelompok_id, counted in checks.items():
        if kelompok_id in groups:
            group = groups[kelompok_id]
            group.commitments_due, group.commitments_done = counted.due, counted.done
            group.commitments_not_met = counted.not_met

    candidates = await candidate_counts(
        session,
        kelompok_ids,
        today=ref_day,
        horizon_days=horizon_days,
        threshold=threshold,
        programmes=programmes,
    )
    for pendamping_id, (alamiah, mandiri) in candidates.items():
        if pendamping_id in people:
            people[pendamping_id].candidates_alamiah = alamiah
            people[pendamping_id].candidates_mandiri = mandiri

    for group in groups.values():
        if group.pendamping_id in people:
            people[group.pendamping_id].kelompok.append(group)
    coming = select(func.min(Meeting.id)).where(  # each kelompok's next planned meeting
        Meeting.kelompok_id.in_(kelompok_ids),
        Meeting.status == MeetingStatus.PLANNED,
        Meeting.meeting_date >= ref_day,
        Meeting.meeting_date < ref_day + timedelta(days=REACH_DAYS),
    ).group_by(Meeting.kelompok_id)
    reach = await direct_share_of_meetings(session, coming)
    for pendamping_id, shares in reach.items():
        if pendamping_id in people:
            people[pendamping_id].reach = shares
    ordered = sorted(people.values(), key=lambda p: (p.name.casefold(), p.id))
    sms = (
        await sms_in_scope(session, kelompok_ids, *sms_month)
        if sms_month is not None
        else SmsUsage(0, 0)
    )
    return DigestFigures(
        ref_day=ref_day,
        months=months,
        pendamping=ordered,
        absentees=streaks,
        commitment_period=period,
        sms=sms,
    )


async def _kelompok(
    session: AsyncSession, kelompok_ids: Select[tuple[int]]
) -> tuple[dict[int, KelompokFigures], dict[int, PendampingFigures]]:
    """The kelompok in scope with their active KPM, and their pendamping."""
    desa = aliased(Region)
    active = (
        select(Kpm.kelompok_id, func.count().label("n"))
        .where(Kpm.status == KpmStatus.AKTIF, Kpm.kelompok_id.in_(kelompok_ids))
        .group_by(Kpm.kelompok_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Kelompok.id, Kelompok.name, desa.name, Kelompok.pendamping_id, Staff.name, active.c.n
        )
        .join(desa, desa.id == Kelompok.desa_id)
        .outerjoin(Staff, Staff.id == Kelompok.pendamping_id)
        .outerjoin(active, active.c.kelompok_id == Kelompok.id)
        .where(Kelompok.id.in_(kelompok_ids))
        .order_by(Kelompok.name, Kelompok.id)
    )
    groups: dict[int, KelompokFigures] = {}
    people: dict[int, PendampingFigures] = {}
    for kelompok_id, name, desa_name, pendamping_id, pendamping_name, n in rows:
        groups[kelompok_id] = KelompokFigures(
            kelompok_id, name, desa_name, pendamping_id, int(n or 0)
        )
        if pendamping_id is not None and pendamping_id not in people:
            people[pendamping_id] = PendampingFigures(pendamping_id, pendamping_name)
    return groups, people
