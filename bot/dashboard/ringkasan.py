"""Ringkasan: the month's figures per pendamping and kelompok, the same numbers as the
digest (from :func:`reporting.digest.scope_figures`), with the attendance chart; each
figure links to the rows behind it."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.console import Console, Viewer
from bot.dashboard.paging import viewer_zone
from reporting.digest import digest_chart, scope_figures
from reporting.figures import DigestFigures

FRESH_SECONDS = 30.0
"""How long a viewer's figures are shown again without reading them anew: the page and
its chart share one reading, and a coordinator going back and forth between the figures
and their rows does not read a whole region each time. The page says as of when."""
KEPT_VIEWERS = 256


class RecentFigures:
    """Each viewer's last figures, for :data:`FRESH_SECONDS` (per process, bounded)."""

    def __init__(self, fresh_seconds: float = FRESH_SECONDS) -> None:
        self.fresh_seconds = fresh_seconds
        self.kept: OrderedDict[int, tuple[float, str, date, DigestFigures]] = OrderedDict()

    def get(self, staff_id: int) -> tuple[str, date, DigestFigures] | None:
        found = self.kept.get(staff_id)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1:]

    def put(self, staff_id: int, read_at: str, ref_day: date, figures: DigestFigures) -> None:
        self.kept[staff_id] = (time.monotonic() + self.fresh_seconds, read_at, ref_day, figures)
        self.kept.move_to_end(staff_id)
        while len(self.kept) > KEPT_VIEWERS:
            self.kept.popitem(last=False)


def ringkasan_routes(console: Console) -> list[BaseRoute]:
    options = console.engine_settings.digest
    recent = RecentFigures(console.figures_fresh_seconds)

    async def figures_of(viewer: Viewer) -> tuple[str, date, DigestFigures]:
        """The figures and the local time they were read at (HH.MM)."""
        kept = recent.get(viewer.staff.id)
        if kept is not None:
            return kept
        now = console.app.clock.now()
        async with console.app.read_sessions() as session:
            ref_day, figures = await scope_figures(
                session, viewer.staff, as_of=now, options=options
            )
        read_at = now.astimezone(await viewer_zone(console.app, viewer.staff)).strftime("%H.%M")
        recent.put(viewer.staff.id, read_at, ref_day, figures)
        return read_at, ref_day, figures

    async def ringkasan(request: Request, viewer: Viewer) -> Response:
        read_at, ref_day, figures = await figures_of(viewer)
        return console.render(
            request, "ringkasan.html", viewer, figures=figures, ref_day=ref_day,
            this_month=figures.months[-1], read_at=read_at,
        )

    async def chart(request: Request, viewer: Viewer) -> Response:
        _, _, figures = await figures_of(viewer)
        png = await asyncio.to_thread(digest_chart, figures, options, console.t)
        cache = {"cache-control": "private, max-age=300"}
        return Response(png, media_type="image/png", headers=cache)

    return [
        Route("/dasbor", console.staff_page(ringkasan), methods=["GET"]),
        Route("/dasbor/grafik.png", console.staff_page(chart), methods=["GET"]),
    ]
