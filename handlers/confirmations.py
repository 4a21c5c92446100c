"""/konfirmasi: who confirmed the next meeting, who declined and why, who has not answered."""

from __future__ import annotations

from handlers.flow import Ctx, Flow, StepResult
from handlers.local_time import local_today, staff_zone
from handlers.messages import IncomingMessage, Option
from handlers.parsing.dates import format_date_id
from models import attendance as groups
from models.rsvp import rsvp_overview


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: pick the group, unless the command named it or there is only one."""
    found = await groups.groups_for(ctx.session, ctx.staff, await local_today(ctx))
    if not found:
        return ctx.done(ctx.t("attendance.no_groups"))
    named = [g for g in found if ctx.text and ctx.text.casefold() in g.name.casefold()]
    if len(named) == 1 or len(found) == 1:
        chosen = (named or found)[0]
        return await _show(ctx, chosen.id, chosen.name)
    options = [Option(f"k:{g.id}", g.name) for g in found]
    return ctx.ask("pick_group", ctx.t("rsvp.pick_group"), options)


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The group whose confirmations to see."""
    if not ctx.choice or not ctx.choice.startswith("k:"):
        return ctx.retry(ctx.t("attendance.pick_group_invalid"))
    kelompok = await groups.group_in_scope(ctx.session, ctx.staff, int(ctx.choice[2:]))
    return await _show(ctx, kelompok.id, kelompok.name)


async def _show(ctx: Ctx, kelompok_id: int, name: str) -> StepResult:
    overview = await rsvp_overview(ctx.session, ctx.staff, kelompok_id, ctx.now)
    if overview is None:
        return ctx.done(ctx.t("rsvp.no_planned", name=name))
    when = overview.starts_at.astimezone(await staff_zone(ctx))
    declined = "\n".join(
        f"• {person}" + (f" ({reason})" if reason else "") for person, reason in overview.declined
    )
    return ctx.done(
        ctx.t(
            "rsvp.overview",
            name=name,
            date=format_date_id(when.date()),
            coming=len(overview.coming),
            declined_count=len(overview.declined),
            unanswered_count=len(overview.unanswered),
            declined=declined or ctx.t("attendance.nobody_absent"),
            unanswered=", ".join(overview.unanswered) or ctx.t("attendance.nobody_absent"),
        )
    )


FLOW = Flow(name="confirmations", entry=entry, steps={"pick_group": pick_group})
