"""`pendamping export`: attendance, cases, graduation or commitment checks of every group
(or one region) to an XLSX or CSV file, written through a temporary file so a failure
leaves none. What it says is in the configured locale (``cli.export.*``)."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from sqlalchemy import select

from bot.bootstrap import App, commitment_rules, komponen_catalog
from bot.commands import CommandError, region_names
from handlers.i18n import Translator
from models.audit import audit
from models.regions import find_regions
from models.tables import Kelompok
from reporting.export_files import ExportFormat
from reporting.exports import ExportKind, ExportRequest, Period, write_export

SUFFIXES = {".xlsx": ExportFormat.XLSX, ".csv": ExportFormat.CSV}


def export_format(path: Path, t: Translator) -> ExportFormat:
    """The file format an output path asks for, by its suffix."""
    fmt = SUFFIXES.get(path.suffix.casefold())
    if fmt is None:
        raise CommandError(t("cli.export.bad_suffix", name=path.name))
    return fmt


async def _region_id(app: App, t: Translator, written: str | None) -> int | None:
    if written is None:
        return None
    async with app.read_sessions() as session:
        found = await find_regions(session, written)
    if not found:
        raise CommandError(t("cli.export.no_region", region=written))
    if len(found) > 1:
        names = region_names(t, found, by_code=True)
        raise CommandError(t("cli.export.ambiguous_region", region=written, names=names))
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
    translate = Translator(app.settings.general.locale)
    fmt = export_format(path, translate)
    if not path.parent.is_dir():  # noqa: ASYNC240 (a stat, once)
        raise CommandError(translate("cli.export.no_folder", path=path.parent))
    zone = app.settings.general.timezone
    today = app.clock.now().astimezone(ZoneInfo(zone)).date()
    end = end or today
    start = start or end.replace(day=1)
    if end < start:
        raise CommandError(translate("cli.export.reversed"))
    request = ExportRequest(
        kind=kind,
        period=Period(start, end),
        scope=select(Kelompok.id),
        region_id=await _region_id(app, translate, region),
        default_timezone=zone,
        commitments=commitment_rules(app),
        komponen_labels={kind: rule.label for kind, rule in komponen_catalog(app).rules.items()},
        case_category_labels=app.settings.programme.case_rules().labels(),
        locale=app.settings.general.locale,
    )
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
        translate(
            "cli.export.written",
            rows=rows,
            path=path,
            kind=kind.value,
            start=start.isoformat(),
            end=end.isoformat(),
        ),
        markup=False,
        soft_wrap=True,
    )
