"""Finding one KPM by name or ID PKH, shared by the flows that start from a KPM."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from handlers.flow import Ctx, Pick, StepFn, StepResult, option_value, picked_id
from handlers.messages import IncomingMessage, Option
from models.kpm import search_kpm
from models.rules.text import name_key, starts_a_word

Then = Callable[[Ctx, int, str], Awaitable[StepResult]]


async def find(
    ctx: Ctx, query: str, then: Then, *, pick_step: StrEnum, ask_step: StrEnum
) -> StepResult:
    """Search; one hit continues with ``then``, several are offered, none asks again."""
    hits = await search_kpm(ctx.session, ctx.staff, query) if query else []
    if len(hits) == 1 and _meant(query, hits[0].name):
        return await then(ctx, hits[0].id, hits[0].name)
    if len(hits) == 1:  # only alike ("Ani Marlina" for Rina Marlina): asked, not assumed
        hit = hits[0]
        option = Option(option_value(Pick.KPM, hit.id), f"{hit.name} · {hit.kelompok}")
        return ctx.ask(pick_step, ctx.t("kpm.pick_one", query=query[:40], name=hit.name), [option])
    if hits:
        options = [
            Option(option_value(Pick.KPM, hit.id), f"{hit.name} · {hit.kelompok}") for hit in hits
        ]
        return ctx.ask(pick_step, ctx.t("kpm.pick", query=query[:40]), options)
    if query:
        ctx.data.pop("_prompt", None)
        return ctx.ask(ask_step, ctx.t("kpm.not_found", query=query[:40]))
    return ctx.ask(ask_step, ctx.t("kpm.ask_name"))


def _meant(query: str, name: str) -> bool:
    """Whether a query that found one KPM named her for sure: by ID PKH (digits), or by
    her name or the start of words of it ("Aminah", "siti am"), not by a likeness."""
    if any(char.isdigit() for char in query):
        return True
    return starts_a_word(name_key(query), name_key(name))


async def picked(ctx: Ctx, then: Then) -> StepResult | None:
    """The KPM tapped or numbered from the offered list, or None."""
    kpm_id = picked_id(ctx.choice, Pick.KPM)
    if kpm_id is None:
        return None
    options = (ctx.data.get("_prompt") or {}).get("options", [])
    name = next((label.split(" · ")[0] for value, label in options if value == ctx.choice), "")
    return await then(ctx, kpm_id, name)




class KpmStep(StrEnum):
    """The steps every flow that starts from a KPM has."""

    FIND = "find_kpm"  # a name or ID PKH typed
    PICK = "pick_kpm"  # one KPM out of several that matched


async def start(ctx: Ctx, then: Then) -> StepResult:
    """A flow's entry: find the KPM named in the command, or ask for one."""
    return await find(ctx, ctx.text, then, pick_step=KpmStep.PICK, ask_step=KpmStep.FIND)


def steps(then: Then) -> dict[str, StepFn]:
    """The two steps every flow that starts from a KPM has: a name or ID PKH typed
    (``find_kpm``), and one KPM out of several that matched (``pick_kpm``)."""

    async def find_kpm(message: IncomingMessage, ctx: Ctx) -> StepResult:
        if not ctx.text:
            return ctx.retry(ctx.t("kpm.ask_name_invalid"))
        return await start(ctx, then)

    async def pick_kpm(message: IncomingMessage, ctx: Ctx) -> StepResult:
        result = await picked(ctx, then)
        if result is not None:
            return result
        if ctx.text and not ctx.text.isdecimal():
            return await find_kpm(message, ctx)
        return ctx.retry(ctx.t("kpm.pick_invalid"))

    return {KpmStep.FIND: find_kpm, KpmStep.PICK: pick_kpm}
