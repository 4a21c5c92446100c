"""Graduasi: the pipeline of the families in scope. Alamiah by date (their last komponen
ends within the digest's horizon, or has ended) and mandiri by readiness (siap first, then
by score); the counts are the digest's own (:func:`reporting.graduation.candidate_counts`
for the same scope and day), so they equal the Ringkasan's "Calon graduasi"."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.console import Console, Viewer
from bot.dashboard.paging import asked_page, viewer_zone, whole
from models.scope import kelompok_scope
from reporting.console_kpm import pendamping_options
from reporting.graduation import PipelineRow, candidate_counts, graduation_pipeline


def graduasi_routes(console: Console) -> list[BaseRoute]:
    options = console.engine_settings.digest
    t = console.t

    def readiness(row: PipelineRow) -> str:
        """What keeps an assessed family from siap: points short, a gate, a programme."""
        why = []
        if row.score is not None and row.threshold is not None and row.score < row.threshold:
            short = format(round(row.threshold - row.score, 1), "g").replace(".", ",")
            why.append(t("web.graduasi_short", points=short))
        if not row.gates_met:
            why.append(t("web.graduasi_gates"))
        if row.needs_programmes:
            why.append(t("web.graduasi_needs"))
        return "; ".join(why)

    async def graduasi(request: Request, viewer: Viewer) -> Response:
        pendamping_id = whole(request, "pendamping")
        zone = await viewer_zone(console.app, viewer.staff)
        today = console.app.clock.now().astimezone(zone).date()
        scope = kelompok_scope(viewer.staff)
        pages = {kind: asked_page(request, f"hal_{kind}") for kind in ("alamiah", "mandiri")}
        async with console.app.read_sessions() as session:
            counts = await candidate_counts(
                session, scope, today=today, horizon_days=options.horizon_days,
                threshold=options.threshold, programmes=options.programmes,
            )
            lists = {
                kind: await graduation_pipeline(
                    session, scope, alamiah=kind == "alamiah", today=today,
                    horizon_days=options.horizon_days, programmes=options.programmes,
                    pendamping_id=pendamping_id, limit=asked.size, offset=asked.offset,
                )
                for kind, asked in pages.items()
            }
            people = await pendamping_options(session, viewer.staff)
        shown = [
            pair for who, pair in counts.items() if pendamping_id is None or who == pendamping_id
        ]
        alamiah, mandiri = sum(a for a, _ in shown), sum(m for _, m in shown)
        return console.render(
            request, "graduasi.html", viewer,
            today=today, horizon=options.horizon_days, pendamping_id=pendamping_id,
            people=people, alamiah_count=alamiah, mandiri_count=mandiri, readiness=readiness,
            alamiah=lists["alamiah"][0], mandiri=lists["mandiri"][0],
            alamiah_pager=pages["alamiah"].of(lists["alamiah"][1]),
            mandiri_pager=pages["mandiri"].of(lists["mandiri"][1]),
        )

    return [Route("/graduasi", console.staff_page(graduasi), methods=["GET"])]
