"""Ekspor: the chat's /ekspor in the browser — attendance, cases, graduation or commitment
checks of the viewer's scope for one of the chat's periods, as XLSX or CSV.

The file is written by the same :func:`reporting.exports.write_export` as the chat and
`pendamping export`, into a private temporary file (constant memory: openpyxl's
write-only workbook and the CSV writer keep no rows), unlinked at once and then streamed
to the browser in chunks; the export is audited as the chat audits it. Who may export is
the chat flow's rule (coordinators, supervisors, operators).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.bootstrap import commitment_rules, komponen_catalog
from bot.dashboard.console import Console, Viewer
from handlers.export import FLOW, KINDS, PERIODS, period_of
from models.audit import audit
from models.private_files import private_folder, private_temp
from models.regions import timezone_of_region
from models.scope import kelompok_scope
from reporting.export_files import ExportFormat, content_type
from reporting.exports import ExportKind, ExportRequest, Period, write_export

CHUNK = 64 * 1024
FORMATS = tuple(fmt.value for fmt in ExportFormat)


def export_folder(secret_file: str) -> Path:
    """Beside the console's session key: the private data folder (``var/`` by default)."""
    return Path(secret_file).absolute().parent / "ekspor"


def ekspor_routes(console: Console) -> list[BaseRoute]:
    app = console.app
    t = console.t
    settings = app.settings

    def allowed(viewer: Viewer) -> bool:
        return viewer.role.value in FLOW.roles

    def form(
        request: Request, viewer: Viewer, *, chosen: dict[str, str], error: str | None = None,
        notice: str | None = None, status_code: int = 200,
    ) -> Response:
        return console.render(
            request, "ekspor.html", viewer, allowed=allowed(viewer), kinds=KINDS,
            periods=PERIODS, formats=FORMATS, chosen=chosen, error=error, notice=notice,
            status_code=status_code,
        )

    async def page(request: Request, viewer: Viewer) -> Response:
        return form(request, viewer, chosen={})

    async def today_of(viewer: Viewer) -> date:
        async with app.read_sessions() as session:
            zone = await timezone_of_region(session, viewer.staff.region_id)
        return app.clock.now().astimezone(ZoneInfo(zone or settings.general.timezone)).date()

    async def download(request: Request, viewer: Viewer) -> Response:
        query = request.query_params
        chosen = {name: query.get(name, "") for name in ("jenis", "periode", "format")}
        if not allowed(viewer):
            return form(request, viewer, chosen=chosen, status_code=403)
        for name, known in (("jenis", KINDS), ("periode", PERIODS), ("format", FORMATS)):
            if chosen[name] not in known:
                message = t(f"web.ekspor_bad_{name}")
                return form(request, viewer, chosen=chosen, error=message, status_code=400)
        kind, fmt = ExportKind(chosen["jenis"]), ExportFormat(chosen["format"])
        period = period_of(chosen["periode"], await today_of(viewer))
        export = ExportRequest(
            kind=kind,
            period=period,
            scope=kelompok_scope(viewer.staff),
            default_timezone=settings.general.timezone,
            commitments=commitment_rules(app),
            komponen_labels={k: rule.label for k, rule in komponen_catalog(app).rules.items()},
            case_category_labels=settings.programme.case_rules().labels(),
            locale=settings.general.locale,
        )
        handle, rows = await _written(export, fmt)
        values = {"kind": t(f"export.kind.{kind.value}"), "period": _period_text(period)}
        if rows == 0:
            handle.close()
            return form(request, viewer, chosen=chosen, notice=t("export.empty", **values))
        async with app.sessions() as session:
            await audit(
                session, actor="staff", actor_staff_id=viewer.staff.id,
                action=f"export.{kind.value}", entity="export", entity_id=None,
                detail={"from": period.start.isoformat(), "to": period.end.isoformat(),
                        "format": fmt.value, "rows": rows},
                at=app.clock.now(),
            )
            await session.commit()
        name = f"{t(f'export.file.{kind.value}')}_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}"
        return StreamingResponse(
            _chunks(handle),
            media_type=content_type(fmt),
            headers={
                "content-disposition": f'attachment; filename="{name}.{fmt.value}"',
                "cache-control": "no-store",
            },
        )

    async def _written(export: ExportRequest, fmt: ExportFormat) -> tuple[BinaryIO, int]:
        """The export in a private temporary file, already unlinked (it goes with the
        handle), rewound for reading; and its number of rows."""
        folder = export_folder(settings.web.session_secret_file)
        await asyncio.to_thread(private_folder, folder)
        path = await asyncio.to_thread(private_temp, folder, "ekspor")
        handle: BinaryIO = path.open("w+b")  # noqa: ASYNC230 (a private temp file)
        path.unlink()
        try:
            async with app.read_sessions() as session:
                rows = await write_export(session, export, handle, fmt, t)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return handle, rows

    def _period_text(period: Period) -> str:
        def written(day: date) -> str:
            return format_date(day, "d MMMM y", locale=t.locale)

        return t("export.period_range", start=written(period.start), end=written(period.end))

    return [
        Route("/ekspor", console.staff_page(page), methods=["GET"]),
        Route("/ekspor/unduh", console.staff_page(download), methods=["GET"]),
    ]


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()



