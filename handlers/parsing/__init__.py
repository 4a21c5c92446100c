"""Reading what pendamping type: dates, attendance lines and meeting rules.

Pure functions without database, I/O or clock: the caller passes ``today``.
"""

from __future__ import annotations

from handlers.parsing.attendance_line import (
    Ambiguous,
    AttendanceParse,
    Member,
    match_member_name,
    parse_attendance_line,
)
from handlers.parsing.dates import format_date_id, parse_date
from handlers.parsing.schedule_rule import (
    MeetingRule,
    describe_rule,
    next_meeting_date,
    nth_weekday,
    parse_meeting_rule,
)

__all__ = [
    "Ambiguous",
    "AttendanceParse",
    "MeetingRule",
    "Member",
    "describe_rule",
    "format_date_id",
    "match_member_name",
    "next_meeting_date",
    "nth_weekday",
    "parse_attendance_line",
    "parse_date",
    "parse_meeting_rule",
]
