"""Ringkasan: the month's figures per pendamping and kelompok, the same numbers as the
digest (from :func:`reporting.digest.scope_figures`), with the attendance chart; each
figure links to the rows behind it."""

from __future__ import annotations

import asyncio
from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import digest_options
from bot.dashboard.console import Console, Viewer
from reporting.digest import digest_chart, scope_figures
from reporting.figures import DigestFigures


def ringkasan_routes(console: Console) -> list[BaseRoute]:
    options = digest_options(console.app)

    async def figures_of(viewer: Viewer) -> tuple[date, DigestFigures]:
        async with console.app.read_sessions() as session:
            return await scope_figures(
                session, viewer.staff, as_of=console.app.clock.now(), options=options
            )

    async def ringkasan(request: Request, viewer: Viewer) -> Response:
        ref_day, figures = await figures_of(viewer)
        return console.render(
            request, "ringkasan.html", viewer, figures=figures, ref_day=ref_day,
            this_month=figures.months[-1],
        )

    async def chart(request: Request, viewer: Viewer) -> Response:
        _, figures = await figures_of(viewer)
        png = await asyncio.to_thread(digest_chart, figures, options, console.t)
        cache = {"cache-control": "private, max-age=300"}
        return Response(png, media_type="image/png", headers=cache)

    return [
        Route("/dasbor", console.staff_page(ringkasan), methods=["GET"]),
        Route("/dasbor/grafik.png", console.staff_page(chart), methods=["GET"]),
    ]
