"""The ``pendamping`` command line: set-up, roster import, staff invites and checks.

What the commands print is in the configured locale (``general.locale``, Indonesian by
default) from the message catalog's ``cli.*`` texts; Typer's --help texts stay English.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from bot import audit_command, commands, event_loop, kpm_command, staff_command
from bot.bootstrap import App, build_app
from bot.commands import CommandError
from bot.config import ConfigError, LoadedSettings, load_settings
from bot.logging_setup import configure_logging
from bot.process import AlreadyServed
from handlers.i18n import DEFAULT_LOCALE, Translator
from models.enums import ExitReason, StaffRole
from models.rules.calendar import zone
from reporting.exports import ExportKind

log = logging.getLogger(__name__)
cli = typer.Typer(
    name="pendamping",
    help="Chat assistant for PKH pendamping sosial.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
staff_cli = typer.Typer(help="Staff members and their chat links.", no_args_is_help=True)
cli.add_typer(staff_cli, name="staff")
kelompok_cli = typer.Typer(help="Kelompok and who accompanies them.", no_args_is_help=True)
cli.add_typer(kelompok_cli, name="kelompok")
kpm_cli = typer.Typer(
    help="Families who move or leave the programme; their data exported or erased.",
    no_args_is_help=True,
)
cli.add_typer(kpm_cli, name="kpm")
telegram_cli = typer.Typer(help="Telegram bot set-up.", no_args_is_help=True)
cli.add_typer(telegram_cli, name="telegram")
whatsapp_cli = typer.Typer(help="WhatsApp (Twilio) set-up.", no_args_is_help=True)
cli.add_typer(whatsapp_cli, name="whatsapp")
case_cli = typer.Typer(help="Case notes: the category suggestion.", no_args_is_help=True)
cli.add_typer(case_cli, name="case")
rujukan_cli = typer.Typer(
    help="Sistem sumber: the referral directory per kecamatan or kabupaten.", no_args_is_help=True
)
cli.add_typer(rujukan_cli, name="rujukan")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class State:
    config_path: Path | None = None
    _loaded: LoadedSettings | None = None

    def use(self, config_path: Path | None) -> None:
        """Settings from ``config_path`` (None: $PENDAMPING_CONFIG), read when first needed."""
        self.config_path = config_path
        self._loaded = None

    def loaded(self) -> LoadedSettings:
        if self._loaded is None:
            self._loaded = load_settings(self.config_path)
        return self._loaded

    def translator(self) -> Translator:
        """The catalog in the configured locale (Indonesian when the settings are bad)."""
        try:
            return Translator(self.loaded().settings.general.locale)
        except ConfigError:
            return Translator(DEFAULT_LOCALE)


state = State()


@cli.callback()
def _main(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file (default: $PENDAMPING_CONFIG)."),
    ] = None,
) -> None:
    state.use(config)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(message, markup=False, soft_wrap=True)
    raise typer.Exit(code)


def run_with_app(job: Callable[[App], Awaitable[Any]]) -> Any:
    """Load settings, open the app, run ``job`` and close; errors become one line."""
    try:
        loaded = state.loaded()
    except ConfigError as exc:
        fail(str(exc), code=2)
    configure_logging(loaded.settings.logging)
    app = build_app(loaded.settings)

    async def run() -> Any:
        try:
            return await job(app)
        finally:
            await app.close()

    t = Translator(loaded.settings.general.locale)
    try:
        return event_loop.run(run())
    except CommandError as exc:
        fail(t("cli.error", message=exc))
    except AlreadyServed as exc:
        holder = exc.holder or t("cli.another_process")
        fail(t("cli.error", message=t("cli.already_served", database=exc.database, holder=holder)))
    except OSError as exc:
        log.exception("command failed: %s", type(exc).__name__)
        fail(t("cli.error", message=exc.strerror or exc))


@cli.command()
def init(
    demo: Annotated[bool, typer.Option(help="Also seed the fictional demo kabupaten.")] = False,
) -> None:
    """Create the database or upgrade it to the newest migration (safe to run twice)."""
    run_with_app(lambda app: commands.init(app, out, demo=demo))


@cli.command("import-roster")
def import_roster(
    file: Annotated[Path, typer.Argument(help="CSV (comma or semicolon) or XLSX roster.")],
    strict: Annotated[bool, typer.Option(help="Write nothing if any row is bad.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Check and count; write nothing.")] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Write the rejected rows to this CSV, to fix and re-import.")
    ] = None,
) -> None:
    """Import or update KPM from a roster file, matched by ID PKH."""
    run_with_app(
        lambda app: commands.import_roster(
            app, out, file, strict=strict, dry_run=dry_run, rejects=rejects
        )
    )


@cli.command()
def invite(
    role: Annotated[StaffRole, typer.Option(help="The staff member's role.")],
    name: Annotated[str, typer.Option(help="Full name; an existing member is matched by it.")],
    region: Annotated[
        str | None, typer.Option(help="Region overseen (name or Kemendagri code).")
    ] = None,
    pendamping: Annotated[
        list[str] | None, typer.Option(help="A pendamping this supervisor oversees (repeatable).")
    ] = None,
) -> None:
    """Print a one-time code with which a staff member links their chat."""
    run_with_app(
        lambda app: commands.invite(
            app, out, role=role, name=name, region=region, pendamping=pendamping or []
        )
    )


@staff_cli.command("list")
def staff_list() -> None:
    """List staff members, what they carry and whether their chat is linked."""
    run_with_app(lambda app: commands.staff_list(app, out))


Who = Annotated[str, typer.Argument(help="Name (or part of it) or id from `staff list`.")]


@staff_cli.command("deactivate")
def staff_deactivate(
    who: Who,
    to: Annotated[
        str | None, typer.Option(help="The pendamping who takes over their kelompok.")
    ] = None,
) -> None:
    """End a staff member's access (their chats are told so); --to hands their kelompok over."""
    run_with_app(lambda app: staff_command.staff_deactivate(app, out, who, to))


@cli.command("web-login")
def web_login(who: Who) -> None:
    """Print a one-time link into the web console for a staff member (valid minutes, once)."""
    run_with_app(lambda app: staff_command.web_login(app, out, who))


@staff_cli.command("reactivate")
def staff_reactivate(
    who: Who,
) -> None:
    """Give a deactivated staff member their access back."""
    run_with_app(lambda app: staff_command.staff_reactivate(app, out, who))


@staff_cli.command("role")
def staff_role(
    who: Who,
    role: Annotated[StaffRole, typer.Argument(help="The new role.")],
) -> None:
    """Change a staff member's role (a pendamping's kelompok must be handed over first)."""
    run_with_app(lambda app: staff_command.staff_role(app, out, who, role))


@staff_cli.command("unlink")
def staff_unlink(
    who: Who,
    address: Annotated[str, typer.Argument(help="The chat address, e.g. whatsapp:+62812...")],
) -> None:
    """Remove one chat address of a staff member (a lost phone, a number given up)."""
    run_with_app(lambda app: staff_command.staff_unlink(app, out, who, address))


@kelompok_cli.command("reassign")
def kelompok_reassign(
    from_: Annotated[str, typer.Option("--from", help="The pendamping handing over.")],
    to: Annotated[str, typer.Option("--to", help="The pendamping taking over.")],
    kelompok: Annotated[
        list[str] | None, typer.Option(help="Only this kelompok (repeatable); default: all.")
    ] = None,
) -> None:
    """Hand kelompok over with their open cases, waiting nudges and pesan KPM."""
    run_with_app(
        lambda app: staff_command.kelompok_reassign(app, out, from_, to, kelompok or [])
    )


KpmId = Annotated[str, typer.Argument(help="The KPM's ID PKH.")]


@kpm_cli.command("move")
def kpm_move(
    who: KpmId,
    kelompok: Annotated[str, typer.Option(help="The kelompok (name or id) the KPM joins.")],
) -> None:
    """Move a KPM to another kelompok (waiting reminders withdrawn, open cases follow)."""
    run_with_app(lambda app: kpm_command.kpm_move(app, out, who, kelompok))


@kpm_cli.command("leave")
def kpm_leave(
    who: KpmId,
    reason: Annotated[ExitReason, typer.Option(help="Why the KPM left.")],
    on: Annotated[
        str | None, typer.Option(help="The day it happened (YYYY-MM-DD); default today.")
    ] = None,
) -> None:
    """Record that a KPM left the programme: no more reminders, out of the figures."""
    run_with_app(lambda app: kpm_command.kpm_leave(app, out, who, reason, on))


SubjectId = Annotated[str, typer.Argument(help="The KPM's ID PKH, or the NIK of its pengurus.")]


@kpm_cli.command("export")
def kpm_export(
    who: SubjectId,
    out_file: Annotated[
        Path, typer.Option("--out", help="File to write: .xlsx (a sheet per kind) or .json.")
    ],
) -> None:
    """Everything held on one family, for its own access request (the NIK in full; 0600)."""
    run_with_app(lambda app: kpm_command.kpm_export(app, out, who, out_file))


@kpm_cli.command("erase")
def kpm_erase(
    who: SubjectId,
    reason: Annotated[str, typer.Option(help="Why (the family's request, ...); kept.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one family's personal data (name, NIK, phone, chats, texts, photos); figures stay."""

    def ask(question: str) -> str:
        return str(typer.prompt(question, default="", show_default=False))

    done = run_with_app(
        lambda app: kpm_command.kpm_erase(app, out, who, reason, confirm=None if yes else ask)
    )
    if not done:
        raise typer.Exit(1)


@cli.command("audit")
def audit_log(
    kpm: Annotated[str | None, typer.Option(help="Only what concerns this KPM (ID PKH).")] = None,
    staff: Annotated[
        str | None, typer.Option(help="Only what this staff member did (name or id).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many of the latest changes.")] = 200,
) -> None:
    """What changed: who, when, before and after (marks corrected, cases, KPM moved or left)."""
    run_with_app(
        lambda app: audit_command.audit_log(
            app, out, kpm=kpm, staff=staff, since=since, limit=limit
        )
    )


@cli.command()
def chat(
    as_: Annotated[
        str | None,
        typer.Option("--as", help="Staff name, or an address such as console:ani."),
    ] = None,
) -> None:
    """Chat with the bot in the terminal (reads a script when stdin is not a terminal)."""
    run_with_app(lambda app: commands.chat(app, out, as_))


@cli.command()
def run() -> None:
    """Run the bot: web app (webhooks), Telegram (polling or webhook), sweeps, dispatcher."""
    from bot.runner import serve

    run_with_app(serve)


@cli.command()
def demo() -> None:
    """Seed the demo and serve the console and the web simulator (what `make run` does)."""
    from bot.demo_command import demo as serve_demo

    os.environ["PENDAMPING_WEB_SIMULATOR"] = "true"  # the demo shows the simulator
    state.use(state.config_path)
    run_with_app(lambda app: serve_demo(app, out))


@cli.command("web")
def web_command() -> None:
    """Run the web app only: webhooks, inbox workers, health, Telegram (one process polls);
    no sweeps, no dispatcher. On PostgreSQL several may run, beside `pendamping scheduler`."""
    from bot.runner import serve

    run_with_app(lambda app: serve(app, sweeps=False))


@cli.command("scheduler")
def scheduler_command() -> None:
    """Run only the sweeps and the outbox dispatcher (several may run on PostgreSQL)."""
    from bot.runner import run_scheduler

    run_with_app(run_scheduler)


@telegram_cli.command("set-webhook")
def telegram_set_webhook() -> None:
    """Register the webhook URL and secret with Telegram (once, at deploy time)."""
    run_with_app(lambda app: commands.telegram_set_webhook(app, out))


@cli.command("messages")
def messages(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the page here (default: print it).")
    ] = None,
) -> None:
    """Every message the bot sends, as a person receives it (Markdown), for review."""
    from handlers.i18n import Translator
    from handlers.message_review import review_page

    try:
        locale = state.loaded().settings.general.locale
    except ConfigError as exc:
        fail(str(exc), code=2)
    page = review_page(Translator(locale))
    if out_file is None:
        out.print(page, markup=False, highlight=False, soft_wrap=True)
        return
    out_file.write_text(page, encoding="utf-8")
    count = page.count(chr(10) + "### ")
    out.print(state.translator()("cli.messages.wrote", count=count, path=out_file),
              markup=False, soft_wrap=True)


@whatsapp_cli.command("templates")
def whatsapp_templates(
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the pack here as Content API create requests."),
    ] = None,
    create: Annotated[
        bool,
        typer.Option(help="Create the templates not configured yet through the Content API."),
    ] = False,
) -> None:
    """Every WhatsApp template with its body, variables and examples."""
    from bot.whatsapp_command import whatsapp_templates as templates

    failed = run_with_app(lambda app: templates(app, out, json_out=json_out, create=create))
    if failed:
        t = state.translator()
        fail(t("cli.error", message=t("cli.whatsapp.not_created_count", count=failed)))


@case_cli.command("suggest")
def case_suggest() -> None:
    """Read case notes, one per line, from standard input; print for each the suggested
    category and severity as one JSON object per line (the configuration in force, no
    database)."""
    from bot.case_command import case_rules, suggest_lines

    try:
        rules = case_rules(state.loaded().settings)
    except ConfigError as exc:
        fail(str(exc), code=2)
    for line in suggest_lines(rules, typer.get_text_stream("stdin")):
        typer.echo(line)


@rujukan_cli.command("import")
def rujukan_import(
    file: Annotated[Path, typer.Argument(help="CSV (comma or semicolon) of referral contacts.")],
    dry_run: Annotated[bool, typer.Option(help="Check and count; write nothing.")] = False,
) -> None:
    """Import or update referral contacts (matched by region and name); a bad row writes
    nothing and is named with its column."""
    from bot.referral_command import import_file

    run_with_app(lambda app: import_file(app, out, file, dry_run=dry_run))


@rujukan_cli.command("list")
def rujukan_list(
    wilayah: Annotated[
        str | None, typer.Option(help="Only what staff of this kecamatan or kabupaten see.")
    ] = None,
) -> None:
    """List the referral contacts, kecamatan first, with their categories."""
    from bot.referral_command import list_directory

    run_with_app(lambda app: list_directory(app, out, wilayah))


@cli.command("digest")
def digest_command(
    coordinator: Annotated[
        int | None, typer.Option(help="Only this coordinator (id from `staff list`).")
    ] = None,
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: this week).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print the digest; send and write nothing.")
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="With --dry-run: save the chart and workbook here.")
    ] = None,
) -> None:
    """Build a week's coordinator digest and queue it for sending (once per week)."""
    from bot.digest_command import digest

    if out_dir is not None and not dry_run:
        fail(state.translator()("cli.digest.out_needs_dry_run"))
    if out_dir is not None and not out_dir.is_dir():
        fail(state.translator()("cli.digest.out_not_a_directory", path=out_dir))
    run_with_app(
        lambda app: digest(
            app, out, coordinator=coordinator, week=week, dry_run=dry_run, out_dir=out_dir
        )
    )


@cli.command("outbox")
def outbox_command() -> None:
    """Outbound messages: counts by status and channel, and the latest failures."""
    run_with_app(lambda app: commands.outbox(app, out))


@cli.command("capacity")
def capacity_command(
    day: Annotated[
        datetime | None,
        typer.Option("--date", formats=["%Y-%m-%d"], help="The day (default: today)."),
    ] = None,
) -> None:
    """Messages due on a day per channel and sender, the hours they need at the configured
    rates, and whether they finish inside the sending window."""
    from bot.capacity_command import capacity, print_capacity

    async def job(app: App) -> bool:
        today = app.clock.now().astimezone(zone(app.settings.general.timezone)).date()
        wanted = day.date() if day else today
        return print_capacity(out, commands.translator(app), wanted, await capacity(app, wanted))

    if run_with_app(job) is False:  # some channel cannot finish inside the window
        raise typer.Exit(1)


@cli.command("inbox")
def inbox_command() -> None:
    """Inbound messages: counts by status and channel, the backlog's age, latest failures."""
    run_with_app(lambda app: commands.inbox(app, out))


@cli.command("export")
def export_command(
    kind: Annotated[ExportKind, typer.Argument(metavar="KIND", help="What to export.")],
    out_file: Annotated[
        Path, typer.Option("--out", help="File to write; .xlsx or .csv (semicolons, for Excel).")
    ],
    from_: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day (default: 1st of month)."),
    ] = None,
    to: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included (default: today)."),
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Only this region (name or Kemendagri code).")
    ] = None,
) -> None:
    """Export attendance, cases, graduation or commitment checks (komitmen) to XLSX or CSV."""
    from bot.export_command import export

    run_with_app(
        lambda app: export(
            app,
            out,
            kind,
            out_file,
            start=from_.date() if from_ else None,
            end=to.date() if to else None,
            region=region,
        )
    )


@cli.command("backup")
def backup_command(
    file: Annotated[
        str,
        typer.Argument(
            help="Backup file to write, or a folder: then named pendamping-YYYYMMDDTHHMMSSZ.db "
            "(SQLite) or .dump (PostgreSQL)."
        ),
    ],
    keep: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Keep only the N newest backups this command named in that folder; delete "
            "older ones (FILE must be a folder).",
        ),
    ] = None,
    media: Annotated[
        bool,
        typer.Option(
            "--media/--no-media",
            help="Also copy the files people sent into media/ beside the backup (new ones "
            "only) with a manifest.",
        ),
    ] = True,
) -> None:
    """Back up the database while the bot runs, check the copy and print a summary."""
    from bot.backup_command import backup

    run_with_app(lambda app: backup(app, out, file, keep=keep, media=media))


@cli.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `pendamping backup`.")],
    force: Annotated[
        bool, typer.Option(help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Restore a backup into the configured database (empty, unless --force) and upgrade
    it to this code's migration level. Stop the bot first."""
    from bot.backup_command import restore

    run_with_app(lambda app: restore(app, out, file, force=force))


@cli.command()
def doctor() -> None:
    """Check configuration, database, migrations and channels."""
    try:
        loaded = state.loaded()
    except ConfigError as exc:  # the locale is unknown: Indonesian, the default
        t = Translator(DEFAULT_LOCALE)
        table = commands.doctor_table(t)
        table.add_row(t("cli.doctor.configuration"), commands.Marks(t).fail, str(exc))
        out.print(table)
        raise typer.Exit(2) from None
    healthy = run_with_app(lambda app: commands.doctor(app, out, loaded.source))
    if not healthy:
        raise typer.Exit(1)


media_cli = typer.Typer(
    help="Photos, voice notes and documents people sent (kept by us).", no_args_is_help=True
)
cli.add_typer(media_cli, name="media")


@media_cli.command("status")
def media_status() -> None:
    """Files by status and the downloads that keep failing (ids and reasons only)."""
    from bot import media_command

    run_with_app(
        lambda app: media_command.media_status(app, out, commands.translator(app))
    )


@media_cli.command("export")
def media_export(
    folder: Annotated[Path, typer.Argument(help="Folder to write the files and manifest.csv to.")],
) -> None:
    """Copy every file kept into FOLDER with a manifest (photos without their GPS position)."""
    from bot import media_command

    run_with_app(
        lambda app: media_command.media_export(app, out, commands.translator(app), folder)
    )


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
