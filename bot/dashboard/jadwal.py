"""Jadwal: a month calendar of the viewer's meetings (planned, held, moved, cancelled) with
the holidays of the configured calendar, and one meeting with its attendance marks, RSVPs
and photos (our stored copy, with its EXIF time and place beside the planned ones, as
/dokumentasi shows them). Scope is the chat's: another's meeting or photo is a 404."""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import holiday_calendar
from bot.dashboard.console import Console, Viewer
from bot.media_store import media_reader
from handlers.dokumentasi import MAP_LINK
from models.attendance import group_in_scope, groups_for
from models.enums import MediaStatus
from models.regions import kelompok_region_codes
from reporting.console_jadwal import (
    CalendarMeeting,
    meeting_in_scope,
    meeting_marks,
    meeting_photos,
    meeting_rsvps,
    month_meetings,
    photo_in_scope,
)

SHOWN_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


@dataclass
class Day:
    day: date
    today: bool
    holiday: str | None
    meetings: list[CalendarMeeting] = field(default_factory=list)


def parse_month(written: str | None, today: date) -> date | None:
    """``2026-12`` as the month's first day; None when it is not a month."""
    if not written:
        return today.replace(day=1)
    try:
        year, month = (int(part) for part in written.split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def jadwal_routes(console: Console) -> list[BaseRoute]:
    app, t = console.app, console.t
    holidays = holiday_calendar(app.settings)
    read_photo = media_reader(app.settings.media)

    def today() -> date:
        return app.clock.now().astimezone(ZoneInfo(app.settings.general.timezone)).date()

    async def month(request: Request, viewer: Viewer) -> Response:
        now_day = today()
        problems = []
        first = parse_month(request.query_params.get("bulan"), now_day)
        if first is None:
            problems.append(t("web.jadwal_bad_month"))
            first = now_day.replace(day=1)
        written_group = request.query_params.get("kelompok", "")
        kelompok_id = int(written_group) if written_group.isdigit() else None
        if written_group and kelompok_id is None:
            problems.append(t("web.jadwal_bad_kelompok"))
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        async with app.read_sessions() as session:
            groups = await groups_for(session, viewer.staff, now_day)
            region = None
            if kelompok_id is not None:
                await group_in_scope(session, viewer.staff, kelompok_id)  # else 404
                region = (await kelompok_region_codes(session, [kelompok_id])).get(kelompok_id)
            meetings = await month_meetings(session, viewer.staff, first, last, kelompok_id)
        days = [
            Day(d, d == now_day, holidays.is_holiday(d, region))
            for d in (first + timedelta(days=n) for n in range(last.day))
        ]
        for meeting in meetings:
            days[meeting.meeting_date.day - 1].meetings.append(meeting)
        counts = Counter("moved" if m.moved and m.status.value == "planned" else m.status.value
                         for m in meetings)
        keep = f"&kelompok={kelompok_id}" if kelompok_id is not None else ""
        return console.render(
            request, "jadwal.html", viewer, first=first, days=days, blanks=first.weekday(),
            groups=groups, kelompok_id=kelompok_id, problems=problems, counts=counts,
            previous=f"/jadwal?bulan={shift_month(first, -1):%Y-%m}{keep}",
            following=f"/jadwal?bulan={shift_month(first, 1):%Y-%m}{keep}",
            weekdays=[t(f"web.jadwal_weekday_{n}") for n in range(7)],
        )

    async def meeting(request: Request, viewer: Viewer) -> Response:
        meeting_id = int(request.path_params["meeting_id"])
        async with app.read_sessions() as session:
            detail = await meeting_in_scope(session, viewer.staff, meeting_id)  # else 404
            marks = await meeting_marks(session, meeting_id)
            rsvps = await meeting_rsvps(session, meeting_id)
            photos = await meeting_photos(session, meeting_id)
        tally = Counter(mark.mark.value for mark in marks)
        answered = Counter(rsvp.answer.value for rsvp in rsvps)
        return console.render(
            request, "jadwal_pertemuan.html", viewer, detail=detail, m=detail.meeting,
            marks=marks, tally=tally, rsvps=rsvps, answered=answered, photos=photos,
            shown_types=SHOWN_TYPES, stored=MediaStatus.STORED,
            map_link=lambda p: MAP_LINK.format(lat=p.latitude, lon=p.longitude),
            month_link=f"/jadwal?bulan={detail.meeting.meeting_date:%Y-%m}"
            f"&kelompok={detail.meeting.kelompok_id}",
        )

    async def photo(request: Request, viewer: Viewer) -> Response:
        attachment_id = int(request.path_params["attachment_id"])
        async with app.read_sessions() as session:
            found = await photo_in_scope(session, viewer.staff, attachment_id)
        if (found is None or found.status is not MediaStatus.STORED or not found.storage_key
                or found.content_type not in SHOWN_TYPES):
            raise LookupError(attachment_id)
        content = await read_photo(found.storage_key)
        if content is None:
            raise LookupError(attachment_id)
        return Response(
            content, media_type=found.content_type,
            headers={"cache-control": "private, max-age=300",
                     "content-disposition": "inline"},
        )

    return [
        Route("/jadwal", console.staff_page(month), methods=["GET"]),
        Route("/jadwal/pertemuan/{meeting_id:int}", console.staff_page(meeting), methods=["GET"]),
        Route("/jadwal/foto/{attachment_id:int}", console.staff_page(photo), methods=["GET"]),
    ]
