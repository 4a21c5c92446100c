"""Linking a kelompok's group chat (/hubungkan in private): pick the group, get a code."""

from __future__ import annotations

from handlers.flow import Ctx, Flow, StepResult
from handlers.local_time import local_today
from handlers.messages import IncomingMessage, Option
from models import attendance as groups
from models.group_chats import create_group_code


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: pick the group to link, unless there is only one."""
    found = await groups.groups_for(ctx.session, ctx.staff, await local_today(ctx))
    if not found:
        return ctx.done(ctx.t("attendance.no_groups"))
    named = [g for g in found if ctx.text and ctx.text.casefold() in g.name.casefold()]
    if len(named) == 1 or len(found) == 1:
        chosen = (named or found)[0]
        return await _code(ctx, chosen.id, chosen.name)
    options = [Option(f"k:{g.id}", g.name) for g in found]
    return ctx.ask("pick_group", ctx.t("group.pick_group"), options)


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The group whose chat to link."""
    if not ctx.choice or not ctx.choice.startswith("k:"):
        return ctx.retry(ctx.t("attendance.pick_group_invalid"))
    kelompok = await groups.group_in_scope(ctx.session, ctx.staff, int(ctx.choice[2:]))
    return await _code(ctx, kelompok.id, kelompok.name)


async def _code(ctx: Ctx, kelompok_id: int, name: str) -> StepResult:
    code = await create_group_code(ctx.session, ctx.staff, kelompok_id, now=ctx.now)
    return ctx.done(ctx.t("group.code", name=name, code=code))


FLOW = Flow(name="group_link", entry=entry, steps={"pick_group": pick_group})
