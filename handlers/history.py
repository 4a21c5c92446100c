"""/riwayat NAMA: the latest changes about one KPM in the staff member's scope (a mark
corrected, a case's status, a move or a departure), with who and when."""

from __future__ import annotations

from datetime import date

from handlers import kpm_lookup
from handlers.flow import Ctx, Flow, StepResult
from handlers.local_time import staff_zone
from handlers.messages import IncomingMessage
from handlers.parsing.dates import format_date_id
from models.history import (
    Change,
    changes,
    kelompok_name,
    kelompok_names,
    meeting_dates,
    moved_kelompok,
)
from models.kpm import kpm_in_scope

SHOWN = 10


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    return await kpm_lookup.start(ctx, _show)


async def _show(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    kpm = await kpm_in_scope(ctx.session, ctx.staff, kpm_id)
    found = (await changes(ctx.session, kpm_id=kpm_id))[-SHOWN:]
    if not found:
        return ctx.done(ctx.t("history.empty", name=kpm.nama_pengurus))
    zone = await staff_zone(ctx)
    groups = await kelompok_names(ctx.session, moved_kelompok(found))
    days = await meeting_dates(
        ctx.session, {c.entity_id for c in found if c.entity == "meeting" and c.entity_id}
    )
    lines = [
        ctx.t(
            "history.line",
            when=change.at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            who=_who(ctx, change.actor),
            what=_what(ctx, change, groups, days),
        )
        for change in reversed(found)  # the latest first
    ]
    return ctx.done(ctx.t("history.title", name=kpm.nama_pengurus) + "\n" + "\n".join(lines))


def _who(ctx: Ctx, actor: str) -> str:
    if actor in ("cli", "system", "kpm"):
        return ctx.t(f"history.actor.{actor}")
    return actor



def _what(ctx: Ctx, change: Change, groups: dict[int, str], days: dict[int, date]) -> str:
    before, after = change.before, change.after
    if change.action == "kpm.move":
        return ctx.t(
            "history.kpm_move",
            before=kelompok_name(groups, before),
            after=kelompok_name(groups, after),
        )
    if change.action == "kpm.leave":
        return ctx.t(
            "history.kpm_leave",
            reason=ctx.t(f"kpm.exit_reason.{after['exit_reason']}"),
            date=format_date_id(date.fromisoformat(after["on"])),
        )
    if change.action == "kpm.phone":  # masked numbers only
        return ctx.t("history.kpm_phone", before=before["phone"], after=after["phone"])
    if change.action == "attendance.update":
        day = days.get(change.entity_id or 0)
        return ctx.t(
            "history.attendance",
            date=format_date_id(day) if day else "-",
            before=ctx.t(f"export.mark.{before}") if before else "-",
            after=ctx.t(f"export.mark.{after}"),
        )
    if change.action == "case.open":
        return ctx.t(
            "history.case_open",
            id=change.entity_id,
            category=ctx.settings.case_rules.label(ctx.t, after["category"]),
        )
    return ctx.t(
        "history.case_update",
        id=change.entity_id,
        before=ctx.t(f"case.status.{(before or {}).get('status', 'baru')}"),
        after=ctx.t(f"case.status.{after['status']}"),
    )


FLOW = Flow(
    name="history",
    entry=entry,
    steps=kpm_lookup.steps(_show),
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)

