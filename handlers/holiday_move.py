"""The holiday notice's button: move a planned meeting to the offered working day."""

from __future__ import annotations

import re
from datetime import date

from handlers.flow import Ctx
from handlers.parsing.dates import format_date_id
from models.enums import MeetingStatus
from models.meeting_changes import meeting_changed
from models.meeting_rule import move_meeting
from models.scope import OutOfScope
from models.tables import Meeting

MOVE = re.compile(r"^move:(?P<meeting>\d+):(?P<day>\d{4}-\d{2}-\d{2})$")


async def move_to_offered_day(ctx: Ctx, choice: str) -> str:
    """Move the meeting named by a ``move:<id>:<date>`` button; the reply text."""
    match = MOVE.match(choice)
    if match is None:
        return ctx.t("input.stale_button")
    meeting = await ctx.session.get(Meeting, int(match.group("meeting")))
    if meeting is None or meeting.status is not MeetingStatus.PLANNED:
        return ctx.t("holiday.move_gone")
    day = date.fromisoformat(match.group("day"))
    try:
        await move_meeting(
            ctx.session,
            ctx.staff,
            meeting.kelompok_id,
            meeting.id,
            day=day,
            at=None,
            place=None,
            now=ctx.now,
        )
    except OutOfScope:
        return ctx.t("access.not_yours")
    start, end = ctx.settings.quiet_hours
    await meeting_changed(
        ctx.session, meeting.id, now=ctx.now, cancelled=False, quiet_start=start, quiet_end=end
    )
    return ctx.t("holiday.moved", date=format_date_id(day))
