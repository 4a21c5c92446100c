"""Finding one KPM by name or ID PKH, shared by the flows that start from a KPM."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.flow import Ctx, StepResult
from handlers.messages import Option
from models.kpm import search_kpm

Then = Callable[[Ctx, int, str], Awaitable[StepResult]]


async def find(ctx: Ctx, query: str, then: Then, *, pick_step: str, ask_step: str) -> StepResult:
    """Search; one hit continues with ``then``, several are offered, none asks again."""
    hits = await search_kpm(ctx.session, ctx.staff, query) if query else []
    if len(hits) == 1:
        return await then(ctx, hits[0].id, hits[0].name)
    if hits:
        options = [Option(f"p:{hit.id}", f"{hit.name} · {hit.kelompok}") for hit in hits]
        return ctx.ask(pick_step, ctx.t("kpm.pick", query=query[:40]), options)
    if query:
        ctx.data.pop("_prompt", None)
        return ctx.ask(ask_step, ctx.t("kpm.not_found", query=query[:40]))
    return ctx.ask(ask_step, ctx.t("kpm.ask_name"))


async def picked(ctx: Ctx, then: Then) -> StepResult | None:
    """The KPM tapped or numbered from the offered list, or None."""
    if not ctx.choice or not ctx.choice.startswith("p:"):
        return None
    kpm_id = int(ctx.choice[2:])
    options = (ctx.data.get("_prompt") or {}).get("options", [])
    name = next((label.split(" · ")[0] for value, label in options if value == ctx.choice), "")
    return await then(ctx, kpm_id, name)
