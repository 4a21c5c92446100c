"""/konfirmasi: who confirmed the next meeting, who declined and why, who has not answered."""

from __future__ import annotations

from handlers.flow import Ctx, Flow, StepResult
from handlers.group_choice import GroupStep, choose_group, group_picked
from handlers.local_time import staff_zone
from handlers.messages import IncomingMessage
from handlers.parsing.dates import format_date_id
from models.rsvp import rsvp_overview


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: pick the group, unless the command named it or there is only one."""
    return await choose_group(ctx, _show, prompt_key="rsvp.pick_group")


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The group whose confirmations to see."""
    return await group_picked(ctx, _show)


async def _show(ctx: Ctx, kelompok_id: int, name: str) -> StepResult:
    overview = await rsvp_overview(ctx.session, ctx.staff, kelompok_id, ctx.now)
    if overview is None:
        return ctx.done(ctx.t("rsvp.no_planned", name=name))
    when = overview.starts_at.astimezone(await staff_zone(ctx))
    by = overview.coming_by or [None] * len(overview.coming)
    coming = [_noted(ctx, person, None, ketua) for person, ketua in zip(
        overview.coming, by, strict=True
    )]
    by = overview.declined_by or [None] * len(overview.declined)
    declined = "\n".join(
        f"• {_noted(ctx, person, reason, ketua)}"
        for (person, reason), ketua in zip(overview.declined, by, strict=True)
    )
    return ctx.done(
        ctx.t(
            "rsvp.overview",
            name=name,
            date=format_date_id(when.date()),
            coming=len(overview.coming),
            coming_names=", ".join(coming) or ctx.t("attendance.nobody_absent"),
            declined_count=len(overview.declined),
            unanswered_count=len(overview.unanswered),
            declined=declined or ctx.t("attendance.nobody_absent"),
            unanswered=", ".join(overview.unanswered) or ctx.t("attendance.nobody_absent"),
        )
    )


def _noted(ctx: Ctx, person: str, reason: str | None, ketua: str | None) -> str:
    """A name with its reason and, for an answer the ketua kelompok gave, who gave it:
    "Siti Aminah (sakit; dijawab oleh ketua Ibu Rina Wati)"."""
    notes = [reason] if reason else []
    if ketua:
        notes.append(ctx.t("rsvp.answered_by", ketua=ketua))
    return f"{person} ({'; '.join(notes)})" if notes else person


FLOW = Flow(name="confirmations", entry=entry, steps={GroupStep.PICK_GROUP: pick_group})
