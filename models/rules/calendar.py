"""Dates and local times for meetings: monthly rules, time zones, quiet hours, holidays.

Pure functions: no clock, no database. Times a person reads are local to the kelompok's
province (WIB, WITA, WIT; no daylight saving); what is stored is UTC.

Quiet hours are the half-open local interval ``[start, end)``, across midnight when
``start > end`` (21:00-06:00). A message that would fall inside them is moved:

- a reminder (it must arrive *before* the meeting) goes *earlier*, to ``margin`` before the
  quiet hours begin (20:30 with the defaults), when that moment has not passed yet; otherwise
  *later*, to the end of the quiet hours (06:00), when that is still before the meeting;
  otherwise it is not sent (:func:`shift_out_of_quiet_hours` returns ``None``);
- a nudge or a notice (no deadline) only ever goes later, to the end of the quiet hours
  (:func:`after_quiet_hours`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import holidays
from babel.dates import format_date

__all__ = [
    "DEFAULT_ZONE",
    "LAST_WEEK",
    "QUIET_MARGIN",
    "after_quiet_hours",
    "day_text",
    "in_quiet_hours",
    "HolidayCalendar",
    "NATIONAL_CALENDAR",
    "RegionalHoliday",
    "local_datetime",
    "next_meeting_date",
    "nth_weekday",
    "quiet_period",
    "rule_dates",
    "shift_out_of_quiet_hours",
    "time_text",
    "zone",
]

LAST_WEEK: Final = -1
DEFAULT_ZONE: Final = "Asia/Jakarta"
QUIET_MARGIN: Final = timedelta(minutes=30)
"""How long before quiet hours begin a reminder moved earlier is due: time for a batch."""


class WeeklyRule(Protocol):
    """Anything with a weekday (0 = Monday) and a week of the month (1..4, -1 = last)."""

    @property
    def weekday(self) -> int: ...

    @property
    def week_of_month(self) -> int: ...


def nth_weekday(year: int, month: int, weekday: int, week_of_month: int) -> date:
    """The date of the ``week_of_month``-th ``weekday`` (0 = Monday) of a month; -1 = the last.

    Raises ``ValueError`` for a weekday outside 0..6 or a week outside 1..4 and -1.
    """
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0..6, not {weekday}")
    if week_of_month not in (1, 2, 3, 4, LAST_WEEK):
        raise ValueError(f"week_of_month must be 1..4 or -1, not {week_of_month}")
    if week_of_month == LAST_WEEK:
        last_day = date(year, month, calendar.monthrange(year, month)[1])
        return last_day - timedelta(days=(last_day.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (week_of_month - 1))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def next_meeting_date(rule: WeeklyRule, on_or_after: date) -> date:
    """The first date of ``rule`` on or after ``on_or_after``."""
    year, month = on_or_after.year, on_or_after.month
    while True:
        candidate = nth_weekday(year, month, rule.weekday, rule.week_of_month)
        if candidate >= on_or_after:
            return candidate
        year, month = _next_month(year, month)


def rule_day(
    year: int,
    month: int,
    weekday: int | None,
    week_of_month: int | None,
    day_of_month: int | None = None,
) -> date:
    """The day of a month a rule names: a date of the month ("tiap tanggal 10"; the 31st is
    the month's last day when it has fewer), or the ``week_of_month``-th ``weekday``."""
    if day_of_month is not None:
        return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))
    if weekday is None or week_of_month is None:
        raise ValueError("a rule needs a date of the month, or a weekday and a week")
    return nth_weekday(year, month, weekday, week_of_month)


def rule_dates(
    weekday: int | None,
    week_of_month: int | None,
    first: date,
    last: date,
    day_of_month: int | None = None,
) -> list[date]:
    """Every date of a monthly rule within ``[first, last]``, one per month at most."""
    found = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        day = rule_day(year, month, weekday, week_of_month, day_of_month)
        if first <= day <= last:
            found.append(day)
        year, month = _next_month(year, month)
    return found


@cache
def zone(name: str | None) -> ZoneInfo:
    """The ``ZoneInfo`` of an IANA name; Jakarta (WIB) when none is known."""
    return ZoneInfo(name or DEFAULT_ZONE)


def local_datetime(day: date, at: time, zone_name: str | None) -> datetime:
    """``day`` at ``at`` on the wall clock of ``zone_name``, as an aware UTC datetime."""
    return datetime.combine(day, at, zone(zone_name)).astimezone(UTC)


def day_text(day: date) -> str:
    """A date as people write it: "Selasa, 8 Desember 2026"."""
    return _day_text(day)


@lru_cache(maxsize=4096)
def _day_text(day: date) -> str:
    return format_date(day, "EEEE, d MMMM y", locale="id")


ZONE_NAMES: Final = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
                     "Asia/Jayapura": "WIT"}
"""Indonesia's three time zones as people name them."""


def zone_time_text(at: time, zone_name: str | None) -> str:
    """A clock time with its zone, as a reminder says it: "13.00 WIB"."""
    name = ZONE_NAMES.get(zone_name or DEFAULT_ZONE)
    return f"{time_text(at)} {name}" if name else time_text(at)


def time_text(at: time) -> str:
    """A clock time the Indonesian way: "09.00"."""
    return f"{at:%H.%M}"


# --- quiet hours -------------------------------------------------------------------------------


def in_quiet_hours(at: time, start: time, end: time) -> bool:
    """Whether a local clock time is within ``[start, end)``; no quiet hours when equal."""
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def quiet_period(moment_local: datetime, start: time, end: time) -> tuple[datetime, datetime]:
    """The quiet period that contains ``moment_local`` (which must be inside one), as local
    datetimes ``(begins, ends)``."""
    day = moment_local.date()
    tz = moment_local.tzinfo
    if start < end or moment_local.time() >= start:
        begins = datetime.combine(day, start, tz)
    else:  # after midnight: the period began the evening before
        begins = datetime.combine(day - timedelta(days=1), start, tz)
    ends = datetime.combine(begins.date() + timedelta(days=int(start >= end)), end, tz)
    return begins, ends


def after_quiet_hours(moment_local: datetime, start: time, end: time) -> datetime:
    """``moment_local``, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(moment_local.time(), start, end):
        return moment_local
    return quiet_period(moment_local, start, end)[1]


def shift_out_of_quiet_hours(
    moment_local: datetime,
    start: time,
    end: time,
    *,
    earliest: datetime | None = None,
    latest: datetime | None = None,
    margin: timedelta = QUIET_MARGIN,
) -> datetime | None:
    """Where a reminder due at ``moment_local`` goes so that it avoids quiet hours.

    Earlier, to ``margin`` before the quiet hours begin, unless that is before ``earliest``
    (now: the past cannot be sent in); else later, to their end, unless that is at or after
    ``latest`` (the meeting start); else ``None``: no good moment is left.
    """
    if not in_quiet_hours(moment_local.time(), start, end):
        return moment_local
    begins, ends = quiet_period(moment_local, start, end)
    before = begins - margin
    if earliest is None or before >= earliest:
        return before
    if latest is None or ends < latest:
        return ends
    return None


# --- holidays ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionalHoliday:
    """A holiday of one province, kabupaten, kecamatan or desa that the national list lacks
    (a kabupaten's anniversary, a local religious day): on one ``day``, or every year on
    ``month_day`` (month, day). ``region`` is a Kemendagri code or its prefix: "33" is
    Jawa Tengah, "33.02" a kabupaten in it."""

    region: str
    name: str
    day: date | None = None
    month_day: tuple[int, int] | None = None

    def falls_on(self, day: date) -> bool:
        if self.day is not None:
            return self.day == day
        return self.month_day == (day.month, day.day)

    def covers(self, region_code: str | None) -> bool:
        """Whether a region (its most specific known code) lies within this one's."""
        if not region_code:
            return False
        return _digits(region_code).startswith(_digits(self.region))


def _digits(code: str) -> str:
    """A Kemendagri code without its dots ("33.02.05" and "330205" name the same region:
    each level has a fixed number of digits)."""
    return code.replace(".", "").strip()


@lru_cache(maxsize=32)
def _national(year: int, cuti_bersama: bool) -> dict[date, str]:
    categories = (holidays.PUBLIC, holidays.GOVERNMENT) if cuti_bersama else (holidays.PUBLIC,)
    return dict(holidays.Indonesia(years=year, language="id", categories=categories).items())


class HolidayCalendar:
    """The days no meeting should silently fall on: the national public holidays, the
    government's cuti bersama (both from the ``holidays`` package, named in Indonesian)
    and the configured regional holidays. The planner, a manual move in /jadwal and the
    planner's holiday notice all ask the same calendar, built once from configuration."""

    def __init__(
        self, *, cuti_bersama: bool = True, regional: Iterable[RegionalHoliday] = ()
    ) -> None:
        self.cuti_bersama = cuti_bersama
        self.regional = tuple(regional)

    @property
    def has_regional(self) -> bool:
        """Whether the answer can depend on the region (else no region need be looked up)."""
        return bool(self.regional)

    def is_holiday(self, day: date, region_code: str | None = None) -> str | None:
        """The name of the holiday on ``day`` for a kelompok in ``region_code`` (its most
        specific Kemendagri code): "Hari Raya Natal", "Cuti Bersama Hari Raya Natal", a
        regional holiday's configured name (several joined with "; "), or None."""
        names = []
        national = _national(day.year, self.cuti_bersama).get(day)
        if national:
            names.append(national)
        names += [
            h.name for h in self.regional if h.falls_on(day) and h.covers(region_code)
        ]
        return "; ".join(names) or None

    def next_working_day(self, day: date, region_code: str | None = None) -> date:
        """The first day after ``day`` that is Monday to Friday and no holiday there."""
        candidate = day + timedelta(days=1)
        while candidate.weekday() >= 5 or self.is_holiday(candidate, region_code):
            candidate += timedelta(days=1)
        return candidate


NATIONAL_CALENDAR: Final = HolidayCalendar()
"""The default calendar: national holidays and cuti bersama, no regional ones."""


def rule_week(day: date) -> int:
    """The rule week a day falls in: 1-4, or -1 (last) for days 29-31."""
    week = (day.day - 1) // 7 + 1
    return week if week <= 4 else LAST_WEEK


def shift_years(day: date, years: int) -> date:
    """The same day ``years`` later (or earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def month_starts(today: date, before: int, after: int) -> list[date]:
    """The first days of the ``before`` months before ``today``'s, its own and ``after``."""
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - before, index + after + 1)]
