"""What the command line does, one coroutine per command, printed with Rich.

What a command prints for a person (messages, table titles and headers, summaries, errors,
`doctor`'s checks and findings) is the message catalog's ``cli.*`` texts in the configured
locale (``general.locale``, Indonesian by default): :func:`translator`. Machine output
stays as it is: JSON lines, config lines, status and channel codes, exit codes.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import (
    App,
    build_engine,
    build_telegram,
    build_twilio,
    commitment_rules,
    configured_channels,
    holiday_calendar,
    komponen_catalog,
    p2k2_curriculum,
)
from bot.file_modes import doctor_file_modes
from bot.sms_command import doctor_sms, month_sms, print_sms
from bot.terminal import Terminal
from handlers.i18n import Translator
from models.db import migrate
from models.enums import Channel, StaffRole
from models.komponen_ends import refresh_end_dates
from models.messaging.inbox import inbox_counts
from models.messaging.outbox import outbox_counts, waiting_by_channel
from models.messaging.templates import TEMPLATES
from models.regions import find_regions, kelompok_region_codes
from models.roster.status import parse_date
from models.rules.calendar import zone
from models.rules.text import name_key
from models.staff import (
    create_invite,
    find_staff,
    get_or_create_staff,
    link_address,
    list_staff,
    regions_without_coordinator,
)
from models.tables import Region, Staff


class CommandError(Exception):
    """A problem the operator can fix, already said in the configured locale; printed as
    one line ("kesalahan: ..."), exit code 1."""


def translator(app: App) -> Translator:
    """The catalog in the configured locale, for what a command prints (``cli.*``)."""
    return Translator(app.settings.general.locale)


def date_option(t: Translator, option: str, written: str) -> date:
    """The day an option such as ``--on`` gives, or a :class:`CommandError` naming it."""
    day = parse_date(written)
    if day is None:
        raise CommandError(t("cli.bad_date", option=option, value=written))
    return day


def yes_no(t: Translator, value: bool) -> str:
    return t("cli.yes") if value else t("cli.no")


class Marks:
    """`doctor`'s statuses, coloured, in the catalog's words (OK, PERINGATAN, GAGAL)."""

    def __init__(self, t: Translator) -> None:
        self.ok = f"[green]{t('cli.doctor.ok')}[/green]"
        self.warn = f"[yellow]{t('cli.doctor.warn')}[/yellow]"
        self.fail = f"[red]{t('cli.doctor.fail')}[/red]"


def doctor_table(t: Translator) -> Table:
    return Table(
        t("cli.doctor.col_check"),
        t("cli.doctor.col_status"),
        t("cli.doctor.col_detail"),
        title=t("cli.doctor.title"),
    )


def region_names(t: Translator, regions: list[Region], *, by_code: bool) -> str:
    """Regions an ambiguous name matched, each with its level and its code or id."""
    if by_code:
        return ", ".join(
            t("cli.region.item_code", name=r.name, level=r.level, code=r.code or "-")
            for r in regions
        )
    return ", ".join(
        t("cli.region.item_id", name=r.name, level=r.level, id=r.id) for r in regions
    )


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def init(app: App, out: Console, *, demo: bool) -> None:
    t = translator(app)
    level = await migrate.upgrade(app.engine)
    out.print(
        t("cli.init.migrated", url=safe_url(app.settings.database.url), level=level.current),
        markup=False,
    )
    async with app.sessions.begin() as session:
        refreshed = await refresh_end_dates(session, komponen_catalog(app))
    if refreshed:
        out.print(t("cli.init.komponen_refreshed", count=refreshed), markup=False)
    if not demo:
        return
    from models.demo.world import seed_demo

    today = app.clock.now().astimezone(ZoneInfo(app.settings.general.timezone)).date()
    summary = await seed_demo(
        app.sessions,
        catalog=komponen_catalog(app),
        today=today,
        commitments=commitment_rules(app),
        p2k2=p2k2_curriculum(app.settings)[1],
    )
    table = Table(
        title=t("cli.demo.title", kabupaten=summary.kabupaten, provinsi=summary.provinsi),
        show_header=False,
    )
    for label, value in (
        ("coordinators", summary.coordinators),
        ("pendamping", summary.pendamping),
        ("kelompok", summary.kelompok),
        ("kpm", summary.kpm),
        ("komponen", summary.komponen),
        ("meetings_held", summary.meetings_held),
        ("meetings_planned", summary.meetings_planned),
        ("attendance", summary.attendance),
        ("open_cases", summary.open_cases),
        ("commitment_checks", summary.commitment_checks),
        ("staff", ", ".join(summary.staff_names)),
        ("meeting_today", ", ".join(summary.meetings_today) or "-"),
    ):
        table.add_row(t(f"cli.demo.{label}"), str(value))
    out.print(table)
    if not summary.seeded:
        out.print(t("cli.demo.already_there"))
    out.print(t("cli.demo.try", name=summary.pendamping_names[0]), markup=False)


async def import_roster(
    app: App, out: Console, file: Path, *, strict: bool, dry_run: bool, rejects: Path | None
) -> None:
    from bot.roster_reasons import rejection, say
    from models.roster.importer import RosterFileError, count_rows
    from models.roster.importer import import_roster as run_import
    from models.roster.parse import REASON_COLUMN

    t = translator(app)
    total = count_rows(file) if file.is_file() else None  # noqa: ASYNC240 (a stat, once)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as bar:
        task = bar.add_task(t("cli.roster.progress"), total=total)
        try:
            report = await run_import(
                app.sessions,
                file,
                catalog=komponen_catalog(app),
                strict=strict,
                dry_run=dry_run,
                rejects_path=rejects,
                progress=lambda rows: bar.update(task, completed=rows),
                now=app.clock.now(),
                timezone=app.settings.general.timezone,
                describe=lambda rejected: rejection(t, rejected),
            )
        except RosterFileError as exc:
            raise CommandError(say(t, exc.reason)) from None
    for rejected in report.rejected[:50]:
        out.print(rejection(t, rejected), markup=False, soft_wrap=True)
    if len(report.rejected) > 50:
        out.print(t("cli.roster.more_rejected", count=len(report.rejected) - 50), markup=False)
    out.print(
        t(
            "cli.roster.summary" if report.written else "cli.roster.summary_not_written",
            rows=report.rows_read,
            imported=report.imported,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        ),
        markup=False,
    )
    if report.moved or report.left:
        out.print(
            t("cli.roster.moved_and_left", moved=report.moved, left=report.left), markup=False
        )
    if report.phones_changed:
        out.print(t("cli.roster.phones_changed", count=report.phones_changed), markup=False)
    if report.erased:
        out.print(t("cli.roster.erased", count=report.erased), markup=False)
    if report.ketua_named:
        out.print(
            t("cli.roster.ketua", named=report.ketua_named, changed=report.ketua_changed),
            markup=False,
        )
    for shared in report.shared_phones[:50]:
        out.print(
            t("cli.roster.shared_phone", row=shared.row_number, count=shared.kpm), markup=False
        )
    if len(report.shared_phones) > 50:
        out.print(
            t("cli.roster.more_shared", count=len(report.shared_phones) - 50), markup=False
        )
    if dry_run:
        out.print(t("cli.roster.dry_run"), markup=False)
    elif strict and report.rejected:
        out.print(t("cli.roster.strict"), markup=False)
    if rejects is not None and report.rejected:
        out.print(
            t("cli.roster.rejects_written", path=rejects, column=REASON_COLUMN),
            markup=False,
            soft_wrap=True,
        )
    if strict and report.rejected:
        raise CommandError(t("cli.roster.some_rejected"))


async def invite(
    app: App,
    out: Console,
    *,
    role: StaffRole,
    name: str,
    region: str | None,
    pendamping: list[str],
) -> None:
    t = translator(app)
    if not name.strip():
        raise CommandError(t("cli.invite.name_empty"))
    now = app.clock.now()
    async with app.sessions.begin() as session:
        region_id = None
        if region is not None:
            found = await find_regions(session, region)
            if not found:
                raise CommandError(t("cli.region.unknown", region=region))
            if len(found) > 1:
                names = region_names(t, found, by_code=False)
                raise CommandError(t("cli.region.ambiguous", region=region, names=names))
            region_id = found[0].id
        staff, created = await get_or_create_staff(
            session, role=role, name=name, region_id=region_id
        )
        for written in pendamping:
            member = await session.scalar(
                select(Staff).where(
                    Staff.role == StaffRole.PENDAMPING, Staff.name_key == name_key(written)
                )
            )
            if member is None:
                raise CommandError(t("cli.invite.no_pendamping", name=written))
            member.supervisor_id = staff.id
        code = await create_invite(
            session, staff, now=now, valid_days=app.settings.general.invite_valid_days
        )
    status = t("cli.invite.new") if created else t("cli.invite.existing")
    out.print(
        t("cli.invite.title", name=staff.name, role=role.value, status=status, id=staff.id),
        markup=False,
    )
    days = app.settings.general.invite_valid_days
    out.print("  " + t("cli.invite.code", code=f"[bold]{code}[/bold]", days=days))
    out.print(
        "  " + t("cli.invite.how", start=code.replace("-", ""), code=code), markup=False
    )
    username = app.settings.telegram.bot_username
    if username:
        url = f"https://t.me/{username}?start={code.replace('-', '')}"
        out.print("  " + t("cli.invite.link", url=url), markup=False)


async def staff_list(app: App, out: Console) -> None:
    t = translator(app)
    async with app.read_sessions() as session:
        rows = await list_staff(session, now=app.clock.now())
    if not rows:
        out.print(t("cli.staff.none"), markup=False)
        return
    columns = (
        "id", "role", "name", "region", "supervisor", "kelompok", "kpm", "linked", "invites",
        "active",
    )
    table = Table(*(t(f"cli.staff.col_{column}") for column in columns), title=t("cli.staff.title"))
    for row in rows:
        table.add_row(
            str(row.id),
            row.role,
            row.name,
            row.region or "-",
            row.supervisor or "-",
            str(row.kelompok),
            str(row.kpm),
            yes_no(t, bool(row.addresses)),
            str(row.open_invites),
            t("cli.yes") if row.active else f"[yellow]{t('cli.no')}[/yellow]",
        )
    out.print(table)


async def chat(app: App, out: Console, who: str | None) -> None:
    address, banner = await _chat_identity(app, who)
    await Terminal(app, build_engine(app), sys.stdout).run(address, banner)


async def _chat_identity(app: App, who: str | None) -> tuple[str, str]:
    """The address to chat from: given as one, or a staff member's console address."""
    t = translator(app)
    if who and ":" in who:
        return who, t("cli.chat.as_address", address=who)
    async with app.sessions.begin() as session:
        if who:
            found = await find_staff(session, who)
        else:
            found = list(
                await session.scalars(
                    select(Staff)
                    .where(Staff.role == StaffRole.PENDAMPING, Staff.active)
                    .order_by(Staff.id)
                    .limit(1)
                )
            )
        if not found:
            raise CommandError(
                t("cli.chat.unknown_staff", name=who) if who else t("cli.chat.no_pendamping")
            )
        if len(found) > 1:
            names = ", ".join(f"{s.name} ({s.role.value})" for s in found[:8])
            raise CommandError(t("cli.chat.ambiguous", name=who, names=names))
        staff = found[0]
        address = f"console:{name_key(staff.name).replace(' ', '-')}"
        await link_address(session, staff, address, now=app.clock.now())
    return address, t(
        "cli.chat.as_staff", name=staff.name, role=staff.role.value, address=address
    )


async def telegram_set_webhook(app: App, out: Console) -> None:
    t = translator(app)
    settings = app.settings.telegram
    if not settings.configured:
        raise CommandError(t("cli.telegram.no_token"))
    if not settings.webhook_url or settings.webhook_secret is None:
        raise CommandError(t("cli.telegram.no_webhook"))
    channel = build_telegram(app)
    assert channel is not None
    async with channel.application.bot as bot:
        await bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=["message", "callback_query", "my_chat_member"],
        )
    out.print(t("cli.telegram.webhook_set", url=settings.webhook_url), markup=False)


async def _doctor_telegram(app: App, table: Table, t: Translator) -> bool:
    marks = Marks(t)
    channel = build_telegram(app)
    assert channel is not None
    try:
        async with channel.application.bot:
            username, state = await channel.check()
    except Exception as exc:  # any Bot API or network failure is a finding, not a crash
        table.add_row(
            t("cli.doctor.telegram_bot"), marks.fail, f"{type(exc).__name__}: {str(exc)[:100]}"
        )
        return False
    table.add_row(t("cli.doctor.telegram_bot"), marks.ok, f"{username}, {state}")
    return True


async def _doctor_twilio(app: App, table: Table, t: Translator) -> bool:
    marks = Marks(t)
    channel = build_twilio(app)
    assert channel is not None
    healthy = True
    try:
        table.add_row(t("cli.doctor.twilio_account"), marks.ok, await channel.check())
    except Exception as exc:  # any API or network failure is a finding, not a crash
        healthy = False
        table.add_row(
            t("cli.doctor.twilio_account"), marks.fail, f"{type(exc).__name__}: {str(exc)[:100]}"
        )
    finally:
        await channel.http.close()
    needed = [template.name for template in TEMPLATES.values()]
    missing = [name for name in needed if name not in app.settings.twilio.templates]
    configured, total = len(needed) - len(missing), len(needed)
    table.add_row(
        t("cli.doctor.whatsapp_templates"),
        marks.warn if missing else marks.ok,
        t(
            "cli.doctor.templates_missing",
            configured=configured,
            total=total,
            names=", ".join(missing),
        )
        if missing
        else t("cli.doctor.templates", configured=configured, total=total),
    )
    return healthy


UNCONFIGURED_HINT = {
    Channel.TELEGRAM: "cli.outbox.hint_telegram",
    Channel.WHATSAPP: "cli.outbox.hint_twilio",
    Channel.SMS: "cli.outbox.hint_twilio",
}
"""The catalog key of what to set so that a channel can send."""


async def _waiting_unconfigured(app: App, session: AsyncSession, t: Translator) -> list[str]:
    """One sentence per channel that pending messages wait for but the settings cannot
    send on: they are neither sent nor failed until it is configured or their deadline
    passes."""
    configured = configured_channels(app.settings)
    return [
        t(
            "cli.outbox.waiting_unconfigured",
            count=count,
            channel=channel,
            hint=t(UNCONFIGURED_HINT.get(channel, "cli.outbox.hint_none")),
        )
        for channel, count in sorted((await waiting_by_channel(session)).items())
        if channel not in configured
    ]


def _counts_table(t: Translator, title: str) -> Table:
    return Table(t("cli.col.channel"), t("cli.col.status"), t("cli.col.messages"), title=title)


async def outbox(app: App, out: Console) -> None:
    t = translator(app)
    async with app.read_sessions() as session:
        counts = await outbox_counts(session)
        waiting = await _waiting_unconfigured(app, session, t)
        sms = await month_sms(app, session, per_kabupaten=True)
    table = _counts_table(t, t("cli.outbox.title"))
    for status, channel, count in counts.by_status_and_channel:
        table.add_row(channel, status, str(count))
    out.print(table if counts.by_status_and_channel else t("cli.outbox.empty"))
    for sentence in waiting:
        out.print(sentence, markup=False)
    print_sms(app, out, t, sms)
    if counts.latest_failures:
        failures = Table(
            *(t(f"cli.col.{name}") for name in ("id", "channel", "kind", "code", "reason", "at")),
            title=t("cli.failures.title"),
        )
        for row_id, channel, kind, code, error, at in counts.latest_failures:
            failures.add_row(
                str(row_id), channel, kind, code or "-", error or "-", at.strftime("%Y-%m-%d %H:%M")
            )
        out.print(failures)


async def _doctor_outbox(app: App, table: Table, t: Translator) -> None:
    marks = Marks(t)
    async with app.read_sessions() as session:
        counts = await outbox_counts(session, failures=3)
        waiting = await _waiting_unconfigured(app, session, t)
        sms = await month_sms(app, session, per_kabupaten=False)
    for sentence in waiting:
        table.add_row(t("cli.doctor.outbox_waiting"), marks.warn, sentence)
    spent, detail = doctor_sms(app, t, sms.total.segments)
    table.add_row(t("cli.doctor.sms"), marks.warn if spent else marks.ok, detail)
    failed = sum(
        n for status, _, n in counts.by_status_and_channel if status in ("failed", "undelivered")
    )
    latest = "; ".join(
        f"#{i} {kind}: {error or code}" for i, _, kind, code, error, _ in counts.latest_failures
    )
    table.add_row(
        t("cli.doctor.outbox"),
        marks.warn if failed else marks.ok,
        t("cli.doctor.failed", count=failed, latest=latest)
        if failed
        else t("cli.doctor.no_failures"),
    )


def _age(t: Translator, since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return t("cli.age.hours", hours=hours, minutes=minutes)
    if minutes:
        return t("cli.age.minutes", minutes=minutes, seconds=seconds)
    return t("cli.age.seconds", seconds=seconds)


async def inbox(app: App, out: Console) -> None:
    """Inbound messages: counts by channel and status, the backlog's oldest age and the
    latest failures (ids and reasons only: no text, no number)."""
    t = translator(app)
    async with app.read_sessions() as session:
        counts = await inbox_counts(session)
    now = datetime.now(UTC)
    table = _counts_table(t, t("cli.inbox.title"))
    for status, channel, count in counts.by_status_and_channel:
        table.add_row(channel, status, str(count))
    out.print(table if counts.by_status_and_channel else t("cli.inbox.empty"))
    waiting = sum(n for status, _, n in counts.by_status_and_channel if status in UNFINISHED_INBOX)
    if waiting:
        age = _age(t, counts.oldest_unfinished, now)
        out.print(t("cli.inbox.waiting", count=waiting, age=age), markup=False)
    if counts.latest_failures:
        failures = Table(
            *(t(f"cli.col.{name}") for name in ("id", "channel", "reason", "at")),
            title=t("cli.failures.title"),
        )
        for row_id, channel, error, at in counts.latest_failures:
            failures.add_row(
                str(row_id), channel, error or "-", at.strftime("%Y-%m-%d %H:%M") if at else "-"
            )
        out.print(failures)


UNFINISHED_INBOX = ("pending", "processing")
INBOX_BACKLOG_WARN = timedelta(minutes=5)


async def _doctor_inbox(app: App, table: Table, t: Translator) -> None:
    marks = Marks(t)
    async with app.read_sessions() as session:
        counts = await inbox_counts(session, failures=3)
    now = datetime.now(UTC)
    waiting = sum(n for status, _, n in counts.by_status_and_channel if status in UNFINISHED_INBOX)
    oldest = counts.oldest_unfinished
    late = oldest is not None and now - oldest > INBOX_BACKLOG_WARN
    age = _age(t, counts.oldest_unfinished, now)
    table.add_row(
        t("cli.doctor.inbox_backlog"),
        marks.warn if late else marks.ok,
        t("cli.doctor.backlog_late" if late else "cli.doctor.backlog", count=waiting, age=age)
        if waiting
        else t("cli.doctor.nothing_waiting"),
    )
    failed = sum(n for status, _, n in counts.by_status_and_channel if status == "failed")
    latest = "; ".join(f"#{i}: {error}" for i, _, error, _ in counts.latest_failures)
    table.add_row(
        t("cli.doctor.inbox"),
        marks.warn if failed else marks.ok,
        t("cli.doctor.failed", count=failed, latest=latest)
        if failed
        else t("cli.doctor.no_failures"),
    )


async def _doctor_coordinators(app: App, table: Table, t: Translator) -> None:
    """Where an urgent case would reach no coordinator: a warning, not a failure."""
    marks = Marks(t)
    async with app.read_sessions() as session:
        uncovered = await regions_without_coordinator(session)
    if uncovered:
        more = len(uncovered) - 5
        shown = ", ".join(uncovered[:5])
        if more > 0:
            shown = t("cli.doctor.and_more", shown=shown, count=more)
        table.add_row(
            t("cli.doctor.coordinators"), marks.warn, t("cli.doctor.no_coordinator", regions=shown)
        )
    else:
        table.add_row(t("cli.doctor.coordinators"), marks.ok, t("cli.doctor.coordinators_ok"))


async def _doctor_holidays(app: App, table: Table, t: Translator) -> None:
    """Regional holidays that no kelompok falls under: a warning (a kabupaten imported from
    a roster has no Kemendagri code, so its holiday would never be seen)."""
    marks = Marks(t)
    calendar = holiday_calendar(app.settings)
    if not calendar.has_regional:
        return
    async with app.read_sessions() as session:
        codes = set((await kelompok_region_codes(session, None)).values())
    unmatched = [
        f"programme.holidays.regional.{index} ({holiday.region} {holiday.name})"
        for index, holiday in enumerate(calendar.regional)
        if not any(holiday.covers(code) for code in codes)
    ]
    table.add_row(
        t("cli.doctor.regional_holidays"),
        marks.warn if unmatched else marks.ok,
        t("cli.doctor.holidays_unmatched", holidays=", ".join(unmatched))
        if unmatched
        else t("cli.doctor.holidays_ok", count=len(calendar.regional)),
    )


async def _doctor_capacity(app: App, table: Table, t: Translator, marks: Marks) -> None:
    """Whether today's messages finish inside the sending window at the channels' rates
    (a warning, not a failure: the queue runs late, nothing is lost)."""
    from bot.capacity_command import capacity, doctor_capacity

    today = app.clock.now().astimezone(zone(app.settings.general.timezone)).date()
    fits, detail = doctor_capacity(t, await capacity(app, today))
    table.add_row(t("cli.doctor.capacity"), marks.ok if fits else marks.warn, detail)


async def doctor(app: App, out: Console, source: Path | None) -> bool:
    table, healthy = await doctor_checks(app, source)
    out.print(table)
    return healthy


async def doctor_checks(app: App, source: Path | None) -> tuple[Table, bool]:
    """`doctor`'s checks as a table (check, status, detail; statuses are :class:`Marks`)
    and whether all is healthy: printed by the command line, shown by the web console."""
    settings = app.settings
    t = translator(app)
    marks = Marks(t)
    table = doctor_table(t)
    healthy = database_ready = True
    table.add_row(
        t("cli.doctor.configuration"),
        marks.ok,
        str(source) if source else t("cli.doctor.defaults"),
    )
    try:
        async with app.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        table.add_row(t("cli.doctor.database"), marks.ok, safe_url(settings.database.url))
        level = await migrate.current_level(app.engine)
        if level.up_to_date:
            table.add_row(
                t("cli.doctor.migrations"),
                marks.ok,
                t("cli.doctor.migrations_newest", level=level.current),
            )
        else:
            healthy = database_ready = False
            table.add_row(
                t("cli.doctor.migrations"),
                marks.fail,
                t(
                    "cli.doctor.migrations_behind",
                    level=level.current or t("cli.doctor.no_migration"),
                    head=level.head,
                ),
            )
    except Exception as exc:  # any driver error means the database cannot be used
        healthy = database_ready = False
        table.add_row(
            t("cli.doctor.database"),
            marks.fail,
            f"{safe_url(settings.database.url)}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}",
        )
    doctor_file_modes(settings.database.url, source, table, t, marks)
    telegram = settings.telegram
    if telegram.configured:
        healthy = await _doctor_telegram(app, table, t) and healthy
    table.add_row(
        t("cli.doctor.telegram"),
        marks.ok if telegram.configured else marks.warn,
        t("cli.doctor.telegram_on", mode=telegram.mode)
        if telegram.configured
        else t("cli.doctor.telegram_off"),
    )
    twilio = settings.twilio
    if twilio.configured:
        healthy = await _doctor_twilio(app, table, t) and healthy
    if database_ready:
        await _doctor_inbox(app, table, t)
        await _doctor_outbox(app, table, t)
        await _doctor_coordinators(app, table, t)
        await _doctor_holidays(app, table, t)
        await _doctor_capacity(app, table, t, marks)
        from bot.retention_command import doctor_retention  # it uses this module's Marks

        await doctor_retention(app, table)
        from bot.media_command import doctor_media  # it imports the bootstrap, as this does

        await doctor_media(app, table, t, marks.ok, marks.warn)
    has_sender = twilio.whatsapp_sender or twilio.messaging_service_sid
    sender = t("cli.doctor.sender_set") if has_sender else t("cli.doctor.no_sender")
    table.add_row(
        t("cli.doctor.twilio"),
        marks.ok if twilio.configured else marks.warn,
        t("cli.doctor.twilio_on", sid=twilio.account_sid, sender=sender)
        if twilio.configured
        else t("cli.doctor.twilio_off"),
    )
    return table, healthy
