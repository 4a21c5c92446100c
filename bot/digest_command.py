"""`pendamping digest`: a week's coordinator digest on demand.

Without ``--dry-run`` the digest goes into the outbox under the same weekly keys the
scheduler uses, so a week is never sent twice whoever asks; with it nothing is written
to the database: the text is printed and, with ``--out``, the chart and the workbook
are saved for a look. What it says is in the configured locale (``cli.digest.*``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import App, digest_options
from bot.commands import CommandError
from handlers.i18n import Translator
from models.enums import StaffRole
from models.messaging.sweeps import staff_addresses
from models.messaging.tables import Outbox
from models.private_files import write_private
from models.tables import Staff
from reporting.digest import Digest, build_digest, coordinators, iso_week, staff_timezone
from scheduler.digests import (
    dedupe_key,
    due_moment,
    enqueue_digest,
    figures_as_of,
    parse_week,
)


async def digest(
    app: App,
    out: Console,
    *,
    coordinator: int | None,
    week: str | None,
    dry_run: bool,
    out_dir: Path | None,
) -> None:
    translate = Translator(app.settings.general.locale)
    try:
        monday = parse_week(week) if week else None
    except ValueError:
        raise CommandError(translate("cli.digest.bad_week", week=week)) from None
    options = digest_options(app)
    reporting = app.settings.reporting
    now = app.clock.now()
    async with app.read_sessions() as session:
        staff = await _chosen(session, translate, coordinator)
    scheduler = app.settings.scheduler
    quiet = (scheduler.quiet_hours_start, scheduler.quiet_hours_end)
    for member in staff:
        async with app.read_sessions() as session:  # built without the write lock
            zone = await staff_timezone(session, member, options.default_timezone)
            local = now.astimezone(zone).date()
            first = monday or local - timedelta(days=local.weekday())
            label = iso_week(first)
            due = due_moment(first, reporting.digest_weekday, reporting.digest_time, zone)
            key = dedupe_key(member.id, label, "text")
            who = {"name": member.name, "id": member.id, "week": label}
            if not dry_run and await session.scalar(
                select(Outbox.id).where(Outbox.dedupe_key == key)
            ):
                out.print(translate("cli.digest.already_sent", **who), markup=False)
                continue
            built = await build_digest(
                session,
                member,
                as_of=figures_as_of(due),
                options=options,
                translate=translate,
                week=label,
            )
            addresses = await staff_addresses(session, [member.id])
        if dry_run:
            out.print(Text(translate("cli.digest.heading", **who), style="bold"))
            out.print(built.text, markup=False, soft_wrap=True)
            if out_dir is not None:
                await asyncio.to_thread(_save, out_dir, built)
                saved = translate(
                    "cli.digest.saved", chart=built.chart_filename,
                    workbook=built.workbook_filename,
                )
                out.print(saved, markup=False)
            continue
        if member.id not in addresses:
            out.print(translate("cli.digest.no_chat", **who), markup=False)
            continue
        added = await enqueue_digest(
            app.sessions,
            built,
            addresses[member.id],
            now=now,
            zone=zone,
            quiet=quiet,
            options=options,
        )
        channel = addresses[member.id][0]
        if added:
            out.print(translate("cli.digest.queued", channel=channel, **who), markup=False)
        else:
            out.print(translate("cli.digest.already_sent", **who), markup=False)


def _save(directory: Path, built: Digest) -> None:
    # 0600: the workbook names the absent KPM
    write_private(directory / built.chart_filename, built.chart_png)
    write_private(directory / built.workbook_filename, built.workbook)


async def _chosen(
    session: AsyncSession, t: Translator, coordinator: int | None
) -> list[Staff]:
    if coordinator is None:
        found = await coordinators(session)
        if not found:
            raise CommandError(t("cli.digest.no_coordinator"))
        return found
    member = await session.get(Staff, coordinator)
    if member is None or member.role is not StaffRole.KOORDINATOR:
        raise CommandError(t("cli.digest.not_coordinator", id=coordinator))
    return [member]
