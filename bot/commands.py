"""What the command line does, one coroutine per command, printed with Rich."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
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
from bot.terminal import Terminal
from models.db import migrate
from models.enums import Channel, StaffRole
from models.komponen_ends import refresh_end_dates
from models.messaging.inbox import inbox_counts
from models.messaging.outbox import outbox_counts, waiting_by_channel
from models.messaging.templates import TEMPLATES
from models.regions import find_regions, kelompok_region_codes
from models.roster.status import parse_date
from models.rules.text import name_key
from models.staff import (
    create_invite,
    find_staff,
    get_or_create_staff,
    link_address,
    list_staff,
    regions_without_coordinator,
)
from models.tables import Staff

if TYPE_CHECKING:  # the importer itself is imported where `import-roster` runs
    from models.roster.importer import ImportReport


class CommandError(Exception):
    """A problem the operator can fix; printed as one line, exit code 1."""


def date_option(option: str, written: str) -> date:
    """The day an option such as ``--on`` gives, or a :class:`CommandError` naming it."""
    day = parse_date(written)
    if day is None:
        raise CommandError(
            f"{option} {written!r} is not a date: use YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY"
        )
    return day


OK, WARN, FAIL = "[green]OK[/green]", "[yellow]WARN[/yellow]", "[red]FAIL[/red]"


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def init(app: App, out: Console, *, demo: bool) -> None:
    level = await migrate.upgrade(app.engine)
    out.print(f"Database {safe_url(app.settings.database.url)} is at migration {level.current}.")
    async with app.sessions.begin() as session:
        refreshed = await refresh_end_dates(session, komponen_catalog(app))
    if refreshed:
        out.print(f"{refreshed} komponen end dates recomputed from [programme.komponen].")
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
    table = Table(title=f"Demo data: {summary.kabupaten}, {summary.provinsi}", show_header=False)
    for label, value in (
        ("coordinators", summary.coordinators),
        ("pendamping", summary.pendamping),
        ("kelompok", summary.kelompok),
        ("KPM", summary.kpm),
        ("komponen", summary.komponen),
        ("meetings held", summary.meetings_held),
        ("meetings planned", summary.meetings_planned),
        ("attendance marks", summary.attendance),
        ("open cases", summary.open_cases),
        ("commitment checks", summary.commitment_checks),
        ("staff", ", ".join(summary.staff_names)),
        ("meeting today", ", ".join(summary.meetings_today) or "-"),
    ):
        table.add_row(label, str(value))
    out.print(table)
    if not summary.seeded:
        out.print("The demo data was already there; nothing was written.")
    out.print(f'Try it: pendamping chat --as "{summary.pendamping_names[0]}", then type /hadir.')


async def import_roster(
    app: App, out: Console, file: Path, *, strict: bool, dry_run: bool, rejects: Path | None
) -> None:
    from models.roster.importer import RosterFileError, count_rows
    from models.roster.importer import import_roster as run_import

    total = count_rows(file) if file.is_file() else None  # noqa: ASYNC240 (a stat, once)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out, transient=True, disable=not out.is_terminal) as bar:
        task = bar.add_task("importing", total=total)
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
            )
        except RosterFileError as exc:
            raise CommandError(str(exc)) from None
    for rejected in report.rejected[:50]:
        out.print(f"row {rejected.row_number}: {rejected.reason}", markup=False, soft_wrap=True)
    if len(report.rejected) > 50:
        out.print(f"... and {len(report.rejected) - 50} more rejected rows")
    verb = "would be" if not report.written else "were"
    out.print(
        f"{report.rows_read} rows read: {report.imported} {verb} imported, "
        f"{report.updated} {verb} updated{_moved_and_left(report)}, "
        f"{report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected."
    )
    if dry_run:
        out.print("Dry run: nothing was written.")
    elif strict and report.rejected:
        out.print("Strict mode: nothing was written because some rows were rejected.")
    if rejects is not None and report.rejected:
        out.print(f"Rejected rows written to {rejects} (column 'alasan' says why).")
    if strict and report.rejected:
        raise CommandError("some rows were rejected")


async def invite(
    app: App,
    out: Console,
    *,
    role: StaffRole,
    name: str,
    region: str | None,
    pendamping: list[str],
) -> None:
    if not name.strip():
        raise CommandError("--name must not be empty")
    now = app.clock.now()
    async with app.sessions.begin() as session:
        region_id = None
        if region is not None:
            found = await find_regions(session, region)
            if not found:
                raise CommandError(f"no region named or coded {region!r}; import a roster first")
            if len(found) > 1:
                names = ", ".join(f"{r.name} ({r.level}, id {r.id})" for r in found)
                raise CommandError(f"region {region!r} is ambiguous: {names}; use its code")
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
                raise CommandError(f"no pendamping named {written!r} (see `pendamping staff list`)")
            member.supervisor_id = staff.id
        code = await create_invite(
            session, staff, now=now, valid_days=app.settings.general.invite_valid_days
        )
    status = "new" if created else "existing"
    out.print(f"Invite for {staff.name} ({role.value}, {status} staff id {staff.id}):")
    out.print(
        f"  code: [bold]{code}[/bold]  (valid {app.settings.general.invite_valid_days} days,"
        " one use)"
    )
    out.print(f"  Telegram: send  /start {code.replace('-', '')}   WhatsApp: send  DAFTAR {code}")
    username = app.settings.telegram.bot_username
    if username:
        out.print(f"  link: https://t.me/{username}?start={code.replace('-', '')}")


async def staff_list(app: App, out: Console) -> None:
    async with app.read_sessions() as session:
        rows = await list_staff(session, now=app.clock.now())
    if not rows:
        out.print("No staff yet: run `pendamping invite` or import a roster.")
        return
    table = Table(
        "id",
        "role",
        "name",
        "region",
        "supervisor",
        "kelompok",
        "KPM",
        "linked",
        "open invites",
        "active",
        title="Staff",
    )
    for row in rows:
        table.add_row(
            str(row.id),
            row.role,
            row.name,
            row.region or "-",
            row.supervisor or "-",
            str(row.kelompok),
            str(row.kpm),
            "yes" if row.addresses else "no",
            str(row.open_invites),
            "yes" if row.active else "[yellow]no[/yellow]",
        )
    out.print(table)


async def chat(app: App, out: Console, who: str | None) -> None:
    address, banner = await _chat_identity(app, who)
    await Terminal(app, build_engine(app), sys.stdout).run(address, banner)


async def _chat_identity(app: App, who: str | None) -> tuple[str, str]:
    """The address to chat from: given as one, or a staff member's console address."""
    if who and ":" in who:
        return who, f"Chatting as {who}. Type /bantuan for help, /keluar to leave."
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
                f"no staff member named {who!r}"
                if who
                else "no pendamping yet: run `pendamping init --demo` or invite one"
            )
        if len(found) > 1:
            names = ", ".join(f"{s.name} ({s.role.value})" for s in found[:8])
            raise CommandError(f"{who!r} matches several staff members: {names}")
        staff = found[0]
        address = f"console:{name_key(staff.name).replace(' ', '-')}"
        await link_address(session, staff, address, now=app.clock.now())
    return address, (
        f"Chatting as {staff.name} ({staff.role.value}) from {address}. "
        "Type /bantuan for help, /keluar to leave."
    )


async def telegram_set_webhook(app: App, out: Console) -> None:
    settings = app.settings.telegram
    if not settings.configured:
        raise CommandError("telegram.token is not set")
    if not settings.webhook_url or settings.webhook_secret is None:
        raise CommandError("telegram.webhook_url and telegram.webhook_secret must be set")
    channel = build_telegram(app)
    assert channel is not None
    async with channel.application.bot as bot:
        await bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=["message", "callback_query", "my_chat_member"],
        )
    out.print(f"Webhook set to {settings.webhook_url} (secret checked on every request).")


async def _doctor_telegram(app: App, table: Table) -> bool:
    channel = build_telegram(app)
    assert channel is not None
    try:
        async with channel.application.bot:
            username, state = await channel.check()
    except Exception as exc:  # any Bot API or network failure is a finding, not a crash
        table.add_row("telegram bot", FAIL, f"{type(exc).__name__}: {str(exc)[:100]}")
        return False
    table.add_row("telegram bot", OK, f"{username}, {state}")
    return True


async def _doctor_twilio(app: App, table: Table) -> bool:
    channel = build_twilio(app)
    assert channel is not None
    healthy = True
    try:
        table.add_row("twilio account", OK, await channel.check())
    except Exception as exc:  # any API or network failure is a finding, not a crash
        healthy = False
        table.add_row("twilio account", FAIL, f"{type(exc).__name__}: {str(exc)[:100]}")
    finally:
        await channel.http.close()
    needed = [template.name for template in TEMPLATES.values()]
    missing = [name for name in needed if name not in app.settings.twilio.templates]
    table.add_row(
        "whatsapp templates",
        WARN if missing else OK,
        f"{len(needed) - len(missing)} of {len(needed)} configured"
        + (
            "; missing (those messages fail outside the 24-hour window): " + ", ".join(missing)
            if missing
            else ""
        ),
    )
    return healthy


UNCONFIGURED_HINT = {
    Channel.TELEGRAM: "set telegram.token",
    Channel.WHATSAPP: "set twilio.account_sid and twilio.auth_token",
    Channel.SMS: "set twilio.account_sid and twilio.auth_token",
}


async def _waiting_unconfigured(app: App, session: AsyncSession) -> list[str]:
    """One sentence per channel that pending messages wait for but the settings cannot
    send on: they are neither sent nor failed until it is configured or their deadline
    passes."""
    configured = configured_channels(app.settings)
    return [
        f"{count} pending messages wait for {channel}, which is not configured here "
        f"({UNCONFIGURED_HINT.get(channel, 'no sender exists')}); they fail at their deadline"
        for channel, count in sorted((await waiting_by_channel(session)).items())
        if channel not in configured
    ]


async def outbox(app: App, out: Console) -> None:
    async with app.read_sessions() as session:
        counts = await outbox_counts(session)
        waiting = await _waiting_unconfigured(app, session)
    table = Table("channel", "status", "messages", title="Outbox")
    for status, channel, count in counts.by_status_and_channel:
        table.add_row(channel, status, str(count))
    out.print(table if counts.by_status_and_channel else "The outbox is empty.")
    for sentence in waiting:
        out.print(sentence)
    if counts.latest_failures:
        failures = Table("id", "channel", "kind", "code", "reason", "at", title="Latest failures")
        for row_id, channel, kind, code, error, at in counts.latest_failures:
            failures.add_row(
                str(row_id), channel, kind, code or "-", error or "-", at.strftime("%Y-%m-%d %H:%M")
            )
        out.print(failures)


async def _doctor_outbox(app: App, table: Table) -> None:
    async with app.read_sessions() as session:
        counts = await outbox_counts(session, failures=3)
        waiting = await _waiting_unconfigured(app, session)
    for sentence in waiting:
        table.add_row("outbox waiting", WARN, sentence)
    failed = sum(
        n for status, _, n in counts.by_status_and_channel if status in ("failed", "undelivered")
    )
    latest = "; ".join(
        f"#{i} {kind}: {error or code}" for i, _, kind, code, error, _ in counts.latest_failures
    )
    table.add_row(
        "outbox",
        WARN if failed else OK,
        f"{failed} failed; latest: {latest}" if failed else "no failed messages",
    )


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


async def inbox(app: App, out: Console) -> None:
    """Inbound messages: counts by channel and status, the backlog's oldest age and the
    latest failures (ids and reasons only: no text, no number)."""
    async with app.read_sessions() as session:
        counts = await inbox_counts(session)
    now = datetime.now(UTC)
    table = Table("channel", "status", "messages", title="Inbox")
    for status, channel, count in counts.by_status_and_channel:
        table.add_row(channel, status, str(count))
    out.print(table if counts.by_status_and_channel else "The inbox is empty.")
    waiting = sum(n for status, _, n in counts.by_status_and_channel if status in UNFINISHED_INBOX)
    if waiting:
        out.print(
            f"{waiting} messages wait to be handled; the oldest arrived "
            f"{_age(counts.oldest_unfinished, now)} ago"
        )
    if counts.latest_failures:
        failures = Table("id", "channel", "reason", "at", title="Latest failures")
        for row_id, channel, error, at in counts.latest_failures:
            failures.add_row(
                str(row_id), channel, error or "-", at.strftime("%Y-%m-%d %H:%M") if at else "-"
            )
        out.print(failures)


UNFINISHED_INBOX = ("pending", "processing")
INBOX_BACKLOG_WARN = timedelta(minutes=5)


async def _doctor_inbox(app: App, table: Table) -> None:
    async with app.read_sessions() as session:
        counts = await inbox_counts(session, failures=3)
    now = datetime.now(UTC)
    waiting = sum(n for status, _, n in counts.by_status_and_channel if status in UNFINISHED_INBOX)
    oldest = counts.oldest_unfinished
    late = oldest is not None and now - oldest > INBOX_BACKLOG_WARN
    table.add_row(
        "inbox backlog",
        WARN if late else OK,
        f"{waiting} waiting, oldest {_age(counts.oldest_unfinished, now)} ago"
        + ("; is `pendamping run` running?" if late else "")
        if waiting
        else "nothing waiting",
    )
    failed = sum(n for status, _, n in counts.by_status_and_channel if status == "failed")
    latest = "; ".join(f"#{i}: {error}" for i, _, error, _ in counts.latest_failures)
    table.add_row(
        "inbox",
        WARN if failed else OK,
        f"{failed} failed; latest: {latest}" if failed else "no failed messages",
    )


async def _doctor_coordinators(app: App, table: Table) -> None:
    """Where an urgent case would reach no coordinator: a warning, not a failure."""
    async with app.read_sessions() as session:
        uncovered = await regions_without_coordinator(session)
    if uncovered:
        more = len(uncovered) - 5
        shown = ", ".join(uncovered[:5]) + (f" and {more} more" if more > 0 else "")
        table.add_row(
            "coordinators",
            WARN,
            f"no coordinator with a linked chat over {shown}: urgent cases there reach "
            "only a supervisor (`pendamping invite --role koordinator`)",
        )
    else:
        table.add_row("coordinators", OK, "every region with kelompok has one reachable in chat")


async def _doctor_holidays(app: App, table: Table) -> None:
    """Regional holidays that no kelompok falls under: a warning (a kabupaten imported from
    a roster has no Kemendagri code, so its holiday would never be seen)."""
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
        "regional holidays",
        WARN if unmatched else OK,
        f"no kelompok lies in the region of {', '.join(unmatched)}: is the region's code "
        "in the database? (regions imported from a roster carry province codes only)"
        if unmatched
        else f"{len(calendar.regional)} configured, each over some kelompok",
    )


async def doctor(app: App, out: Console, source: Path | None) -> bool:
    settings = app.settings
    table = Table("check", "status", "detail", title="pendamping doctor")
    healthy = database_ready = True
    table.add_row("configuration", OK, str(source) if source else "built-in defaults (no file)")
    try:
        async with app.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        table.add_row("database", OK, safe_url(settings.database.url))
        level = await migrate.current_level(app.engine)
        if level.up_to_date:
            table.add_row("migrations", OK, f"at {level.current} (newest)")
        else:
            healthy = database_ready = False
            table.add_row(
                "migrations",
                FAIL,
                f"at {level.current or 'nothing'}, newest {level.head}: run `pendamping init`",
            )
    except Exception as exc:  # any driver error means the database cannot be used
        healthy = database_ready = False
        table.add_row(
            "database",
            FAIL,
            f"{safe_url(settings.database.url)}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}",
        )
    telegram = settings.telegram
    if telegram.configured:
        healthy = await _doctor_telegram(app, table) and healthy
    table.add_row(
        "telegram",
        OK if telegram.configured else WARN,
        f"token set, mode {telegram.mode}" if telegram.configured else "not configured (no token)",
    )
    twilio = settings.twilio
    if twilio.configured:
        healthy = await _doctor_twilio(app, table) and healthy
    if database_ready:
        await _doctor_inbox(app, table)
        await _doctor_outbox(app, table)
        await _doctor_coordinators(app, table)
        await _doctor_holidays(app, table)
    sender = "sender set" if twilio.whatsapp_sender else "no WhatsApp sender"
    table.add_row(
        "whatsapp/sms (twilio)",
        OK if twilio.configured else WARN,
        f"account {twilio.account_sid}, {sender}"
        if twilio.configured
        else "not configured (no account SID / auth token)",
    )
    out.print(table)
    return healthy


def _moved_and_left(report: ImportReport) -> str:
    """Of the updated rows, those whose KPM moved kelompok or left, when there are any."""
    parts = [f"{report.moved} moved to another kelompok"] if report.moved else []
    parts += [f"{report.left} left the programme"] if report.left else []
    return f" ({', '.join(parts)})" if parts else ""
