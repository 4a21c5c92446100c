"""`pendamping rujukan import` and `pendamping rujukan list`: the sistem sumber (referral
directory) from a CSV file, and what it holds. Texts come from the message catalog in the
configured language (``referral_cli.*``, ``referral_import.*``)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.bootstrap import App
from bot.commands import CommandError
from handlers.i18n import Translator
from models.referral_import import (
    Problem,
    ReferralFileError,
    RegionReader,
    import_referrals,
)
from models.referrals import list_contacts, regions_around
from models.rules.case_categories import CaseRules
from models.rules.referrals import CategoryReader, display_phone

SHOWN_PROBLEMS = 50


def _translator(app: App) -> Translator:
    return Translator(app.settings.general.locale)


def category_reader(rules: CaseRules, t: Translator) -> CategoryReader:
    """The configured categories by key and by name (configured, else the catalog's)."""
    return CategoryReader({key: rules.label(t, key) for key in rules.keys})


def say(t: Translator, problem: Problem) -> str:
    """A problem in words: "baris 3, kolom telepon: ..." (a file's problem alone)."""
    reason = t(problem.key, **problem.values)
    if problem.row is None:
        return reason
    return t("referral_cli.row_problem", row=problem.row, column=problem.column, reason=reason)


async def import_file(app: App, out: Console, file: Path, *, dry_run: bool) -> None:
    t = _translator(app)
    rules = app.settings.programme.case_rules()
    try:
        report = await import_referrals(
            app.sessions, file, categories=category_reader(rules, t), dry_run=dry_run,
            now=app.clock.now(),
        )
    except ReferralFileError as exc:
        raise CommandError(say(t, exc.problem)) from None
    for problem in report.problems[:SHOWN_PROBLEMS]:
        out.print(say(t, problem), markup=False, soft_wrap=True)
    if len(report.problems) > SHOWN_PROBLEMS:
        out.print(t("referral_cli.more_problems", count=len(report.problems) - SHOWN_PROBLEMS))
    rejected = len({problem.row for problem in report.problems})
    out.print(
        t(
            "referral_cli.summary", rows=report.rows_read, imported=report.imported,
            updated=report.updated, unchanged=report.unchanged, rejected=rejected,
        ),
        markup=False, soft_wrap=True,
    )
    if dry_run:
        out.print(t("referral_cli.dry_run"), markup=False, soft_wrap=True)
    if report.problems:
        raise CommandError(t("referral_cli.nothing_written"))


async def list_directory(app: App, out: Console, wilayah: str | None) -> None:
    t = _translator(app)
    async with app.sessions() as session:
        region_ids = None
        if wilayah:
            found = (await RegionReader.load(session)).read(wilayah, "")
            if isinstance(found, Problem):
                raise CommandError(t("referral_cli.wilayah_problem", reason=say(t, found)))
            region_ids = regions_around(found)
        contacts = await list_contacts(session, region_ids)
    if not contacts:
        out.print(t("referral_cli.none"), markup=False, soft_wrap=True)
        return
    table = Table(
        *(t(f"referral_cli.col.{c}") for c in ("wilayah", "nama", "jenis", "kategori",
                                              "telepon", "aktif")),
        title=t("referral_cli.list_title"),
    )
    for contact in contacts:
        level = t(f"referral.region.{contact.level.value}", name=contact.region)
        table.add_row(
            level, contact.name, contact.kind, ", ".join(contact.categories) or "-",
            display_phone(contact.phone), t("referral_cli.yes" if contact.active else
                                           "referral_cli.no"),
        )
    out.print(table)
