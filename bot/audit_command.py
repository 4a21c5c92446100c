"""`pendamping audit [--kpm ID_PKH] [--staff NAME] [--since DATE]`: what changed, with who,
when, before and after, from the audit log. KPM appear by ID PKH, never by name. Titles,
headers and descriptions are the catalog's (``cli.audit.*``) in the configured locale; the
values recorded (statuses, reasons, fields) are shown as stored."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from bot.bootstrap import App
from bot.commands import CommandError, date_option, translator
from handlers.i18n import Translator
from models.history import (
    Change,
    changes,
    id_pkh_of,
    kelompok_name,
    kelompok_names,
    meeting_dates,
    moved_kelompok,
)
from models.kpm_changes import KpmChangeError, find_kpm
from models.staff_changes import StaffChangeError, find_one


async def audit_log(
    app: App, out: Console, *, kpm: str | None, staff: str | None, since: str | None, limit: int
) -> None:
    t = translator(app)
    zone = ZoneInfo(app.settings.general.timezone)
    start = None
    if since is not None:
        start = datetime.combine(date_option(t, "--since", since), time(0), zone)
    async with app.sessions() as session:
        try:
            kpm_id = (await find_kpm(session, kpm)).id if kpm else None
            staff_id = (await find_one(session, staff)).id if staff else None
        except KpmChangeError as exc:
            raise CommandError(t(f"cli.kpm_error.{exc.key}", **exc.values)) from exc
        except StaffChangeError as exc:
            raise CommandError(t(f"cli.staff_error.{exc.key}", **exc.values)) from exc
        found = await changes(session, kpm_id=kpm_id, staff_id=staff_id, since=start, limit=limit)
        groups = await kelompok_names(session, moved_kelompok(found))
        days = await meeting_dates(
            session, {c.entity_id for c in found if c.entity == "meeting" and c.entity_id}
        )
        pkh = await id_pkh_of(session, {c.kpm_id for c in found if c.kpm_id})
    if not found:
        out.print(t("cli.audit.none"))
        return
    columns = ("when", "who", "what", "kpm", "before", "after")
    table = Table(*(t(f"cli.audit.col_{column}") for column in columns), title=t("cli.audit.title"))
    for change in found:
        what, before, after = describe_change(t, change, groups, days)
        table.add_row(
            change.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            change.actor,
            what,
            pkh.get(change.kpm_id or 0, "-"),
            before,
            after,
        )
    out.print(table)


def describe_change(
    t: Translator, change: Change, groups: dict[int, str], days: dict[int, Any]
) -> tuple[str, str, str]:
    """(what, before, after) of one change, in the operator's words."""
    before, after = change.before or {}, change.after or {}
    if change.action == "kpm.move":
        return (
            t("cli.audit.kelompok"),
            kelompok_name(groups, before),
            kelompok_name(groups, after),
        )
    if change.action == "kpm.leave":
        return (
            t("cli.audit.status"),
            str(before.get("status")),
            t(
                "cli.audit.left",
                status=after.get("status"),
                reason=after.get("exit_reason"),
                on=after.get("on"),
            ),
        )
    if change.action == "attendance.update":
        day = days.get(change.entity_id or 0)
        return t("cli.audit.mark", day=day or "?"), str(before or "-"), str(after)
    if change.action in ("case.update", "case.open"):
        return (
            t("cli.audit.case", id=change.entity_id),
            str(before.get("status", "-")),
            str(after.get("status")),
        )
    record = f"{change.entity} {change.entity_id}" if change.entity_id else change.entity
    return f"{change.action} ({record})", _plain(before), _plain(after)


def _plain(value: Any) -> str:
    if not value:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return str(value)

