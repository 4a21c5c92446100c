"""Linking a kelompok's group chat (/hubungkan in private): pick the group, get a code."""

from __future__ import annotations

from handlers.flow import Ctx, Flow, StepResult
from handlers.group_choice import GroupStep, choose_group, group_picked
from handlers.messages import IncomingMessage
from models.group_chats import create_group_code


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: pick the group to link, unless the command named it or there is only one."""
    return await choose_group(ctx, _code, prompt_key="group.pick_group")


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The group whose chat to link."""
    return await group_picked(ctx, _code)


async def _code(ctx: Ctx, kelompok_id: int, name: str) -> StepResult:
    code = await create_group_code(ctx.session, ctx.staff, kelompok_id, now=ctx.now)
    return ctx.done(ctx.t("group.code", name=name, code=code))


FLOW = Flow(name="group_link", entry=entry, steps={GroupStep.PICK_GROUP: pick_group})
