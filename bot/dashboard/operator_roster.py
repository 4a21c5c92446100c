"""Roster upload for operators: the file is kept in a private folder under the console's
data folder, checked first with the importer's own dry run (every rejected row with its
reason, and the rejects file to download), then imported on confirmation by the same
:func:`models.roster.importer.import_roster` as `pendamping import-roster`, in one
transaction: all of it or nothing.

Each upload is a folder named by a random token (``0700``) holding the file under its
own name, the rejects CSV and the report (JSON), all ``0600``; a lock file makes the
import happen once. Uploads older than a day are removed at the next upload.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.bootstrap import komponen_catalog
from bot.dashboard.console import Console, Viewer
from bot.dashboard.operator import PER_PAGE, operator_only, page_number
from bot.roster_reasons import rejection, say
from models.private_files import create_private_file, open_private, private_folder
from models.roster.files import CSV_SUFFIXES, XLSX_SUFFIXES
from models.roster.importer import ImportReport, RosterFileError, import_roster

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
REPORT, REJECTS, LOCK = "laporan.json", "ditolak.csv", "impor.lock"
KEEP_SECONDS = 24 * 60 * 60
CHUNK = 1024 * 1024


def uploads_folder(console: Console) -> Path:
    """Beside the console's session key: the data folder (``var/`` by default)."""
    return Path(console.app.settings.web.session_secret_file).resolve().parent / "roster-upload"


def safe_name(written: str | None) -> str | None:
    """The upload's own file name, reduced to harmless characters; None without a known
    suffix (.csv, .txt, .xlsx, .xlsm)."""
    name = Path((written or "").replace("\\", "/")).name
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", name).strip(" .")[-100:]
    if Path(name).suffix.casefold() not in CSV_SUFFIXES | XLSX_SUFFIXES:
        return None
    return name


def _summary(report: ImportReport) -> dict[str, Any]:
    return {
        "rows": report.rows_read, "imported": report.imported, "updated": report.updated,
        "unchanged": report.unchanged, "rejected": len(report.rejected),
        "moved": report.moved, "left": report.left, "phones_changed": report.phones_changed,
        "written": report.written,
    }


def _remove_old(folder: Path, now: float) -> None:
    for upload in folder.iterdir() if folder.is_dir() else ():
        if upload.is_dir() and now - upload.stat().st_mtime > KEEP_SECONDS:
            shutil.rmtree(upload, ignore_errors=True)


def _save(upload: UploadFile, target: Path) -> None:
    upload.file.seek(0)
    with open_private(target) as handle:
        shutil.copyfileobj(upload.file, handle, CHUNK)


def _write_report(folder: Path, report: dict[str, Any]) -> None:
    with open_private(folder / REPORT, "w", encoding="utf-8") as handle:
        json.dump(report, handle, ensure_ascii=False)


def operator_roster_routes(console: Console) -> list[BaseRoute]:
    app = console.app
    t = console.t

    def folder_of(request: Request) -> Path:
        token = request.path_params["token"]
        folder = uploads_folder(console) / token
        if not TOKEN.match(token) or not (folder / REPORT).is_file():
            raise HTTPException(404)
        return folder

    async def run(path: Path, folder: Path, *, dry_run: bool, viewer: Viewer) -> ImportReport:
        return await import_roster(
            app.sessions, path, catalog=komponen_catalog(app), dry_run=dry_run,
            rejects_path=folder / REJECTS if dry_run else None, now=app.clock.now(),
            timezone=app.settings.general.timezone,
            describe=lambda rejected: rejection(t, rejected), by=viewer.staff,
        )

    async def form(request: Request, viewer: Viewer) -> Response:
        return console.render(request, "operator_roster.html", viewer, error=None)

    async def upload(request: Request, viewer: Viewer) -> Response:
        posted = (await request.form()).get("berkas")
        name = safe_name(posted.filename) if isinstance(posted, UploadFile) else None
        if not isinstance(posted, UploadFile) or not posted.filename:
            return _refused(request, viewer, t("web.operator_roster_no_file"))
        if name is None:
            return _refused(request, viewer, t("web.operator_roster_bad_type"))
        base = uploads_folder(console)
        await asyncio.to_thread(private_folder, base)
        await asyncio.to_thread(_remove_old, base, time.time())
        token = secrets.token_urlsafe(24)
        folder = base / token
        await asyncio.to_thread(private_folder, folder)
        path = folder / name
        await asyncio.to_thread(_save, posted, path)
        try:
            report = await run(path, folder, dry_run=True, viewer=viewer)
        except RosterFileError as exc:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            return _refused(request, viewer, say(t, exc.reason))
        saved = {
            "file": name,
            "state": "checked",
            "checked": _summary(report),
            "rejected": [
                [r.row_number, "; ".join(say(t, why) for why in r.reasons)]
                for r in report.rejected
            ],
        }
        await asyncio.to_thread(_write_report, folder, saved)
        return RedirectResponse(f"/operator/roster/{token}", status_code=303)

    def _refused(request: Request, viewer: Viewer, message: str) -> Response:
        return console.render(
            request, "operator_roster.html", viewer, error=message, status_code=400
        )

    async def result(request: Request, viewer: Viewer) -> Response:
        folder = folder_of(request)
        saved = json.loads((folder / REPORT).read_text(encoding="utf-8"))
        number = page_number(request)
        rejected = saved["rejected"]
        shown = rejected[(number - 1) * PER_PAGE : number * PER_PAGE]
        return console.render(
            request, "operator_roster_result.html", viewer,
            token=request.path_params["token"], saved=saved, rejected=shown, page=number,
            more=len(rejected) > number * PER_PAGE,
            has_rejects=bool(rejected) and (folder / REJECTS).is_file(),
        )

    async def rejects(request: Request, viewer: Viewer) -> Response:
        folder = folder_of(request)
        if not (folder / REJECTS).is_file():
            raise HTTPException(404)
        saved = json.loads((folder / REPORT).read_text(encoding="utf-8"))
        download = f"{Path(saved['file']).stem}_ditolak.csv"
        return FileResponse(
            folder / REJECTS, media_type="text/csv; charset=utf-8", filename=download,
            headers={"cache-control": "no-store"},
        )

    async def confirm(request: Request, viewer: Viewer) -> Response:
        folder = folder_of(request)
        token = request.path_params["token"]
        if not await asyncio.to_thread(create_private_file, folder / LOCK):
            return RedirectResponse(f"/operator/roster/{token}", status_code=303)
        saved = json.loads((folder / REPORT).read_text(encoding="utf-8"))
        path = folder / saved["file"]
        try:
            report = await run(path, folder, dry_run=False, viewer=viewer)
        except RosterFileError as exc:
            (folder / LOCK).unlink(missing_ok=True)
            saved["error"] = say(t, exc.reason)
        except BaseException:
            (folder / LOCK).unlink(missing_ok=True)  # nothing was written: may be tried again
            raise
        else:
            saved["state"] = "imported"
            saved["imported"] = _summary(report)
            path.unlink(missing_ok=True)  # the roster holds NIKs: not kept once imported
        await asyncio.to_thread(_write_report, folder, saved)
        return RedirectResponse(f"/operator/roster/{token}", status_code=303)

    return [
        Route("/operator/roster", operator_only(console, form), methods=["GET"]),
        Route("/operator/roster", operator_only(console, upload), methods=["POST"]),
        Route("/operator/roster/{token}", operator_only(console, result), methods=["GET"]),
        Route(
            "/operator/roster/{token}/ditolak.csv", operator_only(console, rejects),
            methods=["GET"],
        ),
        Route(
            "/operator/roster/{token}/impor", operator_only(console, confirm), methods=["POST"]
        ),
    ]

