"""`pendamping export`: attendance, cases, graduation or commitment checks of every group
(or one region) to an XLSX or CSV file, written through a temporary file so a failure
leaves none."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import select

from bot.bootstrap import App, commitment_rules, komponen_catalog
from bot.commands import CommandError
from handlers.i18n import Translator
from models.audit import audit
from models.regions import find_regions
from models.tables import Kelompok
from reporting.export_files import ExportFormat
from reporting.exports import ExportKind, ExportRequest, Period, write_export

SUFFIXES = {".xlsx": ExportFormat.XLSX, ".csv": ExportFormat.CSV}


def export_format(path: Path) -> ExportFormat:
    """The file format an output path asks for, by its suffix."""
    fmt = SUFFIXES.get(path.suffix.casefold())
    if fmt is None:
        raise CommandError(f"--out must end in .xlsx or .csv, got {path.name!r}")
    return fmt


async def _region_id(app: App, written: str | None) -> int | None:
    if written is None:
        return None
    async with app.read_sessions() as session:
        found = await find_regions(session, written)
    if not found:
        raise CommandError(f"--region: no region named or coded {written!r}")
    if len(found) > 1:
        names = ", ".join(f"{r.name} ({r.level}, code {r.code or '-'})" for r in found)
        raise CommandError(f"--region {written!r} is ambiguous: {names}; use its code")
    return found[0].id


async def export(
    app: App,
    out: Console,
    kind: ExportKind,
    path: Path,
    *,
    start: date | None,
    end: date | None,
    region: str | None,
) -> None:
    fmt = export_format(path)
    if not path.parent.is_dir():  # noqa: ASYNC240 (a stat, once)
        raise CommandError(f"--out: folder {str(path.parent)!r} does not exist")
    zone = app.settings.general.timezone
    today = app.clock.now().astimezone(ZoneInfo(zone)).date()
    end = end or today
    start = start or end.replace(day=1)
    if end < start:
        raise CommandError("--from must not be after --to")
    request = ExportRequest(
        kind=kind,
        period=Period(start, end),
        scope=select(Kelompok.id),
        region_id=await _region_id(app, region),
        default_timezone=zone,
        commitments=commitment_rules(app),
        komponen_labels={kind: rule.label for kind, rule in komponen_catalog(app).rules.items()},
        case_category_labels=app.settings.programme.case_rules().labels(),
        locale=app.settings.general.locale,
    )
    translate = Translator(app.settings.general.locale)
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            async with app.read_sessions() as session:
                rows = await write_export(session, request, handle, fmt, translate)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)  # noqa: ASYNC240 (clean-up, once)
        raise
    async with app.sessions.begin() as session:
        await audit(
            session,
            actor="cli",
            action=f"export.{kind.value}",
            entity="export",
            entity_id=None,
            detail={
                "rows": rows,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "region_id": request.region_id,
                "format": fmt.value,
            },
        )
    out.print(
        f"{rows} rows written to {path} ({kind.value}, {start.isoformat()} to {end.isoformat()}).",
        markup=False,
        soft_wrap=True,
    )
