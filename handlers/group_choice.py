"""Choosing one of the staff member's groups: named in the command, the only one, or
picked from a list. Shared by the flows that start from a kelompok."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from handlers.flow import Ctx, Pick, StepResult, option_value, picked_id
from handlers.local_time import local_today
from handlers.messages import Option
from models import attendance as groups

Then = Callable[[Ctx, int, str], Awaitable[StepResult]]


SHORT_KEYS_RENAMED = {
    "k": "kelompok_id",
    "kname": "kelompok_name",
    "d": "meeting_date",
    "m": "meeting_id",
}
"""The keys the flows that start from a kelompok kept before they were named in full (for
their conversations under way at an upgrade: see ``Flow.renamed``)."""


class GroupStep(StrEnum):
    """The step of the flows that start from a kelompok picked from a list."""

    PICK_GROUP = "pick_group"


async def choose_group(ctx: Ctx, then: Then, *, prompt_key: str) -> StepResult:
    """Continue with the group the command named or the only one; else ask in the
    step ``pick_group``."""
    found = await groups.groups_for(ctx.session, ctx.staff, await local_today(ctx))
    if not found:
        return ctx.done(ctx.t("attendance.no_groups"))
    named = [g for g in found if ctx.text and ctx.text.casefold() in g.name.casefold()]
    if len(named) == 1 or len(found) == 1:
        chosen = (named or found)[0]
        return await then(ctx, chosen.id, chosen.name)
    options = [Option(option_value(Pick.KELOMPOK, g.id), g.name) for g in found]
    return ctx.ask(GroupStep.PICK_GROUP, ctx.t(prompt_key), options)


async def group_picked(ctx: Ctx, then: Then) -> StepResult:
    """The answer in ``pick_group``."""
    kelompok_id = picked_id(ctx.choice, Pick.KELOMPOK)
    if kelompok_id is None:
        return ctx.retry(ctx.t("attendance.pick_group_invalid"))
    kelompok = await groups.group_in_scope(ctx.session, ctx.staff, kelompok_id)
    return await then(ctx, kelompok.id, kelompok.name)
